"""Learning curves of the shipped models from the training history in their weight files.

Each history row holds the mean training loss, bpp and PSNR (on training crops) over
the steps since the previous row, and the cumulative training seconds. Fitting the
RD loss as a power law of time (a straight line in log-log) over the second half of a
run gives a rough, stated extrapolation of what more compute buys.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import ModelInfo


def curve(info: ModelInfo) -> dict:
    """Steps, minutes, loss, bpp and PSNR of one model's training, and a power-law fit
    of the loss over the second half of the run: log10(loss) ≈ a + b·log10(minutes)."""
    history = info.training.get("history", [])
    rows = {key: [float(h[key]) for h in history] for key in ("step", "seconds", "loss", "bpp", "psnr")}
    minutes = [s / 60 for s in rows.pop("seconds")]
    result = {"name": info.name, "minutes": minutes, **rows, "fit": None}
    late = [(m, loss) for m, loss in zip(minutes, rows["loss"]) if m >= minutes[-1] / 2 and m > 0] if minutes else []
    if len(late) >= 3:
        slope, intercept = np.polyfit([math.log10(m) for m, _ in late], [math.log10(loss) for _, loss in late], 1)
        result["fit"] = {
            "log10_intercept": float(intercept),
            "exponent": float(slope),
            "loss_at_10x": float(10 ** (intercept + slope * math.log10(10 * minutes[-1]))),
        }
    return result


def plot_curves(curves: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for c in curves:
        if not c["minutes"]:
            continue
        (line,) = axes[0].plot(c["minutes"], c["loss"], label=c["name"])
        if c["fit"]:
            tail = np.geomspace(c["minutes"][-1], 10 * c["minutes"][-1], 20)
            axes[0].plot(
                tail,
                10 ** (c["fit"]["log10_intercept"] + c["fit"]["exponent"] * np.log10(tail)),
                ls=":",
                color=line.get_color(),
            )
        axes[1].plot(c["minutes"], c["psnr"], label=c["name"])
        axes[2].plot(c["minutes"], c["bpp"], label=c["name"])
    for ax, title in zip(
        axes,
        (
            "RD loss (dotted: power-law fit, extended to 10× the compute)",
            "PSNR on training crops (dB)",
            "bpp on training crops",
        ),
    ):
        ax.set_xscale("log")
        ax.set_xlabel("training minutes of this run (CPU or GPU, as recorded)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
