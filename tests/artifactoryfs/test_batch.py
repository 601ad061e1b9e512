"""Many-path calls of artifactory:// run concurrently, within batch_size, on the local server.

The server records when it started each request and when it answered it: a client that
waits for each answer before the next request can never make two of them overlap, so
an overlap proves concurrency without measuring any duration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

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


def test_copy_of_a_tree_runs_side_by_side_with_fsspec_naming_and_errors(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo, batch_size=8)
    repo = artifactory_repo.name
    server = artifactory_repo.server
    source = {f"{repo}/src/f{i:02d}.txt": b"%d" % i for i in range(16)}
    source[f"{repo}/src/sub/deep.txt"] = b"d"
    fs.pipe(source)
    server.clear_requests()
    server.faults.latency = 0.1
    fs.copy(f"{repo}/src", f"{repo}/dst", recursive=True)
    server.faults.latency = 0
    copies = only(server.requests, "POST")  # one server-side copy per file
    assert len(copies) == 17
    assert 2 <= peak_overlap(copies) <= 8
    copied = {p.replace("/src/", "/dst/"): data for p, data in source.items()}
    assert fs.find(f"{repo}/dst") == sorted(copied)
    assert fs.cat(sorted(copied)) == copied
    pair = ([f"{repo}/src/f00.txt", f"{repo}/src/gone.txt"], [f"{repo}/x", f"{repo}/y"])
    with pytest.raises(FileNotFoundError, match=r"gone\.txt"):
        fs.copy(*pair)
    fs.copy(*pair, on_error="ignore")  # fsspec's rule: a missing source is skipped
    assert fs.ls(repo, detail=False, refresh=True) == [f"{repo}/{n}" for n in ("dst", "src", "x")]


def test_rm_of_a_folder_is_one_delete_whatever_it_holds(artifactory_repo: ArtifactoryRepo) -> None:
    fs = make_fs(artifactory_repo)
    repo = artifactory_repo.name
    server = artifactory_repo.server
    folder = f"{repo}/big"
    fs.pipe({f"{folder}/d{i % 4}/f{i:02d}.txt": b"x" for i in range(40)})
    server.clear_requests()
    fs.rm(folder, recursive=True)
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in server.requests] == [("DELETE", "big")]
    assert not fs.exists(folder, refresh=True)
    # What fsspec's expand_path gives for rm([...], recursive=True): the folder and all
    # below it, plus a file beside it. The folder's descendants go with its one DELETE.
    fs.pipe({f"{folder}/d{i % 4}/f{i:02d}.txt": b"x" for i in range(40)} | {f"{repo}/o": b"o"})
    expanded = fs.expand_path([folder, f"{repo}/o"], recursive=True)
    assert len(expanded) == 1 + 4 + 40 + 1
    server.clear_requests()
    fs.rm(expanded, recursive=True)
    assert sorted(r.path.rsplit("/", 1)[-1] for r in server.requests) == ["big", "o"]
    assert fs.ls(repo, detail=False, refresh=True) == []


def test_rm_of_40_files_is_one_delete_each_in_flight_together(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo, batch_size=8)
    folder = f"{artifactory_repo.name}/many"
    paths = [f"{folder}/f{i:02d}.txt" for i in range(40)]
    server = artifactory_repo.server
    for recursive in (True, False):
        fs.pipe(dict.fromkeys(paths, b"x") | {f"{folder}/kept.txt": b"k"})
        if not recursive:
            fs.ls(folder)  # a listing cached tells files from folders: no request for it
        server.clear_requests()
        server.faults.latency = 0.1
        fs.rm(paths, recursive=recursive)
        server.faults.latency = 0
        deletes = only(server.requests, "DELETE")
        assert len(deletes) == len(server.requests) == 40  # no stat, no listing
        assert 2 <= peak_overlap(deletes) <= 8
        assert fs.ls(folder, detail=False, refresh=True) == [f"{folder}/kept.txt"]
    fs.pipe(dict.fromkeys(paths, b"x"))
    server.clear_requests()
    fs.rm(paths)  # nothing cached: one listing of their folder tells which are folders
    assert len(only(server.requests, "DELETE")) == 40 and len(server.requests) == 41
    fs.pipe_file(f"{folder}/one.txt", b"1")
    server.clear_requests()
    fs.rm(f"{folder}/one.txt")  # alone: its info and its DELETE, no listing of the folder
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in server.requests] == [
        ("GET", "one.txt"),
        ("DELETE", "one.txt"),
    ]


@pytest.mark.parametrize("recursive", [False, True])
def test_rm_of_every_file_listed_keeps_a_file_written_meanwhile(
    artifactory_repo: ArtifactoryRepo, recursive: bool
) -> None:
    fs = make_fs(artifactory_repo)
    folder = f"{artifactory_repo.name}/shared"
    fs.pipe({f"{folder}/f{i}.txt": b"x" for i in range(5)})
    listed = fs.find(folder)
    late = f"{artifactory_repo.repo_url}/shared/late.txt"
    # Another client writes into the folder just before the first DELETE arrives.
    artifactory_repo.server.faults.before_next(
        lambda: requests.put(late, data=b"late", timeout=10).raise_for_status(),
        methods=["DELETE"],
    )
    fs.rm(listed, recursive=recursive)
    assert fs.ls(folder, detail=False, refresh=True) == [f"{folder}/late.txt"]


def test_rm_of_missing_paths_follows_fsspec(artifactory_repo: ArtifactoryRepo) -> None:
    fs = make_fs(artifactory_repo)
    repo = artifactory_repo.name
    server = artifactory_repo.server
    a, b, gone = f"{repo}/m/a.txt", f"{repo}/m/b.txt", f"{repo}/m/gone.txt"
    fs.pipe({a: b"a", b: b"b"})
    # Not recursive: as rm_file of each, a missing path is an error, raised once the
    # others are deleted.
    with pytest.raises(FileNotFoundError, match=r"1 of the 3 paths.*gone\.txt"):
        fs.rm([a, gone, b])
    assert not fs.exists(a, refresh=True) and not fs.exists(b, refresh=True)
    # Recursive: fsspec skips paths that do not exist, and fails only when none does;
    # the DELETE's 404 says so, no request asks first.
    fs.pipe_file(a, b"a")
    server.clear_requests()
    fs.rm([a, gone], recursive=True)
    assert [r.method for r in server.requests] == ["DELETE", "DELETE"]
    assert not fs.exists(a, refresh=True)
    with pytest.raises(FileNotFoundError, match="none of the 2 paths"):
        fs.rm([gone, f"{repo}/m/nope"], recursive=True)
    with pytest.raises(FileNotFoundError, match=r"gone\.txt"):
        fs.rm(gone, recursive=True)


def test_rm_refuses_full_folders_and_repositories_before_deleting(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo)
    repo = artifactory_repo.name
    server = artifactory_repo.server
    fs.pipe({f"{repo}/t/a/{i}.txt": b"a" for i in range(5)} | {f"{repo}/t/b/x.txt": b"b"})
    fs.pipe_file(f"{repo}/t/top.txt", b"t")
    server.clear_requests()
    fs.rm(f"{repo}/t/*", recursive=True)  # the glob's listing, then one DELETE per match
    assert sorted(r.path.rsplit("/", 1)[-1] for r in only(server.requests, "DELETE")) == [
        "a",
        "b",
        "top.txt",
    ]
    assert fs.ls(f"{repo}/t", detail=False, refresh=True) == []
    fs.pipe({f"{repo}/u/full/x.txt": b"x", f"{repo}/u/y.txt": b"y"})
    fs.makedirs(f"{repo}/u/empty")
    for cached in (False, True):
        if cached:
            fs.ls(f"{repo}/u")
        with pytest.raises(OSError, match="not empty"):
            fs.rm([f"{repo}/u/y.txt", f"{repo}/u/full"])
        assert fs.cat(f"{repo}/u/y.txt") == b"y"  # refused before anything was deleted
    for refused in ([f"{repo}/u/y.txt", repo], f"{repo}*"):
        with pytest.raises(PermissionError, match="refusing to delete repository"):
            fs.rm(refused, recursive=True)
    fs.rm([f"{repo}/u/y.txt", f"{repo}/u/empty"])
    assert fs.ls(f"{repo}/u", detail=False, refresh=True) == [f"{repo}/u/full"]


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
