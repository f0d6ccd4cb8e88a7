"""Entropy models of the scale hyperprior: a factorized prior on z and a Gaussian
conditional on y, with CompressAI's parameter layout.

Both latents are quantized to the unit integer grid (no median offset), so the
symbols the hardware produces are the symbols that are coded. Each model also
turns itself into integer frequency tables (:class:`SymbolTable`) for the
entropy coder; the tables, not the float model, define the bit stream.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..formats import SCALE_LEVELS
from .layers import LowerBound
from .tables import TABLE_PRECISION, SymbolTable  # noqa: F401 - the tables the models make

LIKELIHOOD_BOUND = 1e-9


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round to the integer grid, with a straight-through gradient."""
    return x + (torch.round(x) - x).detach()


def add_uniform_noise(x: torch.Tensor) -> torch.Tensor:
    """The training-time proxy of rounding for rate estimation."""
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


class EntropyBottleneck(nn.Module):
    """Factorized (per-channel, non-parametric) prior on z, as in Ballé et al. 2018.

    The cumulative density of each channel is a small monotonic network; its
    parameters are named ``_matrix{i}``, ``_bias{i}``, ``_factor{i}`` and
    ``quantiles`` as in CompressAI. ``quantiles`` holds each channel's lower tail,
    median and upper tail, learnt through :meth:`loss` (the auxiliary loss).
    """

    def __init__(
        self, channels: int, tail_mass: float = 1e-9, init_scale: float = 10.0, filters: tuple[int, ...] = (3, 3, 3, 3)
    ):
        super().__init__()
        self.channels = int(channels)
        self.filters = tuple(int(f) for f in filters)
        self.tail_mass = float(tail_mass)
        self.likelihood_lower_bound = LowerBound(LIKELIHOOD_BOUND)

        widths = (1,) + self.filters + (1,)
        scale = float(init_scale) ** (1 / (len(self.filters) + 1))
        for i in range(len(self.filters) + 1):
            init = math.log(math.expm1(1 / scale / widths[i + 1]))
            self.register_parameter(f"_matrix{i}", nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.register_parameter(
                f"_bias{i}", nn.Parameter(torch.empty(channels, widths[i + 1], 1).uniform_(-0.5, 0.5))
            )
            if i < len(self.filters):
                self.register_parameter(f"_factor{i}", nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        target = math.log(2 / self.tail_mass - 1)
        self.register_buffer("target", torch.tensor([-target, 0.0, target]))

    def _logits_cumulative(self, inputs: torch.Tensor, stop_gradient: bool) -> torch.Tensor:
        logits = inputs
        for i in range(len(self.filters) + 1):
            matrix = getattr(self, f"_matrix{i}")
            bias = getattr(self, f"_bias{i}")
            if stop_gradient:
                matrix, bias = matrix.detach(), bias.detach()
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.filters):
                factor = getattr(self, f"_factor{i}")
                if stop_gradient:
                    factor = factor.detach()
                logits = logits + torch.tanh(factor) * torch.tanh(logits)
        return logits

    def _likelihood(self, values: torch.Tensor) -> torch.Tensor:
        """P(value) of unit bins centred on ``values`` of shape (C, 1, n)."""
        lower = self._logits_cumulative(values - 0.5, stop_gradient=False)
        upper = self._logits_cumulative(values + 0.5, stop_gradient=False)
        # Evaluate on the side of the median where the sigmoid is not saturated.
        sign = -torch.sign(lower + upper).detach()
        return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))

    def loss(self) -> torch.Tensor:
        """Auxiliary loss that moves ``quantiles`` to the tails and the median."""
        logits = self._logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target).sum()

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Likelihood of ``z`` (N, C, H, W), values on or off the integer grid."""
        n, c, h, w = z.shape
        values = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lik = self.likelihood_lower_bound(self._likelihood(values))
        return lik.reshape(c, n, h, w).permute(1, 0, 2, 3)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training: (ẑ rounded with a straight-through gradient, likelihood of z + noise).
        Evaluation: (round(z), likelihood of round(z))."""
        if self.training:
            return round_ste(z), self.likelihood(add_uniform_noise(z))
        z_hat = torch.round(z)
        return z_hat, self.likelihood(z_hat)

    @torch.no_grad()
    def tables(self) -> list[SymbolTable]:
        """One integer table per channel, over the integers between its learnt tails."""
        quantiles = self.quantiles.detach().double().cpu()
        lows = torch.floor(quantiles[:, 0, 0]).long().tolist()
        highs = torch.ceil(quantiles[:, 0, 2]).long().tolist()
        tables = []
        for c in range(self.channels):
            low, high = min(lows[c], 0), max(highs[c], 0)
            values = torch.arange(low, high + 1, dtype=torch.float64)
            pmf = self._channel_pmf(c, values)
            tables.append(SymbolTable.from_pmf(low, pmf))
        return tables

    def _channel_pmf(self, channel: int, values: torch.Tensor) -> np.ndarray:
        # Evaluate the channel's density network alone, in float64, for stable tables.
        params = {
            name: p.detach().double().cpu()[channel : channel + 1]
            for name, p in self.named_parameters()
            if name.startswith(("_matrix", "_bias", "_factor"))
        }
        logits_lower = values.reshape(1, 1, -1) - 0.5
        logits_upper = values.reshape(1, 1, -1) + 0.5
        for i in range(len(self.filters) + 1):
            m, b = F.softplus(params[f"_matrix{i}"]), params[f"_bias{i}"]
            logits_lower = torch.matmul(m, logits_lower) + b
            logits_upper = torch.matmul(m, logits_upper) + b
            if i < len(self.filters):
                f = torch.tanh(params[f"_factor{i}"])
                logits_lower = logits_lower + f * torch.tanh(logits_lower)
                logits_upper = logits_upper + f * torch.tanh(logits_upper)
        sign = -torch.sign(logits_lower + logits_upper)
        pmf = torch.abs(torch.sigmoid(sign * logits_upper) - torch.sigmoid(sign * logits_lower))
        return pmf.reshape(-1).numpy()


def default_scale_table(minimum: float = 0.11, maximum: float = 256.0, levels: int = SCALE_LEVELS) -> torch.Tensor:
    return torch.exp(torch.linspace(math.log(minimum), math.log(maximum), levels))


class GaussianConditional(nn.Module):
    """Zero-mean Gaussian conditional on y with scales from the hyper-decoder.

    For coding, a scale is replaced by the smallest entry of ``scale_table`` that is
    not below it (its *index*); each entry has its own integer table.
    """

    def __init__(self, scale_table: torch.Tensor | None = None, scale_bound: float = 0.11, tail_mass: float = 1e-9):
        super().__init__()
        self.tail_mass = float(tail_mass)
        table = default_scale_table() if scale_table is None else torch.as_tensor(scale_table, dtype=torch.float32)
        self.register_buffer("scale_table", table)
        self.register_buffer("scale_bound", torch.Tensor([float(scale_bound)]))
        self.lower_bound_scale = LowerBound(scale_bound)
        self.likelihood_lower_bound = LowerBound(LIKELIHOOD_BOUND)

    def likelihood(self, y: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        scales = self.lower_bound_scale(scales)
        values = torch.abs(y)
        upper = _standard_normal_cdf((0.5 - values) / scales)
        lower = _standard_normal_cdf((-0.5 - values) / scales)
        return self.likelihood_lower_bound(upper - lower)

    def forward(self, y: torch.Tensor, scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training: (ŷ with a straight-through gradient, likelihood of y + noise).
        Evaluation: (round(y), likelihood of round(y))."""
        if self.training:
            return round_ste(y), self.likelihood(add_uniform_noise(y), scales)
        y_hat = torch.round(y)
        return y_hat, self.likelihood(y_hat, scales)

    def scale_indexes(self, scales: torch.Tensor) -> torch.Tensor:
        """Index of the smallest table scale that is not below each scale (int64)."""
        table = self.scale_table.to(scales.dtype)
        bounded = torch.clamp(scales, min=float(self.scale_bound))
        return torch.clamp(torch.searchsorted(table, bounded.contiguous()), max=len(table) - 1)

    @torch.no_grad()
    def tables(self) -> list[SymbolTable]:
        import scipy.stats  # only where tables are built: training and the GPU machine need no scipy

        multiplier = -scipy.stats.norm.ppf(self.tail_mass / 2)
        tables = []
        for scale in self.scale_table.double().cpu().tolist():
            half = int(math.ceil(scale * multiplier))
            values = np.arange(-half, half + 1, dtype=np.float64)
            pmf = scipy.stats.norm.cdf((values + 0.5) / scale) - scipy.stats.norm.cdf((values - 0.5) / scale)
            tables.append(SymbolTable.from_pmf(-half, pmf))
        return tables


def _standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2**-0.5))
