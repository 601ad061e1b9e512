"""Progress bars for transfers, through fsspec callbacks.

Shown only when stderr is a terminal, ``CI`` is unset and the user did not
ask for quiet, JSON or ``--no-progress`` (the rule JFrog CLI users settled on).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsspec.callbacks import Callback

ProgressFactory = Callable[[str, "int | None"], "Callback"]


def no_progress(label: str, size: int | None) -> Callback:
    from fsspec.callbacks import NoOpCallback

    return NoOpCallback()


def wanted(*, disabled: bool, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return not disabled and not env.get("CI") and sys.stderr.isatty()


def bars(label: str, size: int | None) -> Callback:
    """A tqdm bar on stderr for one transfer, removed when it ends."""
    from fsspec.callbacks import TqdmCallback

    callback = TqdmCallback(
        tqdm_kwargs={
            "desc": label,
            "unit": "B",
            "unit_scale": True,
            "unit_divisor": 1024,
            "leave": False,
            "file": sys.stderr,
            "dynamic_ncols": True,
        }
    )
    if size is not None:
        callback.set_size(size)
    return callback
