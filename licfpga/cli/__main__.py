"""``python -m licfpga.cli``: the ``licfpga`` command."""

import sys

from . import main

sys.exit(main())
