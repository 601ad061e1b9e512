"""Racing folder pushes, the claim that makes one of them the winner, and store leftovers.

Every test runs on each kind of store (a folder, the local Artifactory server,
moto) with real `fsartifacts` processes.
"""

from __future__ import annotations

from pathlib import Path

from fsartifacts import Project

from .cli_helpers import start, tree_digest, write_project
from .fixtures_remotes import Remote, yaml_config

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
