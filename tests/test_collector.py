"""The collector is paused only while a store's libraries load, and is back on after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from fsartifacts.collector import before_exit, loading


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_loading_pauses_collections_and_freezes_what_was_made() -> None:
    gc.unfreeze()
    with loading():
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)


def test_loading_turns_the_collector_back_on_after_a_failed_import() -> None:
    with pytest.raises(ImportError), loading():
        import fsartifacts.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


def test_nested_loading_leaves_the_collector_on_once_the_outer_one_ends() -> None:
    with loading():
        with loading():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_program_stays_off() -> None:
    gc.disable()
    with loading():
        pass
    assert not gc.isenabled()


def test_before_exit_leaves_every_object_out_of_the_last_collection() -> None:
    gc.unfreeze()
    kept = [[i] for i in range(1000)]
    before_exit()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.isenabled()
