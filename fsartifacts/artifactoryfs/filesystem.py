"""``artifactory://``: an fsspec filesystem for JFrog Artifactory over ``requests``.

Paths are ``repo/path/to/file`` (the s3fs ``bucket/key`` model); the server is
the storage option ``base_url``, the base URL with its context path
(``https://host/artifactory``; no scheme means https), else
``$ARTIFACTORY_URL``. ``url`` is accepted as another name for it, but
``fsspec.url_to_fs``, ``get_mapper`` and pandas' ``storage_options`` have a
parameter of their own named ``url``: there only ``base_url`` works. The URL as
resolved (the one from ``$ARTIFACTORY_URL`` too) is kept in ``storage_options``,
so a pickle or ``to_json`` rebuilds the same filesystem in a process without
the variable. Other options: ``verify`` (bool or CA bundle), ``cert`` (path or (cert, key)),
``timeout`` (seconds without an answer, may be below 1; a connection gets
at most 10 of them), ``attempts``
(total tries of one request, default 5) and ``batch_size`` (requests in flight
at once for the many-path calls ``cat``, ``cat_ranges``, ``get``, ``put``,
``pipe``, ``copy``, ``rm`` and ``find``; default 128, as s3fs; see
:mod:`fsartifacts.artifactoryfs.batch`). Those calls share one pool of threads
per filesystem, started on first use; ``close()`` ends them (a later call starts
new ones), as does dropping the filesystem.

Credentials, in this order: the storage options ``user`` + ``password``,
``token`` (``Authorization: Bearer``, or the Basic password when ``user`` is
given) or ``api_key`` (``X-JFrog-Art-Api``); else ``$ARTIFACTORY_USER`` and
``$ARTIFACTORY_TOKEN`` (a Basic password with a user, a Bearer token without),
read at each request, so a token set or rotated later is the one sent and none
enters a pickle or ``to_json`` (a process without them goes anonymous, and a
server that wants credentials answers 401: a ``PermissionError``);
``anon=True`` ignores the environment. A user and password inside
``$ARTIFACTORY_URL`` are used but, being the environment's, not kept.
Explicit credentials travel in pickles (so Dask and multiprocessing work, as
with s3fs) but never appear in ``repr``, ``str``, ``to_json``, ``to_dict`` or
exception messages, and no credential header of any kind follows a redirect
to another host.

One instance may be shared by many threads: each thread gets its own
``requests.Session`` (rebuilt after a fork), the listing cache is guarded by a
lock. Idempotent requests (GET, HEAD, DELETE, OPTIONS) are retried by urllib3
on 429/500/502/503/504 and connection errors, honouring ``Retry-After``;
uploads are retried here by re-reading their source, within the same
``attempts`` (total tries of one request).

Errors are :class:`OSError` subclasses (404 a ``FileNotFoundError``, 401 and
403 a ``PermissionError``, ...): the table of which answer becomes which is in
:mod:`fsartifacts.artifactoryfs.errors`.

Exclusive writes (``open(..., "xb")``, ``mode="create"``) ask whether the path
exists just before their content is published there: Artifactory has no
conditional deploy, so two writers racing within that one round trip can both
succeed (the last one wins), but a writer that created the path while another's
file was written or uploaded keeps it (a long upload goes to a hidden copy first:
:func:`~fsartifacts.artifactoryfs.hidden.deploy_new`). A file opened ``xb`` is
also refused when it is opened.

Listings: ``ls``/``find`` use the File List API (Pro: sizes, sha1, sha256 and
mtimes of a whole folder or tree in one request) and fall back to Folder Info
(one more request per file when details are wanted) on OSS or for anonymous
callers. Entries from listings carry ``name``, ``size``, ``type``, ``mtime``,
``sha1``, ``sha256``; ``info`` adds ``created``, ``md5`` and ``mimetype``.
Times are timezone-aware ``datetime`` objects.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.utils import isfilelike, tokenize

from fsartifacts.artifactoryfs import download as downloads
from fsartifacts.artifactoryfs.batch import DEFAULT_BATCH_SIZE, BatchOperations, check_batch_size
from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConflictError,
    ArtifactoryConnectionError,
    ArtifactoryError,
    ArtifactoryIntegrityError,
    ArtifactoryNotFoundError,
    ArtifactoryPermissionError,
    ArtifactoryTimeoutError,
)
from fsartifacts.artifactoryfs.file import ArtifactoryFile
from fsartifacts.artifactoryfs.http import build_auth, normalise_url
from fsartifacts.artifactoryfs.metadata import Metadata
from fsartifacts.artifactoryfs.pool import BatchPool
from fsartifacts.artifactoryfs.properties import PropertyOperations
from fsartifacts.artifactoryfs.readahead import GrowingReadAhead
from fsartifacts.artifactoryfs.tree import TreeOperations
from fsartifacts.artifactoryfs.writes import WriteOperations
from fsartifacts.inflight import InFlight

__all__ = [
    "ArtifactoryConflictError",
    "ArtifactoryConnectionError",
    "ArtifactoryError",
    "ArtifactoryFile",
    "ArtifactoryFileSystem",
    "ArtifactoryIntegrityError",
    "ArtifactoryNotFoundError",
    "ArtifactoryPermissionError",
    "ArtifactoryTimeoutError",
]


class _FromEnvironment:
    """A class attribute whose value is an environment variable's, read when looked up."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> str | None:
        return os.environ.get(self.name)


class ArtifactoryFileSystem(
    BatchOperations, WriteOperations, TreeOperations, PropertyOperations, Metadata
):
    """JFrog Artifactory repositories as an fsspec filesystem (see the module docstring)."""

    protocol = "artifactory"
    root_marker = ""
    # fsspec's instance cache adds these class attributes to its key: a filesystem made
    # from $ARTIFACTORY_URL is not handed out once the variable names another server.
    # (Credentials from the environment need no key: they are read at each request.)
    environment_url = _FromEnvironment("ARTIFACTORY_URL")
    _extra_tokenize_attributes = ("environment_url",)

    def __init__(
        self,
        base_url: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        api_key: str | None = None,
        anon: bool = False,
        verify: bool | str = True,
        cert: str | tuple[str, str] | list[str] | None = None,
        timeout: float = 30.0,
        attempts: int = 5,
        url: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        """Connect to ``base_url`` (``url`` is another name for it), else $ARTIFACTORY_URL."""
        super().__init__(**kwargs)
        if base_url and url and normalise_url(base_url)[0] != normalise_url(url)[0]:
            raise ValueError(
                f"two server URLs given, base_url={normalise_url(base_url)[0]!r} and "
                f"url={normalise_url(url)[0]!r}: give only base_url (url is another name for it)"
            )
        given = base_url or url
        raw_url = given or os.environ.get("ARTIFACTORY_URL")
        if not raw_url:
            raise ValueError(
                "ArtifactoryFileSystem needs the server's base URL: pass base_url="
                "'https://host/artifactory' or set $ARTIFACTORY_URL"
            )
        if float(timeout) <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if int(attempts) < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts!r}")
        self.batch_size = check_batch_size(batch_size)
        self.batch_pool = BatchPool(self.batch_size)
        clean_url, url_user, url_password = normalise_url(raw_url)
        # What a pickle or to_json carries in place of the URL as given: the resolved
        # URL, and the credentials a given URL held (explicit ones; the environment's
        # stay out).
        self._resolved: dict[str, Any] = {"base_url": clean_url}
        if given and url_user and not user:
            self._resolved["user"] = url_user
        if given and url_password is not None and password is None:
            self._resolved["password"] = url_password
        auth = build_auth(
            user=user or url_user,
            password=password if password is not None else url_password,
            token=token,
            api_key=api_key,
            anon=anon,
        )
        self.client = ArtifactoryClient(
            clean_url,
            auth,
            verify=verify,
            cert=tuple(cert) if isinstance(cert, list) else cert,  # type: ignore[arg-type]
            timeout=float(timeout),
            attempts=int(attempts),
        )

    def close(self) -> None:
        """Let the threads of many-path calls end; a later call starts new ones."""
        self.batch_pool.close()

    def __del__(self) -> None:
        pool = getattr(self, "batch_pool", None)  # absent when __init__ failed
        if pool is not None:
            pool.close()

    # -- credentials ------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (no trailing slash, no userinfo)."""
        return self.client.url

    @property
    def timeout(self) -> float:
        return self.client.timeout

    @property
    def attempts(self) -> int:
        return self.client.attempts

    @property
    def auth_description(self) -> str:
        """How this instance authenticates, without the secret: for messages."""
        return self.client.auth_description

    @property
    def anonymous(self) -> bool:
        return self.client.anonymous

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, auth={self.auth_description!r})"

    __str__ = __repr__

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """As fsspec's, but never with a secret, whatever ``include_password`` says.

        A filesystem rebuilt from it reads its credentials from the environment.
        """
        out = super().to_dict(include_password=False)
        for key in ("password", "token", "api_key"):
            out.pop(key, None)
        return out

    def to_json(self, *, include_password: bool = True) -> str:
        """JSON of :meth:`to_dict`: never with a secret."""
        return super().to_json(include_password=False)

    @property
    def storage_args(self) -> tuple[Any, ...]:
        """Empty: the server's URL is in :attr:`storage_options`, as ``base_url``."""
        return ()

    @storage_args.setter
    def storage_args(self, value: tuple[Any, ...]) -> None:
        pass  # fsspec sets the arguments as called: the URL among them is resolved

    @property
    def storage_options(self) -> dict[str, Any]:
        """The options as called, with the server's URL resolved as ``base_url``."""
        return self._storage_options

    @storage_options.setter
    def storage_options(self, value: dict[str, Any]) -> None:
        called = {k: v for k, v in value.items() if k not in ("url", "base_url")}
        self._storage_options = {**called, **self._resolved}

    @property
    def fsid(self) -> str:
        return "artifactory_" + tokenize(self.url)

    # -- paths ------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return super()._strip_protocol(path).lstrip("/")

    # -- reads ------------------------------------------------------------------

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of ``path`` in ``[start, end)``, with one ranged GET."""
        path = self._strip_protocol(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path)["size"]
            start = max(0, size + start) if start is not None and start < 0 else start
            end = max(0, size + end) if end is not None and end < 0 else end
        return downloads.read_range(self.client, path, start or 0, end)

    def get_file(
        self,
        rpath: str,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        """One streamed GET into a temporary file beside ``lpath``, verified, then renamed.

        The size and the checksum (``X-Checksum-Sha256``, else ``-Sha1``) of the
        response are checked; on a mismatch ``lpath`` is left untouched.
        """
        rpath = self._strip_protocol(rpath)
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        if outfile is not None:
            self.download(rpath, outfile, callback=callback)
            return
        with contextlib.suppress(FileNotFoundError):
            cached = self._cached_info(rpath)
            if cached is not None and cached["type"] == "directory":
                os.makedirs(lpath, exist_ok=True)
                return
        downloads.download_to_path(self.client, rpath, os.fspath(lpath), callback)

    def download(
        self,
        rpath: str,
        out: downloads.Writer,
        *,
        callback: Callback = DEFAULT_CALLBACK,
        restartable: bool = False,
        verify: bool = True,
        in_flight: InFlight | None = None,
    ) -> None:
        """Stream ``rpath`` into ``out`` with one GET, checking size and checksum.

        A broken connection is retried (within ``attempts``) when ``restartable``
        says ``out`` may be rewound and truncated. ``verify=False`` skips the
        checksum (the size is still checked), for a caller that hashes what it
        receives and checks it itself: hashing twice costs a core's time. The body is
        read within ``in_flight``, which another thread may close to end it.
        """
        downloads.download(
            self.client,
            self._strip_protocol(rpath),
            out,
            callback=callback,
            restartable=restartable,
            verify=verify,
            in_flight=in_flight,
        )

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ArtifactoryFile:
        path = self._strip_protocol(path)
        # Read ahead only while reading on: random and columnar reads move what they ask.
        kwargs.setdefault("cache_type", GrowingReadAhead.name)
        if "x" in mode and self._exists_on_server(path):
            # Early, before anything is written; the file asks again as it is published.
            raise FileExistsError(errno.EEXIST, "already exists", path)
        return ArtifactoryFile(
            self,
            path,
            client=self.client,
            mode=mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )
