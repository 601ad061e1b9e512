"""``python -m fsartifacts``."""

from fsartifacts.cli.commands import run

run()
