"""The servers the benchmarks talk to, run on threads of the driver process.

The measured clients (fsartifacts and every baseline) are child processes, so
a server's memory and CPU are never counted in a client's peak RSS, and the
driver can read the server's request log directly:

- the local Artifactory server (``fsartifacts.testing.artifactory``) with
  its own request log and latency switch;
- moto's S3 behind a small WSGI layer of ours that logs every request and can
  sleep before each one (moto itself has no latency switch), so both stores
  are measured the same way.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Request:
    """One request as a server saw it: method, path (percent-decoded) and query, and the
    bytes of its body and of its response's."""

    method: str
    path: str
    query: str
    bytes_in: int = 0
    bytes_out: int = 0


def _split_target(target: str) -> tuple[str, str]:
    path, _, query = target.partition("?")
    return unquote(path), query


# -- the local Artifactory server ------------------------------------------------


class Artifactory:
    """The local Artifactory server, in this process, with repository ``generic-local``."""

    repo = "generic-local"

    def __init__(self, root: Path) -> None:
        from fsartifacts.testing.artifactory import ArtifactoryServer

        self.server = ArtifactoryServer(root, repos=(self.repo,)).start()
        self.url = self.server.url

    def set_latency(self, seconds: float) -> None:
        self.server.faults.latency = seconds

    def clear_requests(self) -> None:
        self.server.clear_requests()

    def requests(self) -> list[Request]:
        return [
            Request(r.method, *_split_target(r.path), r.bytes_in, r.bytes_out)
            for r in self.server.requests
        ]

    def file_url(self, path: str) -> str:
        return f"{self.url}/{self.repo}/{path}"

    def stop(self) -> None:
        self.server.stop()


# -- moto --------------------------------------------------------------------------


class _CountingApp:
    """A WSGI layer over moto: logs each request, and sleeps ``latency`` before it."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.latency = 0.0
        self.log: list[Request] = []  # list.append is atomic under the GIL

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sent = [0]

        def counting(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            length = next((v for k, v in headers if k.lower() == "content-length"), "0")
            sent[0] = int(length) if length.isdigit() else 0
            return start_response(status, headers, *rest)

        # An aws-chunked body declares the length of its content apart from the framing.
        body = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH")
        if self.latency:
            time.sleep(self.latency)
        try:
            return self.app(environ, counting)
        finally:
            self.log.append(
                Request(
                    environ["REQUEST_METHOD"],
                    unquote(environ.get("PATH_INFO", "")),
                    environ.get("QUERY_STRING", ""),
                    int(body) if body and body.isdigit() else 0,
                    sent[0],
                )
            )


AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "BOTO_CONFIG": "/dev/null",
}


class Moto:
    """moto's S3 on a loopback port, behind :class:`_CountingApp`."""

    def __init__(self, aws_home: Path) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

        self.env = {
            **AWS_TEST_ENV,
            # Files that do not exist: no profile of the developer's leaks in.
            "AWS_CONFIG_FILE": str(aws_home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_home / "credentials"),
        }
        self.app = _CountingApp(DomainDispatcherApplication(create_backend_app))
        self._httpd = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"

    def client(self) -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=AWS_TEST_ENV["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.url)

    def set_latency(self, seconds: float) -> None:
        self.app.latency = seconds

    def clear_requests(self) -> None:
        self.app.log.clear()

    def requests(self) -> list[Request]:
        return list(self.app.log)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


# -- which requests are what ---------------------------------------------------------


def is_listing(kind: str, request: Request, folders: Iterable[str]) -> bool:
    """Whether ``request`` lists one of ``folders`` (store paths such as ``repo/path``).

    Artifactory: ``GET /artifactory/api/storage/<folder>`` (folder info, with or
    without ``?list``). S3: a ``GET`` of the bucket itself (ListObjects[V2]).
    """
    if request.method != "GET":
        return False
    wanted = {f.strip("/") for f in folders}
    if kind == "artifactory":
        marker = "/api/storage/"
        if marker not in request.path:
            return False
        return request.path.split(marker, 1)[1].strip("/") in wanted
    buckets = {f.split("/", 1)[0] for f in wanted}
    return request.path.strip("/") in buckets


def curl_path() -> str | None:
    """The curl executable, or None when it is not installed."""
    return shutil.which("curl")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured child: ours, minus settings that would change its
    behaviour (fsartifacts', Artifactory's and AWS's), plus ``extra``.

    ``PYTHONDONTWRITEBYTECODE`` goes too: with it, every run of an editable install
    compiles the project's modules from source again, a cost no installed copy pays."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FSARTIFACTS_", "ARTIFACTORY_", "AWS_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["CI"] = "true"  # no progress bars, as in a pipeline
    env.update(extra or {})
    return env
