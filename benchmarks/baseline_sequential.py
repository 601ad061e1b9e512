"""The "many artifacts" baseline: what skelebot does, one artifact after another.

For each artifact: open a new connection (a fresh ``requests.get``, or a fresh
boto3 session and client, as skelebot's S3Repo.connect does), list the
remote folder, pick the latest compatible version (same major, not above the
project version), download it into the current folder. No checksum is
verified and nothing is recorded. This is a lighter baseline than skelebot
itself, which also asks Artifactory whether the folder and then the file
exist (4 requests per artifact where this makes 2).

    python baseline_sequential.py artifactory BASE_URL REPO/PATH PROJECT_VERSION NAME...
    python baseline_sequential.py s3 ENDPOINT BUCKET/PREFIX PROJECT_VERSION NAME...

Remote names are ``{name}_v{version}.bin``. Run as a child process, so its
own peak RSS and time are measured like fsartifacts'.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

EXT = ".bin"


def parse(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in version.split("."))
    return major, minor, patch


def latest(names: Iterable[str], artifact: str, project: tuple[int, int, int]) -> str:
    """The remote name of the highest version with the project's major, not above it."""
    pattern = re.compile(rf"^{re.escape(artifact)}_v(\d+\.\d+\.\d+){re.escape(EXT)}$")
    best: tuple[tuple[int, int, int], str] | None = None
    for name in names:
        match = pattern.match(name.rsplit("/", 1)[-1])
        if not match:
            continue
        version = parse(match.group(1))
        if version[0] == project[0] and version <= project and (best is None or version > best[0]):
            best = (version, match.group(0))
    if best is None:
        raise SystemExit(f"{artifact}: no compatible version")
    return best[1]


def artifactory(base: str, folder: str, project: tuple[int, int, int], names: list[str]) -> None:
    import requests

    for artifact in names:
        # requests.get builds a new Session, hence a new connection, per call.
        listing = requests.get(f"{base}/api/storage/{folder}", timeout=60)
        listing.raise_for_status()
        children = [c["uri"].strip("/") for c in listing.json().get("children", [])]
        chosen = latest(children, artifact, project)
        with requests.get(f"{base}/{folder}/{chosen}", stream=True, timeout=60) as response:
            response.raise_for_status()
            with open(chosen, "wb") as out:
                for chunk in response.iter_content(1024 * 1024):
                    out.write(chunk)


def s3(endpoint: str, location: str, project: tuple[int, int, int], names: list[str]) -> None:
    import boto3

    bucket, _, prefix = location.partition("/")
    for artifact in names:
        client = boto3.session.Session().client("s3", endpoint_url=endpoint)
        response = client.list_objects_v2(
            Bucket=bucket, Prefix=f"{prefix}/{artifact}_v{project[0]}"
        )
        chosen = latest((o["Key"] for o in response.get("Contents", [])), artifact, project)
        client.download_file(bucket, f"{prefix}/{chosen}", chosen)


def main(argv: list[str]) -> None:
    kind, where, folder, version, *names = argv
    project = parse(version)
    if kind == "artifactory":
        artifactory(where, folder, project, names)
    elif kind == "s3":
        s3(where, folder, project, names)
    else:
        raise SystemExit(f"unknown store kind {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
