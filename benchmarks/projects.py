"""Projects for the benchmarks: an ``fsartifacts.yaml`` for a store, and the command to run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FOLDER, ARTIFACTORY, S3 = "folder", "artifactory", "s3"


@dataclass(frozen=True)
class StoreSpec:
    """Where a project's artifacts live."""

    kind: str  # FOLDER, ARTIFACTORY or S3
    config: str  # the `repository:` settings, YAML indented by two spaces
    folder: str  # the remote folder the artifacts are in, as the store names it
    env: dict[str, str]  # what a child process needs to reach it (AWS settings)


def folder_store(path: Path) -> StoreSpec:
    return StoreSpec(FOLDER, f"  url: {path.as_uri()}\n", str(path), {})


def artifactory_store(url: str, repo: str, path: str) -> StoreSpec:
    config = (
        f"  artifactory:\n    url: {url}\n    repo: {repo}\n    path: {path}\n"
        "    auth: {authType: none}\n"
    )
    return StoreSpec(ARTIFACTORY, config, f"{repo}/{path}", {})


def s3_store(endpoint: str, bucket: str, prefix: str, env: dict[str, str]) -> StoreSpec:
    config = (
        f"  s3:\n    bucket: {bucket}/{prefix}\n    region: us-east-1\n"
        f"    endpoint_url: {endpoint}\n"
    )
    return StoreSpec(S3, config, f"{bucket}/{prefix}", env)


def write_project(
    root: Path, store: StoreSpec, artifacts: Sequence[tuple[str, str]], version: str
) -> Path:
    """``root/fsartifacts.yaml`` with (name, file) artifacts; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"    - name: {name}\n      file: {file}\n" for name, file in artifacts)
    (root / "fsartifacts.yaml").write_text(
        f"version: {version}\nrepository:\n{store.config}  artifacts:\n{listed}"
    )
    return root


def fsartifacts_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m fsartifacts``."""
    script = Path(sys.executable).parent / "fsartifacts"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "fsartifacts"]
