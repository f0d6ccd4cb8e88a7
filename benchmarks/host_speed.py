"""Host speed: the host's share of the codec measured on this machine, per core — rANS
symbols per second (constriction, through the codec's calls) and h_s / g_s time per
pixel of the integer model (fastint) — the figures `licfpga plan`'s system table reads.

    python benchmarks/host_speed.py [--model student-n64-q2-int8] [--repeat 5] \\
        [--note "what else ran"] [--out results/host-speed]

Writes ``OUT.json`` (`licfpga.model.hostspeed.HostSpeed`, read by `licfpga plan
--host-speed`) and ``OUT.txt``. One BLAS thread (set before numpy loads), so the
figures are per core; the load average at the end of the run is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

from licfpga.model.hostspeed import measure  # noqa: E402  (after the thread count: numpy reads it when it loads)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="integer model (default: the codec's default)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--note", default="", help="a line on the conditions (e.g. other jobs on the machine)")
    parser.add_argument("--out", default="results/host-speed")
    args = parser.parse_args(argv)
    s = measure(args.model, repeat=args.repeat, note=args.note)
    text = (
        f"# benchmarks/host_speed.py, {s.date}, {s.machine}, one BLAS thread, median of {s.repeat}, "
        f"load average {' '.join(map(str, s.load_average))}\n"
        + (f"# {s.note}\n" if s.note else "")
        + f"\ninteger model {s.model} (N={s.N}, M={s.M}) on the bundled kodim23 crop ({s.frame[0]}×{s.frame[1]})\n\n"
        "| host work | rate |\n|---|--:|\n"
        f"| rANS encode (ŷ and ẑ, constriction via rans.encode_symbols) | {s.rans_encode_sym_s / 1e6:.1f} M symbols/s |\n"
        f"| rANS decode (rans.decode_symbols) | {s.rans_decode_sym_s / 1e6:.1f} M symbols/s |\n"
        f"| h_s + scale indices (fastint) | {s.h_s_s_per_px * 1e9:.0f} ns per input pixel |\n"
        f"| g_s (fastint) | {s.g_s_s_per_px * 1e9:.0f} ns per output pixel |\n"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(s.as_json(), indent=1, ensure_ascii=False) + "\n")
    Path(f"{args.out}.txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
