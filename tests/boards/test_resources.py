"""The whole-PL resource estimate: the shipped default student's ps design fits the
XCZU9EG; an encoder over the device names the resource that is over; the totals and
their lower-bound marks follow the rows."""

import pytest

from licfpga.boards.core import DEVICE, EncoderCore
from licfpga.boards.resources import IP_ALLOWANCES, RESOURCES, Estimate, Part, estimate_ps
from licfpga.boards.vivado import ps_core
from licfpga.gen.balance import DEFAULT_PLAN_FRAME, balance_dsp
from licfpga.gen.encoder import default_model, design, load
from licfpga.gen.layers import encoder_from_artefact


@pytest.fixture(scope="module")
def shipped():
    return load(default_model())


def test_the_shipped_default_fits(shipped):
    estimate = estimate_ps(ps_core(*shipped))
    assert estimate.fits, estimate.over
    names = [p.name for p in estimate.parts]
    assert names[:3] == ["encoder engines", "encoder FIFOs, ŷ/ẑ buffers", "AXI wrapper (rtl.axi)"]
    assert names[3:] == [p.name for p in IP_ALLOWANCES]
    assert estimate.totals["dsp"] == (sum(p.dsp for p in estimate.parts), False)
    assert estimate.totals["lut"][1] and estimate.totals["ff"][1]      # engines' logic: lower bounds
    wrapper = estimate.parts[2]
    assert 100 < wrapper.ff < 1000          # the register block, the counters, the framing
    assert "fits the XCZU9EG" in estimate.summary() and "Fits the XCZU9EG." in estimate.markdown()


@pytest.mark.parametrize("over, options", [
    ("DSP48E2", {"dsp_budget": 3000}),
    # 4K line buffers, planned without the balancer's block-RAM budget (it would trade
    # speed for block RAM and fit)
    ("RAMB36", {"dsp_budget": 2268, "max_frame": (3840, 2176), "bram_budget": None}),
])
def test_an_encoder_over_the_device_says_which_resource(shipped, over, options):
    artefact, sha256 = shipped
    plan = balance_dsp(encoder_from_artefact(artefact), frame=DEFAULT_PLAN_FRAME, **options)
    estimate = estimate_ps(EncoderCore(design(artefact, plan, sha256)))
    assert not estimate.fits
    assert [line.split(":")[0] for line in estimate.over] == [over]
    assert f"OVER: {over}: " in estimate.summary() and f"of the {DEVICE.name}" in estimate.over[0]


def test_lower_bounds_over_capacity_are_over():
    huge = Part("x", "test", dsp=0, bram36=0, lut=DEVICE.luts + 1, ff=None, partial=("lut",))
    estimate = Estimate("test", (huge,))
    assert estimate.over == [f"LUT: at least {DEVICE.luts + 1:,} > {DEVICE.luts:,} of the {DEVICE.name}"]
    assert estimate.totals["ff"] == (0, True)
    assert set(estimate.as_json()["totals"]) == set(RESOURCES)
