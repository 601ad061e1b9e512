"""Which files of a folder a partial pull takes: gitignore-style patterns."""

from __future__ import annotations

import pytest

from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.engine.selection import Selection
from fsartifacts.errors import ConfigError

PATHS = ["a.csv", "sub/b.csv", "images/x.png", "deep/images/y.png", "top.txt", "sub/top.txt",
         "a/b.bin", "a/x/y/b.bin", "keep.csv"]  # fmt: skip


def taken(include: list[str], exclude: list[str] = []) -> list[str]:  # noqa: B006
    selection = Selection.of(include, exclude)
    return [p for p in PATHS if selection.wants(p)]


def test_patterns_follow_gitignore_rules() -> None:
    assert taken(["*.csv"]) == ["a.csv", "sub/b.csv", "keep.csv"]  # any depth without a slash
    assert taken(["images/"]) == ["images/x.png", "deep/images/y.png"]  # a folder, anywhere
    assert taken(["/top.txt"]) == ["top.txt"]  # anchored at the folder's top
    assert taken(["a/**/b.bin"]) == ["a/b.bin", "a/x/y/b.bin"]
    assert taken(["*.csv", "!keep.csv"]) == ["a.csv", "sub/b.csv"]


def test_exclude_wins_over_include_and_alone_takes_the_rest() -> None:
    assert taken(["*.csv"], ["sub/"]) == ["a.csv", "keep.csv"]
    assert taken([], ["*.csv", "*.bin", "images/"]) == ["top.txt", "sub/top.txt"]
    assert taken([]) == PATHS and not Selection.of().partial


@pytest.mark.parametrize("pattern", ["", "  ", "!", "/"])
def test_a_pattern_that_matches_nothing_is_refused(pattern: str) -> None:
    with pytest.raises(ConfigError, match="matches no path: give a gitignore-style pattern"):
        Selection.of([pattern])


def test_a_selection_of_no_file_is_an_error_naming_the_way_to_see_them() -> None:
    manifest = Manifest("data", "1.0.0", tuple(ManifestEntry(p, 1, "0" * 64) for p in PATHS))
    assert [f.path for f in Selection.of(["*.png"]).select(manifest, "U").files] == [
        "images/x.png",
        "deep/images/y.png",
    ]
    with pytest.raises(ConfigError) as caught:
        Selection.of(["*.parquet"]).select(manifest, "file:///s/data_v1.0.0/")
    message = caught.value.render(cli=True)
    assert "--include '*.parquet' matches none of its 9 files" in message
    assert "`fsartifacts list --files data 1.0.0` shows them" in message
