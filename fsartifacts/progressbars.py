"""The bars of :mod:`fsartifacts.progress`: fsspec callbacks that count an artifact's bytes
and files as its transfers move them, and the tqdm line that shows them on a terminal."""

from __future__ import annotations

import functools
import threading
from typing import IO, TYPE_CHECKING, Any

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.escaping import printable

if TYPE_CHECKING:
    from tqdm import tqdm


class CountsFiles(Callback):
    """A bar that also shows how many of the artifact's files are done."""

    def __init__(self, size: int | None = None, files: int | None = None) -> None:
        super().__init__(size=size)
        self.files = files
        self.files_done = 0

    def file_done(self) -> None:
        self.files_done += 1
        self.call()


class Tally:
    """The progress of one artifact, from the transfers of its files in any thread.

    Without a bar to show (not a terminal, ``--json``, CI) every file's transfer gets
    the one silent callback and nothing is counted: a folder of 20,000 files would
    otherwise pay a callback, a lock and its updates for each file, for nothing.
    """

    def __init__(self, bar: Callback) -> None:
        self.bar = bar
        self.shown = not isinstance(bar, NoOpCallback)
        self._lock = threading.Lock()

    def share(self) -> Callback:
        """The callback to hand one file's transfer."""
        return FileShare(self) if self.shown else _SILENT

    def moved(self, delta: int) -> None:
        if delta:
            with self._lock:
                self.bar.relative_update(delta)

    def file_done(self, share: Callback) -> None:
        if not self.shown:
            return
        with self._lock:
            if isinstance(self.bar, CountsFiles):
                self.bar.file_done()

    def files_moved(self, count: int, size: int) -> None:
        """``count`` files of ``size`` bytes in all, moved outside any one file's transfer
        (copied by a batch): one update of the bar for all of them."""
        if not self.shown or not count:
            return
        with self._lock:
            if isinstance(self.bar, CountsFiles):
                self.bar.files_done += count
            self.bar.relative_update(size)

    def undo(self, share: Callback) -> None:
        """Take back what a failed transfer of one file had counted."""
        if self.shown:
            share.absolute_update(0)

    def close(self) -> None:
        with self._lock:
            self.bar.close()


# What the transfers of an artifact without a bar report to; it keeps nothing they need.
_SILENT = NoOpCallback()


class FileShare(Callback):
    """One file's transfer: its bytes go to the artifact's bar as they move.

    Its own size is not the bar's (the artifact's total is), and a transfer that
    starts over (``absolute_update(0)``) takes back what it had counted.
    """

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally
        self._counted = 0

    def call(self, *args: Any, **kwargs: Any) -> None:
        value = int(self.value or 0)
        delta, self._counted = value - self._counted, value
        self.tally.moved(delta)


class TqdmBar(CountsFiles):
    """The artifact's bar on a terminal."""

    def __init__(self, label: str, size: int | None, files: int | None, stream: IO[str]) -> None:
        super().__init__(size, files)
        self.tqdm: tqdm = _binary_tqdm()(
            total=size,
            desc=printable(label),  # a name from the store: never raw to the terminal
            unit="B",
            bar_format="{desc}: {files}{sizes}, {rate_fmt}",
            leave=False,
            file=stream,
            dynamic_ncols=True,
            files_shown=self._files_shown(),
        )

    def _files_shown(self) -> str:
        return "" if self.files is None else f"{self.files_done}/{self.files} files, "

    def text(self) -> str:
        """The bar's line as it stands."""
        return str(self.tqdm)

    def call(self, *args: Any, **kwargs: Any) -> None:
        self.tqdm.files_shown = self._files_shown()
        self.tqdm.update(int(self.value or 0) - self.tqdm.n)

    def close(self) -> None:
        self.tqdm.close()


@functools.cache
def _binary_tqdm() -> type[tqdm]:
    """tqdm, with sizes and rates written as the rest of the output writes them (MiB).

    tqdm's own ``unit_scale`` names binary multiples with decimal prefixes ("3.00MB"
    for 3 MiB) and always computes the rate in decimal ones.
    """
    from tqdm import tqdm

    from fsartifacts.sizes import human_fraction, human_size

    class BinaryTqdm(tqdm):
        def __init__(self, *args: Any, files_shown: str = "", **kwargs: Any) -> None:
            self.files_shown = files_shown  # "412/2000 files, " for a folder; shown at once
            super().__init__(*args, **kwargs)

        @property
        def format_dict(self) -> dict[str, Any]:
            shown: dict[str, Any] = super().format_dict
            total, elapsed = shown.get("total"), shown.get("elapsed")
            rate = shown.get("rate") or (shown.get("n", 0) / elapsed if elapsed else None)
            shown["sizes"] = human_fraction(int(shown.get("n") or 0), total)
            shown["files"] = self.files_shown
            shown["rate_fmt"] = f"{human_size(int(rate))}/s" if rate else "? B/s"
            return shown

    return BinaryTqdm
