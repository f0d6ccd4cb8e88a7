"""The whole system's frame rates (gen/system.py, `licfpga plan`'s system table): the
slowest stage is the bottleneck and sets the rate, the DDR traffic's arithmetic, the
host's factor and cores, the constants against the board's streams."""

import json

import pytest

from licfpga.cli import main
from licfpga.gen.balance import balance_dsp
from licfpga.gen.layers import decoder_topology, encoder_topology, hyper_topology
from licfpga.gen.plan import DEVICES, choose_width, system_of
from licfpga.gen.system import (
    DDR_PEAK_BYTES_S,
    Host,
    ddr_traffic,
    hosts,
    hyper_interval,
    paths,
    symbols,
    system_markdown,
    system_rows,
)
from licfpga.model.hostspeed import HostSpeed


def speed(rans=20e6, h_s=100e-9, g_s=1e-6, N=64):
    return HostSpeed(
        machine="test",
        date="2026-12-03",
        model="student-n64-q2-int8",
        N=N,
        M=192,
        frame=(512, 384),
        repeat=1,
        blas_threads="1",
        load_average=(0.0, 0.0, 0.0),
        rans_encode_sym_s=rans,
        rans_decode_sym_s=rans / 2,
        h_s_s_per_px=h_s,
        g_s_s_per_px=g_s,
        source="test",
    )


@pytest.fixture(scope="module")
def plan():
    return balance_dsp(encoder_topology(64), 2268, objective="XCZU9EG budget")


def test_traffic_arithmetic():
    t = ddr_traffic(1280, 768, 192, 64)
    pixels, y, z = 1280 * 768, 192 * 80 * 48, 64 * 20 * 12
    assert t["encode"] == {"input frame": 2 * 4 * pixels, "ŷ": 2 * 2 * y, "ẑ": 2 * 2 * z, "scale indices": 2 * 2 * y}
    assert t["decode"] == {"ŷ": 2 * 2 * y, "ẑ": 2 * 2 * z, "output frame": 2 * 3 * pixels}
    assert sum(t["encode"].values()) == 13_824_000
    assert symbols(1280, 768, 192, 64) == y + z == 752_640
    assert DDR_PEAK_BYTES_S == 19.2e9


def test_constants_are_the_boards_streams():
    from licfpga.boards.core import EncoderCore
    from licfpga.gen import system

    assert system.INPUT_WORD_BYTES == EncoderCore.in_tdata // 8
    assert system.LATENT_BYTES == EncoderCore.out_tdata // 8


@pytest.mark.parametrize(
    "rates, usable, encode_bottleneck, decode_bottleneck",
    [
        # a fast encoding host: the PL sets the encode rate; g_s the decode's
        ({"rans": 1e12, "h_s": 1e-15, "g_s": 1e-6}, 0.7, "PL g_a+h_a+h_s", "host: g_s"),
        ({"rans": 1e5}, 0.7, "host: rANS encode", "host: rANS decode"),
        # a slow h_s on the host slows decoding only: the PL makes the encoder's indices
        ({"rans": 1e12, "h_s": 1e-5}, 0.7, "PL g_a+h_a+h_s", "host: h_s + scale indices"),
        ({"rans": 1e12, "h_s": 1e-15, "g_s": 1e-15}, 1e-6, "DDR", "DDR"),
    ],
)
def test_the_bottleneck_is_the_slowest_stage(plan, rates, usable, encode_bottleneck, decode_bottleneck):
    p = paths(plan, (1280, 720), Host("h", speed(**rates)), 300.0, 192, 64, usable)
    for path, name in ((p["encode"], encode_bottleneck), (p["decode"], decode_bottleneck)):
        slowest = max(s.seconds for s in path.stages)
        assert path.bottleneck.seconds == slowest and path.fps == pytest.approx(1 / slowest)
        assert all(path.fps <= s.fps for s in path.stages)
        assert path.describe_bottleneck().startswith(name)
    pl = next(s for s in p["encode"].stages if s.name == "PL g_a+h_a+h_s")
    assert pl.seconds == plan.interval(1280, 768) / 300e6


def test_a_pl_decoder_takes_g_s_off_the_host(plan):
    decoder = balance_dsp(decoder_topology(64), 2268)
    host = Host("h", speed(rans=1e12, h_s=1e-15, g_s=1e-3))
    without, with_pl = (paths(plan, (1280, 720), host, 300.0, 192, 64, decoder=d)["decode"] for d in (None, decoder))
    assert without.describe_bottleneck().startswith("host: g_s")
    stages = {s.name: s for s in with_pl.stages}
    assert set(stages) == {"host", "PL g_s", "DDR"}
    assert [name for name, _ in stages["host"].parts] == ["rANS decode", "h_s + scale indices"]
    assert stages["PL g_s"].seconds == decoder.interval(1280, 768) / 300e6
    # the host's work is negligible here, so the PL's g_s sets the rate
    assert with_pl.bottleneck.name == "PL g_s" and with_pl.fps > without.fps


def test_a_pl_hyper_decoder_takes_h_s_off_the_host(plan):
    decoder = balance_dsp(decoder_topology(64), 2268)
    hyper = balance_dsp(hyper_topology(64), 20)
    host = Host("h", speed(rans=20e6, h_s=100e-9, g_s=1e-15))
    without, with_pl = (
        paths(plan, (1280, 720), host, 300.0, 192, 64, decoder=decoder, hyper=h)["decode"] for h in (None, hyper)
    )
    assert without.describe_bottleneck().startswith("host: h_s")
    stages = {s.name: s for s in with_pl.stages}
    assert set(stages) == {"host", "PL h_s", "PL g_s", "DDR"}
    assert [name for name, _ in stages["host"].parts] == ["rANS decode"]
    # the hyper-decoder's engines at 20 DSPs, or its one index per cycle where slower
    cycles = max(hyper.interval(1280, 768), 192 * (1280 // 16) * (768 // 16))
    assert stages["PL h_s"].seconds == cycles / 300e6 == hyper_interval(hyper, 1280, 720) / 300e6
    assert with_pl.fps > without.fps


def test_host_time_is_the_sum_of_its_parts_scaled_by_factor_and_cores(plan):
    s = speed()
    one = paths(plan, (1920, 1080), Host("x86", s), 300.0, 192, 64)
    arm = paths(plan, (1920, 1080), Host("arm", s, factor=10, cores=4), 300.0, 192, 64)
    pixels, syms = 1920 * 1088, symbols(1920, 1088, 192, 64)
    for p in ("encode", "decode"):
        host = {st.name: st for st in one[p].stages}["host"]
        assert host.seconds == pytest.approx(sum(t for _, t in host.parts))
        arm_host = {st.name: st for st in arm[p].stages}["host"]
        assert arm_host.seconds == pytest.approx(host.seconds * 10 / 4)
    enc = dict({st.name: st for st in one["encode"].stages}["host"].parts)
    assert enc == pytest.approx({"rANS encode": syms / 20e6})
    dec = dict({st.name: st for st in one["decode"].stages}["host"].parts)
    assert dec["g_s"] == pytest.approx(pixels * 1e-6) and dec["rANS decode"] == pytest.approx(syms / 10e6)
    with pytest.raises(ValueError, match="cores"):
        Host("bad", s, cores=0)


def test_rows_and_markdown(plan):
    rows = system_rows(plan, {"720p": (1280, 720), "1080p": (1920, 1080)}, hosts(speed()), 300.0, 192, 64)
    assert [(r["resolution"], r["host_factor"]) for r in rows] == [
        ("720p", 1),
        ("720p", 10),
        ("1080p", 1),
        ("1080p", 10),
    ]
    assert rows[1]["encode"]["fps"] == pytest.approx(rows[0]["encode"]["fps"] / 10)  # the host bounds both
    text = system_markdown(rows, speed(), 300.0)
    for r in rows:
        assert r["encode"]["bottleneck_detail"] in text and r["host"] in text
    assert "UG1182" in text and "assumption" in text and "20.0 M symbols/s" in text
    json.dumps(rows)


def test_system_of_a_plan_decision():
    decision = choose_width(DEVICES["XCZU9EG"], 30, (1280, 720))
    system = system_of(decision, speed())
    assert [r["resolution"] for r in system["rows"]][::2] == ["720p", "1080p"]
    pl = system["rows"][0]["encode"]["stages"][0]
    assert pl["name"] == "PL g_a+h_a+h_s" and pl["fps"] >= 30
    odd = system_of(choose_width(DEVICES["XCZU9EG"], 30, (1000, 600)), speed())
    assert [r["resolution"] for r in odd["rows"]][::2] == ["720p", "1080p", "1000x600"]
    other = system_of(decision, speed(N=32))
    assert other["rows"] == [] and "measured with" in other["why"] and "N=32" in other["why"]
    # N=64's encoder and decoder overrun one XCZU9EG's block RAM together: said, with both needs
    assert "do not fit one device together" in system["shared"]["error"]
    assert "No encoder, decoder and hyper-decoder on one XCZU9EG" in system["markdown"]


def test_system_of_a_shared_device():
    decision = choose_width(DEVICES["XCZU9EG"], 100, (1280, 720))
    assert decision["chosen"] == 32
    system = system_of(decision, speed(N=32))
    shared = system["shared"]
    assert shared["encoder"]["dsp"] + shared["decoder"]["dsp"] <= DEVICES["XCZU9EG"].dsp_budget()
    assert shared["encoder"]["bram36"] + shared["decoder"]["bram36"] <= DEVICES["XCZU9EG"].bram36_budget()
    alone = system["rows"][0]["decode"]["stages"]
    row = shared["rows"][0]
    pl = {s["name"]: s["fps"] for s in row["encode"]["stages"] + row["decode"]["stages"] if s["name"].startswith("PL")}
    # sharing the device, each side runs at the common rate, below what it does alone
    assert pl["PL g_s"] == pytest.approx(shared["fps"], rel=0.02) and pl["PL g_s"] < next(
        s["fps"] for s in alone if s["name"] == "PL g_s"
    )
    assert "Encoder, decoder and hyper-decoder on one XCZU9EG" in system["markdown"]
    assert "beside the encoder on the same device" in system["markdown"]


def test_plan_prints_the_decision_then_the_system(tmp_path, capsys):
    assert main(["plan", "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    decision = json.loads((tmp_path / "p.json").read_text())
    assert out.startswith(decision["why"] + "\n\nThe whole system")
    assert "| 720p (1280×768) |" in out and "Cortex-A53" in out
    assert {r["encode"]["bottleneck"] for r in decision["system"]["rows"]} <= {"PL g_a+h_a+h_s", "host", "DDR"}


def test_plan_refuses_a_corrupt_host_speed_file(tmp_path, capsys):
    (tmp_path / "s.json").write_text("{")
    assert main(["plan", "--host-speed", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a host-speed file" in err


def test_plan_of_another_width_keeps_its_decision(capsys):
    # 100 fps at 720p picks N=32; the committed rates are N=64's
    assert main(["plan", "--fps", "100"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("N=32:") and "No system table" in out


def test_plan_rejects_a_non_positive_arm_factor(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["plan", "--arm-factor", "0"])
    assert exit.value.code == 2
