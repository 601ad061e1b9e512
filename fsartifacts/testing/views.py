"""The JSON (and HTML) shapes the local Artifactory server answers with.

Field names, order and types follow Artifactory: ``size`` is a string in file info and
deploy responses but a number in file lists, ``folder`` is a boolean, ``uri`` is the
download URL after a deploy but the ``/api/storage`` URL in storage info, and URLs are
built by plain concatenation of the decoded path (not re-encoded).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from fsartifacts.testing.model import Item
from fsartifacts.testing.wire import iso_time

_VENDOR = "application/vnd.org.jfrog.artifactory"
ITEM_CREATED = f"{_VENDOR}.storage.ItemCreated+json"
FILE_INFO = f"{_VENDOR}.storage.FileInfo+json"
FOLDER_INFO = f"{_VENDOR}.storage.FolderInfo+json"
FILE_LIST = f"{_VENDOR}.storage.FileList+json"
ITEM_PROPERTIES = f"{_VENDOR}.storage.ItemProperties+json"
ITEM_LAST_MODIFIED = f"{_VENDOR}.storage.ItemLastModified+json"
COPY_OR_MOVE_RESULT = f"{_VENDOR}.storage.CopyOrMoveResult+json"
REPOSITORIES = f"{_VENDOR}.repositories.RepositoryDetailsList+json"
JSON = "application/json"
TEXT = "text/plain"
HTML = "text/html;charset=utf-8"

PRO_ONLY_MESSAGE = (
    "This REST API is available only in Artifactory Pro (see: jfrog.com/artifactory/features)."
)

# A small, fixed table (the host's mime.types would make answers machine-dependent).
_MIME_TYPES = {
    "txt": "text/plain",
    "log": "text/plain",
    "properties": "text/plain",
    "md": "text/plain",
    "csv": "text/csv",
    "html": "text/html",
    "htm": "text/html",
    "css": "text/css",
    "xml": "application/xml",
    "pom": "application/x-maven-pom+xml",
    "json": "application/json",
    "js": "application/javascript",
    "yaml": "application/x-yaml",
    "yml": "application/x-yaml",
    "jar": "application/java-archive",
    "war": "application/java-archive",
    "ear": "application/java-archive",
    "zip": "application/zip",
    "tar": "application/x-tar",
    "gz": "application/x-gzip",
    "tgz": "application/x-gzip",
    "bz2": "application/x-bzip2",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "md5": "application/x-checksum",
    "sha1": "application/x-checksum",
    "sha256": "application/x-checksum",
}


def mime_type(name: str) -> str:
    _, dot, extension = name.rpartition(".")
    default = "application/octet-stream"
    return _MIME_TYPES.get(extension.lower(), default) if dot else default


def dumps(document: Any) -> bytes:
    """Pretty-printed like Artifactory's Jackson output (``"key" : value``)."""
    return json.dumps(document, indent=2, separators=(",", " : "), ensure_ascii=False).encode()


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": status, "message": message}]}


def storage_uri(base: str, repo: str, path: str) -> str:
    return f"{base}/api/storage/{repo}" + (f"/{path}" if path else "")


def download_uri(base: str, repo: str, path: str, *, folder: bool = False) -> str:
    uri = f"{base}/{repo}/{path}" if path else f"{base}/{repo}"
    return uri + "/" if folder else uri


def _checksums(item: Item, include_sha256: bool) -> dict[str, str]:
    assert item.checksums is not None
    sums = item.checksums.as_dict()
    if not include_sha256:
        del sums["sha256"]
    return sums


def file_created(item: Item, base: str, *, include_sha256: bool = True) -> dict[str, Any]:
    """The 201 body of a file deploy; ``originalChecksums`` has only what the client sent."""
    uri = download_uri(base, item.repo, item.path)
    originals = {
        alg: item.originals[alg]
        for alg in ("sha1", "md5", "sha256")
        if alg in item.originals and (include_sha256 or alg != "sha256")
    }
    return {
        "repo": item.repo,
        "path": "/" + item.path,
        "created": iso_time(item.created),
        "createdBy": item.created_by,
        "downloadUri": uri,
        "mimeType": mime_type(item.name),
        "size": str(item.size),
        "checksums": _checksums(item, include_sha256),
        "originalChecksums": originals,
        "uri": uri,
    }


def folder_created(item: Item, base: str) -> dict[str, Any]:
    return {
        "repo": item.repo,
        "path": "/" + item.path + ("/" if item.path else ""),
        "created": iso_time(item.created),
        "createdBy": item.created_by,
        "uri": download_uri(base, item.repo, item.path, folder=True),
    }


def _timestamps(item: Item) -> dict[str, str]:
    return {
        "created": iso_time(item.created),
        "createdBy": item.created_by,
        "lastModified": iso_time(item.modified),
        "modifiedBy": item.modified_by,
        "lastUpdated": iso_time(item.updated),
    }


def file_info(item: Item, base: str) -> dict[str, Any]:
    assert item.checksums is not None
    originals: dict[str, str] = {
        alg: item.originals[alg] for alg in ("sha1", "md5") if alg in item.originals
    }
    originals["sha256"] = item.checksums.sha256  # Artifactory reports the actual sha256 here
    return {
        "repo": item.repo,
        "path": "/" + item.path,
        **_timestamps(item),
        "downloadUri": download_uri(base, item.repo, item.path),
        "mimeType": mime_type(item.name),
        "size": str(item.size),
        "checksums": item.checksums.as_dict(),
        "originalChecksums": originals,
        "uri": storage_uri(base, item.repo, item.path),
    }


def folder_info(item: Item, base: str, children: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    return {
        "repo": item.repo,
        "path": "/" + item.path,
        **_timestamps(item),
        "children": [{"uri": "/" + name, "folder": is_folder} for name, is_folder in children],
        "uri": storage_uri(base, item.repo, item.path),
    }


def file_list_entry(item: Item, relative: str, md_timestamps: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "uri": "/" + relative if relative else "/",
        "size": -1 if item.folder else item.size,
        "lastModified": iso_time(item.modified),
        "folder": item.folder,
    }
    if item.checksums is not None:
        entry["sha1"] = item.checksums.sha1
        entry["sha2"] = item.checksums.sha256
    if md_timestamps and item.properties_modified is not None and item.properties:
        entry["mdTimestamps"] = {"properties": iso_time(item.properties_modified)}
    return entry


def properties_body(item: Item, base: str, keys: list[str] | None) -> dict[str, Any]:
    props = item.properties
    if keys:
        props = {key: values for key, values in props.items() if key in keys}
    return {"properties": props, "uri": storage_uri(base, item.repo, item.path)}


def listing_html(title: str, entries: Iterable[tuple[str, bool, Item | None]]) -> bytes:
    """A minimal "Index of" page for a folder GET with a trailing slash."""
    rows = ['<a href="../">../</a>']
    for name, is_folder, item in entries:
        label = name + ("/" if is_folder else "")
        href = quote(name) + ("/" if is_folder else "")
        stamp = iso_time(item.modified) if item else ""
        size = "-" if is_folder or item is None else str(item.size)
        rows.append(f'<a href="{href}">{html.escape(label)}</a>  {stamp}  {size}')
    page = (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8">'
        f"<title>Index of {html.escape(title)}</title></head>\n<body>\n"
        f"<h1>Index of {html.escape(title)}</h1>\n<pre>"
        + "\n".join(rows)
        + "\n</pre>\n<hr/><address>fsartifacts local Artifactory server</address>\n"
        "</body>\n</html>\n"
    )
    return page.encode("utf-8")
