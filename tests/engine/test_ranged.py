"""The byte intervals a download in ranges keeps: what arrived, what is missing, the ranges."""

from __future__ import annotations

import pytest

from fsartifacts.engine.ranged import Received, merged, missing, split


def test_intervals_that_touch_or_overlap_are_one() -> None:
    assert merged([(5, 8), (0, 2), (2, 4), (7, 10), (12, 12)]) == [(0, 4), (5, 10)]


@pytest.mark.parametrize(
    ("done", "gaps"),
    [([], [(0, 10)]), ([(0, 10)], []), ([(2, 4), (6, 7)], [(0, 2), (4, 6), (7, 10)])],
)
def test_what_is_missing_of_a_file(done: list[tuple[int, int]], gaps: list) -> None:
    assert missing(done, 10) == gaps


def test_ranges_are_cut_to_size_in_order() -> None:
    assert split([(0, 5), (7, 9)], 2) == [(0, 2), (2, 4), (4, 5), (7, 9)]


def test_the_prefix_grows_only_while_the_bytes_are_contiguous() -> None:
    received = Received()
    received.add(4, 8)
    assert received.prefix() == 0
    received.add(0, 4)
    received.add(9, 10)
    assert (received.prefix(), received.total()) == (8, 9)
