"""Training speed on this CPU: steps per second of the teacher topology (N=128, M=192,
batch 8 of 128×128, Adam) under each precision / memory-format / compile / thread
setting, on the same random batch, after a warm-up.

    python benchmarks/train_speed.py [--steps 15] [--out results/train-speed.txt]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from licfpga.model.hyperprior import ScaleHyperprior
from licfpga.model.train import rd_terms

CONFIGS = [  # (label, bf16, channels_last, compile, threads)
    ("fp32", False, False, False, 2),
    ("bf16 autocast", True, False, False, 2),
    ("channels_last", False, True, False, 2),
    ("bf16 + channels_last", True, True, False, 2),
    ("bf16 + channels_last, 1 thread", True, True, False, 1),
    ("bf16 + channels_last + torch.compile", True, True, True, 2),
]


def speed(bf16: bool, channels_last: bool, compiled: bool, threads: int, steps: int) -> tuple[float, float]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = ScaleHyperprior(128, 192).train().to(memory_format=fmt)
    net = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(8, 3, 128, 128).contiguous(memory_format=fmt)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        terms = rd_terms(out, x)
        loss = 0.0045 * 255**2 * terms["mse"] + terms["bpp"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    start = time.perf_counter()
    for _ in range(3):
        step()
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start), warmup


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--out", default="results/train-speed.txt")
    args = parser.parse_args(argv)
    lines = [
        f"# benchmarks/train_speed.py, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, N=128 M=192, batch 8 of 128x128, Adam, {args.steps} timed steps",
        "",
        "| setting | steps/s | warm-up (3 steps, s) |",
        "|---|--:|--:|",
    ]
    for label, bf16, cl, compiled, threads in CONFIGS:
        rate, warmup = speed(bf16, cl, compiled, threads, args.steps)
        lines.append(f"| {label} | {rate:.2f} | {warmup:.1f} |")
        print(lines[-1], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
