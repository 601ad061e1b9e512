"""Provenance: where a pushed version came from, recorded with it.

A push records the project's git commit and branch (when the project is a git
checkout; a tree with uncommitted changes to tracked files is flagged dirty),
the user, the host, the time, the CI run's URL when a CI is detected, the
fsartifacts version and an optional message. A folder version keeps it in its
manifest; a file version in a small hidden object beside it,
``.{name}.fsartifacts-provenance.json``, which no version listing matches.

Only what is listed here is read from the environment: CI URLs lose any user
information and query, so no token travels with them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MARKER = ".fsartifacts-provenance.json"
GIT_TIMEOUT = 10.0  # seconds for each git command; a hung git leaves the push without it
# What a provenance record may hold, and the longest text kept for each.
FIELDS = ("commit", "branch", "dirty", "user", "host", "time", "ci", "ci_url", "fsartifacts",
          "message")  # fmt: skip
MAX_TEXT = 1000

# getpass, socket and subprocess are imported where a record is made (a push): the
# commands that only read records (list, info, validate through the manifest) skip them.


def user() -> str:
    """The local user name (from the environment or the password database), or "unknown"."""
    import getpass

    try:
        return short_text(getpass.getuser()) or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"


def host() -> str:
    import socket

    return short_text(socket.gethostname()) or "unknown"


def object_name(basename: str) -> str:
    """The provenance object of the file version ``basename``."""
    return f".{basename}{MARKER}"


def collect(
    root: Path, *, message: str | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The provenance of a push from the project at ``root`` now."""
    from fsartifacts import __version__

    env = os.environ if environ is None else environ
    record: dict[str, Any] = {
        "user": user(),
        "host": host(),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "fsartifacts": __version__,
    }
    record.update(_git(root, env))
    ci, url, branch = _ci(env)
    if ci:
        record["ci"] = ci
        if url:
            record["ci_url"] = url
        if branch and record.get("branch") in (None, "HEAD"):
            record["branch"] = branch  # a CI checks out a detached HEAD
    if message:
        record["message"] = message
    return clean(record)


def clean(record: Any) -> dict[str, Any]:
    """Only the known fields, as short printable text (``dirty`` a bool): what a record read
    back from a store may hold, however it was written."""
    if not isinstance(record, dict):
        return {}
    kept: dict[str, Any] = {}
    for key in FIELDS:
        value = record.get(key)
        if key == "dirty":
            if isinstance(value, bool):
                kept[key] = value
        elif isinstance(value, str | int) and not isinstance(value, bool):
            text = short_text(str(value), MAX_TEXT)
            if text:
                kept[key] = text
    return kept


def to_bytes(record: dict[str, Any]) -> bytes:
    return (json.dumps({"provenance": record}, indent=1, sort_keys=True) + "\n").encode()


def from_bytes(data: bytes) -> dict[str, Any]:
    """The record in a provenance object; {} when it holds none (or is not one)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return {}
    return clean(doc.get("provenance")) if isinstance(doc, dict) else {}


def _git(root: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The commit, branch and dirtiness of the checkout ``root`` is in; {} when it is none."""
    commit = _run_git(root, env, "rev-parse", "--verify", "HEAD")
    if not commit:
        return {}
    found: dict[str, Any] = {"commit": commit}
    branch = _run_git(root, env, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        found["branch"] = branch
    status = _run_git(root, env, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        found["dirty"] = bool(status)
    return found


def _run_git(root: Path, env: Mapping[str, str], *args: str) -> str | None:
    # No fsmonitor hook: reading the state of a checkout must not run its configured programs.
    import subprocess

    command = ["git", "-c", "core.fsmonitor=false", "-C", str(root), *args]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env={**env, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git here, or it hung
    return done.stdout.strip() if done.returncode == 0 else None


def _ci(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(the CI's name, the run's URL, the branch it builds) from its own variables."""
    if env.get("GITHUB_ACTIONS") == "true":
        server, repo, run = (env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
                                                  "GITHUB_RUN_ID"))  # fmt: skip
        url = f"{server.rstrip('/')}/{repo}/actions/runs/{run}" if server and repo and run else None
        return (
            "github-actions",
            _safe_url(url),
            env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME"),
        )
    if env.get("GITLAB_CI") == "true":
        url = env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL")
        return "gitlab-ci", _safe_url(url), env.get("CI_COMMIT_REF_NAME")
    if env.get("BUILDKITE") == "true":
        url = env.get("BUILDKITE_BUILD_URL")
        job = env.get("BUILDKITE_JOB_ID")
        return (
            "buildkite",
            _safe_url(f"{url}#{job}" if url and job else url),
            env.get("BUILDKITE_BRANCH"),
        )
    if env.get("JENKINS_URL") or env.get("JENKINS_HOME"):
        branch = env.get("BRANCH_NAME") or env.get("GIT_BRANCH")
        return "jenkins", _safe_url(env.get("BUILD_URL")), branch
    return None, None, None


def _safe_url(url: str | None) -> str | None:
    """``url`` without user information or query (where tokens would be), if it is http(s)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not hostname:
        return None
    return urlunsplit((parts.scheme, hostname + port, parts.path, "", parts.fragment))


def short_text(text: str, limit: int = 255) -> str:
    """``text`` without the characters a terminal would act on (newlines, escapes, bidi
    overrides), at most ``limit`` long: what a record read from a store may print."""
    return "".join(c for c in text if c.isprintable())[:limit]
