"""AXI face of a streaming core: AXI4-Stream in and out, AXI4-Lite registers.

`REGISTERS` is the one register map: `AXIWrapper` decodes it, the host driver
(`boards.host`) addresses it by name, the Vivado flow (`boards.vivado`) sizes the
accelerator's address window from it and `register_markdown` documents it.

Protocols: AXI4-Stream (ARM IHI 0051) with TDATA/TLAST/TVALID/TREADY only (AXI DMA,
PG021, ties an absent TKEEP to all ones); AXI4-Lite (ARM IHI 0022, B1) with 32-bit data.
"""

from dataclasses import dataclass, field

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = [
    "Register",
    "REGISTERS",
    "REGISTER",
    "ID",
    "VERSION",
    "ADDRESS_BITS",
    "ERRORS",
    "OKAY",
    "SLVERR",
    "AXILiteSignature",
    "AXIStreamSignature",
    "AXIWrapper",
    "stream_bits",
    "register_markdown",
    "model_register",
]

ID = 0x4C494346  # "LICF"
VERSION = 0x0001_0001  # major.minor in the upper and lower 16 bits (1.1: MODEL)
ADDRESS_BITS = 12  # a 4 KiB window: the smallest a Vivado address segment takes
OKAY, SLVERR = 0b00, 0b10


@dataclass(frozen=True)
class Register:
    """One 32-bit register. ``access``: ``ro`` (writes answer SLVERR), ``rw``, ``w1c``
    (writing 1 clears a bit) or ``wo`` (reads 0; its bits are pulses). ``fields``:
    bit name → bit index, for the single-bit registers."""

    name: str
    offset: int
    access: str
    doc: str
    fields: dict = field(default_factory=dict)


REGISTERS = (
    Register("ID", 0x00, "ro", f'constant 0x{ID:08X} ("LICF")'),
    Register("VERSION", 0x04, "ro", "register-map version: major · 2**16 + minor"),
    Register(
        "CONTROL",
        0x08,
        "wo",
        "write START to start a frame of WIDTH×HEIGHT (ignored while "
        "BUSY); it also ends the draining of a frame that lacked TLAST",
        {"START": 0},
    ),
    Register(
        "STATUS",
        0x0C,
        "ro",
        "BUSY from START until the output's TLAST beat; DONE from then until the next START",
        {"BUSY": 0, "DONE": 1},
    ),
    Register(
        "ERROR",
        0x10,
        "w1c",
        "sticky error flags: TLAST before the frame's last pixel (the "
        "rest is padded with zeros), no TLAST on it (input is dropped up to the next TLAST "
        "or START), START with a size outside 1…MAX (refused)",
        {"EARLY_TLAST": 0, "MISSING_TLAST": 1, "BAD_SIZE": 2},
    ),
    Register("WIDTH", 0x14, "rw", "frame width in pixels, 1…MAX_WIDTH, read at START"),
    Register("HEIGHT", 0x18, "rw", "frame height in pixels, 1…MAX_HEIGHT, read at START"),
    Register("MAX_WIDTH", 0x1C, "ro", "the largest WIDTH this build takes"),
    Register("MAX_HEIGHT", 0x20, "ro", "the largest HEIGHT this build takes"),
    Register("CYCLES", 0x24, "ro", "clock cycles from the last START to its DONE (counting while BUSY)"),
    Register("FRAMES", 0x28, "ro", "frames completed since reset (wraps at 2**32)"),
    Register(
        "MODEL",
        0x2C,
        "ro",
        "the model the core was built for: the first 4 bytes (little-endian) of "
        "its fingerprint (model.registry.model_id, which a .lic header holds); 0: not recorded",
    ),
)
REGISTER = {r.name: r for r in REGISTERS}
ERRORS = REGISTER["ERROR"].fields


def register_markdown():
    """The register map as a Markdown table (for the docs and the Vivado tree)."""
    lines = ["| offset | name | access | bits | description |", "|---|---|---|---|---|"]
    for r in REGISTERS:
        bits = ", ".join(f"{n}={b}" for n, b in r.fields.items()) or "31:0"
        lines.append(f"| 0x{r.offset:02X} | {r.name} | {r.access} | {bits} | {r.doc} |")
    return "\n".join(lines) + "\n"


def model_register(fingerprint):
    """What the MODEL register reads for a model's fingerprint (bytes, as
    `model.registry.model_id` makes it): its first 4 bytes, little-endian."""
    return int.from_bytes(bytes(fingerprint)[:4], "little")


def stream_bits(bits):
    """TDATA width for ``bits`` of payload: a power of two of at least 8, since AXI DMA
    takes stream widths of 8…1024 in powers of two (PG021, "Stream Data Width")."""
    width = 8
    while width < bits:
        width *= 2
    return width


class AXILiteSignature(wiring.Signature):
    """AXI4-Lite from the manager's side, 32-bit data; ``In(...)`` of it is a subordinate."""

    def __init__(self, addr_bits=ADDRESS_BITS):
        super().__init__(
            {
                "awaddr": Out(addr_bits),
                "awprot": Out(3),
                "awvalid": Out(1),
                "awready": In(1),
                "wdata": Out(32),
                "wstrb": Out(4),
                "wvalid": Out(1),
                "wready": In(1),
                "bresp": In(2),
                "bvalid": In(1),
                "bready": Out(1),
                "araddr": Out(addr_bits),
                "arprot": Out(3),
                "arvalid": Out(1),
                "arready": In(1),
                "rdata": In(32),
                "rresp": In(2),
                "rvalid": In(1),
                "rready": Out(1),
            }
        )


class AXIStreamSignature(wiring.Signature):
    """AXI4-Stream from the transmitter's side: TDATA, TLAST, TVALID, TREADY."""

    def __init__(self, data_bits):
        super().__init__({"tdata": Out(data_bits), "tlast": Out(1), "tvalid": Out(1), "tready": In(1)})


class AXIWrapper(wiring.Component):
    """A streaming core behind AXI: pixels in on ``s_axis``, its output out on ``m_axis``,
    frame size, start and status in the `REGISTERS` behind ``s_axi``.

    The core is any `wiring.Component` with an input stream ``i`` and an output stream
    ``o`` of `rtl.stream` beats, and, if it has them, ``width``/``height`` inputs (held
    constant from START to the end of its output frame, so they only change while it is
    empty, as `rtl.window` asks). A pixel of the input frame is ``beats_per_pixel`` beats:
    one for a core that takes a whole pixel per beat (the encoder: R, G, B), or one beat
    per channel, channel fastest (the decoder's cores: an element of ŷ or ẑ per beat).
    A beat's elements, packed as its ``data``, are the low bits of TDATA. The output's
    ``data`` becomes the low bits of TDATA and its ``last`` marker TLAST: one AXI packet
    per frame, which is what an AXI DMA S2MM transfer ends on.

    Framing: the wrapper counts beats and pixels and gives the core the ``first``/
    ``last``/``eol``/``eop`` markers; TLAST only checks them. An early TLAST sets
    ``EARLY_TLAST`` and the wrapper pads the frame with zero beats, so the core still
    emits one whole output packet and ends empty; a frame's last beat without TLAST sets
    ``MISSING_TLAST`` and the wrapper drops input up to the next TLAST (or START). Either
    way the next frame starts clean.

    ``model_id`` (0…2**32 − 1) is what the MODEL register reads, so that a host can
    check the core was built for its model.

    Ports: ``s_axi`` (in, `AXILiteSignature`), ``s_axis`` (in) and ``m_axis`` (out,
    `AXIStreamSignature` of `stream_bits` of the core's data), ``irq`` (out, high while
    DONE).
    Latency: the core's, plus none: TREADY and the core's input are joined by gates on
    registered state, the output passes straight through. Throughput: the core's, one
    beat per cycle at most. Registers: BVALID comes two cycles after the later of a
    write's address and data handshakes, RVALID one cycle after a read's address; a new
    write address or data is taken once the previous write is done, a new read address
    once the previous read data has left.
    """

    def __init__(self, core, max_width, max_height, model_id=0, beats_per_pixel=1):
        if not isinstance(model_id, int) or not 0 <= model_id < 1 << 32:
            raise ValueError(
                f"AXIWrapper: model_id={model_id!r} must be an integer in 0…2**32 − 1 (the MODEL register)"
            )
        if not isinstance(beats_per_pixel, int) or isinstance(beats_per_pixel, bool) or beats_per_pixel < 1:
            raise ValueError(f"AXIWrapper: beats_per_pixel={beats_per_pixel!r} must be a positive integer")
        self.core = core
        self.beats_per_pixel = beats_per_pixel
        self.model_id = model_id
        self.max_width = max_width
        self.max_height = max_height
        self._sized = all(name in core.signature.members for name in ("width", "height"))
        self._in_data = core.i.payload.data.shape().size
        self._out_data = core.o.payload.data.shape().size
        super().__init__(
            {
                "s_axi": In(AXILiteSignature()),
                "s_axis": In(AXIStreamSignature(stream_bits(self._in_data))),
                "m_axis": Out(AXIStreamSignature(stream_bits(self._out_data))),
                "irq": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        regs = {r.name: Signal(32, name=f"reg_{r.name.lower()}") for r in REGISTERS}
        # Latched at START. Before the first START they hold a valid size, 1×1, so
        # that a core which reads them never sees an empty frame.
        width = Signal(range(1, self.max_width + 1), init=1)
        height = Signal(range(1, self.max_height + 1), init=1)
        busy, done, errors = Signal(), Signal(), Signal(len(ERRORS))
        cycles, frames = Signal(32), Signal(32)
        start = Signal()  # a START write this cycle
        m.d.comb += [
            regs["ID"].eq(ID),
            regs["VERSION"].eq(VERSION),
            regs["STATUS"].eq(Cat(busy, done)),
            regs["ERROR"].eq(errors),
            regs["MAX_WIDTH"].eq(self.max_width),
            regs["MAX_HEIGHT"].eq(self.max_height),
            regs["CYCLES"].eq(cycles),
            regs["FRAMES"].eq(frames),
            regs["MODEL"].eq(self.model_id),
            self.irq.eq(done),
        ]
        if self._sized:
            m.d.comb += [core.width.eq(width), core.height.eq(height)]
        self._registers(m, regs, start, errors)

        # --- frame control ----------------------------------------------------------
        size_ok = (
            (regs["WIDTH"] >= 1)
            & (regs["WIDTH"] <= self.max_width)
            & (regs["HEIGHT"] >= 1)
            & (regs["HEIGHT"] <= self.max_height)
        )
        begin = start & ~busy & size_ok
        with m.If(start & ~busy & ~size_ok):
            m.d.sync += errors[ERRORS["BAD_SIZE"]].eq(1)
        with m.If(busy):
            m.d.sync += cycles.eq(cycles + 1)
        out_last = self.m_axis.tvalid & self.m_axis.tready & core.o.payload.last
        with m.If(out_last):
            m.d.sync += [busy.eq(0), done.eq(1), frames.eq(frames + 1)]
        with m.If(begin):
            m.d.sync += [busy.eq(1), done.eq(0), cycles.eq(0), width.eq(regs["WIDTH"]), height.eq(regs["HEIGHT"])]

        # --- input framing ----------------------------------------------------------
        x = Signal(range(self.max_width))
        y = Signal(range(self.max_height))
        beat = core.i.payload
        moved = core.i.valid & core.i.ready
        x_end = x == width - 1
        if self.beats_per_pixel == 1:  # a pixel per beat: no channel counter
            at_first, at_eop, at_eol, step = (x == 0) & (y == 0), 1, x_end, moved
        else:
            c = Signal(range(self.beats_per_pixel))
            at_eop = c == self.beats_per_pixel - 1
            at_first, at_eol, step = (c == 0) & (x == 0) & (y == 0), at_eop & x_end, moved & at_eop
            with m.If(moved):
                m.d.sync += c.eq(Mux(at_eop, 0, c + 1))
        at_last = at_eol & (y == height - 1)
        m.d.comb += [
            beat.first.eq(at_first),
            beat.eol.eq(at_eol),
            beat.last.eq(at_last),
            beat.eop.eq(at_eop),
        ]
        with m.If(step):
            m.d.sync += [x.eq(Mux(x_end, 0, x + 1)), y.eq(Mux(x_end, y + 1, y))]
            with m.If(at_last):
                m.d.sync += y.eq(0)
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(begin):
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += beat.data.eq(self.s_axis.tdata[: self._in_data])
                with m.If(moved):
                    with m.If(at_last & ~self.s_axis.tlast):
                        m.d.sync += errors[ERRORS["MISSING_TLAST"]].eq(1)
                        m.next = "DRAIN"
                    with m.Elif(at_last):
                        m.next = "IDLE"
                    with m.Elif(self.s_axis.tlast):
                        m.d.sync += errors[ERRORS["EARLY_TLAST"]].eq(1)
                        m.next = "PAD"
            with m.State("PAD"):
                # data stays 0: the missing pixels are zeros, so the core ends its frame
                with m.If(moved & at_last):
                    m.next = "IDLE"
            with m.State("DRAIN"):
                with m.If(begin):
                    m.next = "RUN"
                with m.Elif(self.s_axis.tvalid & self.s_axis.tlast):
                    m.next = "IDLE"

        # The handshakes as multiplexers of the state rather than assignments inside it:
        # Icarus runs no ``always @*`` block whose inputs keep their time-0 values, which
        # would leave TREADY undefined while a core's ready is a register that has not
        # changed since reset. RUN passes TVALID and the core's ready; PAD feeds the core
        # zeros (the missing pixels, so the core ends its frame); DRAIN takes and drops.
        run, pad, drain = fsm.ongoing("RUN"), fsm.ongoing("PAD"), fsm.ongoing("DRAIN")
        m.d.comb += [
            core.i.valid.eq(Mux(run, self.s_axis.tvalid, pad)),
            self.s_axis.tready.eq(Mux(run, core.i.ready, drain)),
        ]
        m.d.comb += [
            self.m_axis.tdata.eq(core.o.payload.data.as_value()),
            self.m_axis.tlast.eq(core.o.payload.last),
            self.m_axis.tvalid.eq(core.o.valid),
            core.o.ready.eq(self.m_axis.tready),
        ]
        return m

    def _registers(self, m, regs, start, errors):
        """The AXI4-Lite subordinate: write address and data are taken independently
        into one-entry holding registers; the write happens once both are held and the
        previous response has left; reads answer one cycle after their address."""
        bus = self.s_axi
        index = {r.offset >> 2: r for r in REGISTERS}
        word = slice(2, ADDRESS_BITS)

        aw_full, aw_addr = Signal(), Signal(ADDRESS_BITS)
        w_full, w_data, w_strb = Signal(), Signal(32), Signal(4)
        bvalid, bresp = Signal(), Signal(2)
        m.d.comb += [bus.awready.eq(~aw_full), bus.wready.eq(~w_full), bus.bvalid.eq(bvalid), bus.bresp.eq(bresp)]
        with m.If(bus.awvalid & ~aw_full):
            m.d.sync += [aw_full.eq(1), aw_addr.eq(bus.awaddr)]
        with m.If(bus.wvalid & ~w_full):
            m.d.sync += [w_full.eq(1), w_data.eq(bus.wdata), w_strb.eq(bus.wstrb)]
        with m.If(bvalid & bus.bready):
            m.d.sync += bvalid.eq(0)
        write = aw_full & w_full & ~bvalid
        mask = Cat(*(b.replicate(8) for b in w_strb))
        with m.If(write):
            m.d.sync += [aw_full.eq(0), w_full.eq(0), bvalid.eq(1)]
            with m.Switch(aw_addr[word]):
                for number, reg in index.items():
                    with m.Case(number):
                        m.d.sync += bresp.eq(SLVERR if reg.access == "ro" else OKAY)
                        if reg.access == "rw":
                            m.d.sync += regs[reg.name].eq((regs[reg.name] & ~mask) | (w_data & mask))
                        elif reg.access == "w1c":
                            m.d.sync += errors.eq(errors & ~(w_data & mask)[: len(errors)])
                        elif reg.name == "CONTROL":
                            m.d.comb += start.eq(w_data[REGISTER["CONTROL"].fields["START"]] & w_strb[0])
                with m.Default():
                    m.d.sync += bresp.eq(SLVERR)

        rvalid, rdata, rresp = Signal(), Signal(32), Signal(2)
        m.d.comb += [bus.arready.eq(~rvalid), bus.rvalid.eq(rvalid), bus.rdata.eq(rdata), bus.rresp.eq(rresp)]
        with m.If(rvalid & bus.rready):
            m.d.sync += rvalid.eq(0)
        with m.If(bus.arvalid & ~rvalid):
            m.d.sync += rvalid.eq(1)
            with m.Switch(bus.araddr[word]):
                for number, reg in index.items():
                    with m.Case(number):
                        m.d.sync += [rdata.eq(0 if reg.access == "wo" else regs[reg.name]), rresp.eq(OKAY)]
                with m.Default():
                    m.d.sync += [rdata.eq(0), rresp.eq(SLVERR)]
