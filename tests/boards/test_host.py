"""The host driver's rtl-sim backend: the bus program of `boards.host` against the
simulated AXI-wrapped core through cocotbext-axi, frames of two sizes, outputs equal
to the core's reference."""

import numpy as np
import pytest

from licfpga.boards.cores import CORES
from licfpga.boards.host import Accelerator, DriverError, Read, RtlSimBackend, frame_program
from licfpga.boards.selftest import rom_frame
from licfpga.rtl.axi import ID


def test_rtl_sim_backend_matches_the_reference():
    core = "window-k3s1c3"
    spec = CORES[core]
    frames = [rom_frame(10, 6, 3, seed=2), rom_frame(5, 9, 3, seed=3)]
    accel = Accelerator(core, RtlSimBackend(core, max_size=(16, 16)))
    for frame, (output, cycles) in zip(frames, accel.encode(frames)):
        assert np.array_equal(output, spec.reference(frame))
        assert cycles >= frame.shape[0] * frame.shape[1]


def test_program_checks_the_id_and_the_size():
    program = frame_program(8, 8, b"", 0)
    assert program.send(None) == Read("ID")
    with pytest.raises(DriverError, match="ID reads"):
        program.send(0)
    program = frame_program(80, 8, b"", 0)
    program.send(None)
    assert program.send(ID) == Read("MAX_WIDTH")
    program.send(64)
    with pytest.raises(DriverError, match="outside"):
        program.send(64)
