"""The connection to one Artifactory server: credentials, Sessions, requests, URLs.

An :class:`ArtifactoryClient` is what the listing and transfer modules talk
through; the filesystem owns one and adds paths, the listing cache and the
fsspec API on top. One client may be shared by many threads: each thread gets
its own ``requests.Session`` (``requests.Session`` is not thread-safe), rebuilt
after a fork.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import quote

import requests

from fsartifacts.artifactoryfs import wire
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryError,
    ArtifactoryTimeoutError,
    after_tries,
    error_from_response,
    transport_error,
)
from fsartifacts.artifactoryfs.http import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    HeaderAuth,
    new_session,
)
from fsartifacts.retry import TIMEOUT_TRIES, connect_timeout


class ArtifactoryClient:
    """Requests to the server at ``url`` (normalised: no trailing slash, no userinfo).

    ``attempts`` is the total number of tries of one request, ``timeout`` the
    seconds without an answer. ``file_list_api`` and ``copy_api`` start True
    and turn False once the server says it lacks the Pro File List or
    copy/move API (an OSS server), so it is not asked again. ``deletes`` says
    whether these credentials may delete (Artifactory's Delete permission):
    None until known, False once the server refused one, so no upload that
    needs one afterwards is sent.
    """

    def __init__(
        self,
        url: str,
        auth: HeaderAuth,
        *,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        timeout: float = 30.0,
        attempts: int = 5,
    ) -> None:
        self.url = url
        self.auth = auth
        self.verify = verify
        self.cert = cert
        self.timeout = timeout
        self.attempts = attempts
        self.file_list_api = True
        self.copy_api = True
        self.deletes: bool | None = None
        self._local = threading.local()

    @property
    def auth_description(self) -> str:
        """How this client authenticates, without the secret: for messages."""
        return self.auth.kind

    @property
    def anonymous(self) -> bool:
        return self.auth.kind == "anonymous"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, auth={self.auth.kind!r})"

    # -- URLs -------------------------------------------------------------------

    def file_url(self, path: str) -> str:
        """The download/deploy URL of ``repo/path``."""
        return f"{self.url}/{quote(path, safe='/')}"

    def folder_url(self, path: str) -> str:
        """The URL that creates folder ``repo/path`` on a PUT."""
        return self.file_url(path) + "/"

    def api_url(self, endpoint: str, path: str = "") -> str:
        """``/api/<endpoint>``, followed by ``/repo/path`` when a path is given."""
        url = f"{self.url}/api/{endpoint}"
        return f"{url}/{quote(path, safe='/')}" if path else url

    def storage_url(self, path: str) -> str:
        """The Storage API URL of ``repo/path`` (item info, folder info, file list)."""
        return self.api_url("storage", path)

    # -- requests ---------------------------------------------------------------

    def session(self) -> requests.Session:
        """This thread's Session, rebuilt after a fork."""
        local = self._local
        session: requests.Session | None = getattr(local, "session", None)
        if session is None or local.pid != os.getpid():
            session = new_session(self.auth, self.attempts)
            local.session = session
            local.pid = os.getpid()
        return session

    def send(
        self,
        method: str,
        url: str,
        action: str,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        json: Any = None,
        stream: bool = False,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """One request (urllib3 retries idempotent ones); transport errors become ours."""
        session = self.session()
        try:
            request = wire.prepare(session, method, url, headers, data, json)
            # verify/cert per request: a Session-level verify=False loses to $REQUESTS_CA_BUNDLE.
            return wire.send(
                session,
                request,
                stream=stream,
                allow_redirects=allow_redirects,
                timeout=(connect_timeout(self.timeout), self.timeout),
                verify=self.verify,
                cert=self.cert,
            )
        except requests.RequestException as exc:
            error = transport_error(exc, action)
            timed_out = isinstance(error, ArtifactoryTimeoutError)
            if error.retries_exhausted:
                # Unanswered requests stop earlier than the others (see fsartifacts.retry).
                tries = min(self.attempts, TIMEOUT_TRIES) if timed_out else self.attempts
                error = after_tries(error, tries)
            if timed_out:
                error = self._timeout_advice(error)
            raise error from None

    def _timeout_advice(self, error: ArtifactoryError) -> ArtifactoryTimeoutError:
        """``error`` naming the server and the setting to change."""
        advised = ArtifactoryTimeoutError(
            f"{error}: {self.url} did not answer within {self.timeout:g} s; check the network "
            "and `url`, or allow more time (transfer.timeout, FSARTIFACTS_TIMEOUT)",
            status=error.status,
        )
        advised.retries_exhausted = error.retries_exhausted
        return advised

    def call(
        self, method: str, url: str, action: str, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        """:meth:`send`, raising the typed error of any status not in ``ok``."""
        response = self.send(method, url, action, **kwargs)
        if response.status_code not in ok:
            error = error_from_response(response, action)
            if method in IDEMPOTENT_METHODS and response.status_code in RETRY_STATUSES:
                # urllib3 retried this answer already, as often as allowed.
                retries = getattr(response.raw, "retries", None)
                tries = len(retries.history) + 1 if retries is not None else self.attempts
                error = after_tries(error, tries)
            response.close()
            raise error
        return response
