"""The whole system's frame rates, encode and decode, for today's hardware split: the
FPGA (PL) runs g_a, h_a and h_s with the scale indices; the host runs rANS, and the
decoder's h_s and g_s unless a PL runs them (the hyper-decoder, `gen.hyper`, and the
decoder, `gen.decoder`: on a device of their own, or sharing the encoder's,
`plan.shared_plan`). The plan's engines are only one stage of it (`licfpga plan`
prints both).

A frame's stages and what each costs (P = padded input pixels, S = ŷ and ẑ symbols,
M·P/256 + N·P/4096):

* **PL** (encode; decode where decoder and hyper-decoder plans are given): the balanced
  pipeline's interval at the assumed clock (:meth:`balance.Plan.interval`, the cycle
  model the benches match to the cycle; the hyper-decoder's at least its one index per
  cycle out, :func:`hyper_interval`);
* **host** (encode: rANS of S symbols with the PL's scale indices; decode: rANS of
  S symbols, and h_s and g_s where no PL runs them): the rates of :class:`~licfpga.model.hostspeed.HostSpeed`,
  measured on this machine, once as measured and once scaled to the ZCU102's
  Cortex-A53 by :data:`ARM_FACTOR`; the host's parts run one after another on
  ``host_cores`` cores working on different frames (ideal scaling; default 1);
* **DDR**: the bytes a frame moves through the PS DDR4 (:func:`ddr_traffic`) at
  :data:`DDR_USABLE` of its peak.

The stages overlap across frames (the PL encodes frame n+1 while the host codes frame
n), so the rate is that of the slowest stage, which is the **bottleneck**.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..model.hostspeed import HostSpeed
from .balance import Plan, padded

#: The encoder's and the decoder's stages on the PL.
PL_ENCODER = "PL g_a+h_a+h_s"
PL_DECODER = "PL g_s"
PL_HYPER = "PL h_s"

__all__ = [
    "PL_ENCODER",
    "PL_DECODER",
    "PL_HYPER",
    "hyper_interval",
    "HostSpeed",
    "ARM_FACTOR",
    "DDR_PEAK_BYTES_S",
    "DDR_USABLE",
    "INPUT_WORD_BYTES",
    "LATENT_BYTES",
    "OUTPUT_PIXEL_BYTES",
    "Host",
    "Stage",
    "FramePath",
    "paths",
    "symbols",
    "ddr_traffic",
    "hosts",
    "system_rows",
    "system_markdown",
    "ASSUMPTIONS",
]

#: ZCU102 PS DDR4: a 64-bit interface at DDR4-2400, 8 B × 2400 MT/s = 19.2 GB/s peak
#: (ZCU102 user guide UG1182, PS-side DDR4 memory; Zynq UltraScale+ TRM UG1085, DDR
#: memory controller; not re-checked online when this was written).
DDR_PEAK_BYTES_S = 64 // 8 * 2400e6
#: The share of the peak assumed usable by DMA and the CPUs together (refresh, page
#: misses, read/write turnarounds): an assumption, not a measurement.
DDR_USABLE = 0.7
#: How many times slower one Cortex-A53 core of the ZCU102 (1.2–1.5 GHz, in-order,
#: dual-issue, 128-bit NEON) is assumed to be than one core of this machine (x86-64,
#: out-of-order, 256-bit SIMD) at the host's work: about 2–2.5× for the clock and about
#: 4× for the work per clock. An assumption: not measured, no cited benchmark.
ARM_FACTOR = 10.0
#: DDR bytes per input pixel: the DMA reads one 32-bit word per RGB pixel (24 bits in a
#: TDATA of a power of two, `rtl.axi.stream_bits`; `boards.core.EncoderCore.pixels`).
INPUT_WORD_BYTES = 4
#: DDR bytes per ŷ or ẑ element: the encoder's int16 output stream.
LATENT_BYTES = 2
#: DDR bytes per decoded pixel (uint8 RGB).
OUTPUT_PIXEL_BYTES = 3

ASSUMPTIONS = (
    "PL: the balanced pipeline's cycles at the assumed clock, frames back to back (the cycle model)",
    "host: measured on this machine (the figures named below); A53: the same × a factor (default "
    f"ARM_FACTOR = {ARM_FACTOR:g}, an assumption: clock 1.2–1.5 GHz vs this machine's ~3 GHz (not reported here), in-order dual-issue with 128-bit NEON "
    "vs out-of-order with 256-bit SIMD; not measured, no cited benchmark)",
    "the host's parts of a frame run one after another; host_cores cores take different frames (ideal scaling)",
    f"DDR: PS DDR4, 64 bit at 2400 MT/s = {DDR_PEAK_BYTES_S / 1e9:.1f} GB/s peak (ZCU102 UG1182, Zynq US+ TRM UG1085), "
    f"a share of it usable (an assumption, default DDR_USABLE = {DDR_USABLE:.0%}); traffic counts each frame, ŷ, ẑ and the scale indices written once and read once "
    "(input: a 32-bit word per pixel; ŷ, ẑ: int16; output: 3 bytes per pixel), not the host's own intermediates "
    "(h_s, g_s activations), so it is a lower bound",
    "stages overlap across frames: the slowest is the bottleneck and sets the frame rate",
)


@dataclass(frozen=True)
class Host:
    """A host running the host's share: ``speed`` measured on this machine, ``factor``
    times slower, ``cores`` cores on different frames."""

    name: str
    speed: HostSpeed
    factor: float = 1.0
    cores: int = 1

    def __post_init__(self):
        if not self.factor > 0:
            raise ValueError(f"host factor must be positive, not {self.factor}")
        if self.cores < 1:
            raise ValueError(f"host cores must be at least 1, not {self.cores}")

    def seconds(self, single_core_here: float) -> float:
        """Wall seconds per frame on this host for work taking ``single_core_here`` here."""
        return single_core_here * self.factor / self.cores


def hosts(speed: HostSpeed, arm_factor: float = ARM_FACTOR, cores: int = 1) -> list[Host]:
    """This machine as measured, and the ZCU102's Cortex-A53 estimated from it."""
    return [
        Host(f"this machine ({speed.machine}; {cores} used)", speed, 1.0, cores),
        Host(f"ZCU102 Cortex-A53 (×{arm_factor:g}, assumed; {cores} of 4 cores)", speed, arm_factor, cores),
    ]


@dataclass(frozen=True)
class Stage:
    """One stage of a frame's path: seconds per frame; ``parts`` break a host stage down."""

    name: str
    seconds: float
    parts: tuple[tuple[str, float], ...] = ()

    @property
    def fps(self) -> float:
        return 1 / self.seconds


@dataclass(frozen=True)
class FramePath:
    """Encode or decode of one frame: its stages; the slowest sets the rate."""

    stages: tuple[Stage, ...]

    @property
    def bottleneck(self) -> Stage:
        return max(self.stages, key=lambda s: s.seconds)

    @property
    def fps(self) -> float:
        return self.bottleneck.fps

    def describe_bottleneck(self) -> str:
        b = self.bottleneck
        if not b.parts:
            return b.name
        part, seconds = max(b.parts, key=lambda p: p[1])
        return f"{b.name}: {part} ({seconds / b.seconds:.0%})"

    def as_json(self) -> dict:
        return {
            "fps": self.fps,
            "bottleneck": self.bottleneck.name,
            "bottleneck_detail": self.describe_bottleneck(),
            "stages": [
                {"name": s.name, "seconds": s.seconds, "fps": s.fps, "parts": [list(p) for p in s.parts]}
                for s in self.stages
            ],
        }


def symbols(width: int, height: int, M: int, N: int) -> int:
    """ŷ and ẑ elements of a padded ``width``×``height`` frame (ŷ at 1/16, ẑ at 1/64)."""
    return M * (width // 16) * (height // 16) + N * (width // 64) * (height // 64)


def ddr_traffic(width: int, height: int, M: int, N: int) -> dict[str, dict[str, int]]:
    """Bytes through DDR per padded ``width``×``height`` frame, by item, for encode and
    decode: every item written once and read once (lower bound: the host's own
    intermediates are not counted; the compressed bits are negligible and left out)."""
    pixels = width * height
    y = M * (width // 16) * (height // 16) * LATENT_BYTES
    z = N * (width // 64) * (height // 64) * LATENT_BYTES
    return {
        # the encoder's packet carries a scale index per ŷ element, as wide as ŷ's
        "encode": {"input frame": 2 * INPUT_WORD_BYTES * pixels, "ŷ": 2 * y, "ẑ": 2 * z, "scale indices": 2 * y},
        "decode": {"ŷ": 2 * y, "ẑ": 2 * z, "output frame": 2 * OUTPUT_PIXEL_BYTES * pixels},
    }


def hyper_interval(plan: Plan, width: int | None = None, height: int | None = None) -> int:
    """A hyper-decoder's cycles per frame: its engines' (`Plan.interval`), or its one scale
    index per cycle out (M per ŷ pixel, a 16th of the frame on each side) where more."""
    w, h = (plan.width, plan.height) if width is None else padded(width, height)
    return max(plan.interval(w, h), plan.encoder.M * (w // 16) * (h // 16))


def paths(
    plan: Plan,
    resolution: tuple[int, int],
    host: Host,
    clock_mhz: float,
    M: int,
    N: int,
    ddr_usable: float = DDR_USABLE,
    decoder: Plan | None = None,
    hyper: Plan | None = None,
) -> dict[str, FramePath]:
    """Encode and decode of one frame at ``resolution`` (padded to 64) on ``host``,
    the PL running ``plan`` (its foldings; line buffers as wide as the frame needs) and,
    given a ``decoder`` plan, g_s on a PL of its own, and with a ``hyper`` plan the
    decoder's h_s there too (the host keeps rANS); what the PL does not run, the host does."""
    w, h = padded(*resolution)
    pixels, syms = w * h, symbols(w, h, M, N)
    speed = host.speed
    traffic = ddr_traffic(w, h, M, N)
    ddr_rate = DDR_PEAK_BYTES_S * ddr_usable
    wide = replace(plan, max_width=max(plan.max_width, w), max_height=max(plan.max_height, h))
    encode = FramePath(
        (
            Stage(PL_ENCODER, wide.interval(w, h) / (clock_mhz * 1e6)),
            Stage(
                "host",
                host.seconds(syms / speed.rans_encode_sym_s),
                (("rANS encode", host.seconds(syms / speed.rans_encode_sym_s)),),
            ),
            Stage("DDR", sum(traffic["encode"].values()) / ddr_rate),
        )
    )
    on_host, pl = [("rANS decode", host.seconds(syms / speed.rans_decode_sym_s))], []
    if hyper is None:
        on_host.append(("h_s + scale indices", host.seconds(pixels * speed.h_s_s_per_px)))
    else:
        wide_hyper = replace(hyper, max_width=max(hyper.max_width, w), max_height=max(hyper.max_height, h))
        pl.append(Stage(PL_HYPER, hyper_interval(wide_hyper, w, h) / (clock_mhz * 1e6)))
    if decoder is None:
        on_host.append(("g_s", host.seconds(pixels * speed.g_s_s_per_px)))
    else:
        wide_decoder = replace(decoder, max_width=max(decoder.max_width, w), max_height=max(decoder.max_height, h))
        pl.append(Stage(PL_DECODER, wide_decoder.interval(w, h) / (clock_mhz * 1e6)))
    decode = FramePath(
        (
            Stage("host", sum(t for _, t in on_host), tuple(on_host)),
            *pl,
            Stage("DDR", sum(traffic["decode"].values()) / ddr_rate),
        )
    )
    return {"encode": encode, "decode": decode}


def system_rows(
    plan: Plan,
    resolutions: dict[str, tuple[int, int]],
    host_list: list[Host],
    clock_mhz: float,
    M: int,
    N: int,
    ddr_usable: float = DDR_USABLE,
    decoder: Plan | None = None,
    hyper: Plan | None = None,
) -> list[dict]:
    """Per resolution and host: encode and decode (:func:`paths`) and the DDR bytes."""
    rows = []
    for label, resolution in resolutions.items():
        w, h = padded(*resolution)
        traffic = ddr_traffic(w, h, M, N)
        for host in host_list:
            p = paths(plan, resolution, host, clock_mhz, M, N, ddr_usable, decoder, hyper)
            rows.append(
                {
                    "resolution": label,
                    "size": list(resolution),
                    "padded": [w, h],
                    "host": host.name,
                    "host_factor": host.factor,
                    "host_cores": host.cores,
                    "symbols": symbols(w, h, M, N),
                    "ddr_bytes": {k: sum(v.values()) for k, v in traffic.items()},
                    "ddr_items": traffic,
                    "encode": p["encode"].as_json(),
                    "decode": p["decode"].as_json(),
                }
            )
    return rows


def _num(x: float) -> str:
    """Three significant digits, thousands separated."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _ms(stage: dict) -> str:
    return " + ".join(_num(s * 1e3) for _, s in stage["parts"])


def _ddr(path: dict, megabytes: float) -> str:
    ddr = next(s for s in path["stages"] if s["name"] == "DDR")
    return f"{megabytes:.3g} ({_num(ddr['fps'])} fps)"


def system_markdown(
    rows: list[dict], speed: HostSpeed, clock_mhz: float, ddr_usable: float = DDR_USABLE, shared: bool = False
) -> str:
    """:func:`system_rows` as a Markdown table with its sources and assumptions;
    ``shared``: the encoder and the decoder share one device (`balance.balance_shared`)."""
    lines = [
        "| resolution | host | PL fps (g_a, h_a, h_s) | encode: host ms (rANS) | DDR MB (its fps) | **encode fps** | "
        "encode bottleneck | decode: host ms (rANS [+ h_s] [+ g_s]) | PL g_s / h_s fps | DDR MB (its fps) | "
        "**decode fps** | "
        "decode bottleneck |",
        "|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        enc = {s["name"]: s for s in r["encode"]["stages"]}
        dec = {s["name"]: s for s in r["decode"]["stages"]}
        lines.append(
            f"| {r['resolution']} ({r['padded'][0]}×{r['padded'][1]}) | {r['host']} | {_num(enc[PL_ENCODER]['fps'])} | "
            f"{_ms(enc['host'])} | {_ddr(r['encode'], r['ddr_bytes']['encode'] / 1e6)} | "
            f"**{_num(r['encode']['fps'])}** | {r['encode']['bottleneck_detail']} | {_ms(dec['host'])} | "
            f"{_num(dec[PL_DECODER]['fps']) if PL_DECODER in dec else '— (host)'} / "
            f"{_num(dec[PL_HYPER]['fps']) if PL_HYPER in dec else '— (host)'} | "
            f"{_ddr(r['decode'], r['ddr_bytes']['decode'] / 1e6)} | **{_num(r['decode']['fps'])}** | "
            f"{r['decode']['bottleneck_detail']} |"
        )
    s = speed
    lines += [
        "",
        f"Host rates ({s.source}; {s.machine}, {s.date}, BLAS threads {s.blas_threads}, load average "
        f"{' '.join(f'{x:g}' for x in s.load_average)}{'; ' + s.note if s.note else ''}): rANS "
        f"{s.rans_encode_sym_s / 1e6:.1f} M symbols/s encode, {s.rans_decode_sym_s / 1e6:.1f} M decode "
        f"(constriction through the codec's calls); h_s + scale indices (the decoder's) {s.h_s_s_per_px * 1e9:.0f} ns/px, "
        f"g_s {s.g_s_s_per_px * 1e9:.0f} ns/px (integer model {s.model}, fastint, on {s.frame[0]}×{s.frame[1]}).",
        f"PL: the plan's pipeline (balanced for its target frame; line buffers widened for a larger row) at an "
        f"assumed {clock_mhz:g} MHz; PL g_s / h_s: "
        + (
            "the decoder (and h_s: the hyper-decoder) beside the encoder on the same device, the budgets split"
            if shared
            else "the decoder (and h_s: the hyper-decoder) balanced alone for the same target on a device of its own, "
            "where one is given"
        )
        + f"; DDR at {ddr_usable:.0%} of {DDR_PEAK_BYTES_S / 1e9:.1f} GB/s.",
        "",
    ]
    lines += [f"- {a}" for a in ASSUMPTIONS]
    return "\n".join(lines) + "\n"
