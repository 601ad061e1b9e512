"""The sync engine on real local folders and on fsspec's memory filesystem."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import semver

from fsartifacts import hashcache
from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine.options import PullOptions, PushOptions
from fsartifacts.engine.runner import Engine
from fsartifacts.errors import ConflictError, IntegrityError, NotFoundError
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import THREADED_MIN, hash_file
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.local import LocalOps
from fsartifacts.stores.store import Store
from fsartifacts.stores.url import open_url_store

V = semver.Version.parse
MODEL = Artifact("model", "models/model.pkl")
DATA = Artifact("data", "data")
LABELS = Artifact("labels", "labels.json", singular=True)


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return open_url_store("file://./store", {}, tmp_path, TransferSettings())
    return open_url_store(f"memory://engine-{uuid.uuid4().hex}", {}, tmp_path, TransferSettings())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "models" / "model.pkl").write_bytes(b"weights-1" * 1000)
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "a.csv").write_text("a,b\n1,2\n")
    (root / "data" / "sub" / "b.bin").write_bytes(os.urandom(5000))
    (root / "labels.json").write_text('["x"]')
    return root


def engine(store: Store, root: Path) -> Engine:
    return Engine(store, root, jobs=2, transfer=TransferSettings(attempts=2, timeout=0.2))


def test_store_kinds(store: Store) -> None:
    expected = LocalOps if store.fs.protocol[0] in ("file", "local") else StoreOps
    assert type(store.ops) is expected


def test_push_then_pull_file(store: Store, project: Path, tmp_path: Path) -> None:
    result = engine(store, project).push(MODEL, V("1.0.0"))
    assert result.action == "pushed"
    assert result.remote == store.url("model_v1.0.0.pkl")
    assert result.sha256 == hash_file(project / "models/model.pkl")["sha256"]
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    pulled = engine(store, consumer).pull(MODEL, "LATEST", V("1.3.0"))
    assert pulled.action == "pulled" and pulled.version == "1.0.0"
    assert (consumer / "model_v1.0.0.pkl").read_bytes() == (
        project / "models/model.pkl"
    ).read_bytes()
    assert pulled.sha256 == result.sha256


def test_a_push_reads_the_file_once_for_the_digests_the_store_wants(
    store: Store, project: Path, tmp_path: Path
) -> None:
    cache = HashCache(tmp_path / "hashes")
    pusher = Engine(store, project, jobs=1, hash_cache=cache)
    assert pusher.push(MODEL, V("1.0.0")).action == "pushed"
    # A store that hashes the bytes as it sends them (the folder store's copy, from the
    # size it does so): that one read is not the cache's.
    size = (project / "models" / "model.pkl").stat().st_size
    misses = 0 if store.ops.hashes_upload_of(size) else 1
    assert (cache.misses, cache.hits) == (misses, 0)
    cache.save()
    # These stores want the sha256 alone: no other digest is computed for them.
    saved = HashCache(tmp_path / "hashes")
    model = project / "models" / "model.pkl"
    assert saved.known(model, []) and not saved.known(model, ["sha1"])
    assert pusher.push(MODEL, V("1.0.0"), PushOptions(sync=True)).detail == "up to date"
    assert (cache.misses, cache.hits) == (misses, 1)


def test_push_of_an_existing_version_is_refused_even_identical(store: Store, project: Path) -> None:
    e = engine(store, project)
    e.push(MODEL, V("1.0.0"))
    with pytest.raises(ConflictError, match=r"model 1\.0\.0 already exists at .*model_v1"):
        e.push(MODEL, V("1.0.0"))
    e.push(DATA, V("1.0.0"))
    with pytest.raises(ConflictError, match=r"data 1\.0\.0 already exists"):
        e.push(DATA, V("1.0.0"))


def test_identical_sync_push_is_up_to_date_and_different_is_refused(
    store: Store, project: Path
) -> None:
    e = engine(store, project)
    e.push(MODEL, V("1.0.0"))
    assert e.push(MODEL, V("1.0.0"), PushOptions(sync=True)).detail == "up to date"
    (project / "models/model.pkl").write_bytes(b"weights-2" * 1000)
    with pytest.raises(ConflictError, match=r"model_v1\.0\.0\.pkl with different.*force=True"):
        e.push(MODEL, V("1.0.0"), PushOptions(sync=True))
    remote = store.fs.cat_file(store.path("model_v1.0.0.pkl"))
    assert remote == b"weights-1" * 1000
    assert e.push(MODEL, V("1.0.0"), PushOptions(force=True)).action == "pushed"
    assert store.fs.cat_file(store.path("model_v1.0.0.pkl")) == b"weights-2" * 1000


def test_skelebot_B3_push_never_touches_the_local_files(store: Store, project: Path) -> None:
    # skelebot copied the file to the versioned name in the working folder, then deleted it,
    # destroying a pulled copy of that name; a singular file of that name crashed.
    pulled_earlier = project / "model_v1.0.0.pkl"
    pulled_earlier.write_bytes(b"an earlier pull")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in project.rglob("*") if p.is_file()}
    e = engine(store, project)
    e.push(MODEL, V("1.0.0"))
    e.push(Artifact("labels", "labels.json", singular=True), V("1.0.0"))
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in project.rglob("*") if p.is_file()}
    assert after == before


def test_folder_round_trip_and_mirror(store: Store, project: Path) -> None:
    e = engine(store, project)
    pushed = e.push(DATA, V("1.0.0"))
    assert pushed.action == "pushed" and pushed.bytes == 8 + 5000
    assert e.push(DATA, V("1.0.0"), PushOptions(sync=True)).detail == "up to date"
    # a stray local file must disappear: the folder is mirrored, not merged
    (project / "data" / "stray.txt").write_text("local only")
    pulled = e.pull(DATA, "1.0.0", V("1.0.0"), PullOptions(override=True))
    assert pulled.action == "pulled"
    assert sorted(
        p.relative_to(project / "data").as_posix()
        for p in (project / "data").rglob("*")
        if p.is_file()
    ) == ["a.csv", "sub/b.bin"]
    plain = e.pull(DATA, "LATEST", V("1.0.0"))
    assert Path(plain.local or "") == project / "data_v1.0.0"
    assert (project / "data_v1.0.0" / "sub" / "b.bin").read_bytes() == (
        project / "data" / "sub" / "b.bin"
    ).read_bytes()


def test_folder_without_manifest_is_invisible(store: Store, project: Path) -> None:
    e = engine(store, project)
    e.push(DATA, V("1.0.0"))
    store.fs.rm(store.path("data_v1.0.0.manifest.json"))
    e.index.invalidate()
    with pytest.raises(NotFoundError, match="Versions there: none"):
        e.pull(DATA, "LATEST", V("1.0.0"))
    # and a new push of that version replaces the unfinished one
    assert e.push(DATA, V("1.0.0")).action == "pushed"


def test_singular_ignores_the_version(store: Store, project: Path, tmp_path: Path) -> None:
    e = engine(store, project)
    assert e.push(LABELS, V("1.0.0")).remote == store.url("labels.json")
    assert e.push(LABELS, V("2.0.0"), PushOptions(sync=True)).detail == "up to date"
    with pytest.raises(ConflictError, match=r"labels already exists at .* is singular"):
        e.push(LABELS, V("3.0.0"))
    consumer = tmp_path / "c"
    consumer.mkdir()
    result = engine(store, consumer).pull(LABELS, "9.9.9", V("1.0.0"))
    assert result.version is None and (consumer / "labels.json").read_text() == '["x"]'


def test_skelebot_B1_missing_version_is_an_error_listing_what_exists(
    store: Store, project: Path
) -> None:
    e = engine(store, project)
    e.push(MODEL, V("1.0.0"))
    e.push(MODEL, V("1.2.0"), PushOptions(force=True))
    with pytest.raises(
        NotFoundError, match=r"no version 1\.1\.0 .*Versions there: 1\.2\.0, 1\.0\.0"
    ):
        e.pull(MODEL, "1.1.0", V("1.2.0"))
    with pytest.raises(NotFoundError, match="same major 2"):
        e.pull(MODEL, "LATEST", V("2.0.0"))


def test_skelebot_B2_corrupted_pull_leaves_the_destination_untouched(
    store: Store, project: Path
) -> None:
    e = engine(store, project)
    e.push(MODEL, V("1.0.0"))
    # Corrupt the stored bytes behind the store's back, same size.
    rpath = store.path("model_v1.0.0.pkl")
    data = bytearray(store.fs.cat_file(rpath))
    data[10] ^= 0xFF
    store.fs.pipe_file(rpath, bytes(data))
    e.index.invalidate()
    target = project / "models" / "model.pkl"
    # The project moved on since the push, so the pull cannot reuse its bytes: it must
    # read the damaged store copy.
    target.write_bytes(b"edited after the push\n")
    before = target.read_bytes()
    with pytest.raises(IntegrityError, match="sha256"):
        e.pull(MODEL, "1.0.0", V("1.0.0"), PullOptions(override=True))
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["model.pkl"]


def test_dry_run_changes_nothing(store: Store, project: Path) -> None:
    e = engine(store, project)
    assert e.push(MODEL, V("1.0.0"), PushOptions(dry_run=True)).action == "planned"
    assert e.index.listing() == []
    e.push(MODEL, V("1.0.0"))
    result = e.pull(MODEL, "LATEST", V("1.0.0"), PullOptions(dry_run=True))
    assert result.action == "planned" and not (project / "model_v1.0.0.pkl").exists()


def test_skelebot_B7_all_attempts_every_artifact(store: Store, project: Path) -> None:
    missing = Artifact("ghost", "nope.bin")
    e = engine(store, project)
    results = e.run(lambda a: e.push(a, V("1.0.0")), [missing, MODEL, DATA, LABELS])
    assert [r.action for r in results] == ["failed", "pushed", "pushed", "pushed"]
    assert "nope.bin does not exist" in (results[0].error or "")


def test_racing_pushes_exactly_one_wins_on_a_folder_store(project: Path, tmp_path: Path) -> None:
    store = open_url_store("file://./store", {}, tmp_path, TransferSettings())
    other = tmp_path / "other"
    (other / "models").mkdir(parents=True)
    (other / "models" / "model.pkl").write_bytes(b"other build" * 1000)
    (other / "data").mkdir()
    (other / "data" / "x").write_text("other")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def push(root: Path, artifact: Artifact) -> None:
        e = engine(store, root)
        e.index.listing()  # both see an empty store before either writes
        barrier.wait()
        try:
            outcomes.append(e.push(artifact, V("1.0.0")).action)
        except ConflictError:
            outcomes.append("conflict")

    for artifact in (MODEL, DATA):
        outcomes.clear()
        threads = [threading.Thread(target=push, args=(r, artifact)) for r in (project, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict", "pushed"], artifact


def test_stale_temporaries_are_swept_by_the_next_pull(store: Store, project: Path) -> None:
    e = engine(store, project)
    e.push(MODEL, V("1.0.0"))
    leftover = project / "models" / ".model.pkl.fsartifacts-0123456789ab.part"
    leftover.write_bytes(b"half")
    e.pull(MODEL, "1.0.0", V("1.0.0"), PullOptions(override=True))
    assert not leftover.exists()


def test_remote_names_never_escape_the_project(store: Store, project: Path) -> None:
    e = engine(store, project)
    e.push(DATA, V("1.0.0"))
    manifest_path = store.path("data_v1.0.0.manifest.json")
    bad = store.fs.cat_file(manifest_path).replace(b'"a.csv"', b'"../../evil.csv"')
    store.fs.pipe_file(manifest_path, bad)
    e.index.invalidate()
    with pytest.raises(IntegrityError, match="outside"):
        e.pull(DATA, "1.0.0", V("1.0.0"))
    assert not (project.parent.parent / "evil.csv").exists()


def test_folder_store_copy_falls_back_when_the_kernel_cannot_copy(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    store = open_url_store("file://./store", {}, tmp_path, TransferSettings())
    engine(store, project).push(MODEL, V("1.0.0"))
    assert (tmp_path / "store" / "model_v1.0.0.pkl").read_bytes() == (
        project / "models" / "model.pkl"
    ).read_bytes()


def test_a_pulled_folder_is_known_to_the_cache_without_being_read_again(
    store: Store, project: Path, tmp_path: Path
) -> None:
    """Each pulled file's sha256 is remembered from the check of the staged tree, under
    the name the install gives it: a sync pull after it hashes none of them."""
    engine(store, project).push(DATA, V("1.0.0"))
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    cache = HashCache(tmp_path / "hashes")
    puller = Engine(store, consumer, jobs=2, hash_cache=cache)
    assert puller.pull(DATA, "1.0.0", V("1.0.0")).action == "pulled"
    pulled = consumer / "data_v1.0.0"
    for path in (pulled / "a.csv", pulled / "sub" / "b.bin"):
        assert cache.sha256(path) == hash_file(path)["sha256"]
    misses = cache.misses
    again = puller.pull(DATA, "1.0.0", V("1.0.0"), PullOptions(skip_current=True))
    assert again.detail == "up to date" and cache.misses == misses


def test_a_new_file_on_the_folder_store_is_hashed_as_it_is_copied_not_read_first(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder store hashes the bytes its kernel copy moves: a file the cache has no
    digest of is read once, by the copy, and its sha256 is still recorded and cached.
    One of the size of an earlier version is hashed first, to be linked if it is that."""
    store = open_url_store("file://./store", {}, tmp_path, TransferSettings())
    model = project / "models" / "model.pkl"
    model.write_bytes(os.urandom(THREADED_MIN + 54321))  # past the threaded read-back
    read_first: list[str] = []
    real_hash_file = hashcache.hash_file

    def counting(path: str, algorithms: list[str], **options: Any) -> dict[str, str]:
        read_first.append(path)
        return real_hash_file(path, algorithms, **options)

    monkeypatch.setattr(hashcache, "hash_file", counting)
    cache = HashCache(tmp_path / "hashes")
    pusher = Engine(store, project, jobs=1, hash_cache=cache)
    result = pusher.push(MODEL, V("1.0.0"))
    sha256 = hashlib.sha256(model.read_bytes()).hexdigest()
    assert (result.action, result.sha256, result.bytes) == ("pushed", sha256, model.stat().st_size)
    assert read_first == []
    pushed = tmp_path / "store" / "model_v1.0.0.pkl"
    assert pushed.read_bytes() == model.read_bytes()
    assert store.ops.recorded_sha256(str(pushed)) == sha256
    assert cache.known(model, ["sha256"]) and cache.sha256(model) == sha256
    model.write_bytes(model.read_bytes())  # the same content, not known to the cache now
    assert pusher.push(MODEL, V("1.0.1")).sha256 == sha256
    assert read_first == [os.path.realpath(model)]
    assert (tmp_path / "store" / "model_v1.0.1.pkl").stat().st_ino == pushed.stat().st_ino
