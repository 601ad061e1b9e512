"""The hash cache on disk: a shard per folder, read and written only where needed, bounded,
and shared by processes that save at once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fsartifacts.hashcache import HashCache, default_cache_path
from fsartifacts.hashing import ReadFile
from fsartifacts.hashshards import shard_name


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shard(cache: Path, folder: Path) -> Path:
    return cache / shard_name(os.path.realpath(folder))


def files(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(os.fsencode(name))
    return [folder / name for name in names]


def test_the_cache_is_a_folder_of_shards_beside_where_the_one_file_was(tmp_path: Path) -> None:
    assert default_cache_path({"FSARTIFACTS_CACHE_DIR": str(tmp_path)}) == tmp_path / "hashes"
    assert default_cache_path({"XDG_CACHE_HOME": "/x"}) == Path("/x/fsartifacts/hashes")


@pytest.mark.parametrize("xdg", ["", "relative/cache", "~/cache"])
def test_an_empty_or_relative_XDG_CACHE_HOME_is_ignored(tmp_path: Path, xdg: str) -> None:
    in_home = tmp_path / ".cache" / "fsartifacts" / "hashes"
    assert default_cache_path({"HOME": str(tmp_path), "XDG_CACHE_HOME": xdg}) == in_home


@pytest.mark.parametrize("home", ["", "relative/home"])
def test_a_HOME_that_names_no_folder_keeps_the_cache_in_memory(home: str) -> None:
    # Never at the root ("/.cache", which a root user would create) nor beside the project.
    assert default_cache_path({"HOME": home}) is None
    assert default_cache_path({"HOME": home, "XDG_CACHE_HOME": ""}) is None


def test_entries_read_back_whatever_the_file_names_and_digests(tmp_path: Path) -> None:
    names = ["plain.bin", 'a "quote".bin', "back\\slash.bin", "caf\u00e9.bin", "tab\t.bin",
             "new\nline.bin", "sp ace=.bin", os.fsdecode(b"latin-\xe9.bin")]  # fmt: skip
    paths = files(tmp_path / "data", *names)
    cache = HashCache(tmp_path / "cache")
    for n, path in enumerate(paths):
        cache.digests(path, ["sha1"] if n % 2 else ["sha256"])
    cache.save()
    again = HashCache(tmp_path / "cache")
    for n, path in enumerate(paths):
        wanted = ["sha1"] if n % 2 else ["sha256"]
        got = again.digests(path, wanted)
        assert got["sha256"] == sha256(os.fsencode(path.name))
        if n % 2:
            assert got["sha1"] == hashlib.sha1(os.fsencode(path.name)).hexdigest()
    assert (again.misses, again.hits, again.shards_read) == (0, len(names), 1)


def test_a_lookup_reads_only_its_folders_shard_and_a_save_writes_only_what_changed(
    tmp_path: Path,
) -> None:
    (a,) = files(tmp_path / "small", "a")
    big = files(tmp_path / "dataset" / "part-0", *(f"{i}.bin" for i in range(50)))
    cache = HashCache(tmp_path / "cache")
    for path in (a, *big):
        cache.sha256(path)
    cache.save()
    written = shard(tmp_path / "cache", big[0].parent).stat()

    one = HashCache(tmp_path / "cache")
    assert one.sha256(a) == sha256(b"a")
    assert (one.hits, one.shards_read) == (1, 1)  # the dataset's shard was not read
    (b,) = files(tmp_path / "small", "b")
    one.sha256(b)
    one.save()
    after = shard(tmp_path / "cache", big[0].parent).stat()
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert HashCache(tmp_path / "cache").known(b, [])


@pytest.mark.parametrize("damage", ["cut short", "garbage", "another folder's", "fifo", "empty"])
def test_a_damaged_or_foreign_shard_is_ignored_and_replaced(tmp_path: Path, damage: str) -> None:
    here, there = files(tmp_path / "here", "x")[0], files(tmp_path / "there", "y")[0]
    cache = HashCache(tmp_path / "cache")
    cache.sha256(here)
    cache.sha256(there)
    cache.save()
    target = shard(tmp_path / "cache", here.parent)
    text = target.read_bytes()
    target.unlink()
    if damage == "cut short":
        target.write_bytes(text[: text.rindex(b"end")])
    elif damage == "garbage":
        target.write_bytes(text.replace(sha256(b"x").encode(), b"z" * 64))
    elif damage == "another folder's":
        target.write_bytes(shard(tmp_path / "cache", there.parent).read_bytes())
    elif damage == "fifo":
        os.mkfifo(target)
    else:
        target.write_bytes(b"")
    again = HashCache(tmp_path / "cache")
    assert again.sha256(here) == sha256(b"x")
    assert again.known(there, [])
    assert (again.misses, again.hits) == (1, 0)  # known() is a lookup, not counted
    if damage != "fifo":
        again.save()
        assert HashCache(tmp_path / "cache").known(here, [])


def test_a_shards_folder_that_is_a_file_or_fifo_is_ignored(tmp_path: Path) -> None:
    (x,) = files(tmp_path / "data", "x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_bytes(b"{}")
    for place in ("fifo", "file"):
        cache = HashCache(tmp_path / place)
        assert cache.sha256(x) == sha256(b"x")
        cache.save()
        assert cache.holders({sha256(b"x")}, tmp_path) == {sha256(b"x"): str(x)}


def test_a_saved_shard_drops_the_files_gone_from_its_folder(tmp_path: Path) -> None:
    kept, gone = files(tmp_path / "data", "kept", "gone")
    (other,) = files(tmp_path / "other", "o")
    cache = HashCache(tmp_path / "cache")
    for path in (kept, gone, other):
        cache.sha256(path)
    cache.save()
    gone.unlink()
    (new,) = files(tmp_path / "data", "new")
    cache.sha256(new)
    other.unlink()
    other.parent.rmdir()
    cache.sha256(kept)  # a hit: the shard is used, not changed
    cache.save()
    text = shard(tmp_path / "cache", kept.parent).read_text()
    assert '"kept"' in text and '"new"' in text and '"gone"' not in text
    # A folder whose files are all gone takes its shard with it when next saved.
    cache.remember(new, sha256(b"new"))
    for path in (kept, new):
        path.unlink()
    cache.save()
    assert not shard(tmp_path / "cache", kept.parent).exists()


def test_past_its_bounds_the_least_recently_used_shards_go_first(tmp_path: Path) -> None:
    folders = [tmp_path / f"f{i}" for i in range(4)]
    paths = [files(folder, "x")[0] for folder in folders]
    cache = HashCache(tmp_path / "cache")
    for path in paths[:3]:
        cache.sha256(path)
    cache.save()
    for age, folder in enumerate(folders[:3]):  # f0 the oldest, f2 the newest
        os.utime(shard(tmp_path / "cache", folder), ns=(10**18 + age, 10**18 + age))
    used = HashCache(tmp_path / "cache", count=3)
    assert used.known(paths[0], [])  # f0 is read: it becomes the most recently used
    used.save()
    writer = HashCache(tmp_path / "cache", count=3)
    writer.sha256(paths[3])  # a fourth shard: one over the count
    writer.save()
    left = {p.name for p in (tmp_path / "cache").iterdir() if p.name.endswith(".shard")}
    assert left == {shard_name(os.path.realpath(f)) for f in (folders[0], folders[2], folders[3])}

    size = sum(p.stat().st_size for p in (tmp_path / "cache").glob("*.shard"))
    small = HashCache(tmp_path / "cache", limit=size - 1)
    (y,) = files(folders[3], "y")
    small.sha256(y)  # rewrites f3's shard, the one kept last
    small.save()
    left = {p.name for p in (tmp_path / "cache").iterdir() if p.name.endswith(".shard")}
    assert shard_name(os.path.realpath(folders[3])) in left and len(left) < 3


def test_the_one_file_cache_of_earlier_versions_is_removed_at_the_first_save(
    tmp_path: Path,
) -> None:
    (tmp_path / "hashes.json").write_text("{}")
    (x,) = files(tmp_path / "data", "x")
    cache = HashCache(tmp_path / "hashes")
    cache.sha256(x)
    cache.save()
    assert not (tmp_path / "hashes.json").exists()


def test_holders_read_only_the_shards_below_the_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    kept = files(project / "deep", "a")[0]
    changed = files(project, "b")[0]
    outside = files(tmp_path / "elsewhere", "c")[0]
    long = files(project / ("x" * 120) / ("y" * 120), "d")[0]  # a shard named by a hash
    cache = HashCache(tmp_path / "cache")
    for path in (kept, changed, outside, long):
        cache.sha256(path)
    cache.save()
    changed.write_bytes(b"bb")  # its entry no longer describes it
    again = HashCache(tmp_path / "cache")
    wanted = {sha256(d) for d in (b"a", b"b", b"c", b"d", b"never")}
    assert again.holders(wanted, project) == {sha256(b"a"): str(kept), sha256(b"d"): str(long)}
    assert again.shards_read == 3  # project, project/deep and the long one; not elsewhere


def test_holders_list_the_cache_folder_once_for_every_folder_asked_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull of every artifact asks once an artifact: the folder of shards (maybe 20,000
    of them) is listed by the first ask only, and what is found below each folder stays
    exact."""
    one = files(tmp_path / "one", "a")[0]
    two = files(tmp_path / "two" / ("x" * 200), "b")[0]  # a shard named by a hash
    cache = HashCache(tmp_path / "cache")
    for path in (one, two):
        cache.sha256(path)
    cache.save()
    listed: list[object] = []
    real_listdir = os.listdir

    def counting(path: object) -> list[str]:
        listed.append(path)
        return real_listdir(path)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(os, "listdir", counting)
    again = HashCache(tmp_path / "cache")
    wanted = {sha256(b"a"), sha256(b"b")}
    assert again.holders(wanted, tmp_path / "one") == {sha256(b"a"): str(one)}
    assert again.holders(wanted, tmp_path / "two") == {sha256(b"b"): str(two)}
    assert again.holders(wanted, tmp_path) == {sha256(b"a"): str(one), sha256(b"b"): str(two)}
    assert listed == [tmp_path / "cache"]
    assert again.shards_read == 2  # each shard read once


WRITER = textwrap.dedent("""
    import sys
    import time
    from pathlib import Path
    from fsartifacts.hashcache import HashCache

    cache_dir, folder, tag, start = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    paths = []
    for i in range(200):
        path = folder / f"{tag}-{i}"
        path.write_bytes(f"{tag} {i}".encode())
        paths.append(path)
    while not Path(start).exists():  # both processes save from the same moment on
        time.sleep(0.001)
    for n in range(0, 200, 10):
        cache = HashCache(cache_dir)
        for path in paths[n : n + 10]:
            cache.sha256(path)
        cache.save()
""")


def test_two_processes_saving_at_once_keep_each_others_entries(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    start = tmp_path / "start"
    argv = [sys.executable, "-c", WRITER, str(tmp_path / "cache"), str(folder)]
    procs = [subprocess.Popen([*argv, tag, str(start)]) for tag in ("one", "two")]
    try:
        start.touch()
        for proc in procs:
            assert proc.wait(timeout=120) == 0
    finally:
        for proc in procs:
            proc.kill()
    cache = HashCache(tmp_path / "cache")
    for tag in ("one", "two"):
        for i in range(200):
            assert cache.known(folder / f"{tag}-{i}", []), (tag, i)
    assert cache.misses == 0


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_shard_naming_a_path_with_a_nul_is_ignored_and_fails_nothing(
    tmp_path: Path, where: str
) -> None:
    # No path holds a NUL: a shard naming one is damaged. Its entry reached os.lstat,
    # whose ValueError failed the pull that looked for local copies of its files.
    (x,) = files(tmp_path / "data", "x")
    cache = HashCache(tmp_path / "cache")
    cache.sha256(x)
    cache.save()
    target = shard(tmp_path / "cache", x.parent)
    head, entry, end = target.read_text().splitlines(keepends=True)
    if where == "file":
        target.write_text(head + entry.replace('"x"', '"x\\u0000y"') + entry + end)
    else:  # the shard of a folder "data<NUL>y" beside it, holding "x"
        folder = f"{x.parent}\0y"
        planted = tmp_path / "cache" / shard_name(folder)
        planted.write_text(head.replace(str(x.parent), json.dumps(folder)[1:-1]) + entry + end)
        target.unlink()
    assert HashCache(tmp_path / "cache").holders({sha256(b"x")}, tmp_path) == {}


def test_digests_a_read_carries_are_taken_and_replace_what_the_cache_held_of_other_bytes(
    tmp_path: Path,
) -> None:
    """A reader that hashed the bytes it read (an upload, of what it sends) hands them
    over: nothing is hashed again, and a cache entry of the same stat but other bytes (a
    rewrite within one tick of the file's clock) gives way to them."""
    (path,) = files(tmp_path / "project", "f.bin")
    cache = HashCache(tmp_path / "cache")
    assert cache.sha256(path) == sha256(b"f.bin")
    data = path.read_bytes()
    read = ReadFile(data, os.stat(path), {"sha256": "ab" * 32})  # not what hashlib says
    # Taken as given (not hashed again), over the entry of the same stat.
    assert cache.digests(path, read=read)["sha256"] == "ab" * 32
    assert cache.sha256(path) == "ab" * 32
    same = ReadFile(data, os.stat(path), {"sha256": "ab" * 32})
    hits = cache.hits
    assert cache.digests(path, read=same)["sha256"] == "ab" * 32
    assert cache.hits == hits + 1  # agreeing with the cache: a hit
