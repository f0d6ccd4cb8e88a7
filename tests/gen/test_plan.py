import json
import re

import pytest

from licfpga.cli import main
from licfpga.gen.balance import balance_dsp
from licfpga.gen.layers import encoder_topology
from licfpga.gen.plan import DEVICES, choose_width, fit, rd_ranking
from licfpga.gen.report import budget_sweep, markdown, plan_report


@pytest.fixture(scope="module")
def report():
    return plan_report(balance_dsp(encoder_topology(64), 2268, objective="XCZU9EG budget"))


def test_report_rows_and_totals(report):
    names = [r["name"] for r in report["layers"]]
    assert names == [layer.name for layer in encoder_topology(64).layers]
    t = report["totals"]
    assert t["dsp"] == sum(r["dsp"] for r in report["layers"])
    assert t["bram36"] == sum(r["bram36"] for r in report["layers"])
    assert t["cycles_per_frame"] == max(r["cycles_per_frame"] for r in report["layers"])
    assert report["bottleneck"]["cycles_per_frame"] == t["cycles_per_frame"]
    assert report["layers"][names.index(report["bottleneck"]["name"])]["cycles_per_frame"] == t["cycles_per_frame"]
    for r in report["layers"]:
        assert r["cycles_per_pixel"] == r["cycles_per_frame"] / (1280 * 768)
        if r["dsp"]:
            assert 0 < r["efficiency"] <= 1
    json.dumps(report)


def test_report_fps_at_720p_and_1080p(report):
    for label, (w, h) in {"720p": (1280, 768), "1080p": (1920, 1088)}.items():
        entry = report["fps"][label]
        assert entry["padded"] == [w, h]
        assert entry["fps"] == pytest.approx(300e6 / (entry["cycles_per_pixel"] * w * h))
    assert report["fps"]["720p"]["fps"] > report["fps"]["1080p"]["fps"]


def test_report_markdown(report):
    text = markdown(report)
    for r in report["layers"]:
        assert f"| {r['name']} ({r['kind']}) |" in text
    assert "Bottleneck: **" in text and "(assumed clock)" in text and "fps" in text


def test_report_names_a_frame_beyond_the_line_buffers():
    plan = balance_dsp(encoder_topology(32), 500, frame=(1280, 720), max_frame=(1280, 720))
    fps = plan_report(plan)["fps"]
    assert "fps" in fps["720p"] and "line-buffer maximum" in fps["1080p"]["error"]


def test_ultraram_takes_line_buffers_only_when_block_ram_is_short():
    plan = balance_dsp(encoder_topology(64), 1555)
    on_ev, on_eg = fit(plan, DEVICES["XCZU7EV"]), fit(plan, DEVICES["XCZU9EG"])
    assert on_eg.uram == 0 and on_ev.uram > 0
    assert on_ev.bram36 < on_eg.bram36 == plan.bram36


def test_choice_is_the_best_ranked_width_that_fits():
    decision = choose_width(DEVICES["XCZU9EG"], 30, (1280, 720))
    candidates = {c["N"]: c for c in decision["candidates"]}
    chosen = decision["chosen"]
    assert chosen is not None and candidates[chosen]["meets"]
    assert candidates[chosen]["cycles_per_pixel"] <= 300e6 / 30 / (1280 * 768)
    for n in decision["order"][: decision["order"].index(chosen)]:
        assert not candidates[n]["meets"] and f"N={n} ranks higher" in decision["why"]
    assert decision["order"] == [128, 64, 32] and "ranked by N" in decision["ranking"]


def test_no_width_fits_says_so():
    decision = choose_width(DEVICES["XCZU3EG"], 1000, (1920, 1080))
    assert decision["chosen"] is None and decision["why"].startswith("no student width meets 1000 fps")


def eval_report(bd):
    curves = [{"label": "jpeg", "kind": "anchor", "points": []}]
    curves += [
        {"label": f"student-n{n}-int8", "kind": "model", "role": "student", "N": n, "integer": True, "points": []}
        for n in bd
    ]
    return {
        "format": "licfpga-eval-1",
        "curves": curves,
        "bd": [{"anchor": "jpeg", "test": f"student-n{n}-int8", "bd_rate_pct": v} for n, v in bd.items()],
    }


def test_rd_report_overrides_the_ranking_by_n():
    order, why = rd_ranking((32, 64, 128), eval_report({64: -30.0, 32: -35.0}))
    assert order == [32, 64, 128]
    assert "N=32 -35.0%" in why and "ranked by N after those: 128" in why
    decision = choose_width(
        DEVICES["XCZU9EG"], 30, (1280, 720), rd_report=eval_report({32: -40.0, 64: -30.0, 128: -20.0})
    )
    assert decision["chosen"] == 32 and decision["why"].startswith("N=32:")


def test_cli_plan(tmp_path, capsys):
    rd = tmp_path / "eval.json"
    rd.write_text(json.dumps(eval_report({64: -30.0, 128: -25.0, 32: -10.0})))
    out = tmp_path / "plan.json"
    assert (
        main(
            [
                "plan",
                "--device",
                "xczu9eg",
                "--fps",
                "30",
                "--resolution",
                "1280x720",
                "--rd-report",
                str(rd),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("N=64: the best-ranked width that meets 30 fps on 1280×720")
    assert json.loads(out.read_text())["chosen"] == 64
    assert main(["plan", "--device", "XC7Z020"]) == 2
    assert "unknown device 'XC7Z020'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main(["plan", "--resolution", "720p"])
    assert "not WIDTHxHEIGHT" in capsys.readouterr().err


def test_cli_plan_table(tmp_path, capsys):
    out = tmp_path / "table.json"
    assert main(["plan", "--table", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    rows = json.loads(out.read_text())
    assert [(r["device"], r["N"]) for r in rows] == [(d, n) for d in DEVICES for n in (32, 64, 128)]
    assert text.count("\n| XCZU") == 9
    for r in rows:
        device = DEVICES[r["device"]]
        if "error" in r:  # nothing within the device's block RAM: the message names what would fit
            assert re.match(
                rf"a block-RAM budget of {device.bram36_budget():g} RAMB36 is below the smallest "
                rf"that fits: [\d.]+ RAMB36",
                r["error"],
            )
            continue
        assert r["dsp"] <= device.dsp_budget() and r["fps_720p"] > r["fps_1080p"]
        assert r["fits"] and r["bram36"] <= device.bram36_budget() and r["buffers_bram36"] > 0
    assert {(r["device"], r["N"]) for r in rows if "error" not in r} >= {("XCZU9EG", 32), ("XCZU9EG", 64)}


def test_fit_counts_the_encoder_buffers():
    plan = balance_dsp(encoder_topology(64), 2268)
    f = fit(plan, DEVICES["XCZU9EG"])
    engines = sum(c.bram36 for c in plan.costs())
    assert f.buffers == sum(m.bram36 for m in plan.buffers().values()) > 0
    assert f.bram36 == engines + f.buffers
    assert set(plan.buffers()) >= {"y", "z", "g_a.0", "h_a.2"}


def test_report_has_a_buffers_row(report):
    t = report["totals"]
    assert t["buffers_bram36"] == sum(b["bram36"] for b in report["buffers"]) > 0
    assert t["bram36_total"] == t["bram36"] + t["buffers_bram36"]
    assert {b["name"] for b in report["buffers"]} >= {"y", "z"}
    text = markdown(report)
    assert f"| {t['buffers_bram36']:g} | | |" in text and f"| {t['bram36_total']:g} |" in text


def test_report_shows_the_budget_sweep():
    plan = balance_dsp(encoder_topology(64), 2268)
    report = plan_report(plan, sweep=budget_sweep(plan))
    cycles = [e["cycles_per_pixel"] for e in report["budget_sweep"]]
    assert [e["fraction"] for e in report["budget_sweep"]] == [1, 0.5, 0.25]
    assert cycles[0] == plan.interval() / (plan.width * plan.height)
    for big, small in zip(cycles, cycles[1:]):
        assert 1.6 <= small / big <= 2.5  # halving the DSPs about doubles the cycles
    text = markdown(report)
    assert "re-balanced within a fraction of these DSPs" in text and f"{cycles[1]:.3f}" in text


def test_budget_sweep_names_a_budget_below_the_smallest():
    plan = balance_dsp(encoder_topology(64), 300)
    (row,) = budget_sweep(plan, fractions=(0.1,))
    assert "below the smallest that fits" in row["error"]
