"""From a float scale hyperprior to the integer artefact: activation-range calibration,
post-training quantization, quantization-aware training (QAT) and the export.

The quantized network is :func:`artefact.topology`: int8 weights symmetric per output
channel, int32 biases on the accumulator's scale, activations of the types of
docs/number-formats.md §2, GDN in the fixed point of :func:`intops.quantize_gdn`. The
activation scales (one per tensor) come from :func:`calibrate`: a percentile of |v| (or
of relu(v) for unsigned tensors) over calibration crops, divided by the type's maximum.

:class:`QuantizedHyperprior` is the same network in float with fake quantization at
exactly those points — straight-through rounding of weights, biases and activations,
clipped to the types' ranges, and the GDN's γ/β rounded to their fixed-point grids — so
``train.train`` can fine-tune it (QAT) with the plain RD loss. :func:`export` turns it
into integers; PTQ is the export without the fine-tune. Scales stay fixed during QAT:
the weights adapt to them, and the export uses the very scales the fine-tune saw.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..formats import GDN_COEF_BITS, accumulator_bits, gdn_square_shift, int_range
from .artefact import Artefact, ArtefactError, ConvLayer, GDNLayer, IntType, LayerSpec, topology
from .data import CropSampler
from .entropy import round_ste
from .evaluate import EvalError, bd_table, curve_label, evaluate
from .hyperprior import ScaleHyperprior, hyper_input
from .intops import quantize_gdn, quantize_multiplier, scale_thresholds
from .registry import load_model, model_id, resolve_model
from .train import TrainConfig, train

#: Outputs on the unit grid that the entropy models round (ŷ, ẑ): the fake quantization
#: only saturates them, so training keeps the models' noise / straight-through rounding.
LATENTS = ("g_a.6", "h_a.4")


def int8_weight(w: torch.Tensor, transposed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w_q, s_w)``: ``s_w[c] = max|w[c]|/127`` per output channel (axis 1 of a
    transposed convolution's weight, else axis 0; 1/127 for an all-zero channel), shaped
    to broadcast against ``w``, and ``w_q = clip(rint(w/s_w), -127, 127)`` (half to even)
    as floats holding integers. The scale is not differentiated (as in per-channel QAT)."""
    axis = 1 if transposed else 0
    dims = [d for d in range(w.ndim) if d != axis]
    amax = w.detach().abs().amax(dim=dims, keepdim=True)
    scale = torch.where(amax > 0, amax, torch.ones_like(amax)) / 127
    lo, hi = int_range(8)
    return torch.clamp(torch.round(w / scale), lo, hi), scale


def fake_quant(v: torch.Tensor, scale: float, kind: IntType) -> torch.Tensor:
    """``clip(round(v/scale), type range)·scale`` forward; gradient 1 inside the range and
    0 outside (clipped straight-through estimator). Rounding is half to even here and
    half up in the integer model: they differ only on exact ties."""
    lo, hi = kind.range
    clipped = torch.clamp(v, lo * scale, hi * scale)
    return clipped + (torch.round(clipped / scale) * scale - clipped).detach()


def _ste(value: torch.Tensor, quantized: torch.Tensor) -> torch.Tensor:
    return value + (quantized.to(value.dtype) - value).detach()


class QuantizedHyperprior(ScaleHyperprior):
    """The scale hyperprior with fake quantization at every point of the integer network.

    ``activation_scales`` (a buffer, so checkpoints carry it) holds the calibrated scale of
    every tensor named in ``points``; ``gdn_in_bits`` is b_g and ``gdn_coef_bits`` the
    GDN coefficient width (26: GDN32; 8 or 16 for the all-int8 contrast).
    """

    def __init__(self, N: int = 128, M: int = 192, gdn_in_bits: int = 8, gdn_coef_bits: int = GDN_COEF_BITS):
        super().__init__(N, M)
        self.gdn_in_bits = int(gdn_in_bits)
        self.gdn_coef_bits = int(gdn_coef_bits)
        self.specs = topology(N, M, self.gdn_in_bits)
        self.points = [s.name for s in self.specs if s.out_type is not None and s.out_type.scale is None]
        self.register_buffer("activation_scales", torch.ones(len(self.points), dtype=torch.float64))

    @classmethod
    def from_float(
        cls, model: ScaleHyperprior, scales: dict[str, float], gdn_in_bits: int = 8, gdn_coef_bits: int = GDN_COEF_BITS
    ) -> "QuantizedHyperprior":
        q = cls(model.N, model.M, gdn_in_bits, gdn_coef_bits)
        missing = [p for p in q.points if p not in scales]
        if missing:
            raise ValueError(f"no calibrated scale for {', '.join(missing)}")
        state = {k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        state["activation_scales"] = torch.tensor([float(scales[p]) for p in q.points], dtype=torch.float64)
        q.load_state_dict(state)
        return q

    def scales(self) -> dict[str, float]:
        return dict(zip(self.points, self.activation_scales.tolist()))

    def resolved_specs(self) -> list[LayerSpec]:
        """The topology with every scale filled in: a layer's input scale is the output
        scale of the layer before it (each transform's first input is fixed)."""
        scales, resolved, previous = self.scales(), [], None
        for spec in self.specs:
            in_type = spec.in_type if spec.in_type.scale is not None else spec.in_type.with_scale(previous)
            out_type = spec.out_type
            if out_type is not None and out_type.scale is None:
                out_type = out_type.with_scale(scales[spec.name])
            resolved.append(replace(spec, in_type=in_type, out_type=out_type))
            previous = None if out_type is None else out_type.scale
        return resolved

    # ------------------------------------------------------------- fake-quant forward
    def _conv(self, spec: LayerSpec, x: torch.Tensor) -> torch.Tensor:
        module = self.get_submodule(spec.name)
        transposed = spec.kind == "deconv"
        w_q, s_w = int8_weight(module.weight, transposed)
        weight = _ste(module.weight, w_q * s_w)
        acc_scale = (spec.in_type.scale * s_w.reshape(-1)).to(module.bias.dtype)
        bias = _ste(module.bias, torch.round(module.bias / acc_scale) * acc_scale)
        if transposed:
            out = F.conv_transpose2d(x, weight, bias, spec.stride, spec.padding, spec.output_padding)
        else:
            out = F.conv2d(x, weight, bias, spec.stride, spec.padding)
        if spec.out_type is None:  # h_s's σ: the integer thresholds reproduce ReLU and the table exactly
            return F.relu(out)
        if spec.name in LATENTS:
            lo, hi = spec.out_type.range
            return torch.clamp(out, lo, hi)
        return fake_quant(out, spec.out_type.scale, spec.out_type)

    def gdn_params(self, spec: LayerSpec):
        """The integer parameters of GDN layer ``spec`` at the current weights."""
        beta, gamma = self.get_submodule(spec.name).effective_parameters()
        # The reparametrisation's float32 ``v² − pedestal`` can dip below 0 by an ulp.
        return quantize_gdn(
            beta.detach().double(),
            gamma.detach().double().clamp(min=0),
            spec.in_type.scale,
            spec.out_type.scale,
            inverse=spec.kind == "igdn",
            in_bits=spec.in_type.bits,
            out_bits=spec.out_type.bits,
            coef_bits=self.gdn_coef_bits,
        )

    def _gdn(self, spec: LayerSpec, x: torch.Tensor) -> torch.Tensor:
        beta, gamma = self.get_submodule(spec.name).effective_parameters()
        # γ and β on the integer grids of quantize_gdn: G = rint(γ·s_x²·2**q·2**F), B = max(1, rint(β·2**F)).
        frac = torch.from_numpy(np.ldexp(1.0, self.gdn_params(spec).frac_bits)).to(x.device)
        row = frac * spec.in_type.scale**2 * 2.0 ** gdn_square_shift(spec.in_type.bits)
        gamma_q = _ste(gamma, torch.round(gamma.double() * row[:, None]) / row[:, None])
        beta_q = _ste(beta, torch.clamp(torch.round(beta.double() * frac), min=1) / frac)
        c = x.size(1)
        norm = F.conv2d(x * x, gamma_q.reshape(c, c, 1, 1), beta_q)
        out = x * (torch.sqrt(norm) if spec.kind == "igdn" else torch.rsqrt(norm))
        return fake_quant(out, spec.out_type.scale, spec.out_type)

    def run(self, transform: str, x: torch.Tensor) -> torch.Tensor:
        """One transform (g_a, h_a, h_s, g_s) with fake quantization."""
        for spec in self.resolved_specs():
            if spec.transform == transform:
                x = self._gdn(spec, x) if spec.kind in ("gdn", "igdn") else self._conv(spec, x)
        return x

    def forward(self, x: torch.Tensor) -> dict:
        y = self.run("g_a", x)
        y_hat = round_ste(y) if self.training else torch.round(y)
        z = self.run("h_a", hyper_input(y_hat))
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales = self.run("h_s", z_hat)
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales)
        x_hat = self.run("g_s", y_hat)
        return {"x_hat": x_hat, "y": y, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}


# ------------------------------------------------------------------ calibration


@torch.no_grad()
def calibrate(
    model: ScaleHyperprior, images: torch.Tensor, percentile: float = 99.99, gdn_in_bits: int = 8
) -> dict[str, float]:
    """The scale of every calibrated tensor: the ``percentile`` (100 = max) of |v| for a
    signed type, of relu(v) for an unsigned one, over ``images`` (B, 3, H, W) in [0, 1]
    through the float model, divided by the type's largest value. h_a, h_s and g_s see
    the rounded latents, as in the codec."""
    specs = {
        s.name: s
        for s in topology(model.N, model.M, gdn_in_bits)
        if s.out_type is not None and s.out_type.scale is None
    }
    model = model.eval()
    scales = {}

    def run(transform: str, x: torch.Tensor) -> torch.Tensor:
        for index, module in enumerate(getattr(model, transform)):
            x = module(x)
            spec = specs.get(f"{transform}.{index}")
            if spec is not None:
                values = (x.abs() if spec.out_type.signed else x.clamp(min=0)).double().flatten().numpy()
                top = float(np.percentile(values, percentile))
                scales[spec.name] = (top if top > 0 else 1.0) / spec.out_type.range[1]
        return x

    y_hat = torch.round(run("g_a", images))
    z_hat = torch.round(run("h_a", hyper_input(y_hat)))
    run("h_s", z_hat)
    run("g_s", y_hat)
    return scales


# ----------------------------------------------------------------------- export


def _taps(spec: LayerSpec) -> int:
    # A transposed convolution's output pixel meets ceil(K/stride)² input pixels per channel.
    per_channel = spec.kernel**2 if spec.kind == "conv" else math.ceil(spec.kernel / spec.stride) ** 2
    return per_channel * spec.c_in


@torch.no_grad()
def export(q: QuantizedHyperprior, name: str, meta: dict) -> Artefact:
    """The integer artefact of ``q``. Checks, with the types' full ranges, that every
    accumulator fits its width and every bias int32, and that ẑ's tables lie inside int8."""
    layers = []
    for spec in q.resolved_specs():
        module = q.get_submodule(spec.name)
        if spec.kind in ("gdn", "igdn"):
            try:
                layers.append(GDNLayer(spec, q.gdn_params(spec)))
            except ValueError as exc:
                raise ArtefactError(f"{name}: layer {spec.name}: {exc}") from None
            continue
        w_q, s_w = int8_weight(module.weight.double(), spec.kind == "deconv")
        acc_scale = spec.in_type.scale * s_w.reshape(-1).numpy()
        bias = np.rint(module.bias.double().numpy() / acc_scale).astype(np.int64)
        lo, hi = int_range(32)
        if bias.min() < lo or bias.max() > hi:
            raise ArtefactError(f"{name}: layer {spec.name}: bias reaches {np.abs(bias).max()} units, beyond int32")
        x_max = max(abs(v) for v in spec.in_type.range)
        need = accumulator_bits(_taps(spec), x_max, 127, int(np.abs(bias).max()))
        if need > spec.acc_bits:
            raise ArtefactError(f"{name}: layer {spec.name} needs a {need}-bit accumulator, more than {spec.acc_bits}")
        weight = w_q.to(torch.int64).numpy()
        if spec.out_type is None:
            gc = q.gaussian_conditional
            thresholds = scale_thresholds(gc.scale_table, acc_scale, float(gc.scale_bound))
            layers.append(ConvLayer(spec, weight, bias, thresholds=thresholds))
        else:
            multiplier, shift = quantize_multiplier(acc_scale / spec.out_type.scale)
            layers.append(ConvLayer(spec, weight, bias, multiplier, shift))
    z_tables = q.entropy_bottleneck.tables()
    lo, hi = int_range(8)
    for c, table in enumerate(z_tables):
        if table.offset < lo or table.offset + table.support - 1 > hi:
            raise ArtefactError(
                f"{name}: ẑ channel {c} spans [{table.offset}, {table.offset + table.support - 1}], "
                f"beyond int8: its learnt tails are too wide for the integer h_s"
            )
    return Artefact(name, q.N, q.M, tuple(layers), tuple(z_tables), tuple(q.gaussian_conditional.tables()), meta)


# ------------------------------------------------------------------ the command


@dataclass
class QuantizeConfig:
    model: str  # the float model: registry name or .pt
    data: str  # training photos or patch pack: calibration crops and QAT
    out_dir: str  # where NAME.npz and NAME.json go
    name: str | None = None  # default: the float model's name + "-int8"
    steps: int = 1000  # QAT steps; 0 = post-training quantization only
    batch: int = 8
    crop: int = 256
    lr: float = 1e-5
    gdn_in_bits: int = 8  # b_g: precision entering each GDN
    gdn_coef_bits: int = GDN_COEF_BITS  # GDN coefficient width (26 = GDN32)
    percentile: float = 99.99  # of the activations, for their ranges
    calib_images: int = 16  # calibration crops
    seed: int = 0
    device: str = "cpu"
    checkpoint: str | None = None  # QAT training checkpoint (resumed); default runs/NAME-qat.pt


def quantize(cfg: QuantizeConfig) -> Path:
    """Calibrate, fine-tune with fake quantization (``cfg.steps`` steps of ``train.train``
    with the RD loss at the float model's λ) and export; returns the manifest's path."""
    model, info = load_model(cfg.model)
    name = cfg.name or f"{info.name}-int8"
    sampler = CropSampler(Path(cfg.data), crop=cfg.crop)
    calibration = sampler.batch(cfg.calib_images, np.random.default_rng([cfg.seed, 7]))
    scales = calibrate(model, calibration, cfg.percentile, cfg.gdn_in_bits)
    q = QuantizedHyperprior.from_float(model, scales, cfg.gdn_in_bits, cfg.gdn_coef_bits)
    if cfg.steps > 0:
        checkpoint = cfg.checkpoint or str(Path("runs") / f"{name}-qat.pt")
        train(
            TrainConfig(
                data=cfg.data,
                out=checkpoint,
                N=model.N,
                M=model.M,
                lmbda=info.lmbda,
                steps=cfg.steps,
                batch=cfg.batch,
                crop=cfg.crop,
                lr=cfg.lr,
                lr_drops=(),
                seed=cfg.seed,
                device=cfg.device,
            ),
            model=q,
        )
        q = q.cpu().eval()
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("model", "data", "out_dir", "name", "checkpoint")}
    meta = {
        "role": info.role,
        "quality": info.quality,
        "lmbda": info.lmbda,
        "distilled": info.distilled,
        "source": {"name": info.name, "id": model_id(info).hex()},
        "quantization": {
            "method": "qat" if cfg.steps > 0 else "ptq",
            **settings,
            "data": Path(cfg.data).name,
            "activation_scales": q.scales(),
        },
    }
    return export(q, name, meta).save(Path(cfg.out_dir))


# ------------------------------------------------------------------- ablation

#: The quantizations the ablation measures against the float model, beside the shipped
#: QAT artefacts (``NAME-int8``, curve "hybrid-qat"): post-training quantization of the
#: hybrid (GDN32), and int8 everywhere with the GDN's coefficients at 16 and 8 bits.
ABLATION_VARIANTS = {
    "hybrid-ptq": {"gdn_in_bits": 8, "gdn_coef_bits": 26},
    "int8-gdn16": {"gdn_in_bits": 8, "gdn_coef_bits": 16},
    "int8-gdn8": {"gdn_in_bits": 8, "gdn_coef_bits": 8},
}
ABLATION_FORMAT = "licfpga-quant-ablation-1"


def ablation(
    images: Path,
    models: list[str],
    calib: Path,
    limit: int | None = None,
    calib_images: int = 16,
    percentile: float = 99.99,
    progress: bool = True,
) -> dict:
    """BD-rate against the float models (one family at several rates) of their shipped
    QAT artefacts and of the :data:`ABLATION_VARIANTS` (built here by PTQ on crops of
    ``calib``, training photos). Rates and PSNRs come from :func:`evaluate.evaluate`."""
    infos = [resolve_model(m) for m in models]
    if not infos or any(i.integer for i in infos):
        raise EvalError("quant-ablation takes float models (the integer ones are found as NAME-int8)")
    families = {curve_label(i.role, i.N, i.distilled, False) for i in infos}
    if len(families) != 1:
        raise EvalError(f"quant-ablation compares one model family at several rates, got {', '.join(sorted(families))}")
    notes = []
    calib = Path(calib)
    if calib.resolve() == Path(images).resolve():
        raise EvalError("calibrating on the evaluation images would fit the quantizer to the test set")
    sampler = CropSampler(calib, crop=256)
    reports = {"float": evaluate(images, [i.path for i in infos], anchors=(), limit=limit, progress=progress)}
    shipped = []
    for info in infos:
        try:
            shipped.append(resolve_model(f"{info.name}-int8").path)
        except ValueError:
            notes.append(f"no shipped integer model {info.name}-int8: hybrid-qat lacks that rate")
    if shipped:
        reports["hybrid-qat"] = evaluate(images, shipped, anchors=(), limit=limit, progress=progress)
    with tempfile.TemporaryDirectory() as folder:
        for label, bits in ABLATION_VARIANTS.items():
            paths = []
            for info in infos:
                model, _ = load_model(info.path)
                batch = sampler.batch(calib_images, np.random.default_rng(7))
                q = QuantizedHyperprior.from_float(
                    model, calibrate(model, batch, percentile, bits["gdn_in_bits"]), **bits
                )
                meta = {
                    "role": info.role,
                    "quality": info.quality,
                    "lmbda": info.lmbda,
                    "distilled": info.distilled,
                    "source": {"name": info.name, "id": model_id(info).hex()},
                    "quantization": {"method": "ptq", **bits, "percentile": percentile, "calib_images": calib_images},
                }
                paths.append(str(export(q, f"{info.name}-{label}", meta).save(Path(folder))))
            reports[label] = evaluate(images, paths, anchors=(), limit=limit, progress=progress)
    curves = []
    for label, report in reports.items():
        (curve,) = report["curves"]
        curves.append({**curve, "label": label})
    return {
        "format": ABLATION_FORMAT,
        "dataset": reports["float"]["dataset"],
        "variants": {"hybrid-qat": "the shipped NAME-int8 artefacts", **ABLATION_VARIANTS},
        "settings": {"percentile": percentile, "calib_images": calib_images, "calib": calib.resolve().name},
        "curves": curves,
        "bd": bd_table(curves[:1], curves[1:]),
        "notes": notes,
    }
