"""Facts of the scale-hyperprior topology that need no network (and so no torch)."""

from __future__ import annotations

#: The input of the analysis transform is padded to a multiple of this (four stride-2
#: layers in g_a, two more in h_a).
ALIGNMENT = 64


def macs_per_pixel(N: int, M: int) -> dict[str, float]:
    """Multiply-accumulates per input pixel of each transform: convolutions plus the
    C×C weighted sum of every GDN (the other GDN work is per element, not a MAC)."""

    def conv_macs(k, cin, cout, downsample):
        return k * k * cin * cout / downsample

    gdn = N * N / 4 + N * N / 16 + N * N / 64
    g_a = (conv_macs(5, 3, N, 4) + conv_macs(5, N, N, 16) + conv_macs(5, N, N, 64) + conv_macs(5, N, M, 256)) + gdn
    h_a = conv_macs(3, M, N, 256) + conv_macs(5, N, N, 1024) + conv_macs(5, N, N, 4096)
    # Transposed convolutions: every input pixel meets k*k weights per channel pair.
    h_s = conv_macs(5, N, N, 4096) + conv_macs(5, N, N, 1024) + conv_macs(3, N, M, 256)
    g_s = (conv_macs(5, M, N, 256) + conv_macs(5, N, N, 64) + conv_macs(5, N, N, 16) + conv_macs(5, N, 3, 4)) + gdn
    return {"g_a": g_a, "h_a": h_a, "h_s": h_s, "g_s": g_s}
