"""The RD training campaign: a fixed plan of stages that any session continues.

Every session starts ``licfpga campaign --deadline HH:MM`` in the background. It takes
the first unfinished stage of :data:`PLAN`, resumes its checkpoint under ``runs/campaign``
(or, on a fresh machine, starts from the committed weights of the same name and counts
the steps they already had), trains in segments of a few minutes, checkpoints after
each, and validates on photos held aside from the training folder (never Kodak):
RD loss ``λ·255²·MSE + bpp`` with rounding, bpp from the likelihoods, RGB PSNR.

Stage kinds:

- ``plateau``: trains until validation stops improving: after ``patience`` validations
  without a gain of ``min_gain`` (relative), the learning rate falls 3×; after
  ``max_drops`` falls the stage is done;
- ``steps``: a fixed number of steps (a rate fine-tune or one arm of the distillation
  ablation, where equal compute matters), the learning rate falling 3× at 70%.

``licfpga campaign --export`` writes the fp16 weights of every stage that has trained
into ``model/weights`` (with the whole history, so ``learning-curve`` spans sessions),
``--report`` writes ``results/campaign.md``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import (
    HOLDOUT_EVERY,
    VALIDATION_CROP,
    CropSampler,
    DataError,
    find_images,
    holdout_indices,
    load_pack,
    load_rgb,
)
from .hyperprior import ScaleHyperprior, load_state_dict_strict
from .progress import tqdm
from .registry import WEIGHTS_DIR, ModelError, load_model, resolve_model, save_weights
from .train import TrainConfig, TrainError, rd_terms, train

#: Rate index → λ (quality 1 = lowest rate); the shipped models' rates.
LAMBDAS = {1: 0.0018, 2: 0.0045, 3: 0.011, 4: 0.027}


@dataclass(frozen=True)
class Stage:
    """One stage of the campaign. ``init`` and ``teacher`` name a stage of the plan or a
    shipped model; the stage's own name is the name its weights ship under."""

    name: str
    N: int
    quality: int
    M: int = 192
    kind: str = "steps"  # "plateau" | "steps"
    steps: int = 0  # for kind "steps"
    lr: float = 1e-4
    init: str | None = None
    teacher: str | None = None
    kd_latent: float = 0.0
    kd_image: float = 0.0
    role: str = "teacher"
    patience: int = 3
    min_gain: float = 0.003
    max_drops: int = 2
    ship: bool = True  # exported into model/weights by --export (the shared RD stage is not)

    def __post_init__(self):
        if self.kind not in ("plateau", "steps"):
            raise ValueError(f"stage {self.name}: kind must be 'plateau' or 'steps', got {self.kind!r}")
        if self.kind == "steps" and self.steps < 1:
            raise ValueError(f"stage {self.name}: a 'steps' stage needs steps >= 1")
        if self.quality not in LAMBDAS:
            raise ValueError(f"stage {self.name}: quality must be one of {sorted(LAMBDAS)}")

    @property
    def lmbda(self) -> float:
        return LAMBDAS[self.quality]

    @property
    def distilled(self) -> bool:
        return self.teacher is not None and (self.kd_latent > 0 or self.kd_image > 0)


def _rates(
    prefix: str,
    N: int,
    role: str = "teacher",
    teacher: str | None = None,
    kd: tuple[float, float] = (0.0, 0.0),
    steps: dict[int, int] | None = None,
    ship: bool = True,
) -> list[Stage]:
    """Fine-tunes from the quality-2 stage to the neighbouring rates (``steps`` per
    quality, 800 each by default); with ``teacher`` (a prefix), distilled from the teacher
    of each rate with the (latent-y, image) weights ``kd``."""
    steps = {1: 800, 3: 800, 4: 800} | (steps or {})

    def make(q: int, init: int) -> Stage:
        distil = {"teacher": f"{teacher}-q{q}", "kd_latent": kd[0], "kd_image": kd[1]} if teacher else {}
        return Stage(f"{prefix}-q{q}", N, q, steps=steps[q], init=f"{prefix}-q{init}", role=role, ship=ship, **distil)

    return [make(3, 2), make(1, 2), make(4, 3)]


#: Distillation ablation arms (paper: latent-y and reconstruction terms), each trained
#: the same steps from the same RD-trained student, with the same seed and data.
#: ``kd1``: both terms at weight 1, the paper's recipe: its rate came out 23% above the
#: twin's (0.50 vs 0.41 bpp at q2) and its validation RD loss 3% worse. ``kd`` (the
#: distilled student that ships): both terms at a tenth, chosen on validation RD loss.
KD_ARMS = {"nokd": (0.0, 0.0), "kdy": (1.0, 0.0), "kdx": (0.0, 1.0), "kd1": (1.0, 1.0), "kd": (0.1, 0.1)}
#: The distillation weights of the shipped distilled students.
KD_SHIPPED = KD_ARMS["kd"]
#: 3,000 steps (was 6,000): the four arms, then both twins' rate fine-tunes, fit one
#: session on the CPU beside the rest of the work.
KD_STEPS = 3000
#: The shipped N=64 twins' rate fine-tunes: 800 steps each at first, then continued to
#: 2,000 (a grown step count continues a stage from its own weights:
#: `Campaign._own_weights`); the students had fallen furthest behind the teacher at the
#: high rates (≈1 dB at q4 on Kodak against ≈0.35 dB at q1).
STUDENT_RATE_STEPS = {1: 2000, 3: 2000, 4: 2000}

PLAN: list[Stage] = [
    Stage("teacher-n128-q2", 128, 2, kind="plateau", init="teacher-n128-q2"),
    *_rates("teacher-n128", 128),
    # The student's RD stage (the paper's first stage), then the four arms from it.
    Stage("rd-n64-q2", 64, 2, kind="plateau", init="student-n64-nokd-q2", role="student", ship=False),
    *[
        Stage(
            f"student-n64{'-nokd' if arm == 'nokd' else ''}{'' if arm in ('nokd', 'kd') else '-' + arm}-q2",
            64,
            2,
            steps=KD_STEPS,
            init="rd-n64-q2",
            teacher="teacher-n128-q2",
            kd_latent=ky,
            kd_image=kx,
            role="student",
            # the twins ship; the other arms' figures are the ablation (results/campaign.md)
            ship=arm in ("nokd", "kd"),
        )
        for arm, (ky, kx) in KD_ARMS.items()
    ],
    *_rates("student-n64-kd1", 64, role="student", teacher="teacher-n128", kd=KD_ARMS["kd1"], ship=False),
    *_rates("student-n64", 64, role="student", teacher="teacher-n128", kd=KD_SHIPPED, steps=STUDENT_RATE_STEPS),
    *_rates("student-n64-nokd", 64, role="student", steps=STUDENT_RATE_STEPS),
    # N=32: the same with fewer arms (none, both).
    Stage("rd-n32-q2", 32, 2, kind="plateau", init="student-n32-q2", role="student", ship=False),
    Stage("student-n32-nokd-q2", 32, 2, steps=KD_STEPS, init="rd-n32-q2", role="student"),
    Stage(
        "student-n32-q2",
        32,
        2,
        steps=KD_STEPS,
        init="rd-n32-q2",
        teacher="teacher-n128-q2",
        kd_latent=KD_SHIPPED[0],
        kd_image=KD_SHIPPED[1],
        role="student",
    ),
    *_rates("student-n32", 32, role="student", teacher="teacher-n128", kd=KD_SHIPPED),
]


def holdout_split(source: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training images, validation images) of a folder (one in ``HOLDOUT_EVERY`` held
    aside, :func:`data.holdout_indices`) or of a patch pack (its validation crops)."""
    source = Path(source)
    if source.suffix == ".npz":
        return load_pack(source), load_pack(source, validation=True)
    paths = find_images(source)
    held = holdout_indices(len(paths))
    images = [load_rgb(p) for p in tqdm(paths, desc="loading images", unit="img")]
    return [im for i, im in enumerate(images) if i not in held], [images[i] for i in sorted(held)]


def validation_batch(images: list[np.ndarray], crop: int = VALIDATION_CROP) -> torch.Tensor:
    """Centre crops (smaller images padded by reflection), float in [0, 1]."""
    out = []
    for im in images:
        h, w = im.shape[:2]
        ch, cw = min(crop, h), min(crop, w)
        top, left = (h - ch) // 2, (w - cw) // 2
        patch = im[top : top + ch, left : left + cw]
        if (ch, cw) != (crop, crop):
            patch = np.pad(patch, ((0, crop - ch), (0, crop - cw), (0, 0)), mode="reflect")
        out.append(torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1).float() / 255.0)
    return torch.stack(out)


@torch.no_grad()
def validate(model: ScaleHyperprior, batch: torch.Tensor, lmbda: float, chunk: int = 8) -> dict:
    """RD of ``model`` (eval mode: rounding, no noise) on the validation crops."""
    was_training = model.training
    model.eval()
    bits = sq = 0.0
    for start in range(0, len(batch), chunk):
        x = batch[start : start + chunk]
        out = model(x)
        terms = rd_terms(out, x)
        pixels = x.size(0) * x.size(2) * x.size(3)
        bits += float(terms["bpp"]) * pixels
        sq += float(terms["mse"]) * x.size(0)
    model.train(was_training)
    bpp = bits / (len(batch) * batch.size(2) * batch.size(3))
    mse = sq / len(batch)
    return {"loss": lmbda * 255**2 * mse + bpp, "bpp": bpp, "psnr": -10 * math.log10(max(mse, 1e-12))}


class Campaign:
    """The plan's state under ``runs`` (``state.json`` + one checkpoint per stage)."""

    def __init__(self, runs: Path, plan: list[Stage] | None = None, weights: Path = WEIGHTS_DIR):
        self.runs = Path(runs)
        self.plan = list(PLAN if plan is None else plan)
        self.weights = Path(weights)
        names = [s.name for s in self.plan]
        if len(set(names)) != len(names):
            raise ValueError("campaign plan: stage names must be unique")
        self.state_path = self.runs / "state.json"
        self.state: dict = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self._networks: dict[str, ScaleHyperprior] = {}
        self._seed_from_weights()

    def _seed_from_weights(self) -> None:
        """Stages that shipped weights record as done (an earlier session, another
        machine) count as done here too, with their validations, where those weights were
        trained as the stage says (same init, teacher and distillation weights: a stage
        whose recipe changed trains again)."""
        for s in self.plan:
            if s.name in self.state:
                rec = self.state[s.name]
                # A step count grown since the stage finished here reopens it.
                if (
                    s.kind == "steps"
                    and rec["done"]
                    and rec["validations"]
                    and rec["validations"][-1]["step"] < s.steps
                ):
                    rec["done"] = False
                continue
            try:
                training = resolve_model(self._weights_of(s.name), self.weights).training
            except ModelError:
                continue
            previous = training.get("campaign", {})
            recipe = (
                training.get("init"),
                training.get("teacher"),
                training.get("kd_latent"),
                training.get("kd_image"),
            )
            grown = s.kind == "steps" and int(training.get("steps", 0)) < s.steps
            if previous.get("done") and recipe == (s.init, s.teacher, s.kd_latent, s.kd_image) and not grown:
                self.record(s.name).update(
                    done=True, validations=list(previous.get("validations", [])), init_steps=previous.get("init_steps")
                )

    def adopt(self, folder: Path) -> list[str]:
        """Take over the weights another machine trained (a GPU run's export): each file
        named after a stage replaces that stage's checkpoint and record here, so the
        stage continues from it (its steps and plateau state travel in the file)."""
        adopted = []
        for path in sorted(Path(folder).glob("*.pt")):
            if path.stem not in {s.name for s in self.plan}:
                continue
            target = self.runs / "weights" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.resolve() != target.resolve():
                target.write_bytes(path.read_bytes())
            self.checkpoint(path.stem).unlink(missing_ok=True)
            self.state.pop(path.stem, None)
            adopted.append(path.stem)
        self._seed_from_weights()
        self.save()
        return adopted

    def needs(self, stages: int | None = None) -> list[Path]:
        """The weight files the next ``stages`` unfinished stages (all by default) start
        from or learn from, where they exist: what a GPU run must carry."""
        names: list[str] = []
        for s in [s for s in self.plan if not self.record(s.name)["done"]][:stages]:
            names += [n for n in (s.init, s.teacher, s.name) if n and n not in names]
        files = []
        for name in names:
            path = self._weights_of(name)
            if Path(path).is_file() and Path(path) not in files:
                files.append(Path(path))
        return files

    def stage(self, name: str) -> Stage:
        for s in self.plan:
            if s.name == name:
                return s
        raise TrainError(f"no campaign stage {name!r}; stages: {', '.join(s.name for s in self.plan)}")

    def record(self, name: str) -> dict:
        return self.state.setdefault(
            name,
            {
                "lr": self.stage(name).lr,
                "drops": 0,
                "best": None,
                "since_best": 0,
                "done": False,
                "base_steps": 0,
                "base_seconds": 0.0,
                "base_history": [],
                "validations": [],
            },
        )

    def save(self) -> None:
        self.runs.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.state_path)

    def checkpoint(self, name: str) -> Path:
        return self.runs / f"{name}.pt"

    def next_stage(self) -> Stage | None:
        """The first stage not done, or done from weights its init has since outgrown
        (a rate fine-tune of a teacher that trained on): that one starts again."""
        for s in self.plan:
            rec = self.record(s.name)
            if (
                rec["done"]
                and s.kind == "steps"
                and s.init
                and rec.get("init_steps") not in (None, self._steps(s.init))
            ):
                self.checkpoint(s.name).unlink(missing_ok=True)
                self.state[s.name] = {**self.record(s.name), "done": False, "init_steps": None}
                rec = self.state[s.name]
            if not rec["done"]:
                return s
        return None

    def _steps(self, name: str) -> int | None:
        """Training steps of the freshest weights of ``name`` (None where there are none)."""
        try:
            return int(resolve_model(self._weights_of(name), self.weights).training.get("steps", 0))
        except ModelError:
            return None

    def _weights_of(self, name: str) -> str:
        """The freshest weights of a stage or shipped model: its campaign checkpoint as
        exported to ``runs/weights`` when there is one, else the file in the weights
        folder; else the name itself (which then fails to load by name)."""
        exported = self.runs / "weights" / f"{name}.pt"
        if exported.exists():
            return str(exported)
        try:
            return resolve_model(name, self.weights).path
        except ModelError:
            return name

    def _own_weights(self, stage: Stage):
        """The stage's own weights where it continues from them rather than from its init:
        a plateau stage that starts from itself, or a steps stage whose step count grew past
        what its weights (trained by the same recipe) had. None otherwise."""
        if not (stage.kind == "plateau" and stage.init == stage.name) and stage.kind != "steps":
            return None
        try:
            info = resolve_model(self._weights_of(stage.name), self.weights)
        except ModelError:
            return None
        if stage.kind == "steps":
            training = info.training
            recipe = (
                training.get("init"),
                training.get("teacher"),
                training.get("kd_latent"),
                training.get("kd_image"),
            )
            if recipe != (stage.init, stage.teacher, stage.kd_latent, stage.kd_image):
                return None
            if not 0 < int(training.get("steps", 0)) < stage.steps:
                return None
        return info

    def _start(self, stage: Stage) -> str | None:
        """The init of a stage's first segment, and its record's base from shipped weights
        that already carry campaign training (a fresh machine, or a grown step count)."""
        rec = self.record(stage.name)
        info = self._own_weights(stage)
        if info is not None:
            training = info.training
            rec["base_steps"] = int(training.get("steps", 0))
            rec["base_seconds"] = float(training.get("seconds", 0.0))
            rec["base_history"] = list(training.get("history", []))
            previous = training.get("campaign", {})
            for key in ("lr", "drops", "best", "since_best", "validations"):
                if key in previous:
                    rec[key] = previous[key]
            return str(Path(info.path))
        if stage.kind == "plateau" and stage.init == stage.name:
            return None
        return self._weights_of(stage.init) if stage.init else None

    def run_segment(
        self,
        stage: Stage,
        sampler: CropSampler,
        val: torch.Tensor,
        minutes: float,
        *,
        batch: int,
        crop: int,
        device: str,
        bf16: bool,
        channels_last: bool,
        compile: bool = False,
        seed: int = 0,
    ) -> dict:
        rec = self.record(stage.name)
        ckpt = self.checkpoint(stage.name)
        init = None if ckpt.exists() else self._start(stage)
        if not ckpt.exists() and stage.kind == "steps" and stage.init:
            rec["init_steps"] = self._steps(stage.init)  # what this stage was fine-tuned from
        done_steps = int(torch.load(ckpt, map_location="cpu", weights_only=False)["step"]) if ckpt.exists() else 0
        if stage.kind == "steps":
            # A continued stage trains the steps it lacks, on the same schedule.
            target, drops = stage.steps - rec["base_steps"], (0.7,)
            lr = stage.lr
        else:
            target, drops = done_steps + 10**6, ()
            lr = rec["lr"]
        teacher = self._weights_of(stage.teacher) if stage.teacher else None
        # One network per stage for the whole run: a compiled one then compiles once, not
        # every segment. Its weights come from the checkpoint (train loads it) or the init.
        network = self._networks.get(stage.name)
        if network is None:
            network = ScaleHyperprior(stage.N, stage.M)
            self._networks = {stage.name: network}
        if init is not None:
            start, _ = load_model(init, self.weights)
            load_state_dict_strict(network, {k: v.float() for k, v in start.state_dict().items()})
        cfg = TrainConfig(
            data=str(sampler.source),
            out=str(ckpt),
            N=stage.N,
            M=stage.M,
            lmbda=stage.lmbda,
            steps=target,
            batch=batch,
            crop=crop,
            lr=lr,
            lr_drops=drops,
            seed=seed,
            device=device,
            bf16=bf16,
            channels_last=channels_last,
            compile=compile,
            teacher=teacher,
            kd_start=0.0,
            kd_latent=stage.kd_latent,
            kd_image=stage.kd_image,
            time_limit_min=minutes,
            checkpoint_every=10**9,
        )
        train(cfg, network, sampler=sampler)
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model = ScaleHyperprior(stage.N, stage.M)
        load_state_dict_strict(model, state["model"])
        v = validate(model, val, stage.lmbda)
        step = rec["base_steps"] + int(state["step"])
        seconds = rec["base_seconds"] + float(state["history"][-1]["seconds"] if state["history"] else 0.0)
        entry = {
            "step": step,
            "seconds": round(seconds, 1),
            "lr": lr,
            **{k: round(x, 5) for k, x in v.items()},
            "time": time.strftime("%Y-%m-%d %H:%M"),
        }
        rec["validations"].append(entry)
        if stage.kind == "steps":
            rec["done"] = step >= stage.steps
        else:
            if rec["best"] is None or v["loss"] < rec["best"] * (1 - stage.min_gain):
                rec["best"], rec["since_best"] = v["loss"], 0
            else:
                rec["since_best"] += 1
                if rec["since_best"] >= stage.patience:
                    rec["drops"] += 1
                    rec["since_best"] = 0
                    rec["lr"] = rec["lr"] / 3
                    rec["done"] = rec["drops"] > stage.max_drops
        self.save()
        self.export(stage.name, self.runs / "weights")
        return entry

    def export(self, name: str, out_dir: Path) -> Path | None:
        """fp16 weights of a stage's checkpoint, its whole history included."""
        ckpt = self.checkpoint(name)
        if not ckpt.exists():
            return None
        stage, rec = self.stage(name), self.record(name)
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model = ScaleHyperprior(stage.N, stage.M)
        load_state_dict_strict(model, state["model"])
        history = list(rec["base_history"]) + [
            {**h, "step": h["step"] + rec["base_steps"], "seconds": h["seconds"] + rec["base_seconds"]}
            for h in state["history"]
        ]
        cfg = state["config"]
        training = {
            "steps": rec["base_steps"] + int(state["step"]),
            "seconds": round(rec["base_seconds"] + (state["history"][-1]["seconds"] if state["history"] else 0)),
            "lmbda": stage.lmbda,
            "batch": cfg["batch"],
            "crop": cfg["crop"],
            "device": cfg["device"],
            "bf16": cfg.get("bf16", False),
            "channels_last": cfg.get("channels_last", False),
            "init": stage.init,
            "teacher": stage.teacher,
            "kd_latent": stage.kd_latent,
            "kd_image": stage.kd_image,
            "data": Path(cfg["data"]).name,
            "history": history,
            "campaign": {k: rec.get(k) for k in ("lr", "drops", "best", "since_best", "done", "init_steps")}
            | {"validations": rec["validations"]},
        }
        out = Path(out_dir) / f"{name}.pt"
        save_weights(
            model,
            out,
            name=name,
            role=stage.role,
            quality=stage.quality,
            lmbda=stage.lmbda,
            distilled=stage.distilled,
            training=training,
        )
        return out


def run(
    runs: Path,
    data: Path,
    deadline: float,
    *,
    stage: str | None = None,
    segment_min: float = 5.0,
    batch: int = 8,
    crop: int = 128,
    device: str = "cpu",
    bf16: bool = True,
    channels_last: bool = True,
    compile: bool = False,
    plan: list[Stage] | None = None,
    weights: Path = WEIGHTS_DIR,
    log=print,
) -> Campaign:
    """Train stage after stage until the wall-clock ``deadline`` (a ``time.time()``)."""
    campaign = Campaign(runs, plan, weights)
    if stage is not None:
        campaign.stage(stage)
    train_images, held = holdout_split(data)
    if not held:
        raise DataError(f"{data}: too few images to hold any aside for validation (one in {HOLDOUT_EVERY})")
    sampler = CropSampler.from_images(train_images, crop=crop, source=Path(data))
    val = validation_batch(held)
    log(f"campaign: {len(train_images)} training images, {len(held)} held aside for validation")
    while True:
        left_min = (deadline - time.time()) / 60
        current = campaign.stage(stage) if stage else campaign.next_stage()
        # A segment shorter than half a minute (or than asked) is not worth its checkpoint.
        if current is None or left_min < min(0.5, segment_min) or campaign.record(current.name)["done"]:
            break
        entry = campaign.run_segment(
            current,
            sampler,
            val,
            min(segment_min, left_min),
            batch=batch,
            crop=crop,
            device=device,
            bf16=bf16,
            channels_last=channels_last,
            compile=compile,
        )
        log(
            f"{current.name}: step {entry['step']}, validation loss {entry['loss']:.4f} "
            f"({entry['bpp']:.4f} bpp, {entry['psnr']:.2f} dB), lr {entry['lr']:.2e}"
        )
    return campaign


def report(campaign: Campaign, kodak: dict | None = None) -> str:
    """``results/campaign.md``: the plan and where each stage stands; with ``kodak`` (an
    ``licfpga eval`` report), each stage's Kodak bpp and PSNR where it was measured."""
    measured = {m["name"]: m for m in (kodak or {}).get("models", [])}
    lines = [
        "# Training campaign",
        "",
        "Written by `licfpga campaign --report` from the campaign state "
        f"(`{campaign.runs}/state.json`). Validation: {VALIDATION_CROP}×{VALIDATION_CROP} centre crops of "
        f"one in {HOLDOUT_EVERY} training photos, held aside (never Kodak); loss λ·255²·MSE + bpp with "
        "rounding, bpp from the likelihoods.",
        "",
        "| stage | trains | from | distilled from | steps | compute (s) | validation loss | bpp | PSNR (dB) | lr | "
        "status | Kodak bpp / PSNR |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for s in campaign.plan:
        rec = campaign.state.get(s.name)
        last = rec["validations"][-1] if rec and rec["validations"] else None
        status = "done" if rec and rec["done"] else ("running" if last else "waiting")
        kd = f"{s.teacher} (y {s.kd_latent:g}, x̂ {s.kd_image:g})" if s.distilled else "—"
        kind = f"{s.steps} steps" if s.kind == "steps" else "until plateau"
        on_kodak = (
            f"{measured[s.name]['bpp']:.3f} / {measured[s.name]['psnr']:.2f}"
            if s.name in measured and last and measured[s.name].get("training_steps") == last["step"]
            else "—"
        )
        if last:
            lines.append(
                f"| {s.name} | {kind} | {s.init or 'scratch'} | {kd} | {last['step']} | "
                f"{last['seconds']:.0f} | {last['loss']:.4f} | {last['bpp']:.4f} | {last['psnr']:.2f} | "
                f"{last['lr']:.1e} | {status} | {on_kodak} |"
            )
        else:
            lines.append(f"| {s.name} | {kind} | {s.init or 'scratch'} | {kd} | — | — | — | — | — | — | {status} | — |")
    return "\n".join(lines) + "\n"
