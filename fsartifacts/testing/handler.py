"""The request handler and threading server of the local Artifactory server.

Routing only: the endpoints live in :mod:`fsartifacts.testing.transfer` (deploy,
download, delete) and :mod:`fsartifacts.testing.restapi` (``/api/...``); the HTTP
plumbing in :mod:`fsartifacts.testing.http_base`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from fsartifacts.testing import views
from fsartifacts.testing.auth import authenticate
from fsartifacts.testing.model import ArtifactoryError
from fsartifacts.testing.restapi import RestApiEndpoints
from fsartifacts.testing.transfer import ArtifactEndpoints
from fsartifacts.testing.wire import Target

if TYPE_CHECKING:
    from fsartifacts.testing.artifactory import ArtifactoryServer


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


class ArtifactoryHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its open connections when stopped."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: ArtifactoryServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._resets: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, ArtifactoryRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"artifactory-conn-{client_address[1]}",
            daemon=True,
        )
        with self._conn_lock:
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._conn_lock:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def skip_orderly_shutdown(self, request: socket.socket) -> None:
        """Close this connection without the FIN of ``shutdown(SHUT_WR)`` (for a reset)."""
        with self._conn_lock:
            self._resets.add(request)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            reset = request in self._resets
            self._resets.discard(request)
        if reset:
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Cut every open connection (idle keep-alive ones too) and wait for the workers."""
        with self._conn_lock:
            connections = list(self._connections)
            workers = list(self._workers)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
