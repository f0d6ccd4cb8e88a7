"""gen.buffers: the plan's view of the encoder's FIFOs and ŷ/ẑ buffers is what the
generated encoder builds."""

import pytest

from licfpga.gen.balance import balance_dsp
from licfpga.gen.buffers import encoder_buffers
from licfpga.gen.layers import encoder_topology
from licfpga.sim.encoder_bench import tiny_design, tiny_student


@pytest.mark.parametrize("budget", [50, 100, 200])
def test_buffers_are_the_encoder_configs(budget):
    d = tiny_design(tiny_student(), budget)
    buffers = encoder_buffers(d.plan.encoder, d.plan.costs(d.plan.max_width, d.plan.max_height))
    assert list(buffers) == list(d.config.fifo_depths)
    assert {k: m.depth for k, m in buffers.items()} == d.config.fifo_depths
    assert {k: m.width for k, m in buffers.items()} == d.config.fifo_bits
    assert {k: m.bram36 for k, m in buffers.items()} == {k: b["bram36"] for k, b in d.buffers().items()}


@pytest.mark.parametrize("n", [32, 64])
def test_plan_bram_counts_engines_and_buffers(n):
    plan = balance_dsp(encoder_topology(n), 1000)
    buffers = plan.buffers()
    assert {"y", "z"} <= set(buffers) and buffers["z"].role == "z buffer" and buffers["y"].role == "y buffer"
    assert plan.bram36 == sum(c.bram36 for c in plan.costs()) + sum(m.bram36 for m in buffers.values())
