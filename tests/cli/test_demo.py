"""`fsartifacts demo`: repeatable in the same folder, and careful with folders it did not make."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.cli import fsartifacts


def test_the_demo_twice_in_the_same_folder(tmp_path: Path) -> None:
    for _ in range(2):
        run = fsartifacts("demo", "here", cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "4 artifacts: 4 pushed" in run.stdout
        assert "4 artifacts: 4 pulled" in run.stdout
        assert "every pulled byte matches what was pushed" in run.stdout


def test_the_demo_leaves_a_folder_it_did_not_make_alone(tmp_path: Path) -> None:
    (tmp_path / "mine" / "store").mkdir(parents=True)
    (tmp_path / "mine" / "store" / "keep.txt").write_text("mine")
    run = fsartifacts("demo", "mine", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert "store" in line and "empty folder" in line
    assert sorted(p.name for p in (tmp_path / "mine").rglob("*")) == ["keep.txt", "store"]
