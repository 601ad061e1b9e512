"""``python -m fsartifacts``."""

from .cli import run

run()
