"""A folder artifact's push and pull on Artifactory, request by request.

At a store's latency every request a command makes beyond one per file is a round trip
the folder waits for (20 ms each at the benchmark's), and most of them are asked one
after another. The server's request log of ``push`` and of a consumer's ``sync pull`` is
compared with the requests each needs, in order, so one more (a second listing of the
same folder, an exists check beside a listing that already answers it, a stat before a
delete of a file the push wrote) shows here.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.hashshards import shard_name
from fsartifacts.testing.requestlog import RequestRecord
from tests.engine.test_provenance import git_repo
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import in_process, tree_digest, write_project

FILES = [f"part-{i % 2}/f{i}.bin" for i in range(5)]


def config(repo: ArtifactoryRepo) -> str:
    return (
        f"repository:\n  artifactory:\n    url: {repo.url}\n    repo: {repo.name}\n"
        "    path: team\n    auth: {authType: none}\n"
        "  artifacts:\n    - name: data\n      file: data\n"
    )


def asked(records: list[RequestRecord], repo: ArtifactoryRepo) -> list[str]:
    """Each request as ``METHOD what``, paths relative to the store's folder: its listing
    is ``list``, a storage-API look at a path ``info PATH`` (``.`` the folder itself), a
    claim's random token
    ``TOKEN``; the requests for the folder's files, one after another, are one line."""
    lines: list[str] = []
    storage, files = f"/artifactory/api/storage/{repo.name}/team", f"/artifactory/{repo.name}/team"
    for record in records:
        target = unquote(record.path)
        if target == storage.rpartition("/")[0]:
            path, word = "(the repository)", "info "
        elif target.startswith(storage):
            path, word = target[len(storage) :].lstrip("/") or ".", "info "
        elif target.startswith(files):
            path, word = target[len(files) :].lstrip("/"), ""
        else:
            raise AssertionError(f"a request outside the store's folder: {record}")
        if word and path.endswith("?list&deep=0&listFolders=1&includeRootPath=0"):
            path, word = "list", ""
        path = re.sub(r"claim-[0-9a-f]+", "claim-TOKEN", path)
        line = f"{record.method} {word}{path}"
        if path.partition("/")[2] in FILES:
            line = f"{record.method} each file of {path.partition('/')[0]}/"
            if lines and lines[-1] == line:
                continue
        lines.append(line)
    return lines


def producer(repo: ArtifactoryRepo, tmp_path: Path) -> Path:
    project = write_project(tmp_path / "project", config(repo), "1.0.0")
    for name in FILES:
        path = project / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2_000))
    return project


def test_a_folder_push_and_pull_make_only_the_requests_they_need(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    server = artifactory_repo.server
    # The store's folder exists (a push into none first asks whether the repository does).
    ArtifactoryFileSystem(url=artifactory_repo.url, skip_instance_cache=True).pipe_file(
        f"{artifactory_repo.name}/team/README", b"artifacts"
    )
    project = producer(artifactory_repo, tmp_path)
    env = {"FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")}

    server.clear_requests()
    pushed = in_process("--json", "push", "data", "-j", "4", cwd=project, env=env)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    push = server.requests
    # Nothing asked for is missing: a 404 is a check another request already answered.
    assert [r.status for r in push if r.status >= 400] == [], asked(push, artifactory_repo)
    assert asked(push, artifactory_repo)[:-2] == [
        "GET list",  # what is on the store: this version is not
        "PUT .data_v1.0.0.fsartifacts-claim-TOKEN",  # the claim's candidate
        "GET list",  # the election, and what the claim's holder finds on the store
        "PUT each file of data_v1.0.0/",
        "GET list",  # the claim still held, and no manifest of this version yet
        "PUT data_v1.0.0.manifest.json",  # published
    ]
    # Then side by side (either may arrive first): the claim dropped, and the version's
    # size for listings. No sweep of what abandoned pushes left: the first listing showed
    # none of it.
    assert sorted(asked(push, artifactory_repo)[-2:]) == [
        "DELETE .data_v1.0.0.fsartifacts-claim-TOKEN",
        "PUT .data_v1.0.0.fsartifacts-listed.s10000",
    ]
    assert len([r for r in push if r.method == "PUT" and "/data_v1.0.0/" in r.path]) == 5

    consumer = write_project(tmp_path / "consumer", config(artifactory_repo), "1.0.0")
    server.clear_requests()
    env = {"FSARTIFACTS_CACHE_DIR": str(tmp_path / "consumer-cache")}
    pulled = in_process("--json", "sync", "pull", "data", "-o", "-j", "4", cwd=consumer, env=env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert json.loads(pulled.stdout)["results"][0]["action"] == "pulled"
    pull = server.requests
    assert asked(pull, artifactory_repo) == [
        "GET list",  # which copies there are
        "GET data_v1.0.0.manifest.json",  # the folder's files
        "GET each file of data_v1.0.0/",
    ]
    assert len([r for r in pull if r.method == "GET" and "/data_v1.0.0/" in r.path]) == 5
    assert tree_digest(consumer / "data") == tree_digest(project / "data")


def test_a_push_into_a_folder_not_there_yet_asks_for_it_and_its_repository_at_once(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    """An empty listing is either an empty folder, a folder that is not there (which the
    push creates) or a repository that is not there (which it cannot): the two questions
    that tell them apart go out together, one round trip."""
    server = artifactory_repo.server
    project = producer(artifactory_repo, tmp_path)
    # The two questions after the listing are held until both have arrived (or for 10 s):
    # asked one after the other, the first is answered before the second is sent.
    both = threading.Barrier(2, timeout=10)
    storage_requests = itertools.count()
    met: list[bool] = []  # for each of the two: whether the other arrived while it was held

    def hold() -> None:
        if next(storage_requests) > 0:  # the first is the listing
            try:
                both.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)

    server.faults.before_next(hold, count=3, path_contains=f"/api/storage/{artifactory_repo.name}")
    server.clear_requests()
    pushed = in_process("--json", "push", "data", "-j", "4", cwd=project,
                        env={"FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    push = server.requests
    lines = asked(push, artifactory_repo)
    assert lines[0] == "GET list", lines  # 404: no such folder, or no such repository
    assert sorted(lines[1:3]) == ["GET info (the repository)", "GET info ."], lines
    assert lines[3:5] == ["PUT .data_v1.0.0.fsartifacts-claim-TOKEN", "GET list"], lines
    assert met == [True, True], lines


def test_a_folder_push_drops_its_claim_while_it_writes_the_listing_note(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    """Once the manifest is written the version is published: its listing note needs no
    claim, so the note's PUT and the claim's DELETE go out together, one round trip."""
    server = artifactory_repo.server
    project = producer(artifactory_repo, tmp_path)
    # Both are held until both have arrived (or for 10 s): sent one after the other, the
    # first is answered before the second is sent.
    both = threading.Barrier(2, timeout=10)
    met: list[bool] = []  # for each of the two: whether the other arrived while it was held

    def hold() -> None:
        try:
            both.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)

    server.faults.before_next(hold, methods=("PUT",), path_contains=".fsartifacts-listed.")
    server.faults.before_next(hold, methods=("DELETE",), path_contains=".fsartifacts-claim-")
    server.clear_requests()
    pushed = in_process("--json", "push", "data", "-j", "4", cwd=project,
                        env={"FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    lines = asked(server.requests, artifactory_repo)
    assert lines[-3] == "PUT data_v1.0.0.manifest.json", lines
    assert sorted(lines[-2:]) == [
        "DELETE .data_v1.0.0.fsartifacts-claim-TOKEN",
        "PUT .data_v1.0.0.fsartifacts-listed.s10000",
    ], lines
    assert met == [True, True], lines
    listed = in_process("--json", "list", "data", cwd=project,
                        env={"FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    (version,) = json.loads(listed.stdout)["artifacts"][0]["versions"]
    assert version["size"] == 10_000  # the note is the version's, not an older copy's


def test_a_push_lists_the_store_while_git_is_asked_for_its_provenance(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    """The listing every push begins with is on its way while the push asks git what it
    is pushed from (and walks its files, and loads its modules), not after that."""
    server = artifactory_repo.server
    git_repo(tmp_path / "project")
    project = producer(artifactory_repo, tmp_path)
    # git writes its trace into a pipe that nobody reads until the server has answered
    # the push's listing (or 10 s have gone by): until then each git command the push
    # runs waits for a reader, and so does the push if it asks git before it lists.
    trace = tmp_path / "git-trace"
    os.mkfifo(trace)
    listed_first: list[bool] = []

    def read_trace_once_listed() -> None:
        deadline = time.monotonic() + 10
        while not any("?list" in r.path for r in server.requests):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        listed_first.append(any("?list" in r.path for r in server.requests))
        # Read and written: open whether or not git is there, and never at its end.
        reader.append(os.open(trace, os.O_RDWR | os.O_NONBLOCK))

    reader: list[int] = []
    waiting = threading.Thread(target=read_trace_once_listed)
    server.clear_requests()
    waiting.start()
    try:
        env = {"FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache"), "GIT_TRACE": str(trace)}
        pushed = in_process("--json", "push", "data", "-j", "4", cwd=project, env=env)
    finally:
        waiting.join()
        for fd in reader:
            os.close(fd)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert listed_first == [True], asked(server.requests, artifactory_repo)
    lines = asked(server.requests, artifactory_repo)
    before_claim = lines[: lines.index("PUT .data_v1.0.0.fsartifacts-claim-TOKEN")]
    assert before_claim.count("GET list") == 1, lines  # the push's questions found it listed


def test_a_folder_push_checks_its_claim_while_it_writes_the_hash_cache(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    """Once the files are sent, the listing that shows the claim still held goes out at
    once, beside the push's own work before the manifest (the files checked unchanged,
    the digests written to the hash cache, the manifest built), not after it."""
    server = artifactory_repo.server
    project = producer(artifactory_repo, tmp_path)
    cache = tmp_path / "cache"
    shard = cache / "hashes" / shard_name(os.path.realpath(project / "data" / "part-0"))
    listings = itertools.count()
    written_while_held: list[bool] = []

    def hold() -> None:
        if next(listings) == 2:  # the first is what is on the store, the second the election
            deadline = time.monotonic() + 10
            while not shard.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            written_while_held.append(shard.exists())

    server.faults.before_next(hold, count=3, path_contains="?list")
    server.clear_requests()
    pushed = in_process("--json", "push", "data", "-j", "4", cwd=project,
                        env={"FSARTIFACTS_CACHE_DIR": str(cache)})  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    lines = asked(server.requests, artifactory_repo)
    assert lines[-4:-2] == ["GET list", "PUT data_v1.0.0.manifest.json"], lines
    assert written_while_held == [True], lines
