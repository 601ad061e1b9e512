"""The rows every case produces, and the one table they are printed as."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from measure import MiB

HEADER = ("case", "store", "metric", "fsartifacts", "baseline", "ratio", "target", "verdict")


@dataclass(frozen=True)
class Row:
    """One figure of fsartifacts beside its baseline's, measured in the same run.

    ``ratio`` reads "how many times better fsartifacts is" (above 1: better):
    throughput is fsartifacts / baseline, a time is baseline / fsartifacts.
    ``verdict`` is PASS, MISS, or empty where the row has no target.
    """

    case: str
    store: str
    metric: str
    fsartifacts: str
    baseline: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def mib(n: float) -> str:
    return f"{n / MiB:.0f} MiB"


def rate(size: int, seconds: float) -> float:
    """MiB/s."""
    return size / MiB / seconds


def times(x: float) -> str:
    return f"{x:.2f}x"


def seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def render(rows: Sequence[Row]) -> str:
    """A Markdown table: readable in a terminal, pasteable into an issue."""
    cells = [HEADER, *((r.case, r.store, r.metric, r.fsartifacts, r.baseline, r.ratio,
                        r.target, r.verdict) for r in rows)]  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
