"""A store deletes the one path it is told to, even one whose name reads as a pattern."""

from __future__ import annotations

from fsartifacts.stores.store import ops_for
from tests.fixtures.remotes import Remote


def test_a_name_holding_pattern_characters_deletes_that_one_path(remote: Remote) -> None:
    # Each doomed name, read as a pattern, matches the kept name beside it.
    doomed = ["f?.bin", "d[x]/a.bin", "d[x]/sub/b.bin"]
    kept = ["fx.bin", "dx/a.bin"]
    remote.fs.makedirs(f"{remote.root}/d[x]/sub", exist_ok=True)
    remote.fs.makedirs(f"{remote.root}/dx", exist_ok=True)
    for name in doomed + kept:
        remote.fs.pipe_file(f"{remote.root}/{name}", b"data")
    remote.fs.invalidate_cache()
    ops = ops_for(remote.fs)

    ops.remove(f"{remote.root}/f?.bin")
    ops.remove(f"{remote.root}/d[x]", recursive=True)

    assert remote.names() == {"fx.bin", "dx"}
    assert remote.read("dx/a.bin") == b"data"


ODD = ["a b.bin", "ü.bin", "p%41.bin", "h#1.bin", "x+y.bin", "s;k=v.bin", "d%2Fe.bin"]


def test_names_that_quote_or_decode_differently_delete_that_one_path(remote: Remote) -> None:
    """Each name beside the one it would become if quoted or decoded once too often."""
    kept = ["pA.bin", "h.bin", "x y.bin", "s.bin", "d/e.bin"]
    remote.fs.makedirs(f"{remote.root}/d", exist_ok=True)
    for name in ODD + kept:
        remote.fs.pipe_file(f"{remote.root}/{name}", b"data")
        remote.fs.makedirs(f"{remote.root}/odd {name}", exist_ok=True)
        remote.fs.pipe_file(f"{remote.root}/odd {name}/in.bin", b"data")
    remote.fs.invalidate_cache()
    ops = ops_for(remote.fs)
    for name in ODD:
        ops.remove(f"{remote.root}/{name}")
        ops.remove(f"{remote.root}/odd {name}", recursive=True)
    remote.fs.invalidate_cache()
    assert remote.names() == {*kept[:-1], "d", *(f"odd {name}".split("/")[0] for name in kept)}
