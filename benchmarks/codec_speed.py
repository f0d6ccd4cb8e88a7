"""Codec speed: the integer codec (the default) against the float model of the same
student, encode and decode of real images, and the cold start of the CLI.

    python benchmarks/codec_speed.py ../shared/data/kodak/kodim01.png [more images] \\
        [--model student-n64-q2] [--repeat 3] [--out results/codec-speed]

Writes ``OUT.txt`` (the table) and ``OUT.json``. Times are medians of ``--repeat`` runs
in this process (threads: all cores) after one warm-up; cold starts are the minimum of
``--repeat`` fresh interpreters. Compressed files and decoded images of the integer model
are checked against the torch reference (:mod:`licfpga.model.intops`) once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("torch", "amaranth", "cocotb", "scipy", "matplotlib")


def cold(code: str, repeat: int) -> tuple[float, list[str]]:
    """Seconds of a fresh interpreter running ``code`` (min of ``repeat``), and which of
    the heavy packages it imported."""
    probe = code + f"\nimport sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    best, loaded = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - start)
        loaded = [m for m in (out.stdout.strip().splitlines() or [""])[-1].split(",") if m]
    return best, loaded


def timed(fn, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--model", default="student-n64-q2", help="float model; its -int8 artefact is compared")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="results/codec-speed")
    args = parser.parse_args(argv)

    cli_help = cold("import licfpga.cli as c\ntry:\n    c.main(['--help'])\nexcept SystemExit:\n    pass", args.repeat)
    compress_imports = cold(
        "from licfpga.model.codec import Codec, compress\n"
        "from licfpga.model.registry import default_codec_model\n"
        "Codec.load(default_codec_model())",
        args.repeat,
    )

    import numpy as np
    import torch

    from licfpga.model.codec import Codec, read_image
    from licfpga.model.golden import GoldenModel

    float_codec = Codec.load(args.model)
    int_codec = Codec.load(f"{args.model}-int8")
    rows = []
    for path in args.images:
        image = read_image(path)
        row = {"image": Path(path).name, "size": f"{image.shape[1]}x{image.shape[0]}"}
        for label, codec in (("float", float_codec), ("integer", int_codec)):
            data = codec.encode(image).data
            row[f"{label}_encode_s"] = timed(lambda c=codec, im=image: c.encode(im), args.repeat)
            row[f"{label}_decode_s"] = timed(lambda c=codec, d=data: c.decode(d), args.repeat)
            row[f"{label}_bytes"] = len(data)
        # The fast integer path against the reference, once per image.
        ref = GoldenModel(int_codec.artefact)
        pixels = np.pad(image, ((0, -image.shape[0] % 64), (0, -image.shape[1] % 64), (0, 0)), mode="edge")
        y_ref = ref.g_a(torch.from_numpy(pixels.transpose(2, 0, 1)[None].astype(np.int64)))
        y_fast, _ = int_codec.default_backend().analyse(pixels)
        decoded = int_codec.decode(int_codec.encode(image).data)
        x_ref = ref.g_s(y_ref).numpy()[0, :, : image.shape[0], : image.shape[1]].transpose(1, 2, 0)
        row["bit_exact"] = bool(np.array_equal(y_ref.numpy()[0], y_fast) and np.array_equal(decoded, x_ref))
        rows.append(row)

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "model": args.model,
        "repeat": args.repeat,
        "cold_cli_help_s": cli_help[0],
        "cold_compress_imports_s": compress_imports[0],
        "compress_imports_heavy": compress_imports[1],
        "images": rows,
    }
    lines = [
        f"# benchmarks/codec_speed.py, {report['date']}, {report['machine']}, median of {args.repeat}",
        f"cold start: licfpga --help {cli_help[0]:.2f} s; compress's imports + loading the default model "
        f"{compress_imports[0]:.2f} s (heavy packages imported: {', '.join(compress_imports[1]) or 'none'})",
        "",
        "| image | size | float encode / decode (s) | integer encode / decode (s) | integer / float | bit-exact |",
        "|---|---|--:|--:|--:|---|",
    ]
    for r in rows:
        ratio = (
            f"{r['integer_encode_s'] / r['float_encode_s']:.2f}× / {r['integer_decode_s'] / r['float_decode_s']:.2f}×"
        )
        lines.append(
            f"| {r['image']} | {r['size']} | {r['float_encode_s']:.3f} / {r['float_decode_s']:.3f} | "
            f"{r['integer_encode_s']:.3f} / {r['integer_decode_s']:.3f} | {ratio} | {r['bit_exact']} |"
        )
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.txt").write_text(text)
    Path(f"{args.out}.json").write_text(json.dumps(report, indent=1) + "\n")
    print(text)
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
