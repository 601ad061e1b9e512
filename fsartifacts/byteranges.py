"""What the answer to a ranged GET (``Range: bytes=start-last``) must be, the same rule on
every store that serves ranges.

A server that serves the range answers 206 with ``Content-Range: bytes start-last/size``
for exactly the bytes asked (fewer only where the file ends, for a read that may run
past it). Anything else is one of two things:

* the ranges are not served (:data:`NOT_SERVED`): a 200 with the whole file, as some
  proxies and CDNs answer, no ``Content-Range``, another range than the one asked, or
  less of it than asked of a file that (as its size says) goes on past it.
  Nothing of the body is of use; the file is to be read in one stream instead.
* the file is shorter than the range (:data:`SHORT`): a 416 (it ends before the range
  starts) or a range that ends early, where the file ends. The file changed since its
  size was known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOT_SERVED = "not served"
SHORT = "short"

_CONTENT_RANGE = re.compile(r"\s*bytes\s+([0-9]+)-([0-9]+)/([0-9]+|\*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RangeProblem:
    """Why an answer is not the range asked: ``kind`` (:data:`NOT_SERVED` or
    :data:`SHORT`) and ``detail``, a phrase for messages ("the server sent ...")."""

    kind: str
    detail: str


def content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(first, last, size)`` of a ``Content-Range`` header (size None when ``*``), or
    None when there is none or it is not a byte range."""
    match = _CONTENT_RANGE.fullmatch(value or "")
    if not match:
        return None
    first, last, size = match.groups()
    return int(first), int(last), None if size == "*" else int(size)


def range_problem(
    start: int, end: int | None, status: int, header: str | None, *, may_end_early: bool = False
) -> RangeProblem | None:
    """None when an answer of ``status`` with ``Content-Range: header`` holds bytes
    ``[start, end)`` (``end`` None: to the end of the file); else what is wrong with it.

    ``may_end_early``: the read may run past the end of the file, so a range that stops
    at the file's end (as its size says) is the whole answer.
    """
    want = None if end is None else end - 1
    asked = f"bytes {start}-{'' if want is None else want}"
    if status == 416:
        return RangeProblem(SHORT, f"the server has none of {asked} (416): the file ends before")
    if status == 200:
        return RangeProblem(NOT_SERVED, f"the server sent the whole file (200) for {asked}")
    answered = content_range(header)
    if status != 206 or answered is None:
        return RangeProblem(
            NOT_SERVED, f"the server answered {status} without a byte range for {asked}"
        )
    first, last, size = answered
    if first != start or (want is not None and last > want):
        return RangeProblem(NOT_SERVED, f"the server sent bytes {first}-{last} for {asked}")
    at_the_end = may_end_early and size is not None and last == size - 1
    if want is not None and last < want and size is not None and size > want:
        # The file reaches past the range, as its size says: the server sent less than
        # asked (it caps its ranges), the file did not change.
        return RangeProblem(NOT_SERVED, f"the server sent bytes {first}-{last} for {asked}")
    if last != want and not at_the_end:
        return RangeProblem(
            SHORT, f"the server sent bytes {first}-{last} of {size or '?'} for {asked}"
        )
    return None


def shorter_message(url: str, detail: str) -> str:
    """What a user is told of a :data:`SHORT` answer (``detail``) for the file at ``url``."""
    return f"{url} is shorter than it was listed ({detail}): it changed during the pull; pull again"
