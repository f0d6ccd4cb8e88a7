"""The host's measured rates (model/hostspeed.py): measured, written, read back, and
every unusable file refused by name; the default file's fallback is labelled."""

import json
from dataclasses import replace

import numpy as np
import pytest

from licfpga.model import hostspeed
from licfpga.model.hostspeed import HOST_SPEED_FORMAT, HostSpeed, HostSpeedError, load, load_or_measure, measure

RATES = ("rans_encode_sym_s", "rans_decode_sym_s", "h_s_s_per_px", "g_s_s_per_px")


@pytest.fixture(scope="module")
def measured():
    # A 128×64 gradient: the real code paths in a fraction of a second.
    ramp = np.linspace(0, 255, 128 * 64 * 3).reshape(64, 128, 3).astype(np.uint8)
    return measure(image=ramp, repeat=1, note="test")


def test_measure_gives_positive_rates_of_the_frame(measured):
    assert measured.frame == (128, 64) and (measured.N, measured.M) == (64, 192)
    assert all(getattr(measured, r) > 0 for r in RATES)
    assert measured.note == "test" and measured.source == "measured now"


def test_json_round_trip(measured, tmp_path):
    path = tmp_path / "speed.json"
    path.write_text(json.dumps(measured.as_json()))
    assert load(path) == replace(measured, source=str(path))


@pytest.mark.parametrize(
    "text, says",
    [
        (None, "no such host-speed file"),
        ("{not json", "not a host-speed file"),
        ('{"format": "licfpga-plan-1"}', "not a host-speed file (format 'licfpga-plan-1'"),
        ("[1, 2]", "not a host-speed file (format 'list'"),
        ("drop:g_s_s_per_px", "lacks g_s_s_per_px"),
        ("set:rans_encode_sym_s=0", "rans_encode_sym_s must be a positive number"),
        ("set:h_s_s_per_px=-1", "h_s_s_per_px must be a positive number"),
        ('set:g_s_s_per_px="fast"', "g_s_s_per_px must be a positive number"),
        ("set:frame=5", "malformed host-speed file"),
        ("set:load_average=[1, 2]", "malformed host-speed file"),
    ],
)
def test_unusable_files_are_refused_by_name(measured, tmp_path, text, says):
    path = tmp_path / "speed.json"
    if text is not None and text.startswith(("drop:", "set:")):
        data = measured.as_json()
        op, arg = text.split(":", 1)
        if op == "drop":
            del data[arg]
        else:
            key, value = arg.split("=")
            data[key] = json.loads(value)
        text = json.dumps(data)
    if text is not None:
        path.write_text(text)
    with pytest.raises(HostSpeedError, match="speed.json") as err:
        load(path)
    assert says in str(err.value)


def test_default_file_missing_is_measured_and_says_so(measured, tmp_path, monkeypatch):
    monkeypatch.setattr(hostspeed, "DEFAULT_FILE", tmp_path / "host-speed.json")
    monkeypatch.setattr(hostspeed, "measure", lambda: measured)
    got = load_or_measure()
    assert got.rans_encode_sym_s == measured.rans_encode_sym_s
    assert got.source.startswith("measured now: no host-speed.json at")


def test_default_file_corrupt_is_an_error_not_a_fallback(measured, tmp_path, monkeypatch):
    (tmp_path / "host-speed.json").write_text("{")
    monkeypatch.setattr(hostspeed, "DEFAULT_FILE", tmp_path / "host-speed.json")
    monkeypatch.setattr(hostspeed, "measure", lambda: pytest.fail("measured instead of refusing"))
    with pytest.raises(HostSpeedError, match="not a host-speed file"):
        load_or_measure()


def test_a_named_file_missing_is_an_error(tmp_path):
    with pytest.raises(HostSpeedError, match="no such host-speed file"):
        load_or_measure(tmp_path / "absent.json")


def test_the_committed_measurement_loads():
    speed = load(hostspeed.DEFAULT_FILE)
    assert isinstance(speed, HostSpeed) and speed.blas_threads == "1" and speed.note
    assert json.loads(hostspeed.DEFAULT_FILE.read_text())["format"] == HOST_SPEED_FORMAT


def test_measure_now_ignores_the_files(measured, monkeypatch):
    monkeypatch.setattr(hostspeed, "measure", lambda: measured)
    assert load_or_measure("no-such-file.json", measure_now=True) is measured
