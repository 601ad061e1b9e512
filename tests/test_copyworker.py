"""The worker process that copies small files: each read once, hashed, written new."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from fsartifacts.copyworker import Copy, Worker


def test_each_file_is_copied_whole_with_the_digests_and_identity_of_what_was_read(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    copies = []
    for n in range(5):
        src = sources / f"{n}.bin"
        src.write_bytes(os.urandom(n * 300))  # the first one empty
        os.chmod(src, 0o640 if n % 2 else 0o755)
        copies.append(Copy(str(src), str(tmp_path / "out" / f"d{n % 2}" / src.name), n * 300))
    with Worker(copies, ["sha256", "sha1"], keep_mode=True, exclusive=True) as worker:
        results = [worker.result(n) for n in range(len(copies))]
    for copy, copied in zip(copies, results, strict=True):
        assert copied is not None, copy
        data = Path(copy.src).read_bytes()
        assert Path(copy.dst).read_bytes() == data
        assert copied.digests == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "sha1": hashlib.sha1(data).hexdigest(),
        }
        st = os.stat(copy.src)
        assert copied.identity == (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev,
                                   st.st_ctime_ns)  # fmt: skip
        assert stat.S_IMODE(os.stat(copy.dst).st_mode) == stat.S_IMODE(st.st_mode)


def test_a_file_it_cannot_copy_as_asked_is_answered_not_done_and_the_others_are_copied(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(b"good" * 100)
    grown = tmp_path / "grown.bin"
    grown.write_bytes(b"longer than it was listed")
    link = tmp_path / "link.bin"
    link.symlink_to(good)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    taken = tmp_path / "out" / "taken.bin"
    taken.parent.mkdir()
    taken.write_bytes(b"already there")
    out = tmp_path / "out"
    copies = [
        Copy(str(tmp_path / "missing.bin"), str(out / "missing.bin"), 10),
        Copy(str(grown), str(out / "grown.bin"), 5),
        Copy(str(link), str(out / "link.bin"), 400),
        Copy(str(fifo), str(out / "fifo"), 0),
        Copy(str(good), str(taken), 400),
        Copy(str(good), str(out / "good.bin"), 400),
    ]
    with Worker(copies, ["sha256"], keep_mode=False, exclusive=True) as worker:
        results = [worker.result(n) for n in range(len(copies))]
    assert results[:5] == [None] * 5
    assert taken.read_bytes() == b"already there"  # exclusive: never replaced
    assert results[5] is not None
    assert results[5].digests["sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    assert (out / "good.bin").read_bytes() == good.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["good.bin", "taken.bin"]


def test_without_exclusive_a_copy_replaces_what_is_there(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"new")
    dst = tmp_path / "dst.bin"
    dst.write_bytes(b"the old content, longer")
    with Worker([Copy(str(src), str(dst), 3)], ["sha256"], keep_mode=False,
                exclusive=False) as worker:  # fmt: skip
        assert worker.result(0) is not None
    assert dst.read_bytes() == b"new"
