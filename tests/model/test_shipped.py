"""Properties every shipped model must keep (these run on the real weight files)."""

from importlib.resources import files

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.model.golden import GoldenModel
from licfpga.model.registry import list_models, load_integer_model

INTEGER_MODELS = [m.name for m in list_models() if m.integer]


@pytest.fixture(scope="module")
def crop():
    """A 64×64 crop of the bundled sample photo, (1, 3, 64, 64) uint8 values as int64."""
    with Image.open(files("licfpga") / "data" / "kodim23-crop.png") as image:
        pixels = np.asarray(image.convert("RGB"))[160:224, 300:364]
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].long()


def test_every_student_ships_an_integer_artefact():
    students = {m.name for m in list_models() if m.role == "student" and not m.integer}
    assert students and {f"{name}-int8" for name in students} <= set(INTEGER_MODELS)


@pytest.mark.parametrize("name", INTEGER_MODELS)
def test_symbols_are_identical_across_threads_and_libraries(name, crop):
    """ŷ, ẑ and the scale indexes of each shipped integer model: torch with 1 and 2
    threads and numpy give the same integers."""
    golden = GoldenModel(load_integer_model(name)[0])
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            y = golden.g_a(crop)
            z = golden.h_a(y)
            results.append((y, z, golden.h_s(z)))
    finally:
        torch.set_num_threads(threads)
    y_np = golden.g_a(crop.numpy())
    z_np = golden.h_a(y_np)
    results.append(tuple(torch.from_numpy(np.asarray(a)) for a in (y_np, z_np, golden.h_s(z_np))))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert torch.equal(a, b)
    assert results[0][0].abs().max() > 0  # a trained model's latent is not all zeros
