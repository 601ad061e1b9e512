"""The connections urllib3 opens for ``artifactory://``: answers read without the email package.

http.client reads the headers of every answer with ``email.parser``: a feed parser,
a policy object and a Message searched header by header (each lookup lowers every
name), about a fifth of the client's CPU for a request of a small file. Here an
answer's header lines are read as http.client reads them (the same line and count
limits) and each ``Name: value`` line is added to the same ``HTTPMessage``, with the
value the parser would give it; any other line (a folded continuation, no colon, a
name with a space) sends the whole block to the email parser, as before, with its
defects for urllib3 to report. The rest of the answer (status line, 1xx answers,
chunked or sized bodies, whether the connection stays open) is http.client's own.

The pools of the adapter's managers make these connections
(:func:`use_lean_answers`); a SOCKS proxy's manager keeps its own.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Any, BinaryIO

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

# http.client's own limits of a header line and of the lines of a header block.
MAX_LINE = 65536
MAX_HEADERS = 100
# A header line the email parser reads as one (name, value) pair: a name of printable
# ASCII without a colon, the value without CR or LF (the parser breaks lines on a bare
# CR too), ended by CRLF or LF.
_HEADER_LINE = re.compile(rb"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n")
_BLOCK_END = (b"\r\n", b"\n", b"")


def read_headers(fp: BinaryIO) -> http.client.HTTPMessage:
    """The header block at ``fp``, up to and with its blank line, as http.client's
    ``parse_headers`` returns it."""
    lines = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in _BLOCK_END:
            break
    message = http.client.HTTPMessage()
    for line in lines[:-1]:
        match = _HEADER_LINE.fullmatch(line)
        if match is None:
            text = b"".join(lines).decode("iso-8859-1")
            parser = email.parser.Parser(_class=http.client.HTTPMessage)
            parsed: http.client.HTTPMessage = parser.parsestr(text)
            return parsed
        name, value = match.groups()
        message.set_raw(name.decode("ascii"), value.decode("iso-8859-1"))
    message.set_payload("")  # what the parser leaves of a block with nothing after it
    return message


class LeanResponse(http.client.HTTPResponse):
    """http.client's answer, its headers read by :func:`read_headers`."""

    def begin(self) -> None:
        if self.headers is not None:  # begun already
            return
        while True:  # past any 1xx interim answer, as http.client does
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            read_headers(self.fp)
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_headers(self.fp)
        encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(encoding and encoding.lower() == "chunked")
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:  # a negative length means none
                    self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or (
            100 <= status < 200 or self._method == "HEAD"
        ):
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends when the connection does


class LeanHTTPConnection(HTTPConnection):
    response_class = LeanResponse


class LeanHTTPSConnection(HTTPSConnection):
    response_class = LeanResponse


class LeanHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = LeanHTTPConnection


class LeanHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = LeanHTTPSConnection


def use_lean_answers(manager: Any) -> Any:
    """``manager`` (a PoolManager or a ProxyManager) making pools of lean connections."""
    if isinstance(manager, PoolManager) and manager.pool_classes_by_scheme.get("http") is (
        HTTPConnectionPool
    ):
        manager.pool_classes_by_scheme = {
            "http": LeanHTTPConnectionPool,
            "https": LeanHTTPSConnectionPool,
        }
    return manager
