"""Many-path calls of artifactory:// run concurrently, within batch_size, on the local server.

The server records when it started each request and when it answered it: a client that
waits for each answer before the next request can never make two of them overlap, so
an overlap proves concurrency without measuring any duration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.testing.requestlog import RequestRecord, peak_overlap
from tests.fixtures.artifactory import ArtifactoryRepo


def make_fs(repo: ArtifactoryRepo, **options: object) -> ArtifactoryFileSystem:
    return ArtifactoryFileSystem(url=repo.url, anon=True, skip_instance_cache=True, **options)


def only(records: list[RequestRecord], method: str) -> list[RequestRecord]:
    return [r for r in records if r.method == method]


def test_get_and_pipe_of_40_files_overlap_within_the_bound(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    fs = make_fs(artifactory_repo, batch_size=8)
    server = artifactory_repo.server
    server.faults.latency = 0.1
    files = {f"{artifactory_repo.name}/data/f{i:02d}.bin": b"%d" % i * 100 for i in range(40)}
    fs.pipe(files)
    puts = only(server.requests, "PUT")
    assert len(puts) == 40
    assert 2 <= peak_overlap(puts) <= 8
    server.clear_requests()
    fs.get(sorted(files), [str(tmp_path / Path(p).name) for p in sorted(files)])
    gets = only(server.requests, "GET")
    assert len(gets) == 40 and len(server.requests) == 40  # one request per file
    assert 2 <= peak_overlap(gets) <= 8
    for path, data in files.items():
        assert (tmp_path / Path(path).name).read_bytes() == data


def test_batch_size_1_is_serial_and_bad_sizes_are_refused(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo, batch_size=1)
    paths = [f"{artifactory_repo.name}/s{i}.txt" for i in range(4)]
    fs.pipe(dict.fromkeys(paths, b"x"))
    artifactory_repo.server.faults.latency = 0.05
    assert fs.cat(paths) == dict.fromkeys(paths, b"x")
    assert peak_overlap(only(artifactory_repo.server.requests, "GET")) == 1
    for bad in (0, -1, "many", True):
        with pytest.raises(ValueError, match="batch_size must be a whole number"):
            make_fs(artifactory_repo, batch_size=bad)


def test_cat_and_cat_ranges_surface_errors_like_fsspec(artifactory_repo: ArtifactoryRepo) -> None:
    fs = make_fs(artifactory_repo)
    repo = artifactory_repo.name
    fs.pipe({f"{repo}/a.txt": b"0123456789", f"{repo}/b.txt": b"abcdef"})
    paths = [f"{repo}/a.txt", f"{repo}/missing.txt", f"{repo}/b.txt"]
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        fs.cat(paths)
    assert fs.cat(paths, on_error="omit") == {paths[0]: b"0123456789", paths[2]: b"abcdef"}
    returned = fs.cat(paths, on_error="return")
    assert isinstance(returned[paths[1]], FileNotFoundError)
    assert returned[paths[2]] == b"abcdef"
    assert fs.cat(f"{repo}/a.txt") == b"0123456789"  # one plain path: its bytes, not a dict
    ranges = fs.cat_ranges(paths, [2, 0, 1], [5, 1, 3])
    assert ranges[0] == b"234" and ranges[2] == b"bc"
    assert isinstance(ranges[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges(paths, 0, 1, on_error="raise")


def test_put_and_get_of_a_tree_keep_fsspec_naming(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    fs = make_fs(artifactory_repo)
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "one.txt").write_bytes(b"1")
    (source / "sub" / "two.txt").write_bytes(b"2")
    target = f"{artifactory_repo.name}/tree"
    fs.put(str(source), target, recursive=True)
    assert sorted(fs.find(target)) == [f"{target}/one.txt", f"{target}/sub/two.txt"]
    fs.get(target, str(tmp_path / "back"), recursive=True)
    assert (tmp_path / "back" / "sub" / "two.txt").read_bytes() == b"2"
    assert (tmp_path / "back" / "one.txt").read_bytes() == b"1"
    with pytest.raises(FileNotFoundError):
        fs.get(
            [f"{target}/one.txt", f"{target}/nope.txt"], [str(tmp_path / "x"), str(tmp_path / "y")]
        )


def test_rm_of_40_files_is_one_delete_each_in_flight_together(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo, batch_size=8)
    folder = f"{artifactory_repo.name}/many"
    paths = [f"{folder}/f{i:02d}.txt" for i in range(40)]
    fs.pipe(dict.fromkeys(paths, b"x"))
    fs.pipe_file(f"{folder}/kept.txt", b"k")
    server = artifactory_repo.server
    server.clear_requests()
    server.faults.latency = 0.05
    fs.rm(paths)
    deletes = only(server.requests, "DELETE")
    assert len(deletes) == 40
    assert len(server.requests) <= 41  # the 40 deletes and at most one listing of the folder
    assert 2 <= peak_overlap(deletes) <= 8
    assert fs.ls(folder, detail=False, refresh=True) == [f"{folder}/kept.txt"]
    fs.pipe_file(f"{folder}/one.txt", b"1")
    server.clear_requests()
    fs.rm(f"{folder}/one.txt")  # alone: its info and its DELETE, no listing of the folder
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in server.requests] == [
        ("GET", "one.txt"),
        ("DELETE", "one.txt"),
    ]


def test_rm_deletes_whole_folders_in_one_request_and_checks_before_deleting(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo)
    repo = artifactory_repo.name
    server = artifactory_repo.server
    fs.pipe({f"{repo}/t/a/{i}.txt": b"a" for i in range(5)} | {f"{repo}/t/b/x.txt": b"b"})
    fs.pipe_file(f"{repo}/t/top.txt", b"t")
    server.clear_requests()
    fs.rm(f"{repo}/t/*", recursive=True)  # the glob's listing, then one DELETE per child
    assert sorted(r.path.rsplit("/", 1)[-1] for r in only(server.requests, "DELETE")) == [
        "a",
        "b",
        "top.txt",
    ]
    assert fs.ls(f"{repo}/t", detail=False, refresh=True) == []
    fs.pipe({f"{repo}/u/full/x.txt": b"x", f"{repo}/u/y.txt": b"y"})
    with pytest.raises(OSError, match="not empty"):
        fs.rm([f"{repo}/u/y.txt", f"{repo}/u/full"])
    with pytest.raises(FileNotFoundError):
        fs.rm([f"{repo}/u/y.txt", f"{repo}/u/missing.txt"])
    assert fs.cat(f"{repo}/u/y.txt") == b"y"  # refused before anything was deleted


def test_find_and_du_on_oss_list_folders_concurrently(artifactory_repo: ArtifactoryRepo) -> None:
    fs = make_fs(artifactory_repo, batch_size=8)
    repo = artifactory_repo.name
    server = artifactory_repo.server
    files = {
        f"{repo}/w/d{d}/e{e}/f{f}.txt": b"%d" % f
        for d in range(3)
        for e in range(2)
        for f in range(3)
    }
    fs.pipe(files)
    server.pro = False  # no File List API: one Folder Info request per folder
    server.clear_requests()
    server.faults.latency = 0.05
    assert fs.find(f"{repo}/w") == sorted(files)
    gets = only(server.requests, "GET")
    # The refused ?list, the root's info, then one listing per folder: the root, 3, 6.
    assert len(gets) <= 2 + 1 + 3 + 6
    assert peak_overlap(gets) >= 2
    server.faults.latency = 0
    fs.invalidate_cache()
    assert fs.du(f"{repo}/w") == sum(len(v) for v in files.values())
