"""The scale-hyperprior network of Ballé et al. 2018, with CompressAI's module names.

One topology for teacher and students; only the width N changes. M (the latent
channels) stays fixed so a student's latent can imitate the teacher's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .entropy import EntropyBottleneck, GaussianConditional
from .layers import GDN, conv, deconv
from .topology import ALIGNMENT, macs_per_pixel  # noqa: F401 - part of the model's interface


@dataclass(frozen=True)
class HyperpriorConfig:
    N: int = 128
    M: int = 192

    def __post_init__(self):
        for name in ("N", "M"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"HyperpriorConfig.{name} must be a positive integer, got {value!r}")

    def as_dict(self) -> dict:
        return asdict(self)


#: h_a reads |ŷ| saturated to uint8 (docs/number-formats.md): exact for |ŷ| ≤ 255.
HYPER_INPUT_MAX = 255


def hyper_input(y_hat: torch.Tensor) -> torch.Tensor:
    """What h_a reads: min(|ŷ|, 255), the unsigned 8-bit input of the integer h_a."""
    return torch.clamp(torch.abs(y_hat), max=HYPER_INPUT_MAX)


class ScaleHyperprior(nn.Module):
    """g_a / h_a / h_s / g_s and the two entropy models.

    ``forward`` returns the reconstruction, the likelihoods of y and z, and y itself
    (the distillation target). h_a reads |ŷ| (saturated to 255), the magnitude of the
    rounded latent, because that is what the hardware encoder has in hand.
    """

    def __init__(self, N: int = 128, M: int = 192):
        super().__init__()
        self.config = HyperpriorConfig(N, M)
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.g_a = nn.Sequential(
            conv(3, N),
            GDN(N),
            conv(N, N),
            GDN(N),
            conv(N, N),
            GDN(N),
            conv(N, M),
        )
        self.g_s = nn.Sequential(
            deconv(M, N),
            GDN(N, inverse=True),
            deconv(N, N),
            GDN(N, inverse=True),
            deconv(N, N),
            GDN(N, inverse=True),
            deconv(N, 3),
        )
        self.h_a = nn.Sequential(
            conv(M, N, kernel_size=3, stride=1),
            nn.ReLU(inplace=True),
            conv(N, N),
            nn.ReLU(inplace=True),
            conv(N, N),
        )
        self.h_s = nn.Sequential(
            deconv(N, N),
            nn.ReLU(inplace=True),
            deconv(N, N),
            nn.ReLU(inplace=True),
            conv(N, M, kernel_size=3, stride=1),
            nn.ReLU(inplace=True),
        )
        self.gaussian_conditional = GaussianConditional()

    @property
    def N(self) -> int:
        return self.config.N

    @property
    def M(self) -> int:
        return self.config.M

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """g_a(x), its last convolution in fp32 under autocast (y is rounded to the unit
        grid, which bf16 does not resolve above 256)."""
        y = self.g_a[:-1](x)
        with torch.autocast(x.device.type, enabled=False):
            return self.g_a[-1](y.float())

    def forward(self, x: torch.Tensor) -> dict:
        # Under bf16 autocast only the wide layers of g_a and g_s run in bf16; y, the hyper
        # path and the entropy models stay in fp32. Without autocast this is plain fp32.
        y = self.analysis(x)
        with torch.autocast(x.device.type, enabled=False):
            y_hat = torch.round(y) if not self.training else y + (torch.round(y) - y).detach()
            z = self.h_a(hyper_input(y_hat))
            z_hat, z_likelihoods = self.entropy_bottleneck(z)
            scales = self.h_s(z_hat)
            y_hat, y_likelihoods = self.gaussian_conditional(y, scales)
        x_hat = self.g_s(y_hat)
        return {"x_hat": x_hat, "y": y, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def aux_loss(self) -> torch.Tensor:
        return self.entropy_bottleneck.loss()

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


_COMPRESSAI_TABLE_BUFFERS = ("_offset", "_quantized_cdf", "_cdf_length")


def config_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> HyperpriorConfig:
    """Infer N and M from a ScaleHyperprior state dict (CompressAI's or ours)."""
    try:
        first = state_dict["g_a.0.weight"]
        last = state_dict["g_a.6.weight"]
    except KeyError as missing:
        raise ValueError(f"not a scale-hyperprior state dict: missing {missing.args[0]!r}") from None
    return HyperpriorConfig(N=int(first.shape[0]), M=int(last.shape[0]))


def load_state_dict_strict(model: ScaleHyperprior, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load weights, naming every missing, unexpected or mis-shaped tensor on failure."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing[:6]) + (" …" if len(missing) > 6 else ""))
    if unexpected:
        problems.append("unexpected " + ", ".join(unexpected[:6]) + (" …" if len(unexpected) > 6 else ""))
    if shapes:
        problems.append("shape mismatch " + "; ".join(shapes[:4]) + (" …" if len(shapes) > 4 else ""))
    if problems:
        raise ValueError(f"checkpoint does not fit ScaleHyperprior(N={model.N}, M={model.M}): " + "; ".join(problems))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state_dict.items()})


def from_compressai_state_dict(state_dict: Mapping[str, torch.Tensor]) -> ScaleHyperprior:
    """Build a float model from a CompressAI ``ScaleHyperprior`` checkpoint.

    CompressAI's own CDF buffers are dropped: licfpga builds its integer tables from
    the learnt densities. Differences in behaviour: ẑ and ŷ are rounded without a
    median offset, and h_a reads |ŷ| rather than |y|.
    """
    if "state_dict" in state_dict and isinstance(state_dict["state_dict"], Mapping):
        state_dict = state_dict["state_dict"]
    # Checkpoints saved from DataParallel carry a "module." prefix.
    state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    kept = {k: v for k, v in state_dict.items() if k.rsplit(".", 1)[-1] not in _COMPRESSAI_TABLE_BUFFERS}
    # Before CompressAI's update() the scale table is saved empty: keep our default.
    if "gaussian_conditional.scale_table" in kept and kept["gaussian_conditional.scale_table"].numel() == 0:
        kept["gaussian_conditional.scale_table"] = ScaleHyperprior(1, 1).gaussian_conditional.scale_table
    config = config_from_state_dict(kept)
    model = ScaleHyperprior(config.N, config.M)
    load_state_dict_strict(model, kept)
    return model
