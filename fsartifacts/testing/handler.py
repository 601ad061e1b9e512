"""The request handler and threading server of the local Artifactory server.

Routing only: the endpoints live in :mod:`fsartifacts.testing.transfer` (deploy,
download, delete) and :mod:`fsartifacts.testing.restapi` (``/api/...``); the HTTP
plumbing in :mod:`fsartifacts.testing.http_base`.
"""

from __future__ import annotations

from fsartifacts.testing import views
from fsartifacts.testing.auth import authenticate
from fsartifacts.testing.model import ArtifactoryError
from fsartifacts.testing.restapi import RestApiEndpoints
from fsartifacts.testing.transfer import ArtifactEndpoints
from fsartifacts.testing.wire import Target


class ArtifactoryRequestHandler(ArtifactEndpoints, RestApiEndpoints):
    """Sends each request under ``/artifactory`` to its endpoint."""

    def _route(self, target: Target) -> None:
        method = self.command
        segments = target.segments
        if segments[:3] == ["api", "system", "ping"]:
            if method not in ("GET", "HEAD"):
                raise ArtifactoryError(405, "Method Not Allowed", headers={"Allow": "GET, HEAD"})
            self._respond(200, b"OK", views.TEXT)
            return
        user = authenticate(self.headers, self.server.app.credentials)
        if target.is_api:
            self._route_api(target, user)
        elif not segments:
            self._only(method, "GET", "HEAD")
            self._repository_index()
        elif method in ("GET", "HEAD") and target.has("properties"):
            repo, path = target.segments[0], "/".join(target.segments[1:])
            self._get_properties(target, repo, path)  # properties via the download URL
        elif method in ("GET", "HEAD"):
            self._download(target)
        elif method == "PUT":
            self._deploy(target, user)
        elif method == "DELETE":
            self._delete(target, user)
        else:
            self._only(method, "GET", "HEAD", "PUT", "DELETE")

    def _route_api(self, target: Target, user: str) -> None:
        method = self.command
        api, rest = target.segments[1:2], target.segments[2:]
        if api == ["storage"] and rest:
            repo, path = rest[0], "/".join(rest[1:])
            if method in ("GET", "HEAD"):
                self._storage_get(target, repo, path)
            elif method == "PUT" and target.has("properties"):
                self._set_properties(target, repo, path)
            elif method == "DELETE" and target.has("properties"):
                self._delete_properties(target, repo, path)
            else:
                self._only(method, "GET", "HEAD")
        elif api == ["metadata"] and rest:
            self._only(method, "PATCH")
            self._patch_properties(target, rest[0], "/".join(rest[1:]))
        elif api in (["copy"], ["move"]) and rest:
            self._only(method, "POST")
            self._copy_or_move(target, rest[0], "/".join(rest[1:]), user, move=api == ["move"])
        elif api == ["repositories"] and not rest:
            self._only(method, "GET", "HEAD")
            self._list_repositories()
        else:
            raise ArtifactoryError(404, "Not Found")
