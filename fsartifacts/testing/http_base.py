"""HTTP plumbing shared by the local Artifactory server's endpoints.

HTTP/1.1 with keep-alive. Every response carries a Content-Length (or is a 204/304);
request bodies (Content-Length or chunked) are always read to their end before the
response, or the connection is closed, so the next request on the connection is never
misread. Each request is logged (see :mod:`fsartifacts.testing.requestlog`) before the
client can see its response.
"""

from __future__ import annotations

import contextlib
import http
import logging
import socket
import struct
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from fsartifacts.testing import views
from fsartifacts.testing.faults import BEFORE, FAIL, REDIRECT, FaultRule
from fsartifacts.testing.httpserver import ArtifactoryHTTPServer
from fsartifacts.testing.model import ArtifactoryError
from fsartifacts.testing.requestlog import RequestRecord
from fsartifacts.testing.wire import CONTEXT, IncompleteBody, RequestBody, Target, parse_target

_log = logging.getLogger("fsartifacts.testing.artifactory")

CHUNK = 256 * 1024


class AbortRequest(Exception):
    """Stop handling this request: the connection is being dropped or is gone."""


class HandlerBase(BaseHTTPRequestHandler):
    """Request plumbing; subclasses implement ``_route``."""

    protocol_version = "HTTP/1.1"
    server_version = "Artifactory-fsartifacts-local"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK would add ~40 ms to every small response.
    disable_nagle_algorithm = True
    server: ArtifactoryHTTPServer

    # -- plumbing ---------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_DELETE = do_POST = do_PATCH = do_GET

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        _log.info("%s %s", self.address_string(), format % args)

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def _handle(self) -> None:
        self.server.app.request_log.begin()
        try:
            self._handle_one()
        finally:
            self.server.app.request_log.end()

    def _handle_one(self) -> None:
        self._status = 0
        self._started = time.monotonic()
        self._record: RequestRecord | None = None
        self._headers_sent = False
        self._body: RequestBody | None = None
        app = self.server.app
        try:
            try:
                self._body = RequestBody(self.rfile, self.headers)
            except ArtifactoryError:
                self.close_connection = True  # the end of this body cannot be found
                raise
            if app.faults.latency:
                time.sleep(app.faults.latency)
            rule = app.faults.take(BEFORE, self.command, self.path)
            if rule is not None and rule.action is not None:
                rule.action()
            rule = app.faults.take(FAIL, self.command, self.path)
            if rule is not None:
                raise _injected_failure(rule)
            rule = app.faults.take(REDIRECT, self.command, self.path)
            if rule is not None:
                headers = {"Location": rule.location}
                raise ArtifactoryError(rule.status, "Redirected by a test fault", headers=headers)
            self._route(parse_target(self.path))
        except ArtifactoryError as error:
            self._safely(self._send_error, error)
        except AbortRequest:
            self.close_connection = True
        except (IncompleteBody, ConnectionError, TimeoutError) as error:
            _log.info("connection from %s ended early: %s", self.address_string(), error)
            self.close_connection = True
        except Exception:
            _log.exception("internal error on %s %s", self.command, self.path)
            if self._headers_sent:
                self.close_connection = True
            else:
                self._safely(self._send_error, ArtifactoryError(500, "Internal error"))
        finally:
            if self._record is None:  # nothing was sent (dropped connection)
                self._append_record(0, 0)
            if self._body is not None and not self._body.done:
                self.close_connection = True

    def _safely(self, send: Callable[[ArtifactoryError], None], error: ArtifactoryError) -> None:
        try:
            send(error)
        except (AbortRequest, IncompleteBody, ConnectionError, TimeoutError):
            self.close_connection = True

    def _append_record(self, status: int, bytes_out: int) -> RequestRecord:
        record = RequestRecord(
            method=self.command,
            path=self.path,
            headers=dict(self.headers.items()),
            status=status,
            bytes_in=self._body.bytes_read if self._body else 0,
            bytes_out=bytes_out,
            started=self._started,
            answered=time.monotonic(),
        )
        self._record = record
        self.server.app.request_log.append(record)
        return record

    def _finish_request_body(self) -> None:
        """Read what is left of the request body, so the connection can be reused.

        Also before closing: closing with unread data would reset the connection and
        could destroy the response before the client reads it.
        """
        if self._body is None or self._body.done:
            return
        try:
            self._body.drain()
        except (IncompleteBody, OSError) as error:
            raise AbortRequest() from error

    def _start_response(self, status: int, headers: Mapping[str, str], length: int | None) -> None:
        self._finish_request_body()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")

    def _end_headers(self, bytes_out: int) -> RequestRecord:
        # The record is logged before the client can see the response, so a test that
        # got its answer always finds the request in ``server.requests``.
        record = self._append_record(self._status, bytes_out)
        self._headers_sent = True
        self.end_headers()
        return record

    def _respond(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        all_headers = dict(headers or {})
        if content_type:
            all_headers["Content-Type"] = content_type
        no_body = status in (204, 304)
        self._start_response(status, all_headers, None if no_body else len(body))
        payload = b"" if no_body or self.command == "HEAD" else body
        self._end_headers(len(payload))
        if payload:
            self.wfile.write(payload)

    def _json(
        self,
        status: int,
        document: Any,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._respond(status, views.dumps(document), content_type, headers)

    def _send_error(self, error: ArtifactoryError) -> None:
        if error.plain_text:
            self._respond(error.status, error.message.encode(), views.TEXT, error.headers)
        else:
            body = views.dumps(views.error_body(error.status, error.message))
            self._respond(error.status, body, views.JSON, error.headers)

    def _reset_connection(self) -> None:
        """Abortive close (TCP RST), like a crashed proxy or a network reset."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            linger = struct.pack("ii", 1, 0)  # close() then sends RST, dropping unsent data
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.server.skip_orderly_shutdown(self.connection)

    @property
    def _base(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}{CONTEXT}"

    def _route(self, target: Target) -> None:
        raise NotImplementedError

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ArtifactoryError(405, "Method Not Allowed", headers={"Allow": ", ".join(allowed)})


def _injected_failure(rule: FaultRule) -> ArtifactoryError:
    try:
        phrase = http.HTTPStatus(rule.status).phrase
    except ValueError:
        phrase = "Error"
    headers = {}
    if rule.retry_after is not None:
        seconds = rule.retry_after
        headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
    message = rule.message or f"{phrase} (fault injected by the test server)"
    return ArtifactoryError(rule.status, message, headers=headers)
