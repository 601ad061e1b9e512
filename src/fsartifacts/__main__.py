"""``python -m fsartifacts``."""

import sys

from .cli import main

sys.exit(main())
