"""A fault-injecting HTTP proxy on loopback, for reliability tests.

It sits in front of one upstream HTTP server (moto; or the local Artifactory
server, for the one fault its own switches lack), forwards every request, and
misbehaves on demand. Its switches are those of
:class:`fsartifacts.testing.faults.Faults` (the same rule table, matching and
counting), so both stores are tested with the same faults, plus what S3 needs:

* ``fail_next(n, status, retry_after, methods, path_contains, message, code)``:
  answer the next ``n`` matching requests with ``status`` and an S3 error
  document (``code``, ``message``); ``Retry-After`` (seconds) and
  ``x-amz-retry-after`` (ms, the one botocore reads) when ``retry_after`` is
  given. Nothing is forwarded.
* ``drop_after(nbytes, count, methods, path_contains)``: reset the connection
  (TCP RST) after ``nbytes`` of content. GET: the client gets the full
  ``Content-Length`` promised and at most ``nbytes``. PUT: ``nbytes`` of the
  body reach the upstream, then both connections are reset.
* ``truncate_next(nbytes, count, methods, path_contains)``: the same, ending in
  an orderly close (FIN). PUT: the upstream gets the full ``Content-Length``
  and ``nbytes`` of body, then end-of-stream; the client gets no answer.
* ``corrupt_next(count, offset, methods, path_contains)``: flip one byte
  (XOR 0xFF) at ``offset`` of the content (clamped to its last byte). GET: of
  the body sent back. PUT: of the body forwarded, so the upstream stores the
  corrupted bytes.
* ``slow(seconds, count, methods, path_contains)``: hold matching requests
  ``seconds`` before forwarding them; ``count`` None means every one. A wait
  cut short by :meth:`FaultProxy.close` forwards nothing. ``latency`` holds
  every request the same way.

Rules fire in the order they were armed and disarm themselves once used up.
``drop_after``, ``truncate_next`` and ``corrupt_next`` act on object content
only (``is_content``: by default an S3 object GET or PUT, never a listing or
the XML of a multipart upload) and never on an empty body. ``methods``
defaults to ``("GET",)`` for those three and to any method for the others.

The legacy switches of ``faults`` (a set of names) are kept for the S3 store
tests: "no_conditional_writes", "conflict_once", "corrupt_puts",
"drop_first_get" (with ``on_drop``) and "deny".

Every request is recorded (:attr:`FaultProxy.requests`) with the bytes of
object content it moved, so a test can assert that nothing was transferred.
The proxy binds 127.0.0.1 on port 0; the test that starts it closes it.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from fsartifacts.testing.faults import (
    CORRUPT,
    DROP,
    FAIL,
    TRUNCATE,
    FaultRule,
    Faults,
    _methods,
    check_failure,
)

SLOW = "slow"

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
XML = {"Content-Type": "application/xml"}
UPSTREAM_TIMEOUT = 30.0  # seconds; bounds every wait on the upstream
IDLE_TIMEOUT = 30.0  # seconds a kept-alive client connection may stay silent
CLOSE_TIMEOUT = 10.0  # seconds close() waits for requests in flight


def error_xml(code: str, message: str, extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>{message}</Message>{extra}</Error>"
    ).encode()


NOT_IMPLEMENTED = error_xml(
    "NotImplemented",
    "A header you provided implies functionality that is not implemented",
    "<Header>If-None-Match</Header>",
)


def s3_object_request(method: str, target: str) -> bool:
    """An S3 request that moves object bytes: GET or PUT of ``/bucket/key`` (parts too)."""
    parts = urlsplit(target)
    bucket, _, key = parts.path.lstrip("/").partition("/")
    if not bucket or not key or method not in ("GET", "PUT"):
        return False
    query = parts.query
    return not ("uploads" in query.split("&") or "x-id=ListParts" in query)


def artifactory_content_request(method: str, target: str) -> bool:
    """A GET or PUT of a file of the local Artifactory server (not its REST API)."""
    path = urlsplit(target).path
    return method in ("GET", "PUT") and not path.startswith("/artifactory/api/")


@dataclass
class Rule(FaultRule):
    """A rule only the proxy arms: an S3 error ``code`` (fail_next), ``seconds`` (slow)."""

    code: str = "InternalError"
    seconds: float = 0.0


@dataclass(frozen=True)
class ProxyRecord:
    """One request as the proxy handled it. ``status`` 0: the client got no answer.

    ``content`` says whether it moved object content; ``bytes_in``/``bytes_out``
    count the request body read from the client and the response body sent to it.
    """

    method: str
    path: str
    status: int
    content: bool
    bytes_in: int
    bytes_out: int
    fault: str | None


class FaultProxy(Faults):
    """An HTTP proxy on loopback in front of ``upstream`` that misbehaves on demand."""

    def __init__(
        self,
        upstream: str,
        is_content: Callable[[str, str], bool] = s3_object_request,
    ) -> None:
        super().__init__()  # the rule table, and the lock that guards all the state below
        self.upstream = urlsplit(upstream).netloc  # host:port
        self.is_content = is_content
        self.faults: set[str] = set()  # the legacy switches (module docstring)
        self.dropped = 0
        self.seen_if_none_match = 0
        self.on_drop: Any = None
        self._records: list[ProxyRecord] = []
        self._closing = threading.Event()
        self._closed = False
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._connections: set[socket.socket] = set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE_TIMEOUT

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- switches -------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        methods: Iterable[str] | None = None,
        path_contains: str | None = None,
        message: str | None = None,
        code: str = "InternalError",
    ) -> None:
        """``Faults.fail_next``, answered with an S3 error document of ``code``."""
        check_failure(status, retry_after)
        self._arm(Rule(FAIL, n, _methods(methods), path_contains, status, retry_after, message,
                       code=code))  # fmt: skip

    def slow(
        self,
        seconds: float,
        count: int | None = None,
        methods: Iterable[str] | None = None,
        path_contains: str | None = None,
    ) -> None:
        self._arm(Rule(SLOW, count, _methods(methods), path_contains, seconds=seconds))

    def reset(self) -> None:
        """Disarm every rule and legacy switch, and forget the requests seen."""
        super().reset()
        with self._lock:
            self._records.clear()
            self.faults.clear()

    @property
    def requests(self) -> list[ProxyRecord]:
        """The requests handled so far (a snapshot, oldest first)."""
        with self._lock:
            return list(self._records)

    def content_requests(self, method: str, path_contains: str = "") -> list[ProxyRecord]:
        """The requests of ``method`` that moved object content, narrowed by path."""
        return [
            r
            for r in self.requests
            if r.content and r.method == method and path_contains in unquote(r.path)
        ]

    def close(self) -> None:
        """Stop serving; cut idle connections and slow waits; wait for requests in flight."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=CLOSE_TIMEOUT)
        self.thread.join(timeout=CLOSE_TIMEOUT)

    # -- handling -------------------------------------------------------------------

    def _take_own(self, kind: str, method: str, target: str) -> Rule | None:
        """``take`` for the kinds only the proxy arms (FAIL, SLOW), which carry a ``Rule``."""
        rule = self.take(kind, method, target)
        assert rule is None or isinstance(rule, Rule)
        return rule

    def _record(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        content: bool,
        bytes_in: int,
        bytes_out: int,
        fault: str | None,
    ) -> None:
        record = ProxyRecord(handler.command, handler.path, status, content, bytes_in,
                             bytes_out, fault)  # fmt: skip
        with self._lock:
            self._records.append(record)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            if self._closing.is_set():
                handler.close_connection = True
                return
            self._in_flight += 1
        try:
            self._forward(handler)
        except (OSError, http.client.HTTPException):
            handler.close_connection = True  # the client or the upstream went away
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        method, target = handler.command, handler.path
        content = self.is_content(method, target)
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            # Not needed by the clients under test; refuse loudly rather than forward garbage.
            self._record(handler, 501, content, 0, 0, None)
            handler.close_connection = True
            self.reply(handler, 501, error_xml("NotImplemented", "chunked bodies"), XML)
            return
        length = int(handler.headers.get("Content-Length") or 0)
        upload = content and method == "PUT" and length > 0
        # Upload faults cut the body short before it is all read from the client.
        cut = (self.take(DROP, method, target) or self.take(TRUNCATE, method, target)
               if upload else None)  # fmt: skip
        body = handler.rfile.read(min(length, cut.nbytes) if cut else length) if length else b""

        slow = self._take_own(SLOW, method, target)
        hold = self.latency + (slow.seconds if slow is not None else 0.0)
        if (slow is not None or hold > 0) and self._closing.wait(hold):
            self._record(handler, 0, content, len(body), 0, SLOW)
            _reset(handler.connection)  # closing: forward nothing
            handler.close_connection = True
            return
        refused = self._legacy_reply(handler)
        if refused:
            self._record(handler, refused, content, len(body), 0, "legacy")
            return
        if cut is None:
            failure = self._take_own(FAIL, method, target)
            if failure is not None:
                self._fail(handler, failure, content, len(body))
                return
        if cut is not None:
            self._cut_upload(handler, cut, body, length, content)
            return
        fault = None
        corrupt = self.take(CORRUPT, method, target) if upload else None
        if corrupt is not None:
            body, fault = _flip(body, corrupt.offset), CORRUPT
        elif "corrupt_puts" in self.faults and upload and _single_put(handler):
            body, fault = _flip(body, None), CORRUPT

        status, headers, data, upstream_length = self._exchange(handler, body)
        if self._legacy_drop(handler, status, headers, data, content, len(body)):
            return
        served = content and method == "GET" and status in (200, 206) and bool(data)
        drop = self.take(DROP, method, target) if served else None
        truncate = None if drop or not served else self.take(TRUNCATE, method, target)
        corrupt = self.take(CORRUPT, method, target) if served else None
        if corrupt is not None:
            data, fault = _flip(data, corrupt.offset), CORRUPT
        ending = drop or truncate
        limit = min(ending.nbytes, len(data)) if ending else len(data)
        if method != "HEAD":
            headers["Content-Length"] = str(len(data))  # the whole body is promised
        elif "content-length" in upstream_length:
            headers["Content-Length"] = upstream_length["content-length"]
        self._record(handler, status, content, len(body), limit,
                     ending.kind if ending else fault)  # fmt: skip
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if ending is not None:
            handler.send_header("Connection", "close")
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data[:limit])
            handler.wfile.flush()
        if drop is not None:
            _reset(handler.connection)
            handler.close_connection = True
        elif truncate is not None:
            handler.close_connection = True  # orderly close: a premature end of body

    def _exchange(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes, dict[str, str]]:
        """The upstream's answer, read whole: status, headers, body, and its Content-Length
        (which a HEAD keeps)."""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            length = response.getheader("Content-Length")
            return response.status, out, data, {"content-length": length} if length else {}
        finally:
            upstream.close()

    def _fail(
        self, handler: BaseHTTPRequestHandler, rule: Rule, content: bool, bytes_in: int
    ) -> None:
        headers = dict(XML)
        if rule.retry_after is not None:
            headers["Retry-After"] = f"{rule.retry_after:g}"
            headers["x-amz-retry-after"] = str(round(rule.retry_after * 1000))
        data = error_xml(rule.code, rule.message or f"injected {rule.status}")
        self._record(handler, rule.status, content, bytes_in, 0, FAIL)
        self.reply(handler, rule.status, data, headers)

    def _cut_upload(
        self,
        handler: BaseHTTPRequestHandler,
        rule: FaultRule,
        body: bytes,
        length: int,
        content: bool,
    ) -> None:
        """Send the upstream the headers and ``body`` (a part of ``length``), then cut."""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            upstream.putrequest(handler.command, handler.path, skip_accept_encoding=True)
            for name, value in headers.items():
                upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(length))
            upstream.endheaders(body)
            if rule.kind == DROP:
                _reset(upstream.sock)
            else:
                assert upstream.sock is not None
                upstream.sock.shutdown(socket.SHUT_WR)  # end of stream: the body is short
                with contextlib.suppress(OSError, http.client.HTTPException):
                    upstream.getresponse().read()  # whatever it says, the client never hears
        finally:
            upstream.close()
        self._record(handler, 0, content, len(body), 0, rule.kind)
        handler.close_connection = True
        if rule.kind == DROP:
            _reset(handler.connection)
            return
        # An orderly close with no answer; read the rest first, or close() would reset.
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_WR)
            handler.rfile.read(length - len(body))

    # -- the legacy switches ----------------------------------------------------------

    def _legacy_reply(self, handler: BaseHTTPRequestHandler) -> int | None:
        """Answer for a legacy switch instead of the upstream; the status sent, if any."""
        if "deny" in self.faults:
            self.reply(handler, 403, error_xml("AccessDenied", "Access Denied"), XML)
            return 403
        if handler.headers.get("If-None-Match"):
            self.seen_if_none_match += 1
            if "no_conditional_writes" in self.faults:
                self.reply(handler, 501, NOT_IMPLEMENTED, XML)
                return 501
            if "conflict_once" in self.faults:
                self.faults.discard("conflict_once")
                conflict = error_xml("ConditionalRequestConflict", "A conflicting operation")
                self.reply(handler, 409, conflict, XML)
                return 409
        return None

    def _legacy_drop(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        data: bytes,
        content: bool,
        bytes_in: int,
    ) -> bool:
        cut = (
            "drop_first_get" in self.faults
            and handler.command == "GET"
            and content
            and status == 200
            and self.dropped == 0
            and len(data) > 1024
        )
        if not cut:
            return False
        self.dropped += 1
        self._record(handler, status, content, bytes_in, len(data) // 2, DROP)
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(data)))  # promise it all...
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])  # ...and send half
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
        if self.on_drop:
            self.on_drop()
        return True

    @staticmethod
    def reply(
        handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        if "Content-Length" not in headers:
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)


def _single_put(handler: BaseHTTPRequestHandler) -> bool:
    """A PutObject: neither a part of a multipart upload nor a server-side copy."""
    return "uploadId" not in handler.path and "x-amz-copy-source" not in handler.headers


def _flip(data: bytes, offset: int | None) -> bytes:
    """``data`` with the byte at ``offset`` (None: the middle; clamped) inverted."""
    if not data:
        return data
    at = len(data) // 2 if offset is None else min(offset, len(data) - 1)
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _reset(connection: socket.socket | None) -> None:
    """Abortive close (TCP RST), like a crashed proxy or a network reset."""
    if connection is None:
        return
    with contextlib.suppress(OSError):
        # With a zero linger, close() sends RST and drops unsent data. No shutdown()
        # first: that would send an orderly FIN before it.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
