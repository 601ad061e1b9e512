"""One pool of threads per artifactory:// filesystem: reused, closed, rebuilt after a fork,
and never deadlocked by a many-path call made inside another one.

A barrier of N parties in the items proves N of them ran at once without measuring any
duration: it breaks (BrokenBarrierError) unless N threads reach it together.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.artifactoryfs.pool import BatchPool
from fsartifacts.testing.requestlog import peak_overlap
from tests.fixtures.artifactory import ArtifactoryRepo


def make_fs(repo: ArtifactoryRepo, **options: object) -> ArtifactoryFileSystem:
    return ArtifactoryFileSystem(url=repo.url, anon=True, skip_instance_cache=True, **options)


def threads_of_a_call(pool: BatchPool) -> set[threading.Thread]:
    """The threads that ran one call of ``pool.size`` items, all at once."""
    barrier = threading.Barrier(pool.size, timeout=30)

    def item(_: int) -> threading.Thread:
        barrier.wait()
        return threading.current_thread()

    ran = pool.run(item, range(pool.size))
    assert all(isinstance(t, threading.Thread) for t in ran)
    return set(ran)  # type: ignore[arg-type]


def run_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=60,  # a deadlock fails the test instead of hanging it
        check=False,
    )


def test_calls_reuse_the_pool_threads_until_closed(artifactory_repo: ArtifactoryRepo) -> None:
    fs = make_fs(artifactory_repo, batch_size=4)
    first = threads_of_a_call(fs.batch_pool)
    assert len(first) == 4 and threading.current_thread() in first  # the caller takes part
    helpers = first - {threading.current_thread()}
    assert threads_of_a_call(fs.batch_pool) - {threading.current_thread()} == helpers
    fs.close()
    for thread in helpers:
        thread.join(timeout=30)
        assert not thread.is_alive()
    again = threads_of_a_call(fs.batch_pool) - {threading.current_thread()}  # made anew
    assert len(again) == 3 and not again & helpers
    del fs
    gc.collect()
    for thread in again:  # dropping the filesystem ends its threads too
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_nested_calls_and_a_forked_child_keep_the_pool_working(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    """In a process of its own (a deadlock fails it by the timeout; the fork stays out of
    pytest's process): calls made inside calls' items on a pool their callers fill, then a
    forked child's calls, which need threads of the child's own to run side by side."""
    repo = artifactory_repo.name
    server = artifactory_repo.server
    fs = make_fs(artifactory_repo)
    files = {f"{repo}/n/d{d}/e{e}/f{f}.txt": b"%d" % f for d in range(3) for e in range(2)
             for f in range(3)}  # fmt: skip
    files |= {f"{repo}/{side}{i}.txt": b"x" for side in ("parent", "child") for i in range(8)}
    fs.pipe(files)
    server.pro = False  # find lists folders side by side, each listing asks each file's info
    server.clear_requests()
    # Each of the child's requests is held a moment, as latency would, so that requests
    # sent side by side are seen in flight together.
    server.faults.before_next(lambda: time.sleep(0.1), count=8, path_contains="/child")
    result = run_script(
        """
        import os, sys
        from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
        from fsartifacts.artifactoryfs.pool import BatchPool

        url, repo = sys.argv[1:]
        pool = BatchPool(2)
        deep = pool.run(lambda i: pool.run(lambda j: pool.run(lambda k: i * 100 + j * 10 + k,
                                                              range(3)), range(3)), range(3))
        assert deep == [[[i * 100 + j * 10 + k for k in range(3)] for j in range(3)]
                        for i in range(3)], deep
        found = ArtifactoryFileSystem(url=url, anon=True, batch_size=2).find(
            f"{repo}/n", detail=True)
        print(len(found), sum(e["size"] for e in found.values()))

        fs = ArtifactoryFileSystem(url=url, anon=True, batch_size=4, skip_instance_cache=True)
        fs.cat([f"{repo}/parent{i}.txt" for i in range(8)])  # the pool's threads run
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                got = fs.cat([f"{repo}/child{i}.txt" for i in range(8)])
                os._exit(0 if set(got.values()) == {b"x"} else 3)
            except BaseException:
                os._exit(4)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """,
        artifactory_repo.url,
        repo,
    )
    assert result.returncode == 0, result.stderr
    n = [v for k, v in files.items() if "/n/" in k]
    assert result.stdout.split() == [str(len(n)), str(sum(map(len, n))), "0"]
    child = [r for r in server.requests if "/child" in r.path]
    assert len(child) == 8
    assert 2 <= peak_overlap(child) <= 4  # side by side in the child too, within the bound


def test_an_interrupt_in_the_caller_is_raised_at_once_and_starts_nothing_more() -> None:
    pool = BatchPool(3)
    release = threading.Event()
    ran: list[int] = []
    helpers: set[threading.Thread] = set()
    held_too_long: list[int] = []

    def item(i: int) -> None:
        if threading.current_thread() is threading.main_thread():
            raise KeyboardInterrupt  # Ctrl-C while the caller runs an item of its own
        ran.append(i)
        helpers.add(threading.current_thread())
        if not release.wait(timeout=30):  # the caller waited for us: it should not
            held_too_long.append(i)

    with pytest.raises(KeyboardInterrupt):
        pool.run(item, range(20))
    release.set()
    pool.close()
    for thread in helpers:
        thread.join(timeout=30)
    assert held_too_long == []
    assert len(ran) <= 2  # each helper ended the item it had, and took no other
