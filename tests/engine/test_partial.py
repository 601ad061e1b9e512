"""What a pull finds beside its destination in the place of a partial download: only a
regular file of its own, with a regular journal, is resumed; anything else is swept away
and the download starts over, without writing through it."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.atomic import temp_name
from fsartifacts.engine.partial import KEEP_LOCAL_MIN, CopyIdentity, KeptMembers, Partial
from fsartifacts.engine.pulllock import kept_members_path, partial_paths, sweep_stale
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import BIN, command_env, tree_digest, write_project

SIZE = 4096
IDENTITY = CopyIdentity("repo/model_v1.0.0.bin", SIZE, "etag-1", "ab" * 32)


def left_by_an_earlier_run(dest: Path) -> Partial:
    """A partial download of ``dest`` holding its first half, journalled."""
    partial = Partial.open(dest, IDENTITY, resume=True)
    with open(partial.path, "r+b") as f:
        f.write(b"x" * (SIZE // 2))
    partial.received.add(0, SIZE // 2)
    partial.give_up()
    return partial


def test_a_partial_left_by_an_earlier_run_is_resumed(tmp_path: Path) -> None:
    dest = tmp_path / "model_v1.0.0.bin"
    left_by_an_earlier_run(dest)
    sweep_stale(dest)
    assert Partial.open(dest, IDENTITY, resume=True).received.total() == SIZE // 2


def test_the_journal_write_a_killed_pull_left_half_done_is_swept(tmp_path: Path) -> None:
    """A pull killed while it rewrites its journal leaves the temporary of that write
    beside it (the journal is replaced whole, by a rename): the next pull removes it and
    still resumes from the journal as it was."""
    dest = tmp_path / "model_v1.0.0.bin"
    left_by_an_earlier_run(dest)
    staged, journal = partial_paths(dest)
    torn = journal.parent / temp_name(journal.name)
    torn.write_text('{"done": [[0,')
    sweep_stale(dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([staged.name, journal.name])
    assert Partial.open(dest, IDENTITY, resume=True).received.total() == SIZE // 2


def test_a_hard_link_in_place_of_the_staged_file_is_never_written_through(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "project" / "model_v1.0.0.bin"
    staged = left_by_an_earlier_run(dest).path
    outside = tmp_path / "outside.bin"  # a file of the user's, of the same size
    outside.write_bytes(staged.read_bytes())
    staged.unlink()
    os.link(outside, staged)
    sweep_stale(dest)
    partial = Partial.open(dest, IDENTITY, resume=True)
    assert partial.received.total() == 0
    assert os.stat(partial.path).st_ino != os.stat(outside).st_ino
    assert os.stat(outside).st_nlink == 1


@pytest.mark.parametrize("which", ["staged file", "journal", "journal alone"])
def test_a_folder_in_place_of_the_staged_file_or_its_journal_is_swept(
    tmp_path: Path, which: str
) -> None:
    dest = tmp_path / "model_v1.0.0.bin"
    left_by_an_earlier_run(dest)
    staged, journal = partial_paths(dest)
    folder = journal if which.startswith("journal") else staged
    folder.unlink()
    folder.mkdir()
    (folder / "inside").write_text("x")
    if which == "journal alone":
        staged.unlink()
    sweep_stale(dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    partial = Partial.open(dest, IDENTITY, resume=True)
    assert partial.received.total() == 0
    assert staged.is_file() and journal.is_file()


@pytest.mark.parametrize("local", [False, True], ids=["remote store", "folder store"])
def test_members_read_from_this_machine_are_kept_only_when_large(
    tmp_path: Path, local: bool
) -> None:
    # Copying a small file again from the folder store costs what keeping it would (a
    # link now, its unlink at the end): there only large members are kept for a resume.
    staging, dest = tmp_path / "staging", tmp_path / "data"
    staging.mkdir()
    small, large = staging / "small.bin", staging / "large.bin"
    small.write_bytes(b"s" * 1024)
    large.write_bytes(b"l" * KEEP_LOCAL_MIN)
    keeping = KeptMembers(dest, resume=True, local=local)
    keeping.keep(small, "deep/small.bin", 1024)
    keeping.keep(large, "deep/large.bin", KEEP_LOCAL_MIN)
    kept = sorted(p.name for p in (keeping.path / "deep").iterdir())
    assert kept == (["large.bin"] if local else ["large.bin", "small.bin"])
    assert os.path.samefile(keeping.path / "deep" / "large.bin", large)


def test_kept_members_are_linked_in_their_folders_held_open_a_bounded_few_at_a_time(
    tmp_path: Path,
) -> None:
    # By 4 threads at once: more folders than one holds open, each visited twice (the
    # second time after it was closed), a member an earlier run kept replaced; nothing
    # stays open afterwards.
    dest, staging = tmp_path / "data", tmp_path / "staging"
    staging.mkdir()
    names = [f"f{n:03d}/deep/m{k}.bin" for k in range(2) for n in range(80)]
    kept = kept_members_path(dest)
    (kept / "f000" / "deep").mkdir(parents=True)
    (kept / "f000" / "deep" / "m0.bin").write_bytes(b"an earlier run's")
    keeping = KeptMembers(dest, resume=True)

    def held_open() -> int:
        # Only descriptors of the kept folders: the process's others (a session server's
        # connections on this xdist worker) come and go on their own.
        found = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                found += os.readlink(f"/proc/self/fd/{fd}").startswith(str(kept))
        return found

    def keep(name: str) -> None:
        staged = staging / name.replace("/", "_")
        staged.write_bytes(name.encode())
        keeping.keep(staged, name, len(name))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(keep, names))
    assert 0 < held_open() <= 4 * 16
    keeping.give_up(KeyboardInterrupt())
    assert held_open() == 0
    for name in names:
        assert (kept / name).read_bytes() == name.encode()
        assert (kept / name).stat().st_ino == (staging / name.replace("/", "_")).stat().st_ino


def test_a_kept_folder_swapped_for_a_link_once_opened_is_not_written_through(
    tmp_path: Path,
) -> None:
    dest, staging, outside = tmp_path / "data", tmp_path / "staging", tmp_path / "outside"
    staging.mkdir()
    outside.mkdir()
    keeping = KeptMembers(dest, resume=True)
    (staging / "a").write_bytes(b"a")
    keeping.keep(staging / "a", "sub/a.bin", 1)
    kept = kept_members_path(dest)
    (kept / "sub").rename(tmp_path / "moved")
    (kept / "sub").symlink_to(outside, target_is_directory=True)
    (staging / "b").write_bytes(b"b")
    keeping.keep(staging / "b", "sub/b.bin", 1)
    keeping.discard()
    assert list(outside.iterdir()) == []
    assert not os.path.lexists(kept)


def test_a_folder_pull_of_many_folders_keeps_its_members_within_a_small_descriptor_limit(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    # Under ``ulimit -n 40``, 2 jobs threads each holding 16 kept folders open took every
    # descriptor, and the next member's staged file could not be opened. The members
    # come from a store elsewhere, so each is kept.
    config = (
        f"repository:\n  artifactory:\n    url: {artifactory_repo.url}\n"
        f"    repo: {artifactory_repo.name}\n    path: team\n    auth: {{authType: none}}\n"
        "  artifacts:\n    - {name: data, file: data}\n"
    )
    producer = write_project(tmp_path / "producer", config, "1.0.0")
    for n in range(40):
        (producer / "data" / f"d{n:02d}").mkdir(parents=True)
        (producer / "data" / f"d{n:02d}" / "f.bin").write_bytes(b"%d" % n)
    assert Project.load(start=producer, environ={}).push("data")[0].action == "pushed"
    consumer = write_project(tmp_path / "consumer", config, "1.0.0")

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    run = subprocess.run([str(BIN), "pull", "data", "1.0.0", "-j", "2"], cwd=consumer,
                         env=command_env(consumer), capture_output=True, text=True,
                         timeout=120, preexec_fn=few_descriptors)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert tree_digest(consumer / "data_v1.0.0") == tree_digest(producer / "data")


def test_close_racing_keep_uses_no_descriptor_after_closing_it_and_leaks_none(
    tmp_path: Path,
) -> None:
    # An interrupt closes the kept folders while jobs threads may still be keeping
    # members. A descriptor closed under a thread about to link through it was used
    # after close (EBADF, or the number reopened meanwhile for another folder: a member
    # linked there), and a folder a thread opened just after close stayed open for good.
    # Another thread opens and closes a decoy folder all along, so a reused number names
    # it; nothing may ever be linked in it, nor its own descriptors closed under it.
    staging, decoy = tmp_path / "staging", tmp_path / "decoy"
    staging.mkdir()
    decoy.mkdir()
    staged = staging / "member.bin"
    staged.write_bytes(b"m")
    stop, problems = threading.Event(), []

    def reopen_decoys() -> None:
        while not stop.is_set():
            fds = [os.open(decoy, os.O_RDONLY | os.O_DIRECTORY) for _ in range(8)]
            for fd in fds:
                try:
                    os.close(fd)
                except OSError as exc:  # closed by someone else meanwhile
                    problems.append(exc)

    def held_open(kept: Path) -> int:
        found = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                found += os.readlink(f"/proc/self/fd/{fd}").startswith(str(kept))
        return found

    decoys = threading.Thread(target=reopen_decoys)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: the narrow window is met
    decoys.start()
    try:
        for round in range(60):
            keeping = KeptMembers(tmp_path / f"data{round}", resume=True)
            started = threading.Barrier(5)

            def keep(
                worker: int, keeping: KeptMembers = keeping, started: threading.Barrier = started
            ) -> None:
                started.wait()
                for n in range(40):
                    keeping.keep(staged, f"w{worker}/f{n % 20}/m{n}.bin", 1)

            with ThreadPoolExecutor(4) as pool:
                done = [pool.submit(keep, w) for w in range(4)]
                started.wait()
                keeping.close()
                for future in done:
                    future.result()
            assert held_open(keeping.path) == 0, round
            keeping.discard()
    finally:
        stop.set()
        decoys.join()
        sys.setswitchinterval(switching)
    assert not problems
    assert list(decoy.iterdir()) == []
