"""Provenance: the git state, the CI run and the user a push records, and nothing secret."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fsartifacts.engine import provenance

SECRET = "s3cr3t-t0ken"


def git_repo(root: Path) -> str:
    """A git checkout at ``root`` with one commit on branch ``main``; its commit id."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tracked.txt").write_text("one\n")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
            cwd=root, check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", "tracked.txt")
    git("commit", "-q", "-m", "first")
    return git("rev-parse", "HEAD")


def test_a_git_checkout_records_its_commit_branch_and_dirtiness(tmp_path: Path) -> None:
    commit = git_repo(tmp_path / "repo")
    record = provenance.collect(tmp_path / "repo", message="retrained", environ={})
    assert (record["commit"], record["branch"], record["dirty"]) == (commit, "main", False)
    assert record["message"] == "retrained" and record["user"] and record["host"]
    assert record["time"].endswith("+00:00") and record["fsartifacts"]
    (tmp_path / "repo" / "untracked.bin").write_bytes(b"pulled artifacts do not count")
    assert provenance.collect(tmp_path / "repo", environ={})["dirty"] is False
    (tmp_path / "repo" / "tracked.txt").write_text("changed\n")
    assert provenance.collect(tmp_path / "repo", environ={})["dirty"] is True


def test_a_project_outside_git_records_no_commit(tmp_path: Path) -> None:
    record = provenance.collect(tmp_path, environ={"PATH": "/nonexistent"})  # no git at all
    assert "commit" not in record and "branch" not in record and record["user"]
    assert "commit" not in provenance.collect(tmp_path, environ={})


CI_ENVIRONMENTS = {
    "github-actions": (
        {
            "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": f"https://x:{SECRET}@github.com",
            "GITHUB_REPOSITORY": "org/repo", "GITHUB_RUN_ID": "77", "GITHUB_REF_NAME": "main",
            "GITHUB_TOKEN": SECRET, "ACTIONS_RUNTIME_TOKEN": SECRET,
        },
        "https://github.com/org/repo/actions/runs/77",
    ),
    "gitlab-ci": (
        {
            "GITLAB_CI": "true", "CI_JOB_URL": f"https://gitlab.example.com/g/p/-/jobs/9?t={SECRET}",
            "CI_JOB_TOKEN": SECRET, "CI_COMMIT_REF_NAME": "feature",
        },
        "https://gitlab.example.com/g/p/-/jobs/9",
    ),
    "jenkins": (
        {
            "JENKINS_URL": "https://ci.example.com/", "BRANCH_NAME": "main",
            "BUILD_URL": f"https://admin:{SECRET}@ci.example.com/job/m/12/",
        },
        "https://ci.example.com/job/m/12/",
    ),
    "buildkite": (
        {
            "BUILDKITE": "true", "BUILDKITE_BUILD_URL": "https://buildkite.com/org/p/builds/5",
            "BUILDKITE_JOB_ID": "abc", "BUILDKITE_AGENT_ACCESS_TOKEN": SECRET,
        },
        "https://buildkite.com/org/p/builds/5#abc",
    ),
}  # fmt: skip


@pytest.mark.parametrize("ci", sorted(CI_ENVIRONMENTS))
def test_a_ci_run_is_recorded_by_its_url_and_no_secret_is(ci: str, tmp_path: Path) -> None:
    environ, url = CI_ENVIRONMENTS[ci]
    record = provenance.collect(tmp_path, message=None, environ=environ)
    assert (record["ci"], record["ci_url"]) == (ci, url)
    assert SECRET not in json.dumps(record)


def test_a_record_read_back_keeps_only_known_short_printable_fields() -> None:
    hostile = {"commit": "abc\x1b[2J", "dirty": "yes", "token": SECRET, "message": "m" * 5000}
    data = json.dumps({"provenance": hostile}).encode()
    assert provenance.from_bytes(data) == {"commit": "abc[2J", "message": "m" * 1000}
    assert provenance.from_bytes(b"not json") == {} == provenance.from_bytes(b"[1, 2]")
