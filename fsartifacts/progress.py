"""Progress bars for transfers, through fsspec callbacks.

Shown only when stderr is a terminal, ``CI`` is unset and the user did not
ask for quiet, JSON or ``--no-progress`` (the rule JFrog CLI users settled on).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fsartifacts.escaping import printable

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
            "desc": printable(label),  # a name from the store: never raw to the terminal
            "unit": "B",
            "bar_format": "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]",
            "leave": False,
            "file": sys.stderr,
            "dynamic_ncols": True,
        },
        tqdm_cls=_binary_tqdm(),
    )
    if size is not None:
        callback.set_size(size)
    return callback


@functools.cache
def _binary_tqdm() -> type:
    """tqdm, with sizes and rates written as the rest of the output writes them (MiB).

    tqdm's own ``unit_scale`` names binary multiples with decimal prefixes ("3.00MB"
    for 3 MiB) and always computes the rate in decimal ones.
    """
    from tqdm import tqdm

    from fsartifacts.cli.render import human_size

    class BinaryTqdm(tqdm):
        @property
        def format_dict(self) -> dict[str, Any]:
            shown: dict[str, Any] = super().format_dict
            total, elapsed = shown.get("total"), shown.get("elapsed")
            rate = shown.get("rate") or (shown.get("n", 0) / elapsed if elapsed else None)
            shown["n_fmt"] = human_size(int(shown.get("n") or 0))
            shown["total_fmt"] = human_size(int(total)) if total else "?"
            shown["rate_fmt"] = f"{human_size(int(rate))}/s" if rate else "? B/s"
            return shown

    return BinaryTqdm
