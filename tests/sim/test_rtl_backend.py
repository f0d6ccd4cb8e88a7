"""`licfpga compress --backend rtl-sim` on the tiny student (sim/encoder_bench.py): the
generated encoder in Verilator writes the same .lic file as the golden model."""

import numpy as np
from PIL import Image

from licfpga.cli import main
from licfpga.sim.encoder_bench import crops, tiny_student


def test_rtl_sim_writes_the_golden_file(tmp_path, capsys):
    image = tmp_path / "crop.png"
    Image.fromarray(crops(np.random.default_rng(5), [(64, 48)])[0]).save(image)
    model = str(tiny_student())
    for backend in ("golden", "rtl-sim"):
        assert main(["compress", str(image), str(tmp_path / f"{backend}.lic"), "--model", model,
                     "--backend", backend]) == 0, capsys.readouterr().err
    assert (tmp_path / "rtl-sim.lic").read_bytes() == (tmp_path / "golden.lic").read_bytes()
