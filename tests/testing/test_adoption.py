"""Files the local Artifactory server finds on disk: dropped in, or changed behind its back
(testing/adoption.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import requests

from fsartifacts.testing.artifactory import ArtifactoryServer


def sums(data: bytes) -> dict[str, str]:
    return {
        "sha1": hashlib.sha1(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_restart_keeps_files_and_metadata_and_adopts_dropped_in_files(tmp_path: Path) -> None:
    data = b"persisted"
    with ArtifactoryServer(tmp_path) as server:
        url = f"{server.url}/generic-local"
        requests.put(f"{url}/d/f.txt;k=v", data=data, headers={"X-Checksum-Md5": sums(data)["md5"]})
    (tmp_path / "generic-local" / "d" / "dropped.bin").write_bytes(b"dropped in")
    with ArtifactoryServer(tmp_path) as server:
        api = f"{server.url}/api/storage/generic-local"
        info = requests.get(f"{api}/d/f.txt").json()
        assert info["originalChecksums"]["md5"] == sums(data)["md5"]
        assert requests.get(f"{api}/d/f.txt?properties").json()["properties"] == {"k": ["v"]}
        dropped = requests.get(f"{api}/d/dropped.bin").json()
        assert dropped["checksums"] == sums(b"dropped in")
        (tmp_path / "generic-local" / "d" / "dropped.bin").write_bytes(b"changed behind its back")
        changed = requests.get(f"{server.url}/generic-local/d/dropped.bin")
        assert changed.headers["X-Checksum-Sha1"] == sums(b"changed behind its back")["sha1"]
