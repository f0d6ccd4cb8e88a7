"""licfpga: learned image compression on an FPGA."""

__version__ = "0.1.0"
