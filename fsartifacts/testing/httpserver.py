"""The threading HTTP server under the local Artifactory server, and what it serves.

:class:`ServerApp` is what the endpoints read from ``self.server.app``: the
repositories, the credentials, the fault switches and the request log. It is
a protocol, so the endpoints never import the server class that builds them.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler
from typing import Any, Protocol

from fsartifacts.testing.auth import Credentials
from fsartifacts.testing.faults import Faults
from fsartifacts.testing.requestlog import RequestLog
from fsartifacts.testing.storage import Storage


class ServerApp(Protocol):
    """The state of one local Artifactory server, as its endpoints see it."""

    credentials: Credentials
    faults: Faults
    request_log: RequestLog
    no_overwrite: bool
    pro: bool

    @property
    def storage(self) -> Storage: ...


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that prints nothing when a client goes away.

    A client resetting or closing its connection mid-request is the client's right
    (the fault tests do it on purpose); socketserver would print a traceback of it
    into the test run's output. Any other error is printed as before.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ArtifactoryHTTPServer(QuietHTTPServer):
    """A threading HTTP server that can close its open connections when stopped."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        app: ServerApp,
        handler: type[BaseRequestHandler],
    ) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._resets: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

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
