"""Byte counts: the binary units, and how a size is shown to people (``12.9 MiB``).

A leaf: the output of the CLI and the progress bars both show sizes this way, and
the configuration and the stores count in these units.
"""

from __future__ import annotations

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def human_fraction(done: int, total: int | None) -> str:
    """``done`` of ``total`` bytes in the unit of the total: ``12.9/64.0 MiB``."""
    if total is None:
        return human_size(done)
    shown = human_size(total)
    unit = shown.rpartition(" ")[2]
    if unit == "B":
        return f"{done}/{shown}"
    scale = 1024 ** (("KiB", "MiB", "GiB", "TiB").index(unit) + 1)
    return f"{done / scale:.1f}/{shown}"
