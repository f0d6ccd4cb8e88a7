"""The training campaign: stages resume, validate on held-aside photos, stop on a plateau,
export weights with their whole history, and report."""

import time

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.model import campaign
from licfpga.model.registry import load_model


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(campaign.HOLDOUT_EVERY // 2 + 1):  # exactly one held aside
        gradient = np.linspace(0, 255, 64)[None, :, None] * rng.random(3)
        noise = rng.integers(0, 30, (64, 64, 3))
        Image.fromarray(np.clip(gradient + noise, 0, 255).astype(np.uint8)).save(root / f"{i:03d}.png")
    return root


def tiny_plan():
    return [
        campaign.Stage("a", 8, 2, M=8, kind="plateau", patience=1, min_gain=1.0, max_drops=0),
        campaign.Stage("b", 8, 3, M=8, steps=3, init="a"),
    ]


def test_holdout_split_keeps_validation_out_of_training(photos):
    train, held = campaign.holdout_split(photos)
    assert len(held) == 1 and len(train) == campaign.HOLDOUT_EVERY // 2
    assert not any(np.array_equal(held[0], t) for t in train)


def test_campaign_runs_stages_to_the_end_and_resumes(photos, tmp_path):
    runs = tmp_path / "runs"
    kwargs = dict(segment_min=0.02, batch=2, crop=64, plan=tiny_plan(), weights=tmp_path / "none", log=lambda _: None)
    camp = campaign.run(runs, photos, time.time() + 120, **kwargs)
    a, b = camp.state["a"], camp.state["b"]
    # A plateau stage that cannot gain 100% stops after its first validation without a gain.
    assert a["done"] and a["drops"] == 1 and len(a["validations"]) == 2
    assert a["lr"] == pytest.approx(1e-4 / 3)
    assert b["done"] and b["validations"][-1]["step"] == 3
    for entry in a["validations"] + b["validations"]:
        assert np.isfinite(entry["loss"]) and entry["bpp"] > 0
    # Resuming finds nothing left to do and changes nothing.
    again = campaign.run(runs, photos, time.time() + 120, **kwargs)
    assert again.state == camp.state

    out = camp.export("b", tmp_path / "weights")
    model, info = load_model(str(out))
    assert (info.N, info.M, info.quality) == (8, 8, 3)
    assert info.training["steps"] == 3 and info.training["init"] == "a"
    assert info.training["campaign"]["done"]
    table = campaign.report(camp)
    assert "| a | until plateau" in table and "| b | 3 steps" in table and "done" in table
    kodak = {
        "models": [
            {"name": "b", "bpp": 0.5, "psnr": 30.0, "training_steps": 3},
            {"name": "a", "bpp": 0.4, "psnr": 29.0, "training_steps": -1},
        ]
    }  # a: other weights
    rows = {line.split(" | ")[0]: line for line in campaign.report(camp, kodak).splitlines()}
    assert rows["| b"].endswith("| 0.500 / 30.00 |") and rows["| a"].endswith("| — |")


def test_campaign_resumes_from_shipped_weights_with_their_steps(photos, tmp_path):
    runs = tmp_path / "runs"
    kwargs = dict(segment_min=0.02, batch=2, crop=64, log=lambda _: None)
    plan = [campaign.Stage("a", 8, 2, M=8, kind="plateau", patience=1, min_gain=1.0, max_drops=0)]
    first = campaign.run(runs, photos, time.time() + 120, plan=plan, weights=tmp_path / "none", **kwargs)
    shipped = tmp_path / "shipped"
    first.export("a", shipped)
    steps = first.state["a"]["validations"][-1]["step"]
    # A fresh machine: no runs, the shipped weights carry the steps and the plateau state.
    plan = [campaign.Stage("a", 8, 2, M=8, kind="plateau", init="a", patience=5, min_gain=1.0, max_drops=0)]
    camp = campaign.Campaign(tmp_path / "fresh", plan, shipped)
    camp.run_segment(
        plan[0], *_sampler_and_val(photos), 0.02, batch=2, crop=64, device="cpu", bf16=False, channels_last=False
    )
    rec = camp.state["a"]
    assert rec["base_steps"] == steps and rec["validations"][-1]["step"] > steps
    assert rec["drops"] == 1  # carried over from the shipped weights' campaign record


def test_a_steps_stage_whose_count_grew_continues_from_its_own_weights(photos, tmp_path):
    """Shipped weights of a 3-step stage, the plan now asks 5: a fresh machine trains the
    2 missing steps from those weights (not from the init), and the stage is then done."""
    kwargs = dict(segment_min=0.02, batch=2, crop=64, log=lambda _: None)
    first = campaign.run(
        tmp_path / "runs", photos, time.time() + 120, plan=tiny_plan(), weights=tmp_path / "none", **kwargs
    )
    shipped = tmp_path / "shipped"
    for name in ("a", "b"):
        first.export(name, shipped)
    grown = [tiny_plan()[0], campaign.Stage("b", 8, 3, M=8, steps=5, init="a")]
    camp = campaign.Campaign(tmp_path / "fresh", grown, shipped)
    assert camp.state["a"]["done"] and "b" not in camp.state  # a is done, b is not
    assert camp.next_stage().name == "b"
    start = camp._start(grown[1])
    assert start == str(shipped / "b.pt") and camp.state["b"]["base_steps"] == 3
    done = campaign.run(tmp_path / "fresh", photos, time.time() + 120, plan=grown, weights=shipped, **kwargs)
    rec = done.state["b"]
    assert rec["done"] and rec["validations"][-1]["step"] == 5
    _, info = load_model(str(done.export("b", tmp_path / "out")))
    assert info.training["steps"] == 5
    # The same on the machine that finished the 3 steps: its state reopens the stage.
    reopened = campaign.Campaign(tmp_path / "runs", grown, tmp_path / "none")
    assert not reopened.state["b"]["done"] and reopened.next_stage().name == "b"
    # A changed recipe is not continued: it starts again from the init.
    other = [tiny_plan()[0], campaign.Stage("b", 8, 3, M=8, steps=5, init="a", lr=1e-4, kd_latent=0.5, teacher="a")]
    assert campaign.Campaign(tmp_path / "other", other, shipped)._start(other[1]) != str(shipped / "b.pt")


def _sampler_and_val(photos):
    train, held = campaign.holdout_split(photos)
    return campaign.CropSampler.from_images(train, crop=64, source=photos), campaign.validation_batch(held)


def test_validation_is_deterministic():
    batch = torch.rand(2, 3, 64, 64)
    from licfpga.model.hyperprior import ScaleHyperprior

    model = ScaleHyperprior(8, 8)
    assert campaign.validate(model, batch, 0.01) == campaign.validate(model, batch, 0.01)


def test_stage_rejects_impossible_values():
    with pytest.raises(ValueError, match="kind"):
        campaign.Stage("x", 8, 2, kind="forever")
    with pytest.raises(ValueError, match="steps"):
        campaign.Stage("x", 8, 2)
    with pytest.raises(ValueError, match="quality"):
        campaign.Stage("x", 8, 7, steps=1)


def test_patch_pack_holds_the_validation_photos_aside_exactly(photos, tmp_path):
    from licfpga.model.data import build_pack, find_images, load_rgb

    pack = tmp_path / "pack.npz"
    summary = build_pack(photos, pack, tile=32, max_mib=0.2)
    train, held = campaign.holdout_split(pack)
    assert summary["validation"] == len(held) == 1 and len(train) == summary["tiles"] > 0
    source = load_rgb(find_images(photos)[campaign.HOLDOUT_EVERY // 2])
    assert np.array_equal(held[0], source)  # the centre crop (of a photo smaller than it), lossless
    # No training tile comes from the held-aside photo.
    assert not any(
        t.shape == (32, 32, 3)
        and any(np.array_equal(t, source[i : i + 32, j : j + 32]) for i in range(33) for j in range(33))
        for t in train
    )


def test_pack_tiles_round_trip_losslessly(rng):
    from licfpga.model.data import _delta_blob, _undelta

    for shape in [(1, 1, 3), (7, 5, 3), (32, 32, 3)]:
        tile = rng.integers(0, 256, shape, dtype=np.uint8)
        assert np.array_equal(_undelta(_delta_blob(tile), shape), tile)


def test_a_fine_tune_whose_init_trained_on_runs_again(photos, tmp_path):
    runs = tmp_path / "runs"
    kwargs = dict(segment_min=0.02, batch=2, crop=64, plan=tiny_plan(), weights=tmp_path / "none", log=lambda _: None)
    camp = campaign.run(runs, photos, time.time() + 120, **kwargs)
    assert camp.next_stage() is None
    first_init_steps = camp.state["b"]["init_steps"]
    camp.state["a"].update(done=False, drops=0)
    camp.save()
    campaign.run(runs, photos, time.time() + 120, stage="a", **kwargs)  # the init trains further
    again = campaign.Campaign(runs, tiny_plan(), tmp_path / "none")
    assert again.next_stage().name == "b" and not again.state["b"]["done"]
    done = campaign.run(runs, photos, time.time() + 120, **kwargs)
    assert done.state["b"]["done"] and done.state["b"]["init_steps"] > first_init_steps


def test_compiled_campaign_compiles_once_per_stage(photos, tmp_path):
    """torch.compile (about a minute here) is paid once: the stage's network is kept
    across segments, and the compiled run learns the same way (finite validation)."""
    runs = tmp_path / "runs"
    plan = [campaign.Stage("a", 8, 2, M=8, kind="plateau", patience=2, min_gain=1.0, max_drops=0)]
    times = []
    camp = campaign.run(
        runs,
        photos,
        time.time() + 600,
        segment_min=0.01,
        batch=2,
        crop=64,
        compile=True,
        plan=plan,
        weights=tmp_path / "none",
        log=lambda _: times.append(time.time()),
    )
    rec = camp.state["a"]
    assert rec["done"] and len(rec["validations"]) == 3 and all(np.isfinite(v["loss"]) for v in rec["validations"])
    first, later = times[1] - times[0], [b - a for a, b in zip(times[1:], times[2:])]
    assert max(later) < first  # the first segment compiled, the others reused it


def test_shipped_weights_of_another_recipe_do_not_count_as_done(photos, tmp_path):
    """A stage whose distillation weights changed trains again on a fresh machine; the
    shipped weights of the same recipe count as done."""
    kwargs = dict(segment_min=0.02, batch=2, crop=64, weights=tmp_path / "none", log=lambda _: None)
    plan = tiny_plan()
    camp = campaign.run(tmp_path / "runs", photos, time.time() + 120, plan=plan, **kwargs)
    shipped = tmp_path / "shipped"
    for name in ("a", "b"):
        camp.export(name, shipped)
    assert campaign.Campaign(tmp_path / "fresh", plan, shipped).state["b"]["done"]
    distilled = [plan[0], campaign.Stage("b", 8, 3, M=8, steps=3, init="a", teacher="a", kd_latent=0.1, kd_image=0.1)]
    fresh = campaign.Campaign(tmp_path / "fresh2", distilled, shipped)
    assert fresh.state["a"]["done"] and "b" not in fresh.state and fresh.next_stage().name == "b"
