"""REST API endpoints of the local Artifactory server (``/artifactory/api/...``).

Storage info (file, folder, ``?list``, ``?properties``, ``?lastModified``), item
properties (set, delete, PATCH metadata), copy/move and the repository list. Pro-only
endpoints answer like Artifactory OSS when the server runs with ``pro=False``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fsartifacts.testing import views
from fsartifacts.testing.copying import copy_or_move
from fsartifacts.testing.http_base import CHUNK, HandlerBase
from fsartifacts.testing.model import ArtifactoryError
from fsartifacts.testing.wire import Target, parse_property_assignments

MAX_JSON_BODY = 1024 * 1024
_BAD_PROPERTY_KEY_CHARS = set(")(}{][*+^$\\/~`!@#%&<>;=,±§ ")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes")


def _int_param(target: Target, name: str, default: int | None) -> int | None:
    value = target.query.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ArtifactoryError(400, f"Invalid value for '{name}': '{value}'.") from None


def _pro_only() -> ArtifactoryError:
    return ArtifactoryError(400, views.PRO_ONLY_MESSAGE, plain_text=True)


class RestApiEndpoints(HandlerBase):
    """``/artifactory/api/...``: storage info, properties, copy/move, repositories."""

    def _storage_get(self, target: Target, repo: str, path: str) -> None:
        storage = self.server.app.storage
        if target.has("list"):
            self._file_list(target, repo, path)
            return
        if target.has("properties"):
            self._get_properties(target, repo, path)
            return
        item = storage.stat(repo, path)
        if item is None:
            raise ArtifactoryError(404, "Unable to find item")
        if target.has("lastModified"):
            newest = storage.newest_under(repo, path) or item
            document = {
                "uri": views.storage_uri(self._base, repo, newest.path),
                "lastModified": views.iso_time(newest.modified),
            }
            self._json(200, document, views.ITEM_LAST_MODIFIED)
        elif item.folder:
            info = views.folder_info(item, self._base, storage.children(repo, path))
            self._json(200, info, views.FOLDER_INFO, {"Cache-Control": "no-store"})
        else:
            self._json(200, views.file_info(item, self._base), views.FILE_INFO)

    def _file_list(self, target: Target, repo: str, path: str) -> None:
        app = self.server.app
        if not app.pro:
            raise _pro_only()
        deep = _flag(target.query.get("deep"), False)
        depth = _int_param(target, "depth", None) if deep else 1
        list_folders = _flag(target.query.get("listFolders"), False)
        md_timestamps = _flag(target.query.get("mdTimestamps"), False)
        include_root = _flag(target.query.get("includeRootPath"), False)
        start = app.storage.stat(repo, path)
        if start is None:
            raise ArtifactoryError(404, "Unable to find item")
        if not start.folder:
            raise ArtifactoryError(400, f"Expected a folder but found a file, at: {repo}:{path}")
        files = []
        if include_root:
            files.append(views.file_list_entry(start, "", md_timestamps))
        prefix = len(path) + 1 if path else 0
        for item in app.storage.walk(repo, path, depth if depth and depth > 0 else None):
            if item.folder and not list_folders:
                continue
            files.append(views.file_list_entry(item, item.path[prefix:], md_timestamps))
        document = {
            "uri": views.storage_uri(self._base, repo, path),
            "created": views.iso_time(time.time_ns() // 1_000_000),
            "files": files,
        }
        self._json(200, document, views.FILE_LIST)

    def _get_properties(self, target: Target, repo: str, path: str) -> None:
        item = self.server.app.storage.stat(repo, path)
        if item is None:
            raise ArtifactoryError(404, "Unable to find item")
        keys = [k for k in (target.query.get("properties") or "").split(",") if k]
        document = views.properties_body(item, self._base, keys or None)
        if not document["properties"]:
            raise ArtifactoryError(404, "No properties could be found.")
        self._json(200, document, views.ITEM_PROPERTIES)

    def _set_properties(self, target: Target, repo: str, path: str) -> None:
        app = self.server.app
        if not app.pro:
            raise _pro_only()
        props = parse_property_assignments(target.query.get("properties") or "")
        if not props:
            raise ArtifactoryError(400, "No properties given: use ?properties=key=value[;key2=v]")
        for key in props:
            if _BAD_PROPERTY_KEY_CHARS & set(key):
                raise ArtifactoryError(400, f"Invalid property key '{key}'.")
        recursive = _flag(target.query.get("recursive"), True)
        changes: dict[str, list[str] | None] = dict(props)
        app.storage.update_properties(repo, path, changes, recursive=recursive)
        self._respond(204)

    def _delete_properties(self, target: Target, repo: str, path: str) -> None:
        app = self.server.app
        if not app.pro:
            raise _pro_only()
        keys = [k.strip() for k in (target.query.get("properties") or "").split(",") if k.strip()]
        if not keys:
            raise ArtifactoryError(400, "No property keys given: use ?properties=key1,key2")
        recursive = _flag(target.query.get("recursive"), True)
        app.storage.update_properties(repo, path, dict.fromkeys(keys), recursive=recursive)
        self._respond(204)

    def _patch_properties(self, target: Target, repo: str, path: str) -> None:
        document = self._read_json()
        props = document.get("props") if isinstance(document, dict) else None
        if not isinstance(props, dict):
            raise ArtifactoryError(400, 'Expected a JSON body like {"props": {"key": "value"}}.')
        changes: dict[str, list[str] | None] = {}
        for key, value in props.items():
            if not key or _BAD_PROPERTY_KEY_CHARS & set(key):
                raise ArtifactoryError(400, f"Invalid property key '{key}'.")
            if value is None:
                changes[key] = None
            elif isinstance(value, list):
                changes[key] = [str(v) for v in value]
            else:
                changes[key] = [str(value)]
        recursive = _flag(target.query.get("recursiveProperties"), False)
        self.server.app.storage.update_properties(repo, path, changes, recursive=recursive)
        self._respond(204)

    def _read_json(self) -> Any:
        assert self._body is not None
        data = bytearray()
        while chunk := self._body.read(CHUNK):
            data += chunk
            if len(data) > MAX_JSON_BODY:
                raise ArtifactoryError(413, "Request body too large.")
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ArtifactoryError(400, "The request body is not valid JSON.") from None

    def _copy_or_move(self, target: Target, repo: str, path: str, user: str, *, move: bool) -> None:
        app = self.server.app
        if not app.pro:
            raise _pro_only()
        to = target.query.get("to")
        if not to:
            raise ArtifactoryError(400, "Missing the 'to' parameter (to=/repo/path).")
        to_segments = [s for s in to.split("/") if s not in ("", ".")]
        if not to_segments or ".." in to_segments:
            raise ArtifactoryError(400, f"Invalid target path '{to}'.")
        dst_repo, dst_path = to_segments[0], "/".join(to_segments[1:])
        for key in (repo, dst_repo):
            if not app.storage.has_repo(key):
                raise ArtifactoryError(404, f"Repository '{key}' does not exist.")
        dry = _flag(target.query.get("dry"), False)
        result = copy_or_move(
            app.storage, repo, path, dst_repo, dst_path, move=move, dry=dry, user=user,
            deny_overwrite=app.no_overwrite,
        )  # fmt: skip
        verb, done = ("moving", "moved") if move else ("copying", "copied")
        message = (
            f"{verb} {repo}:{path} to {result.target_repo}:{result.target_path} completed "
            f"successfully, {result.files} artifacts and {result.folders} folders were {done}"
        )
        if dry:
            message = f"Dry run for {message}"
        self._json(200, {"messages": [{"level": "INFO", "message": message}]},
                   views.COPY_OR_MOVE_RESULT)  # fmt: skip

    def _list_repositories(self) -> None:
        repos = [
            {
                "key": repo,
                "type": "LOCAL",
                "description": "",
                "url": f"{self._base}/{repo}",
                "packageType": "Generic",
            }
            for repo in self.server.app.storage.repos
        ]
        self._json(200, repos, views.REPOSITORIES)
