"""Racing folder pushes, the claim that makes one of them the winner, and store leftovers.

Every test runs on each kind of store (a folder, the local Artifactory server,
moto) with real `fsartifacts` processes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from fsartifacts import Project
from fsartifacts.stores import claims
from fsartifacts.stores.claims import Claim, is_claim_name
from tests.fixtures.cli import fsartifacts, start, tree_digest, write_project
from tests.fixtures.hold import Hold
from tests.fixtures.remotes import Remote, yaml_config

FOLDER = """\
    - name: features
      file: data/features
"""
ROUNDS = 5
FILES = 12  # enough requests per push for two pushes to overlap on the store


def folder_project(root: Path, remote: Remote, version: str, seed: str) -> Path:
    """A project whose folder artifact has the same file names as any other seed's, other bytes."""
    write_project(root, yaml_config(remote, FOLDER), version)
    folder = root / "data" / "features"
    (folder / "deep").mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        (folder / ("deep" if i % 3 else "") / f"f{i:02d}.bin").write_bytes(
            f"{seed} {i}\n".encode() * (50 + i)
        )
    return root


def test_racing_folder_pushes_publish_exactly_one_whole_folder(
    remote: Remote, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        version = f"1.{round_}.0"
        jobs = {
            job: folder_project(tmp_path / f"{job}-{round_}", remote, version, f"{job}{round_}")
            for job in ("a", "b")
        }
        procs = {job: start("push", "features", cwd=root) for job, root in jobs.items()}
        outcomes = {job: p.communicate(timeout=120) for job, p in procs.items()}
        codes = {job: p.returncode for job, p in procs.items()}
        assert sorted(codes.values()) == [0, 1], (round_, outcomes)
        winner = next(job for job, code in codes.items() if code == 0)
        loser = next(job for job, code in codes.items() if code == 1)
        err = outcomes[loser][1]
        assert "Traceback" not in err
        # Under way while the winner held the version; already there once it had published.
        assert ("another push of" in err and "is under way" in err) or "already exists" in err, err

        # Pulled back in-process (the pushes are what runs as processes here).
        consumer = write_project(tmp_path / f"consumer-{round_}", yaml_config(remote, FOLDER))
        (pulled,) = Project.load(start=consumer, environ={}).pull("features", version)
        assert pulled.action == "pulled", (round_, pulled.error, outcomes)
        assert tree_digest(consumer / f"features_v{version}") == tree_digest(
            jobs[winner] / "data" / "features"
        ), round_


def store_names(remote: Remote) -> set[str]:
    """Every basename at the store's root, sidecars and hidden names included."""
    remote.fs.invalidate_cache()
    try:
        return {
            p.rstrip("/").rpartition("/")[2]
            for p in remote.fs.ls(remote.root, detail=False, refresh=True)
        }
    except FileNotFoundError:
        return set()


def claims_on(remote: Remote) -> set[str]:
    return {n for n in store_names(remote) if is_claim_name(n)}


def test_a_killed_push_leaves_a_claim_that_blocks_until_gc_removes_it(
    remote: Remote, tmp_path: Path
) -> None:
    root = folder_project(tmp_path / "job", remote, "2.0.0", "killed")
    for i in range(4):
        (root / "data" / "features" / f"more{i:02d}.bin").write_bytes(os.urandom(16 * 1024))
    # Held as it opens a file of the folder to send it, once it holds its claim.
    hold = Hold(tmp_path, "more02.bin")
    proc = start("push", "features", cwd=root, env=hold.env)
    hold.wait(proc)
    left = claims_on(remote)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert left, "the push held no claim while sending its files"
    assert claims_on(remote) == left, "the killed push left no claim"

    again = fsartifacts("push", "features", cwd=root)
    assert again.returncode == 1, again.stderr
    assert "another push of" in again.stderr and "is under way" in again.stderr
    assert f"pid {proc.pid}; no process {proc.pid} runs on this host now" in again.stderr
    assert "Traceback" not in again.stderr

    listed = fsartifacts("gc", "--dry-run", cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert "nothing to collect" in listed.stdout  # younger than the default hour
    listed = fsartifacts("gc", "--dry-run", "--older-than", "0s", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    planned = json.loads(listed.stdout)["results"]
    assert {r["artifact"] for r in planned} >= {"claim"}, planned
    assert all(r["action"] == "planned" for r in planned)
    assert claims_on(remote) == left

    removed = fsartifacts("gc", "--older-than", "0s", cwd=root)
    assert removed.returncode == 0, removed.stderr
    assert "deleted" in removed.stdout and "claim" in removed.stdout
    assert not claims_on(remote)
    assert not {n for n in store_names(remote) if ".fsartifacts-" in n}
    assert "features_v2.0.0" not in store_names(remote)  # the half-uploaded folder too

    pushed = fsartifacts("push", "features", cwd=root)
    assert pushed.returncode == 0, pushed.stderr
    consumer = write_project(tmp_path / "consumer", yaml_config(remote, FOLDER))
    (pulled,) = Project.load(start=consumer, environ={}).pull("features", "2.0.0")
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(consumer / "features_v2.0.0") == tree_digest(root / "data" / "features")


TWO_HOURS_AGO = datetime.now(UTC) - timedelta(hours=2)


def plant(remote: Remote, name: str, *, old: bool) -> str:
    """A leftover at the store's root, last written two hours ago (``old``) or now.

    S3 cannot backdate an object, so there the old leftover is an incomplete
    multipart upload with no part: moto reports every upload as initiated in 2010.
    """
    path = f"{remote.root}/{name}"
    if remote.kind == "folder":
        Path(path).write_bytes(b"half an upload")
        if old:
            os.utime(path, (TWO_HOURS_AGO.timestamp(), TWO_HOURS_AGO.timestamp()))
    elif remote.kind == "artifactory":
        headers = {"Last-Modified": format_datetime(TWO_HOURS_AGO, usegmt=True)} if old else {}
        put = requests.put(f"{remote.server.url}/{path}", data=b"half", headers=headers)
        assert put.status_code == 201, put.text
    elif old:
        bucket, _, prefix = remote.root.partition("/")
        remote.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=f"{prefix}/{name}")
    else:
        bucket, _, prefix = remote.root.partition("/")
        key = f"{prefix}/{name}"
        upload = remote.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
        remote.fs.call_s3(
            "upload_part", Bucket=bucket, Key=key, UploadId=upload["UploadId"],
            PartNumber=1, Body=b"x" * 1024,
        )  # fmt: skip
        remote.fs.pipe_file(path, b"half an upload")  # a temporary of a store without renames
    return name


def present(remote: Remote, name: str) -> bool:
    """Whether the leftover ``name`` is still on the store (as an object or an upload)."""
    if remote.kind == "s3":
        bucket, _, prefix = remote.root.partition("/")
        uploads = remote.fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix)
        if any(u["Key"] == f"{prefix}/{name}" for u in uploads.get("Uploads", [])):
            return True
    return name in store_names(remote)


def test_abandoned_leftovers_are_swept_by_push_prune_and_rm(remote: Remote, tmp_path: Path) -> None:
    commands = [
        ("1.0.0", ("push", "features")),
        ("1.1.0", ("push", "features")),
        ("1.1.0", ("prune", "--keep", "1")),
        ("1.1.0", ("rm", "features", "1.1.0")),
    ]
    for step, (version, command) in enumerate(commands):
        root = folder_project(tmp_path / f"job-{step}", remote, version, "sweep")
        old = plant(remote, f".model_v1.0.0.pkl.fsartifacts-{step:012x}.part", old=True)
        fresh = plant(remote, f".model_v2.0.0.pkl.fsartifacts-{step:012x}.part", old=False)
        run = fsartifacts(*command, cwd=root)
        assert run.returncode == 0, (command, run.stdout, run.stderr)
        assert not present(remote, old), (command, store_names(remote))
        assert present(remote, fresh), command  # younger than the hour: maybe still being sent

    cleaned = fsartifacts("gc", "--older-than", "0s", cwd=root)
    assert cleaned.returncode == 0, cleaned.stderr
    assert not any(
        present(remote, f".model_v2.0.0.pkl.fsartifacts-{s:012x}.part") for s in range(4)
    )


@pytest.mark.parametrize("given", ["5x", "-1h", "", "1e400d", "99999999d"])
def test_gc_refuses_a_duration_it_cannot_read_in_one_line(given: str, tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p", "repository:\n  url: file://./store\n" + "  artifacts:\n" + FOLDER
    )
    run = fsartifacts("gc", f"--older-than={given}", cwd=root)
    assert run.returncode == 2, run.stderr
    assert "argument --older-than: must be" in run.stderr
    assert "Traceback" not in run.stderr


def backdate(path: Path) -> None:
    """Make ``path`` and everything below it look last written two hours ago."""
    stamp = TWO_HOURS_AGO.timestamp()
    for p in [*path.rglob("*"), path]:
        os.utime(p, (stamp, stamp))


def test_an_unfinished_folder_is_swept_only_when_no_live_claim_holds_it(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p", "repository:\n  url: file://./store\n  artifacts:\n" + FOLDER, "1.0.0"
    )
    (root / "data" / "features").mkdir(parents=True)
    (root / "data" / "features" / "x.csv").write_text("x\n1\n")
    store = root / "store"
    for version in ("3.0.0", "4.0.0"):  # no manifest: pushes that never finished
        (store / f"features_v{version}").mkdir(parents=True)
        (store / f"features_v{version}" / "a.bin").write_bytes(b"half")
        backdate(store / f"features_v{version}")
    # A push of 4.0.0 holds its claim now; its files are old only because it is slow.
    (store / ".features_v4.0.0.fsartifacts-claim").write_bytes(Claim.new().to_bytes())

    listed = fsartifacts("gc", "--dry-run", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert [(r["artifact"], r["remote"]) for r in json.loads(listed.stdout)["results"]] == [
        ("unfinished folder", f"{store.as_uri()}/features_v3.0.0/")
    ]

    (pushed,) = Project.load(start=root, environ={}).push("features")
    assert pushed.action == "pushed", pushed.error
    assert not (store / "features_v3.0.0").exists()
    assert (store / "features_v4.0.0" / "a.bin").read_bytes() == b"half"
    assert (store / ".features_v4.0.0.fsartifacts-claim").exists()


def test_an_election_has_one_winner_whoever_counts_the_votes() -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    from fsartifacts.stores.base import StoreOps

    fs = MemoryFileSystem(skip_instance_cache=True)
    fs.mkdir("/store")
    first, second = StoreOps(fs), StoreOps(fs)  # no create-if-absent: an election
    path = "/store/.features_v1.0.0.fsartifacts-claim"
    a, b = Claim.new(), Claim.new()
    assert first.claim(path, a) is None
    holder = second.claim(path, b)
    assert holder is not None and holder.claim == a
    assert [p.rpartition("/")[2] for p in fs.ls("/store", detail=False)] == [
        f".features_v1.0.0.fsartifacts-claim-{a.token}"
    ]  # the loser withdrew its candidate
    first.release(path, a)
    assert second.claim(path, b) is None

    # Two candidates at once: every claimer ranks them the same way.
    c = Claim.new()
    first.write_bytes(f"{path}-{c.token}", c.to_bytes(), exclusive=False)
    winner, also = first.holder(path), second.holder(path)
    assert winner is not None and also is not None and winner.claim == also.claim == b


def memory_store() -> Any:
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem(global_store=False, skip_instance_cache=True)
    fs.mkdir("/store")
    return fs


ELECTION_PATH = "/store/.features_v1.0.0.fsartifacts-claim"


@pytest.mark.parametrize("stamp", ["same millisecond", "stamped before it was visible"])
def test_a_claimer_that_finds_another_candidate_never_wins_whatever_the_store_s_times(
    stamp: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsartifacts.stores.base import StoreOps

    monkeypatch.setattr(claims, "ELECTION_PAUSE", 0.001)
    fs = memory_store()
    first = StoreOps(fs)
    a = Claim.new()
    assert first.claim(ELECTION_PATH, a) is None  # alone: the version is a's
    won_at = fs.store[f"{ELECTION_PATH}-{a.token}"].created

    class Late(StoreOps):
        """The second claimer's candidate, written after the first one had listed, carries
        a creation time that ranks it first: in the same millisecond with a name that sorts
        first, or stamped earlier than it became visible (a deploy under way)."""

        def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
            super().write_bytes(rpath, data, exclusive=exclusive)
            early = timedelta(0) if stamp == "same millisecond" else timedelta(milliseconds=5)
            fs.store[rpath].created = won_at - early

    b = Claim("0" * 32, "host", 1, datetime.now(UTC))  # its candidate's name sorts first
    found = Late(fs).claim(ELECTION_PATH, b)
    assert found is not None and found.claim == a  # a holds it: b lost
    assert fs.ls("/store", detail=False) == [f"{ELECTION_PATH}-{a.token}"]  # b withdrew
    still = first.holder(ELECTION_PATH, own=a)
    assert still is not None and still.claim == a  # a may go on and publish


def test_claimers_that_saw_each_other_withdraw_and_one_wins_on_its_next_try(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fsartifacts.stores.base import StoreOps

    monkeypatch.setattr(claims, "ELECTION_PAUSE", 0.001)
    fs = memory_store()
    other = Claim.new()
    other_path = f"{ELECTION_PATH}-{other.token}"
    listings: list[list[str]] = []

    class Contended(StoreOps):
        """Another claimer wrote its candidate at the same moment, saw this one's and
        withdrew: the first listing shows it, the next ones do not."""

        def listing(self, path: str) -> list[dict[str, Any]]:
            if not listings:
                fs.pipe(other_path, other.to_bytes())
            entries = super().listing(path)
            listings.append([e["name"] for e in entries])
            if fs.exists(other_path):
                fs.rm(other_path)
            return entries

    mine = Claim.new()
    assert Contended(fs).claim(ELECTION_PATH, mine) is None  # won on its second try
    assert len(listings) == 2 and other_path in listings[0], listings
    assert fs.ls("/store", detail=False) == [f"{ELECTION_PATH}-{mine.token}"]


def test_a_candidate_older_than_a_contender_is_a_holder_found_in_one_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fsartifacts.stores.base import StoreOps

    monkeypatch.setattr(claims, "ELECTION_PAUSE", 60)  # a second try would hang the test
    fs = memory_store()
    held = Claim.new()
    fs.pipe(f"{ELECTION_PATH}-{held.token}", held.to_bytes())
    fs.store[f"{ELECTION_PATH}-{held.token}"].created = datetime.now(UTC) - timedelta(minutes=1)
    found = StoreOps(fs).claim(ELECTION_PATH, Claim.new())
    assert found is not None and found.claim == held
    assert fs.ls("/store", detail=False) == [f"{ELECTION_PATH}-{held.token}"]


TWO_FOLDERS = """\
    - name: features
      file: data/features
    - name: more
      file: data/more
"""


def test_an_interrupted_push_drops_its_claims_and_the_next_push_goes_ahead(
    tmp_path: Path,
) -> None:
    # Two folder artifacts: pushed by worker threads, which an interrupt does not wait for.
    root = write_project(
        tmp_path / "p", "repository:\n  url: file://./store\n  artifacts:\n" + TWO_FOLDERS
    )
    for name in ("features", "more"):
        (root / "data" / name).mkdir(parents=True)
        for i in range(200):
            (root / "data" / name / f"{i:03d}.bin").write_bytes(os.urandom(8 * 1024))
    store = root / "store"
    proc = start("push", "ALL", cwd=root)
    caught = False
    while proc.poll() is None:
        if store.is_dir() and any(is_claim_name(p.name) for p in store.iterdir()):
            proc.send_signal(signal.SIGINT)
            caught = True
            break
    _, err = proc.communicate(timeout=60)
    assert caught, "the push ended before the test saw a claim"
    assert proc.returncode == 130, err
    assert not [p.name for p in store.iterdir() if is_claim_name(p.name)]

    # sync push: the interrupted run may have published one of the two before the signal.
    again = fsartifacts("sync", "push", "ALL", cwd=root)
    assert again.returncode == 0, again.stderr


def test_a_held_claim_is_renewed_so_a_slow_push_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims, "RENEW_EVERY", timedelta(milliseconds=20))
    root = write_project(
        tmp_path / "p", "repository:\n  url: file://./store\n  artifacts:\n" + FOLDER
    )
    project = Project.load(start=root, environ={})
    path = claims.claim_path(project.store.path("features_v1.0.0"))
    mine = Claim.new()
    assert project.engine.claims.take(path, mine) is None
    backdate(Path(path))  # as if the push had been running for two hours
    renewed = threading.Event()
    for _ in range(1000):  # bounded: the renewal is due every 20 ms
        if datetime.fromtimestamp(os.stat(path).st_mtime, UTC) > TWO_HOURS_AGO + timedelta(hours=1):
            renewed.set()
            break
        renewed.wait(0.01)
    assert renewed.is_set(), "the claim was not renewed"
    assert not [r for r in project.gc(dry_run=True) if r.artifact == "claim"]

    # Another push's claim in its place (the first one's was swept): left alone.
    other = Claim.new()
    Path(path).write_bytes(other.to_bytes())
    assert project.store.ops.renew(path, mine) is False
    project.engine.claims.drop(path, mine)
    assert Claim.from_bytes(Path(path).read_bytes()) == other


def test_rm_leaves_a_folder_version_alone_while_a_push_holds_it(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p", "repository:\n  url: file://./store\n  artifacts:\n" + FOLDER
    )
    (root / "data" / "features").mkdir(parents=True)
    (root / "data" / "features" / "x.csv").write_text("x\n1\n")
    assert fsartifacts("push", "features", cwd=root).returncode == 0
    store = root / "store"
    before = tree_digest(store)
    # A push of 1.0.0 with --force is under way.
    (store / ".features_v1.0.0.fsartifacts-claim").write_bytes(Claim.new().to_bytes())

    refused = fsartifacts("rm", "features", "1.0.0", cwd=root)
    assert refused.returncode == 1, refused.stderr
    assert "another push of" in refused.stderr and "is under way" in refused.stderr
    assert {k: v for k, v in tree_digest(store).items() if "claim" not in k} == before

    (store / ".features_v1.0.0.fsartifacts-claim").unlink()  # that push is done
    removed = fsartifacts("rm", "features", "1.0.0", cwd=root)
    assert removed.returncode == 0, removed.stderr
    assert not [p.name for p in store.iterdir()]


def test_verbose_says_where_the_version_is_taken_by_an_election(
    remote: Remote, tmp_path: Path
) -> None:
    root = folder_project(tmp_path / "p", remote, "1.0.0", "one")
    run = fsartifacts("push", "features", "-v", cwd=root)
    assert run.returncode == 0, run.stderr
    # Artifactory has no create-if-absent write; the folder store and S3 do.
    said = (
        "taken by an election among claim objects" in run.stderr and "not atomically" in run.stderr
    )
    assert said == (remote.kind == "artifactory"), run.stderr
