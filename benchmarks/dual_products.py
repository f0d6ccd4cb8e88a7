"""Two int8 products per DSP48E2 on the shipped encoder, at its own foldings: what the
cost model (`licfpga.gen.cost.dual_product_cost`) counts per engine, DSPs and RAMB36,
and the useful MACs per DSP per cycle over the whole encoder. The balancer is not
re-run: the freed DSPs are not spent here.

    python benchmarks/dual_products.py [--model NAME] [--out results/dual-products.txt]

The plan is `licfpga generate`'s default (the XCZU9EG's DSP budget, 1280×720 padded to
1280×768); an engine packs when its activations are 8 bits (`dual_chain`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from licfpga.gen.cost import dual_chain, dual_product_cost
from licfpga.gen.encoder import plan_design
from licfpga.gen.layers import ConvSpec


def table(model: str | None) -> str:
    design = plan_design(model)
    costs = design.costs(design.plan.width, design.plan.height)
    lines = [
        f"Two products per DSP48E2 at the foldings of {design.plan.encoder.source} ({design.plan.objective}, "
        f"{design.plan.width}×{design.plan.height})",
        "",
        "| engine | PE | SIMD | activations | products per packed sum | MAC DSPs | DSPs | RAMB36 |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    total = {"dsp": [0, 0], "bram36": [0.0, 0.0]}
    for cost in costs:
        packs = isinstance(cost.spec, ConvSpec) and cost.spec.in_bits == 8
        dual = dual_product_cost(cost) if packs else cost
        if packs:
            kind = f"{'' if cost.spec.in_signed else 'u'}int8"
            chain = str(dual_chain(cost.spec))
        else:
            kind, chain = "—", "does not pack"
        lines.append(
            f"| {cost.name} | {cost.pe} | {cost.simd} | {kind} | {chain} | {cost.dsp_mac} → {dual.dsp_mac} | "
            f"{cost.dsp} → {dual.dsp} | {cost.bram36:g} → {dual.bram36:g} |"
        )
        for key in total:
            total[key][0] += getattr(cost, key)
            total[key][1] += getattr(dual, key)
    interval = max(c.cycles for c in costs)
    macs = sum(c.macs for c in costs)
    per_dsp = [macs / interval / d for d in total["dsp"]]
    lines += [
        f"| **encoder** | | | | | | {total['dsp'][0]} → {total['dsp'][1]} | "
        f"{total['bram36'][0]:g} → {total['bram36'][1]:g} |",
        "",
        f"Interval {interval} cycles (unchanged); useful MACs per DSP per cycle {per_dsp[0]:.3f} → {per_dsp[1]:.3f}.",
        "RAMB36: the engines' memories (not the encoder's buffers between them).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    text = table(args.model)
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
