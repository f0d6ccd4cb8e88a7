"""Host driver of the accelerator: one interface, two backends.

`Accelerator.run` streams frames through an AXI-wrapped core (`boards.core`: the
encoder, the hyper-decoder or the decoder) and returns each frame's output; two adapters
make that the codec's backends: `EncoderAnalysis` its analysis backend (``licfpga
compress --backend board|rtl-sim``: ŷ, ẑ and the scale indices) and `DecoderSynthesis`
its synthesis backend (``licfpga decompress --backend board|rtl-sim``: the scale
indices from ẑ on the hyper-decoder, the image from ŷ on the decoder). What the driver
does on the bus is one sans-IO program, `frame_program`: a generator that yields `Read`,
`Write` and `Stream` requests and receives their answers. A backend only carries them
out:

``board``
    on the ZCU102's Linux (the ``ps`` design loaded): registers and AXI DMA through
    PYNQ when it is installed, else through /dev/mem, with DMA buffers from the
    u-dma-buf driver (physically contiguous, its physical address in sysfs).
``rtl-sim``
    the same program inside a cocotb simulation of the wrapped core in Verilator
    (`boards.host_tb`), carried out by cocotbext-axi's AxiLiteMaster, AxiStreamSource
    and AxiStreamSink.
"""

import mmap
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..gen.balance import BalanceError
from ..gen.layers import decoder_from_artefact, hyper_from_artefact
from ..model.codec import CodecError
from ..rtl.axi import ERRORS, ID, REGISTER
from ..sim.runner import run_bench
from .core import decoder_core, encoder_core, hyper_core
from .vivado import ADDRESS_MAP, DECODER_ADDRESS_MAP, ps_core, ps_decoder_cores

__all__ = [
    "Read",
    "Write",
    "Stream",
    "DriverError",
    "Frame",
    "frame_program",
    "drive",
    "drive_async",
    "Accelerator",
    "BoardBackend",
    "RtlSimBackend",
    "EncoderAnalysis",
    "DecoderSynthesis",
    "rtl_sim_analysis",
    "board_analysis",
    "rtl_sim_synthesis",
    "board_synthesis",
    "RTL_SIM_DSP_BUDGET",
    "RTL_SIM_HYPER_DSP_BUDGET",
    "RTL_SIM_DECODER_DSP_BUDGET",
]

#: The rtl-sim codec backend's budget: enough for the cheapest folding of every engine of
#: the N=8…64 students, and small, so that the Verilog and its build stay small.
RTL_SIM_DSP_BUDGET = 100
#: The rtl-sim synthesis backend's budgets, as small: h_s's cheapest folding takes 5 DSPs,
#: g_s's 33, for every N (20 run the tiny student's h_s at 9 MACs a cycle, 100 its g_s
#: at about 8.5 cycles per decoded pixel).
RTL_SIM_HYPER_DSP_BUDGET = 20
RTL_SIM_DECODER_DSP_BUDGET = 100

START = 1 << REGISTER["CONTROL"].fields["START"]
DONE = 1 << REGISTER["STATUS"].fields["DONE"]
ALL_ERRORS = sum(1 << bit for bit in ERRORS.values())


@dataclass(frozen=True)
class Read:
    name: str


@dataclass(frozen=True)
class Write:
    name: str
    value: int


@dataclass(frozen=True)
class Stream:
    """Send ``data`` as one AXI4-Stream packet and receive the output packet (at most
    ``capacity`` bytes); the answer is the received bytes."""

    data: bytes
    capacity: int


class DriverError(UserError, RuntimeError):
    pass


@dataclass
class Frame:
    output: bytes
    cycles: int


def frame_program(width, height, pixels, capacity, model_id=None):
    """The bus transactions of one frame: check the ID, the model (MODEL must read
    ``model_id`` when it is given) and the size limits, clear the error flags, program the
    size, START, stream the pixels and take the output, then check DONE and the error
    flags and read the cycle count. Returns a `Frame`."""
    ident = yield Read("ID")
    if ident != ID:
        raise DriverError(f"no licfpga accelerator: ID reads 0x{ident:08X}, not 0x{ID:08X}")
    if model_id is not None:
        built = yield Read("MODEL")
        if built != model_id:
            raise DriverError(
                f"the accelerator was built for another model (MODEL 0x{built:08x}, this model "
                f"0x{model_id:08x}): load the bitstream licfpga build --model made for this one"
            )
    limit = (yield Read("MAX_WIDTH")), (yield Read("MAX_HEIGHT"))
    if not (1 <= width <= limit[0] and 1 <= height <= limit[1]):
        raise DriverError(f"frame {width}×{height} is outside this build's 1…{limit[0]}×{limit[1]}")
    yield Write("ERROR", ALL_ERRORS)
    yield Write("WIDTH", width)
    yield Write("HEIGHT", height)
    yield Write("CONTROL", START)
    output = yield Stream(pixels, capacity)
    status, errors = (yield Read("STATUS")), (yield Read("ERROR"))
    if errors:
        raise DriverError("accelerator error flags: " + ", ".join(n for n, b in ERRORS.items() if errors >> b & 1))
    if not status & DONE:
        raise DriverError(f"output packet received but STATUS is 0x{status:x}, not DONE")
    return Frame(output, (yield Read("CYCLES")))


def drive(program, read, write, stream):
    """Runs a `frame_program` with synchronous ``read(offset)``, ``write(offset, value)``
    and ``stream(data, capacity)``."""
    answer = None
    try:
        while True:
            request = program.send(answer)
            if isinstance(request, Read):
                answer = read(REGISTER[request.name].offset)
            elif isinstance(request, Write):
                answer = write(REGISTER[request.name].offset, request.value)
            else:
                answer = stream(request.data, request.capacity)
    except StopIteration as stop:
        return stop.value


async def drive_async(program, lite, source, sink):
    """`drive` for cocotb, with cocotbext-axi models (the `rtl-sim` backend)."""
    import cocotb
    from cocotbext.axi import AxiStreamFrame

    answer = None
    try:
        while True:
            request = program.send(answer)
            if isinstance(request, Read):
                reply = await lite.read(REGISTER[request.name].offset, 4)
                answer = int.from_bytes(reply.data, "little")
            elif isinstance(request, Write):
                await lite.write(REGISTER[request.name].offset, request.value.to_bytes(4, "little"))
                answer = None
            else:
                receive = cocotb.start_soon(sink.recv())
                await source.send(AxiStreamFrame(request.data))
                answer = bytes((await receive).tdata)
                if len(answer) > request.capacity:
                    raise DriverError(f"output of {len(answer)} bytes > {request.capacity}")
    except StopIteration as stop:
        return stop.value


class Accelerator:
    """An AXI-wrapped ``core`` (`boards.core`: `EncoderCore`, `HyperCore` or `DecoderCore`)
    on ``backend``."""

    def __init__(self, core, backend):
        self.core = core
        self.backend = backend

    def run(self, inputs):
        """Streams each input frame (what the core's ``job`` takes: an (H, W, 3) uint8 frame
        for the encoder, ẑ or ŷ as (C, h, w) for the decoder's cores) through the core;
        returns for each its output (the core's ``output``: the encoder's packet of ŷ, ẑ
        and the scale indices, the scale indices, the decoded frame) and the CYCLES
        register."""
        jobs = []
        for x in inputs:
            width, height, data = self.core.job(x)
            jobs.append((width, height, data, self.core.capacity(width, height), self.core.model_id or None))
        return [
            (self.core.output(r.output, width, height), r.cycles)
            for (width, height, *_), r in zip(jobs, self.backend.run(jobs))
        ]


class RtlSimBackend:
    """Runs the jobs in one cocotb simulation of ``core``'s `rtl.axi.AXIWrapper` on
    ``simulator``; the build (``axi_<part>_<model>``) is cached by its Verilog
    (`sim.runner`)."""

    def __init__(self, core, simulator="verilator", seed=1):
        self.core = core
        self.simulator = simulator
        self.seed = seed

    def run(self, jobs):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "frames.npz"
            arrays = {f"pixels{n}": np.frombuffer(job[2], dtype=np.uint8) for n, job in enumerate(jobs)}
            params = {"jobs": [[w, h, c, model] for w, h, _, c, model in jobs], "out": str(out)}
            run_bench(
                self.core.wrapper(),
                f"axi_{self.core.part}_{self.core.name}",
                "licfpga.boards.host_tb",
                params,
                arrays=arrays,
                simulator=self.simulator,
                seed=self.seed,
            )
            with np.load(out) as got:
                return [Frame(got[f"output{n}"].tobytes(), int(got["cycles"][n])) for n in range(len(jobs))]


class _OnAccelerator:
    """What the codec's backends on the accelerator share: ``name`` (the backend's, in
    messages), ``transport(core)`` (the backend that runs a core: `RtlSimBackend`,
    `BoardBackend`), and one frame through a core, where a frame the core cannot take,
    input outside its types or a driver error is a `model.codec.CodecError` named after
    the backend. ``cycles``: the last frame's CYCLES register, by core (``part``)."""

    def __init__(self, name, transport):
        self.name = name
        self.transport = transport
        self.cycles = {}

    def _run(self, core_for, x, width, height):
        try:
            core = core_for(width, height)
            [(out, cycles)] = Accelerator(core, self.transport(core)).run([x])
        except (BalanceError, DriverError, ValueError) as exc:
            raise CodecError(f"{self.name}: {exc}") from None
        self.cycles[core.part] = cycles
        return core, out


class EncoderAnalysis(_OnAccelerator):
    """`model.codec.AnalysisBackend` on the accelerator: ``core_for(width, height)`` gives
    the `boards.core.EncoderCore` for a frame."""

    def __init__(self, name, core_for, transport):
        super().__init__(name, transport)
        self.core_for = core_for

    def analyse(self, x):
        height, width = x.shape[:2]
        core, packet = self._run(self.core_for, x, width, height)
        return core.latents(packet, width, height)


class DecoderSynthesis(_OnAccelerator):
    """`model.codec.SynthesisBackend` on the accelerator: ``hyper_for(width, height)``
    gives the `boards.core.HyperCore` for a ẑ frame (h_s: the scale indices),
    ``decoder_for(width, height)`` the `boards.core.DecoderCore` for a ŷ frame (g_s: the
    padded image). The codec checks what comes back."""

    def __init__(self, name, hyper_for, decoder_for, transport):
        super().__init__(name, transport)
        self.hyper_for = hyper_for
        self.decoder_for = decoder_for

    def indexes(self, z_hat):
        return self._run(self.hyper_for, z_hat, z_hat.shape[2], z_hat.shape[1])[1]

    def reconstruct(self, y_hat):
        return self._run(self.decoder_for, y_hat, y_hat.shape[2], y_hat.shape[1])[1]


def rtl_sim_analysis(artefact, model_id=0, simulator="verilator"):
    """The codec's ``rtl-sim`` backend: for each frame, the encoder of ``artefact``
    generated with line buffers for exactly that frame within `RTL_SIM_DSP_BUDGET` DSPs,
    AXI-wrapped (MODEL reading ``model_id``, checked as on the board), run by
    `RtlSimBackend` (one build per frame size, cached). For small images and models: the
    shipped N=64 students build for many minutes."""

    def core_for(width, height):
        return encoder_core(
            artefact, None, RTL_SIM_DSP_BUDGET, max_frame=(width, height), plan_frame=(width, height), model_id=model_id
        )

    return EncoderAnalysis("rtl-sim", core_for, lambda core: RtlSimBackend(core, simulator))


def board_analysis(artefact, model_id, bitstream=None):
    """The codec's ``board`` backend: the ``ps`` design's encoder of ``artefact`` on this
    ZCU102 (`BoardBackend`), whose MODEL register must read ``model_id``. Off the board,
    a `model.codec.CodecError` before anything is written."""
    try:
        board = BoardBackend(bitstream)
    except DriverError as exc:
        raise CodecError(f"board: {exc}") from None
    core = ps_core(artefact, model_id=model_id)
    return EncoderAnalysis("board", lambda width, height: core, lambda _: board)


def rtl_sim_synthesis(artefact, model_id=0, simulator="verilator"):
    """The codec's ``rtl-sim`` synthesis backend: for each ẑ frame, the hyper-decoder of
    ``artefact`` (within `RTL_SIM_HYPER_DSP_BUDGET` DSPs), and for each ŷ frame its
    decoder (within `RTL_SIM_DECODER_DSP_BUDGET`), each generated with line buffers for
    exactly the image those latents come from, AXI-wrapped (MODEL reading ``model_id``,
    checked as on the board) and run by `RtlSimBackend` (one build per core and frame
    size, cached by its Verilog). For small images and models, as `rtl_sim_analysis`."""
    hyper_scale = hyper_from_artefact(artefact).frame_scale
    decoder_scale = decoder_from_artefact(artefact).frame_scale

    def hyper_for(width, height):
        frame = (hyper_scale * width, hyper_scale * height)
        return hyper_core(artefact, RTL_SIM_HYPER_DSP_BUDGET, max_frame=frame, plan_frame=frame, model_id=model_id)

    def decoder_for(width, height):
        frame = (decoder_scale * width, decoder_scale * height)
        return decoder_core(artefact, RTL_SIM_DECODER_DSP_BUDGET, max_frame=frame, plan_frame=frame, model_id=model_id)

    return DecoderSynthesis("rtl-sim", hyper_for, decoder_for, lambda core: RtlSimBackend(core, simulator))


def board_synthesis(artefact, model_id, bitstream=None):
    """The codec's ``board`` synthesis backend: the decoder's PL design on this ZCU102,
    the hyper-decoder and the decoder of ``artefact`` (`boards.vivado.ps_decoder_cores`),
    each behind its AXI DMA at `boards.vivado.DECODER_ADDRESS_MAP`, whose MODEL
    registers must read ``model_id``.

    No Vivado tree makes that design yet, so there is no bitstream to load: on the board
    the first frame fails in `frame_program` (ID or MODEL) unless one built elsewhere is
    loaded. Off the board, a `model.codec.CodecError` before anything is touched."""
    try:
        boards = {
            "hyper": BoardBackend(bitstream, regs="hyper", dma="hyper_dma", address_map=DECODER_ADDRESS_MAP),
            "decoder": BoardBackend(
                bitstream, regs="decoder", dma="decoder_dma", address_map=DECODER_ADDRESS_MAP, load=False
            ),
        }
    except DriverError as exc:
        raise CodecError(f"board: {exc}") from None
    hyper, decoder = ps_decoder_cores(artefact, model_id=model_id)
    return DecoderSynthesis("board", lambda w, h: hyper, lambda w, h: decoder, lambda core: boards[core.part])


# AXI DMA registers in direct register mode (PG021, "Register Space").
MM2S_DMACR, MM2S_DMASR, MM2S_SA, MM2S_SA_MSB, MM2S_LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
S2MM_DMACR, S2MM_DMASR, S2MM_DA, S2MM_DA_MSB, S2MM_LENGTH = 0x30, 0x34, 0x48, 0x4C, 0x58
DMACR_RS, DMASR_ERRORS, DMASR_IOC = 1 << 0, 0x70, 1 << 12  # run; internal/slave/decode errors; done


class _Window:
    """32-bit registers of a physical address window, through /dev/mem."""

    def __init__(self, base, size):
        fd = os.open("/dev/mem", os.O_RDWR | os.O_SYNC)
        try:
            self.map = mmap.mmap(fd, size, offset=base)
        finally:
            os.close(fd)
        self.words = np.frombuffer(self.map, dtype=np.uint32)

    def read(self, offset):
        return int(self.words[offset // 4])

    def write(self, offset, value):
        self.words[offset // 4] = value


class _UDmaBuf:
    """A physically contiguous buffer of the u-dma-buf driver (/dev/udmabufN)."""

    def __init__(self, name):
        sysfs = Path("/sys/class/u-dma-buf") / name
        self.phys = int((sysfs / "phys_addr").read_text(), 0)
        self.size = int((sysfs / "size").read_text(), 0)
        with open(f"/dev/{name}", "r+b") as f:
            self.map = mmap.mmap(f.fileno(), self.size)


def _zynq_ultrascale():
    """Whether this Linux runs on a Zynq UltraScale+ (its device tree says so)."""
    for path in ("/proc/device-tree/compatible", "/sys/firmware/devicetree/base/compatible"):
        try:
            return b"xlnx,zynqmp" in Path(path).read_bytes()
        except OSError:
            continue
    return False


class BoardBackend:
    """One core of a design on the ZCU102 (by default the ``ps`` design's encoder):
    ``regs`` and ``dma`` name its register block and its AXI DMA in ``address_map`` (and
    the DMA in the PYNQ overlay). With PYNQ installed and ``bitstream`` given (its .bit
    with the .hwh beside it), PYNQ loads it (unless ``load`` is false: a second core of a
    bitstream loaded already) and moves the data; otherwise the bitstream must be loaded
    already (fpgautil), and /dev/mem reaches the registers and two u-dma-buf buffers
    (``udmabuf0`` in, ``udmabuf1`` out) hold the data. As root.

    Anywhere but a Zynq UltraScale+ it raises `DriverError` before it touches /dev/mem."""

    def __init__(self, bitstream=None, timeout_s=10.0, regs="accel", dma="axi_dma", address_map=ADDRESS_MAP, load=True):
        if not _zynq_ultrascale():
            raise DriverError(
                "this machine is not the ZCU102 (its device tree names no xlnx,zynqmp): "
                "the board backend runs on the board's Linux with the ps design loaded"
            )
        self.timeout_s = timeout_s
        try:
            import pynq
        except ImportError:
            pynq = None
        self.pynq = pynq if bitstream is not None else None
        if self.pynq is not None:
            self.dma = getattr(pynq.Overlay(str(bitstream), download=load), dma)  # loads the bitstream
            self.regs = pynq.MMIO(*address_map[regs])
            self.dma_regs = pynq.MMIO(*address_map[dma])
        else:
            try:
                self.buffers = _UDmaBuf("udmabuf0"), _UDmaBuf("udmabuf1")
                self.regs = _Window(*address_map[regs])
                self.dma_regs = _Window(*address_map[dma])
            except OSError as exc:
                raise DriverError(
                    f"{exc.filename or '/dev/mem'}: {exc.strerror or exc} (the board backend "
                    f"needs root and the u-dma-buf buffers udmabuf0/1)"
                ) from None

    def run(self, jobs):
        results = []
        for job in jobs:
            program = frame_program(*job)
            results.append(drive(program, self.regs.read, self.regs.write, self._stream))
        return results

    def _stream(self, data, capacity):
        if self.pynq is not None:
            send = self.pynq.allocate((len(data),), dtype=np.uint8)
            receive = self.pynq.allocate((capacity,), dtype=np.uint8)
            send[:] = np.frombuffer(data, dtype=np.uint8)
            self.dma.recvchannel.transfer(receive)
            self.dma.sendchannel.transfer(send)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            # S2MM_LENGTH holds the bytes the packet brought once the transfer is done
            return bytes(receive[: self.dma_regs.read(S2MM_LENGTH)])
        source, sink = self.buffers
        if len(data) > source.size or capacity > sink.size:
            raise DriverError(
                f"u-dma-buf buffers of {source.size}/{sink.size} bytes are too "
                f"small for {len(data)} in and {capacity} out"
            )
        source.map[: len(data)] = data
        dma = self.dma_regs
        for control, status in ((MM2S_DMACR, MM2S_DMASR), (S2MM_DMACR, S2MM_DMASR)):
            dma.write(control, DMACR_RS)
            dma.write(status, 0x7000)  # clear the W1C IOC, delay and error interrupt bits
        # S2MM first, so that the output never waits for a receive buffer
        dma.write(S2MM_DA, sink.phys & 0xFFFF_FFFF)
        dma.write(S2MM_DA_MSB, sink.phys >> 32)
        dma.write(S2MM_LENGTH, capacity)
        dma.write(MM2S_SA, source.phys & 0xFFFF_FFFF)
        dma.write(MM2S_SA_MSB, source.phys >> 32)
        dma.write(MM2S_LENGTH, len(data))
        deadline = time.monotonic() + self.timeout_s
        for status in (MM2S_DMASR, S2MM_DMASR):
            while not dma.read(status) & (DMASR_IOC | DMASR_ERRORS):
                if time.monotonic() > deadline:
                    raise DriverError(f"DMA timeout, status 0x{dma.read(status):08x}")
            if dma.read(status) & DMASR_ERRORS:
                raise DriverError(f"DMA error, status 0x{dma.read(status):08x}")
        return bytes(sink.map[: dma.read(S2MM_LENGTH)])
