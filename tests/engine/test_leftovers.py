"""The sweep after a push leaves alone an unfinished S3 upload that a journal of the
project points at (the next push continues it); ``gc`` removes it like any other."""

from __future__ import annotations

import os
import resource
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from fsartifacts.config.model import TransferSettings
from fsartifacts.engine import leftovers
from fsartifacts.stores.journals import UploadJournal, UploadJournals
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.settings import S3Settings
from tests.fixtures.cli import BIN, command_env, write_project
from tests.fixtures.remotes import Remote


def unfinished(s3: Any, bucket: str, key: str) -> str:
    """An upload with one part written now (moto dates uploads without parts in 2010)."""
    upload_id = str(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)
    return upload_id


def test_the_sweep_spares_an_upload_a_journal_points_at_and_gc_does_not(
    moto_server: str, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    settings = S3Settings(bucket=bucket, endpoint_url=moto_server, region="us-east-1")
    store = open_s3_store(settings, TransferSettings(attempts=2))
    journalled = unfinished(s3_client, bucket, "model_v1.0.0.pkl")
    other = unfinished(s3_client, bucket, "model_v2.0.0.pkl")
    journals = UploadJournals.of_project(tmp_path)
    journals.write(UploadJournal(f"{bucket}/model_v1.0.0.pkl", journalled, 1, 1, "0" * 64,
                                 5242880, "0" * 64))  # fmt: skip

    removed = leftovers.sweep(store, [], older_than=timedelta(0), journals=journals)
    assert [r.upload.upload_id for r in removed if r.upload] == [other]
    pending = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in pending] == [journalled]

    collected = leftovers.collect(
        store, [], translate=lambda exc, what: RuntimeError(what), older_than=timedelta(0)
    )
    assert [r.action for r in collected] == ["deleted"]
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_gc_takes_the_listing_notes_of_versions_that_are_gone(tmp_path: Path) -> None:
    from fsspec.implementations.local import LocalFileSystem

    from fsartifacts.stores.store import Store, ops_for

    root = tmp_path / "store"
    (root / "data_v1.0.0").mkdir(parents=True)
    (root / "data_v1.0.0.manifest.json").write_text("{}")
    (root / "model_v1.0.0.bin").write_bytes(b"m")
    kept = {
        ".data_v1.0.0.fsartifacts-listed.s3",
        ".model_v1.0.0.bin.fsartifacts-listed.s1.gabcdef0",
    }
    gone = {
        ".data_v2.0.0.fsartifacts-listed.s3",
        ".model_v2.0.0.bin.fsartifacts-listed.s1.gabcdef0",
    }
    for name in kept | gone:
        (root / name).write_bytes(b"")
    fs = LocalFileSystem()
    store = Store(fs, str(root), ops_for(fs), root.as_uri())

    collected = leftovers.collect(
        store, [], translate=lambda exc, what: RuntimeError(what), older_than=timedelta(0)
    )
    assert sorted(r.artifact for r in collected) == ["listing note", "listing note"]
    assert {p.name for p in root.iterdir()} == {"data_v1.0.0", "data_v1.0.0.manifest.json",
                                                 "model_v1.0.0.bin"} | kept  # fmt: skip


def test_gc_deletes_the_one_leftover_it_found_even_when_its_name_reads_as_a_pattern(
    remote: Remote,
) -> None:
    from fsartifacts.stores.store import Store, ops_for

    # A note someone else wrote under a name fsartifacts never writes: it is deleted
    # as the one object it is, never as a pattern that matches the notes of others.
    live = ".data_v1.0.0.fsartifacts-listed.s3"
    remote.fs.makedirs(f"{remote.root}/data_v1.0.0", exist_ok=True)
    for name, data in [("data_v1.0.0/a.bin", b"abc"), ("data_v1.0.0.manifest.json", b"{}"),
                       (live, b""), (".*.fsartifacts-listed.s3", b"")]:  # fmt: skip
        remote.fs.pipe_file(f"{remote.root}/{name}", data)
    remote.fs.invalidate_cache()
    store = Store(remote.fs, remote.root, ops_for(remote.fs), remote.root)

    collected = leftovers.collect(
        store, [], translate=lambda exc, what: RuntimeError(what), older_than=timedelta(0)
    )
    assert [(r.artifact, r.action) for r in collected] == [("listing note", "deleted")]
    assert remote.names() == {"data_v1.0.0", "data_v1.0.0.manifest.json", live}


def test_gc_reads_no_more_of_a_claim_than_a_claim_can_hold(remote: Remote) -> None:
    """A claim object is a few hundred bytes; one that is not (planted, or damaged) was
    read whole into memory: gc and every push reading the claims of the store."""
    from fsartifacts.stores.claims import CLAIM_LIMIT
    from fsartifacts.stores.store import Store, ops_for

    junk = b"{" * (CLAIM_LIMIT * 4)
    remote.fs.pipe_file(f"{remote.root}/.data_v2.0.0.fsartifacts-claim", junk)
    remote.fs.invalidate_cache()
    ops = ops_for(remote.fs)
    read = ops.read_bytes(f"{remote.root}/.data_v2.0.0.fsartifacts-claim", limit=CLAIM_LIMIT)
    assert read == junk[: CLAIM_LIMIT + 1]
    remote.fs.pipe_file(f"{remote.root}/empty.bin", b"")  # no range of it can be served
    assert ops.read_bytes(f"{remote.root}/empty.bin", limit=CLAIM_LIMIT) == b""
    remote.fs.rm_file(f"{remote.root}/empty.bin")
    store = Store(remote.fs, remote.root, ops, remote.root)
    collected = leftovers.collect(
        store, [], translate=lambda exc, what: RuntimeError(what), older_than=timedelta(0)
    )
    assert [(r.artifact, r.action) for r in collected] == [("claim", "deleted")], collected


def test_gc_of_a_claim_larger_than_memory_does_not_read_it(tmp_path: Path) -> None:
    """A sparse 3 GiB claim, under an address space of 1.5 GiB: gc failed with an internal
    MemoryError (or, without a limit, took all the memory there was)."""
    root = write_project(tmp_path / "p", "repository:\n  url: file://./store\n"
                         "  artifacts:\n    - {name: data, file: data}\n")  # fmt: skip
    (root / "store").mkdir()
    claim = root / "store" / ".data_v2.0.0.fsartifacts-claim"
    with open(claim, "wb") as f:
        f.truncate(3 * 1024**3)
    os.utime(claim, (0, 0))

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, resource.RLIM_INFINITY))

    run = subprocess.run([str(BIN), "gc"], cwd=root, env=command_env(root), capture_output=True,
                         text=True, timeout=120, preexec_fn=bounded)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert not claim.exists()
