"""A local Artifactory-compatible HTTP server, for offline development, CI tests and demos.

It behaves as real Artifactory does for generic local repositories: deploy
(with client checksum verification, checksum deploy and matrix-param properties),
download (ranges, conditional GET, folder redirects and HTML listings), storage info,
file lists, folders, delete, copy/move, item properties, ping and the repository list,
with Artifactory's status codes, headers, JSON shapes and ``{"errors": [...]}`` bodies.
Files live on disk under ``root/<repo>/``; see :mod:`fsartifacts.testing.storage`.

Command line::

    python -m fsartifacts.testing.artifactory --root DIR [--host 127.0.0.1] [--port 8081]
        [--repo NAME ...] [--user U --password P] [--token T] [--api-key K]
        [--no-overwrite] [--oss] [--quiet]

prints its base URL (``http://127.0.0.1:PORT/artifactory``) as the first line of stdout,
then serves until SIGINT or SIGTERM. ``--port 0`` picks a free port.

In-process::

    from fsartifacts.testing.artifactory import ArtifactoryServer

    srv = ArtifactoryServer(root, repos=("generic-local",), host="127.0.0.1", port=0,
                            user=None, password=None, token=None, api_key=None,
                            no_overwrite=False, pro=True)
    srv.start()                        # returns srv; serves on background threads
    srv.url                            # "http://127.0.0.1:<port>/artifactory"
    srv.port, srv.root, srv.repos      # repos: tuple of repository keys
    srv.add_repo("other-local")        # a new local repository (idempotent), while running
    srv.no_overwrite = True            # run-time switches, like srv.pro = False
    srv.requests                       # snapshot list of RequestRecord(method, path, headers,
                                       #   status, bytes_in, bytes_out, started, answered);
                                       #   status 0 = no answer; times are time.monotonic()
    peak_overlap(srv.requests)         # most requests in flight at once (requestlog)
    srv.clear_requests()
    srv.faults.fail_next(n=1, status=500, retry_after=None, methods=None,
                         path_contains=None, message=None)
    srv.faults.drop_after(nbytes, count=1, methods=("GET",), path_contains=None)
    srv.faults.truncate_next(nbytes, count=1, methods=("GET",), path_contains=None)
    srv.faults.corrupt_next(count=1, offset=0, methods=("GET",), path_contains=None)
    srv.faults.redirect_next(location, status=307, count=1, methods=("PUT",),
                             path_contains=None)
    srv.faults.before_next(action, count=1, methods=None, path_contains=None)
                                       # action() runs before the next matching request
    srv.faults.before_answer(action, count=1, methods=("PUT",), path_contains=None)
                                       # action() runs once a deploy stored its file,
                                       #   before its answer is sent
    srv.faults.cut_after(nbytes, methods=("GET",), path_contains=None)  # RST for good
    srv.faults.ignore_ranges(count=None, methods=("GET",), path_contains=None)
                                       # ranged GETs answered 200 with the whole file
    srv.faults.stall_after(nbytes, seconds=60.0, count=1, methods=("GET",),
                           path_contains=None)  # hang part way (until reset), then RST
    srv.faults.stalled()               # responses that began to hang since reset()
    srv.faults.hanging()               # responses hanging now
    srv.faults.end_stalls(n=1)         # end the n oldest hanging now (RST)
    srv.faults.latency = 0.02          # seconds slept before each request
    srv.faults.throttle = 0.01         # seconds slept between the 256 KiB blocks a GET sends
    srv.faults.pending()               # fault applications still armed
    srv.faults.reset()                 # disarm all, end stalls, latency, throttle 0
    srv.wait_idle(timeout=30.0)        # True once no request is being handled
    srv.stop()                         # idempotent; also closes idle keep-alive connections

    with ArtifactoryServer(tmp_path) as srv: ...   # start/stop

``RequestRecord.headers`` holds the request headers as sent, ``Authorization``
included: the log stays in the process and is never printed.

Authentication: with no ``password``/``token``/``api_key`` configured the server is
anonymous and accepts whatever credentials are sent (a Basic user name is recorded as
``createdBy``). Otherwise it accepts Basic ``user:password`` (the token or API key also
work as the password), ``Authorization: Bearer <token>`` and ``X-JFrog-Art-Api: <key>``
(or the legacy ``X-Api-Key``); no credentials give 401 "Authentication is required",
wrong ones 401 "Bad credentials" (403 for a wrong API-key header). ``/api/system/ping``
needs no credentials.

``no_overwrite=True`` plays a user without the Delete permission: overwriting a file
(unless the request declared the file's current sha1/sha256), deleting, and moving give
403 "Not enough permissions to delete/overwrite artifact ...".

``pro=False`` plays Artifactory OSS: the Pro-only file list (``?list``), copy, move and
Set/Delete Item Properties answer 400 text/plain "This REST API is available only in
Artifactory Pro ...", so clients can test their fallbacks.

Choices where the reference leaves room: file/folder clashes on deploy, mkdir and copy
answer 409 (Artifactory 6.20 answers 500) with Artifactory's "Expected a file but found
a folder, at: repo:path" / "Expected a folder but found a file, at: ..." messages; a path
with ``//`` after the context gives 500 "Repo key cannot be empty", one with ``//`` or
``..`` further on gives 400; overwriting a file keeps its ``created``/``createdBy`` and
replaces its properties with the deploy's matrix params; re-creating an existing folder
is 201 even with ``no_overwrite``; timestamps are UTC (``Z``). Not implemented: AQL,
``?stats``, archive explode (``X-Explode-Archive`` is ignored), remote/virtual repos.
``Location`` equals ``downloadUri`` unless the path needs percent-encoding in a header.
Faults are described in :mod:`fsartifacts.testing.faults`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

from fsartifacts.testing.auth import Credentials
from fsartifacts.testing.faults import Faults
from fsartifacts.testing.handler import ArtifactoryRequestHandler
from fsartifacts.testing.httpserver import ArtifactoryHTTPServer
from fsartifacts.testing.requestlog import RequestLog, RequestRecord
from fsartifacts.testing.storage import Storage

__all__ = ["ArtifactoryServer", "Faults", "RequestRecord", "main"]

DEFAULT_REPO = "generic-local"


class ArtifactoryServer:
    """A local Artifactory-compatible server storing files under ``root``."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        repos: Iterable[str] = (DEFAULT_REPO,),
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        api_key: str | None = None,
        no_overwrite: bool = False,
        pro: bool = True,
    ) -> None:
        if password is not None and user is None:
            raise ValueError("a password needs a user name (user=...)")
        if user is not None and password is None and token is None and api_key is None:
            raise ValueError("a user needs a password, a token or an API key")
        repos = tuple(repos)
        if not repos:
            raise ValueError("at least one repository is needed")
        self.root = Path(root)
        self.host = host
        self.credentials = Credentials(user, password, token, api_key)
        self.no_overwrite = no_overwrite
        self.pro = pro
        self.faults = Faults()
        self.request_log = RequestLog()
        self._repos = repos
        self._port = port
        self._storage: Storage | None = None
        self._httpd: ArtifactoryHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind, then serve in a background thread. Returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self.root.mkdir(parents=True, exist_ok=True)
        storage = Storage(self.root, self._repos)
        try:
            self._httpd = ArtifactoryHTTPServer(
                (self.host, self._port), self, ArtifactoryRequestHandler
            )
        except BaseException:
            storage.close()
            raise
        self._storage = storage
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"artifactory-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and release the port. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        if self._storage is not None:
            self._storage.close()
            self._storage = None

    @property
    def storage(self) -> Storage:
        """The repositories on disk (while the server runs)."""
        if self._storage is None:
            raise RuntimeError("the server is not running: call start() first")
        return self._storage

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running: call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, ``http://<host>:<port>/artifactory``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/artifactory"

    @property
    def repos(self) -> tuple[str, ...]:
        return self._storage.repos if self._storage is not None else self._repos

    def add_repo(self, name: str) -> None:
        """Add a local repository (idempotent) while the server runs."""
        self.storage.add_repo(name)

    @property
    def requests(self) -> list[RequestRecord]:
        """The requests handled so far (a snapshot, oldest first)."""
        return self.request_log.snapshot()

    def clear_requests(self) -> None:
        self.request_log.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no request is being handled: the log's records are then final."""
        return self.request_log.wait_idle(timeout)

    def __repr__(self) -> str:
        state = self.url if self._httpd is not None else "stopped"
        return f"ArtifactoryServer({state}, root={str(self.root)!r}, {self.credentials!r})"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fsartifacts.testing.artifactory",
        description="Serve a local Artifactory-compatible HTTP API for development and tests.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8081, help="port, 0 = any free port")
    parser.add_argument("--root", required=True, help="folder holding the repositories")
    parser.add_argument(
        "--repo", action="append", dest="repos", metavar="NAME",
        help=f"a local repository to serve (repeatable; default: {DEFAULT_REPO})",
    )  # fmt: skip
    parser.add_argument("--user", help="require this user name (with a password, token or key)")
    parser.add_argument("--password", help="the user's password")
    parser.add_argument("--token", help="accept this access token (Bearer, or Basic password)")
    parser.add_argument("--api-key", help="accept this API key (X-JFrog-Art-Api header)")
    parser.add_argument(
        "--no-overwrite", action="store_true",
        help="refuse overwrite and delete with 403, like a user without Delete permission",
    )  # fmt: skip
    parser.add_argument(
        "--oss", action="store_true",
        help="answer Pro-only endpoints (?list, copy, move, set properties) with 400 like OSS",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    args = parser.parse_args(argv)
    if args.password is not None and args.user is None:
        parser.error("--password needs --user")
    if args.user is not None and not (args.password or args.token or args.api_key):
        parser.error("--user needs --password, --token or --api-key")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    server = ArtifactoryServer(
        args.root,
        repos=args.repos or (DEFAULT_REPO,),
        host=args.host,
        port=args.port,
        user=args.user,
        password=args.password,
        token=args.token,
        api_key=args.api_key,
        no_overwrite=args.no_overwrite,
        pro=not args.oss,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        server.start()
    except (OSError, ValueError) as error:
        where = f"{args.host}:{args.port}"
        print(f"error: cannot start the server on {where}: {error}", file=sys.stderr)
        return 1
    print(server.url, flush=True)
    print(
        f"serving {', '.join(server.repos)} from {Path(args.root).resolve()} "
        f"(auth: {'on' if server.credentials.enabled else 'anonymous'}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
