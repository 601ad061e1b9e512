"""Listings and item info of ``artifactory://`` from the Storage API's answers.

The File List API (Pro: sizes, sha1, sha256 and mtimes of a whole folder or
tree in one request) where the server allows it, else Folder Info.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryError,
    error_from_response,
    json_body,
    server_message,
)
from fsartifacts.artifactoryfs.pool import SERIAL, BatchPool


def _parse_time(value: Any) -> datetime | None:
    """Artifactory's ISO 8601 timestamps (milliseconds, offset or Z) as aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def item_info(client: ArtifactoryClient, path: str) -> dict[str, Any]:
    """One ``GET /api/storage``: name, size, type, times, checksums of ``path``."""
    action = f"info {path}"
    response = client.call("GET", client.storage_url(path), action)
    return info_from_storage(path, json_body(response, action))


def item_exists(client: ArtifactoryClient, path: str) -> bool:
    """Whether the server holds ``path`` now (one ``GET /api/storage``, no cache): the
    check before a write that must not replace anything."""
    try:
        item_info(client, path)
    except FileNotFoundError:
        return False
    return True


def info_from_storage(path: str, body: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": path}
    if "children" in body or "size" not in body:
        entry.update(size=0, type="directory")
    else:
        checksums = body.get("checksums") or {}
        entry.update(size=int(body["size"]), type="file")
        for key in ("sha1", "sha256", "md5"):
            if checksums.get(key):
                entry[key] = str(checksums[key]).lower()
        if body.get("mimeType"):
            entry["mimetype"] = body["mimeType"]
    created = _parse_time(body.get("created"))
    modified = _parse_time(body.get("lastModified"))
    if created:
        entry["created"] = created
    if modified:
        entry["mtime"] = modified
    return entry


def list_repositories(client: ArtifactoryClient) -> list[dict[str, Any]]:
    action = "list repositories"
    response = client.send("GET", client.api_url("repositories"), action)
    body = json_body(response, action) if response.status_code == 200 else None
    if response.status_code in (401, 403) or (body is None and response.status_code >= 500):
        raise error_from_response(response, action)
    if not isinstance(body, list):
        raise ArtifactoryError(
            f"{action}: this server does not list its repositories "
            f"(HTTP {response.status_code}); name one: artifactory://<repo>/<path>",
            status=response.status_code,
        )
    entries = [
        {
            "name": repo["key"],
            "size": 0,
            "type": "directory",
            "repo_type": repo.get("type"),
            "package_type": repo.get("packageType"),
        }
        for repo in body
        if isinstance(repo, dict) and repo.get("key")
    ]
    return sorted(entries, key=lambda e: e["name"])


def list_folder(
    client: ArtifactoryClient, path: str, detail: bool = True, pool: BatchPool = SERIAL
) -> list[dict[str, Any]] | dict[str, Any]:
    """Entries directly under folder ``path``, or the info of ``path`` if it is a file.

    The File List API (Pro) gives sizes and checksums of every child in one
    request. Without it (OSS; anonymous callers; ``path`` is a file) the
    Folder Info API names the children, and each file costs one more
    request when ``detail`` is wanted (else its size is None), run on
    ``pool`` (the filesystem's: ``batch_size`` at once).
    """
    entries = file_list(client, path, deep=False)
    if entries is not None:
        return entries
    response = client.call("GET", client.storage_url(path), f"list {path}")
    body = json_body(response, f"list {path}")
    if "children" not in body and "size" in body:
        return info_from_storage(path, body)
    entries = []
    files = []
    for child in body.get("children") or []:
        name = f"{path}/{str(child.get('uri', '')).strip('/')}"
        if child.get("folder") in (True, "true"):
            entries.append({"name": name, "size": 0, "type": "directory"})
        elif detail:
            files.append(name)
        else:
            entries.append({"name": name, "size": None, "type": "file"})
    for info in pool.run(lambda name: item_info(client, name), files):
        if isinstance(info, Exception):
            raise info
        entries.append(info)
    return sorted(entries, key=lambda e: e["name"])


def file_list(client: ArtifactoryClient, path: str, *, deep: bool) -> list[dict[str, Any]] | None:
    """``GET /api/storage/path?list``: the entries, or None where it cannot answer.

    None means: the server lacks the API (400 "only in Artifactory Pro",
    remembered), the caller may not use it (401/403: anonymous), or
    ``path`` is a file (400 "Expected a folder"). A 404 raises.
    """
    if not client.file_list_api:
        return None
    query = f"?list&deep={int(deep)}&listFolders=1&includeRootPath=0"
    action = f"list {path}"
    response = client.send("GET", client.storage_url(path) + query, action)
    with response:
        if response.status_code == 200:
            return entries_from_file_list(path, json_body(response, action))
        if response.status_code == 400:
            if "artifactory pro" in server_message(response).lower():
                client.file_list_api = False
            return None
        if response.status_code in (401, 403):
            return None
        raise error_from_response(response, action)


def entries_from_file_list(path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for item in body.get("files") or []:
        uri = str(item.get("uri", "")).strip("/")
        if not uri:
            continue  # the folder itself (includeRootPath)
        folder = item.get("folder") in (True, "true")
        entry: dict[str, Any] = {
            "name": f"{path}/{uri}",
            "size": 0 if folder else int(item.get("size", 0)),
            "type": "directory" if folder else "file",
        }
        if not folder:
            if item.get("sha1"):
                entry["sha1"] = str(item["sha1"]).lower()
            sha256 = item.get("sha2") or item.get("sha256")
            if sha256:
                entry["sha256"] = str(sha256).lower()
        modified = _parse_time(item.get("lastModified"))
        if modified:
            entry["mtime"] = modified
        entries.append(entry)
    return sorted(entries, key=lambda e: e["name"])


def folder_listings(root: str, entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A deep listing of ``root`` split into the full listing of each folder in it."""
    folders: dict[str, list[dict[str, Any]]] = {root: []}
    for entry in entries:
        if entry["type"] == "directory":
            folders.setdefault(entry["name"], [])
    for entry in entries:
        parent = entry["name"].rpartition("/")[0]
        if parent in folders:
            folders[parent].append(entry)
    return folders
