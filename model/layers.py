"""Building blocks of the scale-hyperprior networks, laid out as CompressAI lays them out.

Parameter and buffer names match ``compressai.layers.GDN`` and
``compressai.ops.parametrizers.NonNegativeParametrizer`` so a CompressAI state dict
loads without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _LowerBoundFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad):
        x, bound = ctx.saved_tensors
        # Let gradients through below the bound when they push the value back up.
        pass_through = (x >= bound) | (grad < 0)
        return pass_through.type(grad.dtype) * grad, None


class LowerBound(nn.Module):
    """``max(x, bound)`` whose gradient still moves values that sit below the bound."""

    def __init__(self, bound: float):
        super().__init__()
        self.register_buffer("bound", torch.Tensor([float(bound)]))

    def forward(self, x):
        return _LowerBoundFn.apply(x, self.bound.to(x.dtype))


class NonNegativeParametrizer(nn.Module):
    """Stores ``sqrt(x + pedestal)`` so that optimisation keeps ``x >= minimum``."""

    def __init__(self, minimum: float = 0.0, reparam_offset: float = 2**-18):
        super().__init__()
        self.minimum = float(minimum)
        pedestal = float(reparam_offset) ** 2
        self.register_buffer("pedestal", torch.Tensor([pedestal]))
        self.lower_bound = LowerBound((self.minimum + pedestal) ** 0.5)

    def init(self, x):
        return torch.sqrt(torch.max(x + self.pedestal, self.pedestal))

    def forward(self, x):
        out = self.lower_bound(x)
        return out * out - self.pedestal.to(x.dtype)


class GDN(nn.Module):
    """Generalized divisive normalization (Ballé et al.):

    ``y[i] = x[i] / sqrt(beta[i] + sum_j gamma[i, j] * x[j]^2)``, or the inverse
    (``x[i] * sqrt(...)``) for the synthesis transform.
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = bool(inverse)
        self.beta_reparam = NonNegativeParametrizer(minimum=beta_min)
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(channels)))
        self.gamma_reparam = NonNegativeParametrizer()
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(channels)))

    def effective_parameters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(beta of shape C, gamma of shape C×C) after reparametrisation."""
        return self.beta_reparam(self.beta), self.gamma_reparam(self.gamma)

    def forward(self, x):
        channels = x.size(1)
        # The normalisation stays in fp32 under bf16 autocast: x² and its weighted sum span
        # far more than bf16's 8-bit mantissa resolves.
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            beta, gamma = self.effective_parameters()
            norm = F.conv2d(x * x, gamma.reshape(channels, channels, 1, 1).float(), beta.float())
            return x * (torch.sqrt(norm) if self.inverse else torch.rsqrt(norm))


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        output_padding=stride - 1,
        padding=kernel_size // 2,
    )
