"""Progress: one bar per artifact, fed by the transfers of its files.

Shown only when stderr is a terminal, ``CI`` is unset and the user did not
ask for quiet, JSON or ``--no-progress`` (the rule JFrog CLI users settled on).

A bar reads ``features 1.2.0: 412/2000 files, 12.9/64.0 MiB, 3.1 MiB/s``: the
artifact's version, its files (for a folder) and bytes so far. The files of a
folder move several at once; each transfer reports to its own
:class:`~fsartifacts.progressbars.FileShare`, which passes what it moved on to the
artifact's :class:`~fsartifacts.progressbars.Tally`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fsspec.callbacks import Callback

    from fsartifacts.progressbars import TqdmBar

# The bars themselves (fsspec callbacks, tqdm) are in fsartifacts.progressbars, imported
# when the first one is made: a command that moves nothing (validate) loads neither.


class ProgressFactory(Protocol):
    """Makes the bar of one artifact: its label, total bytes, and file count for a folder."""

    def __call__(self, label: str, size: int | None, files: int | None = None) -> Callback: ...


def no_progress(label: str, size: int | None, files: int | None = None) -> Callback:
    from fsspec.callbacks import NoOpCallback

    return NoOpCallback()


def wanted(*, disabled: bool, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return not disabled and not env.get("CI") and sys.stderr.isatty()


def bars(
    label: str, size: int | None, files: int | None = None, *, stream: IO[str] | None = None
) -> TqdmBar:
    """A tqdm bar on stderr (or ``stream``) for one artifact, removed when it ends."""
    from fsartifacts.progressbars import TqdmBar

    return TqdmBar(label, size, files, stream or sys.stderr)
