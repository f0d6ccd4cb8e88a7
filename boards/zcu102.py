"""The ZCU102 evaluation board (XCZU9EG-2FFVB1156E) as an Amaranth platform.

Pins and I/O standards from the board's user guide (UG1182, ZCU102 Evaluation Board
User Guide: "Clock Generation", "User I/O", "USB UART") and its master constraints
file (zcu102 XDC, rev 1.0), where the nets are CLK_125_P/N, USER_SI570_P/N,
CPU_RESET, GPIO_LED_0..7, GPIO_SW_N/E/S/W/C, GPIO_DIP_SW0..7 and
UART2_TXD_O_FPGA_RXD / UART2_RXD_I_FPGA_TXD (channel 2 of the CP2108 USB-UART
bridge, the one wired to the PL). The resources use amaranth-boards' helpers.

Clocks: ``clk125`` (SI5341B, fixed 125 MHz, an HD bank at 3.3 V, so LVDS_25 input
without internal termination) is the default clock; ``clk300`` is the user SI570,
300 MHz at power-on but programmable through the system controller, so a design that
needs an exact frequency uses ``clk125``.
"""

from amaranth.build import Attrs, Clock, DiffPairs, Pins, Resource
from amaranth.vendor import XilinxPlatform
from amaranth_boards.resources import ButtonResources, LEDResources, SwitchResources, UARTResource

__all__ = ["ZCU102Platform", "PART"]

PART = "xczu9eg-ffvb1156-2-e"


class ZCU102Platform(XilinxPlatform):
    device = "xczu9eg"
    package = "ffvb1156"
    speed = "2-e"
    default_clk = "clk125"
    default_rst = "cpu_reset"
    resources = [
        Resource("clk125", 0, DiffPairs("G21", "F21", dir="i"), Clock(125e6), Attrs(IOSTANDARD="LVDS_25")),
        Resource("clk300", 0, DiffPairs("AL8", "AL7", dir="i"), Clock(300e6), Attrs(IOSTANDARD="DIFF_SSTL12")),
        # SW20 "CPU_RESET": high while pressed
        Resource("cpu_reset", 0, Pins("AM13", dir="i"), Attrs(IOSTANDARD="LVCMOS33")),
        # GPIO_LED_0..7 (DS38..DS45), bank 44 at 3.3 V
        *LEDResources(
            pins="AG14 AF13 AE13 AJ14 AJ15 AH13 AH14 AL12", attrs=Attrs(IOSTANDARD="LVCMOS33", SLEW="SLOW", DRIVE="8")
        ),
        # GPIO_SW_N, E, S, W, C: high while pressed
        *(
            button
            for name, pin in (("n", "AG15"), ("e", "AE14"), ("s", "AE15"), ("w", "AF15"), ("c", "AG13"))
            for button in ButtonResources(f"button_{name}", pins=pin, attrs=Attrs(IOSTANDARD="LVCMOS33"))
        ),
        *SwitchResources(pins="AN14 AP14 AM14 AN13 AN12 AP12 AL13 AK13", attrs=Attrs(IOSTANDARD="LVCMOS33")),
        # The PL's UART: F13 is the FPGA's transmit pin (to the bridge's RXD), E13 its
        # receive pin, as in the master XDC's net names read from the FPGA's side.
        UARTResource(0, rx="E13", tx="F13", attrs=Attrs(IOSTANDARD="LVCMOS33")),
    ]
    connectors = []
