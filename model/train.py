"""Rate-distortion training of teachers and distillation of students.

Loss: ``λ·255²·MSE + bpp`` (+ the auxiliary loss of the factorized prior, with its
own optimizer). Distillation follows Mazouz et al.: a first stage of plain RD
training of the student, then fine-tuning with imitation terms added — the MSE
between the student's and the teacher's latent y and between their reconstructions.

Runs on the CPU (default), on a GPU with bf16 autocast of the transforms, and under
``torchrun`` (DistributedDataParallel, one process per GPU).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .data import CropSampler
from .hyperprior import ALIGNMENT, ScaleHyperprior, load_state_dict_strict
from .progress import tqdm
from .registry import WEIGHTS_DIR, load_model, model_name, save_weights


class TrainError(UserError, ValueError):
    """A training run that cannot start: an impossible option, a teacher that does not fit, an unknown stage."""


@dataclass
class TrainConfig:
    data: str
    out: str
    N: int = 128
    M: int = 192
    lmbda: float = 0.0067
    steps: int = 10000
    batch: int = 8
    crop: int = 256
    lr: float = 1e-4
    lr_drops: tuple[float, ...] = (0.75,)  # fractions of `steps` where the rate falls by 3×
    seed: int = 0
    device: str = "cpu"
    bf16: bool = False  # autocast the wide convolutions to bf16 (CPU and GPU)
    channels_last: bool = False  # NHWC activations: faster convolutions on the CPU
    compile: bool = False  # torch.compile the network (CPU: +23% steps/s after a ~50 s compile)
    init: str | None = None  # weights (registry name or .pt) to start from, e.g. a neighbouring rate
    teacher: str | None = None  # set for distillation
    kd_start: float = 0.5  # fraction of `steps` after which the distillation terms join the loss
    kd_latent: float = 1.0  # weight of the latent-imitation term (relative to λ·255²)
    kd_image: float = 1.0  # weight of the reconstruction-imitation term (relative to λ·255²)
    time_limit_min: float | None = None  # stop (and checkpoint) after this much wall time
    checkpoint_every: int = 200

    def __post_init__(self):
        if self.crop % ALIGNMENT:
            raise TrainError(f"crop must be a multiple of {ALIGNMENT} (the network's total stride), got {self.crop}")
        for name in ("steps", "batch", "N", "M"):
            if getattr(self, name) < 1:
                raise TrainError(f"{name} must be positive, got {getattr(self, name)}")


def rd_terms(out: dict, x: torch.Tensor) -> dict[str, torch.Tensor]:
    pixels = x.size(0) * x.size(2) * x.size(3)
    bits = sum(torch.log(lik.float()).sum() for lik in out["likelihoods"].values()) / -math.log(2)
    mse = torch.mean((out["x_hat"].float().clamp(0, 1) - x) ** 2)
    return {"bpp": bits / pixels, "mse": mse}


def _lr_at(cfg: TrainConfig, step: int) -> float:
    return cfg.lr * (1 / 3) ** sum(step >= drop * cfg.steps for drop in cfg.lr_drops)


def _distributed() -> tuple[int, int]:
    if "LOCAL_RANK" not in os.environ:
        return 0, 1
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def train(cfg: TrainConfig, model: ScaleHyperprior | None = None, sampler: CropSampler | None = None) -> Path:
    """Train (or resume) until ``cfg.steps``; returns the checkpoint path.

    ``model``: a prepared network to train in place instead of a fresh
    ``ScaleHyperprior(cfg.N, cfg.M)`` (QAT passes its fake-quantized one); ``cfg.init``
    must then be unset. ``sampler``: crops to train on instead of all of ``cfg.data``
    (the campaign passes one without its held-aside validation photos)."""
    rank, world = _distributed()
    device = torch.device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    torch.manual_seed(cfg.seed + rank)
    rng = np.random.default_rng([cfg.seed, rank])

    out_path = Path(cfg.out)
    if model is not None and (cfg.init or (model.N, model.M) != (cfg.N, cfg.M)):
        raise ValueError("train: a given model needs no init and must match cfg.N, cfg.M")
    model = ScaleHyperprior(cfg.N, cfg.M) if model is None else model
    step = 0
    state = torch.load(out_path, map_location="cpu", weights_only=False) if out_path.exists() else None
    if state is None and cfg.init:
        init_model, _ = load_model(cfg.init)
        load_state_dict_strict(model, {k: v.float() for k, v in init_model.state_dict().items()})
    model.to(device).train()
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)

    aux_params = [model.entropy_bottleneck.quantiles]
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    optimizer = torch.optim.Adam(main_params, lr=cfg.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3)
    history: list[dict] = []
    if state is not None:
        load_state_dict_strict(model, state["model"])
        optimizer.load_state_dict(state["optimizer"])
        aux_optimizer.load_state_dict(state["aux_optimizer"])
        step, history = int(state["step"]), list(state["history"])
        rng = np.random.default_rng([cfg.seed, rank, step])
        torch.manual_seed(cfg.seed + rank + step)

    teacher = None
    if cfg.teacher:
        teacher, _ = load_model(cfg.teacher)
        teacher = teacher.to(device, memory_format=memory_format).eval().requires_grad_(False)
        if teacher.M != cfg.M:
            raise TrainError(f"teacher has M={teacher.M}, student M={cfg.M}: the latents must match")

    # torch.compile caches per module: a caller that passes the same model again (the
    # campaign's segments) compiles once.
    net = torch.compile(model) if cfg.compile else model
    if world > 1:
        # The quantiles get gradients only from the (per-rank) auxiliary loss.
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True
        )
    sampler = CropSampler(Path(cfg.data), crop=cfg.crop) if sampler is None else sampler
    started = time.monotonic()
    seconds_before = history[-1]["seconds"] if history else 0.0
    scale = cfg.lmbda * 255**2
    window: list[dict] = []
    bar = tqdm(
        total=cfg.steps,
        initial=step,
        desc=f"{'distill' if teacher else 'train'} N={cfg.N} λ={cfg.lmbda}",
        disable=rank != 0,
        unit="step",
        dynamic_ncols=True,
    )
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(cfg, step)
        x = sampler.batch(cfg.batch, rng).to(device, non_blocking=True).contiguous(memory_format=memory_format)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            out = net(x)
        terms = rd_terms(out, x)
        loss = scale * terms["mse"] + terms["bpp"]
        if teacher is not None and step >= cfg.kd_start * cfg.steps:
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                t_y = teacher.analysis(x)
                t_x_hat = teacher.g_s(torch.round(t_y))
            terms["kd_y"] = torch.mean((out["y"].float() - t_y.float()) ** 2)
            terms["kd_x"] = torch.mean((out["x_hat"].float() - t_x_hat.float()) ** 2)
            # The latent lives on the unit grid, pixels in [0, 1]: scale the latent term down to pixels.
            loss = loss + scale * (cfg.kd_latent * terms["kd_y"] / 255**2 + cfg.kd_image * terms["kd_x"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        optimizer.step()
        aux_loss = model.aux_loss()
        aux_optimizer.zero_grad(set_to_none=True)
        aux_loss.backward()
        aux_optimizer.step()
        step += 1

        window.append({k: v.item() for k, v in terms.items()} | {"loss": loss.item()})
        psnr = -10 * math.log10(max(window[-1]["mse"], 1e-10))
        bar.set_postfix(loss=f"{window[-1]['loss']:.3f}", bpp=f"{window[-1]['bpp']:.3f}", psnr=f"{psnr:.2f}")
        bar.update(1)
        out_of_time = cfg.time_limit_min is not None and time.monotonic() - started > 60 * cfg.time_limit_min
        if step % cfg.checkpoint_every == 0 or step == cfg.steps or out_of_time:
            means = {k: float(np.mean([w[k] for w in window if k in w])) for k in window[-1]}
            history.append(
                {
                    "step": step,
                    "seconds": seconds_before + time.monotonic() - started,
                    **means,
                    "psnr": -10 * math.log10(means["mse"]),
                }
            )
            window = []
            if rank == 0:
                _save_checkpoint(out_path, model, optimizer, aux_optimizer, step, history, cfg)
        if out_of_time:
            break
    bar.close()
    return out_path


def _save_checkpoint(path: Path, model, optimizer, aux_optimizer, step, history, cfg) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "aux_optimizer": aux_optimizer.state_dict(),
            "step": step,
            "history": history,
            "config": asdict(cfg),
        },
        tmp,
    )
    os.replace(tmp, path)


def export_checkpoint(
    checkpoint: str | os.PathLike,
    quality: int,
    role: str = "teacher",
    name: str | None = None,
    out_dir: str | os.PathLike | None = None,
) -> Path:
    """Shipped fp16 weights (`registry.save_weights`) of a training checkpoint, at rate
    index ``quality``: a distillation run's are a student's whatever ``role`` says; the
    name defaults to `registry.model_name`'s. Returns the written ``.pt``."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = state["config"]
    model = ScaleHyperprior(cfg["N"], cfg["M"])
    load_state_dict_strict(model, state["model"])
    role = "student" if cfg.get("teacher") or role == "student" else "teacher"
    distilled = bool(cfg.get("teacher"))
    name = name or model_name(role, cfg["N"], quality, distilled)
    out = Path(out_dir or WEIGHTS_DIR) / f"{name}.pt"
    last = state["history"][-1] if state["history"] else {}
    training = {
        "steps": state["step"],
        "seconds": round(last.get("seconds", 0.0)),
        "lmbda": cfg["lmbda"],
        "batch": cfg["batch"],
        "crop": cfg["crop"],
        "device": cfg["device"],
        "init": cfg.get("init"),
        "teacher": cfg.get("teacher"),
        "data": Path(cfg["data"]).name,
        "history": state["history"],
    }
    save_weights(
        model, out, name=name, role=role, quality=quality, lmbda=cfg["lmbda"], distilled=distilled, training=training
    )
    return out
