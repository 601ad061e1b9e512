"""``artifactory://``: an fsspec filesystem for JFrog Artifactory over ``requests``.

Paths are ``repo/path/to/file`` (the s3fs ``bucket/key`` model); the server is
the storage option ``url``, the base URL with its context path
(``https://host/artifactory``; no scheme means https), else
``$ARTIFACTORY_URL``. ``fsspec.url_to_fs`` has a first parameter of its own
named ``url``, so there the server goes as ``base_url`` (an alias). Other
options: ``verify`` (bool or CA bundle), ``cert`` (path or (cert, key)),
``timeout`` (seconds without an answer, may be below 1; a connection gets
at most 10 of them), ``attempts``
(total tries of one request, default 5) and ``batch_size`` (requests in flight
at once for the many-path calls ``cat``, ``cat_ranges``, ``get``, ``put``,
``pipe``, ``rm`` and ``find``; default 128, as s3fs; see
:mod:`fsartifacts.artifactoryfs.batch`).

Credentials, in this order: the storage options ``user`` + ``password``,
``token`` (``Authorization: Bearer``, or the Basic password when ``user`` is
given) or ``api_key`` (``X-JFrog-Art-Api``); else ``$ARTIFACTORY_USER`` and
``$ARTIFACTORY_TOKEN`` (a Basic password with a user, a Bearer token without),
read inside ``__init__`` so they stay out of pickles and ``to_json``;
``anon=True`` ignores the environment. Explicit credentials travel in pickles
(so Dask and multiprocessing work, as with s3fs) but never appear in
``repr``, ``str``, ``to_json``, ``to_dict`` or exception messages, and no
credential header of any kind follows a redirect to another host.

One instance may be shared by many threads: each thread gets its own
``requests.Session`` (rebuilt after a fork), the listing cache is guarded by a
lock. Idempotent requests (GET, HEAD, DELETE, OPTIONS) are retried by urllib3
on 429/500/502/503/504 and connection errors, honouring ``Retry-After``;
uploads are retried here by re-reading their source, within the same
``attempts`` (total tries of one request).

Errors are :class:`OSError` subclasses (404 a ``FileNotFoundError``, 401 and
403 a ``PermissionError``, ...): the table of which answer becomes which is in
:mod:`fsartifacts.artifactoryfs.errors`.

Exclusive writes (``open(..., "xb")``, ``mode="create"``) are a check then a
PUT: Artifactory has no conditional deploy, so two writers racing between
the check and the PUT can both succeed (the last one wins).

Listings: ``ls``/``find`` use the File List API (Pro: sizes, sha1, sha256 and
mtimes of a whole folder or tree in one request) and fall back to Folder Info
(one more request per file when details are wanted) on OSS or for anonymous
callers. Entries from listings carry ``name``, ``size``, ``type``, ``mtime``,
``sha1``, ``sha256``; ``info`` adds ``created``, ``md5`` and ``mimetype``.
Times are timezone-aware ``datetime`` objects.
"""

from __future__ import annotations

import errno
import io
import os
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.utils import isfilelike, tokenize

from fsartifacts.artifactoryfs import download as downloads
from fsartifacts.artifactoryfs import listing as listings
from fsartifacts.artifactoryfs import properties
from fsartifacts.artifactoryfs import upload as uploads
from fsartifacts.artifactoryfs.batch import DEFAULT_BATCH_SIZE, BatchOperations, check_batch_size
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConflictError,
    ArtifactoryConnectionError,
    ArtifactoryError,
    ArtifactoryIntegrityError,
    ArtifactoryNotFoundError,
    ArtifactoryPermissionError,
    ArtifactoryTimeoutError,
    after_tries,
    error_from_response,
    json_body,
    transport_error,
)
from fsartifacts.artifactoryfs.file import ArtifactoryFile
from fsartifacts.artifactoryfs.http import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    build_auth,
    new_session,
    normalise_url,
)
from fsartifacts.artifactoryfs.readahead import GrowingReadAhead
from fsartifacts.artifactoryfs.upload import Readable, size_and_digests
from fsartifacts.retry import TIMEOUT_TRIES, connect_timeout

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

_GLOB_CHARS = re.compile(r"[*?\[]")


class ArtifactoryFileSystem(BatchOperations):
    """JFrog Artifactory repositories as an fsspec filesystem (see the module docstring)."""

    protocol = "artifactory"
    root_marker = ""

    def __init__(
        self,
        url: str | None = None,
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
        base_url: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        """Connect to ``url`` (or ``base_url``: ``fsspec.url_to_fs`` takes its own first
        argument named ``url``, so pass the server as ``base_url`` there)."""
        super().__init__(**kwargs)
        raw_url = url or base_url or os.environ.get("ARTIFACTORY_URL")
        if not raw_url:
            raise ValueError(
                "ArtifactoryFileSystem needs the server's base URL: pass url="
                "'https://host/artifactory' or set $ARTIFACTORY_URL"
            )
        if float(timeout) <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if int(attempts) < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts!r}")
        self.url, url_user, url_password = normalise_url(raw_url)
        self.verify = verify
        self.cert = tuple(cert) if isinstance(cert, list) else cert
        self.timeout = float(timeout)
        self.attempts = int(attempts)
        self.batch_size = check_batch_size(batch_size)
        self._auth = build_auth(
            user=user or url_user,
            password=password if password is not None else url_password,
            token=token,
            api_key=api_key,
            anon=anon,
        )
        self._local = threading.local()
        self._cache_lock = threading.RLock()
        self._file_list_api = True  # the Pro "?list" API; False once the server says it lacks it
        self._copy_api = True  # the Pro copy/move API; False once refused

    # -- credentials ------------------------------------------------------------

    @property
    def auth_description(self) -> str:
        """How this instance authenticates, without the secret: for messages."""
        return self._auth.kind

    @property
    def anonymous(self) -> bool:
        return self._auth.kind == "anonymous"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, auth={self._auth.kind!r})"

    __str__ = __repr__

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """As fsspec's, but never with a secret, whatever ``include_password`` says.

        A filesystem rebuilt from it reads its credentials from the environment.
        """
        out = super().to_dict(include_password=False)
        for key in ("password", "token", "api_key"):
            out.pop(key, None)
        for key in ("url", "base_url"):
            if isinstance(out.get(key), str):
                out[key] = normalise_url(out[key])[0]
        return out

    def to_json(self, *, include_password: bool = True) -> str:
        """JSON of :meth:`to_dict`: never with a secret."""
        return super().to_json(include_password=False)

    @property
    def fsid(self) -> str:
        return "artifactory_" + tokenize(self.url)

    # -- HTTP -------------------------------------------------------------------

    def _session(self) -> requests.Session:
        """This thread's Session (requests.Session is not thread-safe), rebuilt after fork."""
        local = self._local
        session: requests.Session | None = getattr(local, "session", None)
        if session is None or local.pid != os.getpid():
            session = new_session(self._auth, self.attempts)
            local.session = session
            local.pid = os.getpid()
        return session

    def _send(self, method: str, url: str, action: str, **kwargs: Any) -> requests.Response:
        """One request (urllib3 retries idempotent ones); transport errors become ours."""
        kwargs.setdefault("timeout", (connect_timeout(self.timeout), self.timeout))
        # verify/cert per request: a Session-level verify=False loses to $REQUESTS_CA_BUNDLE.
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        try:
            return self._session().request(method, url, **kwargs)
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

    def _call(
        self, method: str, url: str, action: str, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        response = self._send(method, url, action, **kwargs)
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

    def _file_url(self, path: str) -> str:
        return f"{self.url}/{quote(path, safe='/')}"

    def _storage_url(self, path: str) -> str:
        return f"{self.url}/api/storage/{quote(path, safe='/')}"

    # -- paths ------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return super()._strip_protocol(path).lstrip("/")

    # -- metadata ---------------------------------------------------------------

    def info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One ``GET /api/storage`` (or a cached listing): name, size, type, times, checksums."""
        path = self._strip_protocol(path)
        if not path:
            return {"name": "", "size": 0, "type": "directory"}
        if not refresh:
            cached = self._cached_info(path)
            if cached is not None:
                return cached
        action = f"info {path}"
        response = self._call("GET", self._storage_url(path), action)
        return listings.info_from_storage(path, json_body(response, action))

    def _cached_info(self, path: str) -> dict[str, Any] | None:
        with self._cache_lock:
            listing = self._ls_from_cache(path)  # FileNotFoundError: the parent listing lacks it
        if listing is None:
            return None
        for entry in listing:
            if entry["name"] == path:
                return dict(entry)
        # ``path`` is itself a cached listing's key: a directory.
        return {"name": path, "size": 0, "type": "directory"}

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Only a 404 means False: connection and auth errors raise."""
        try:
            self.info(path, **kwargs)
        except FileNotFoundError:
            return False
        return True

    lexists = exists

    def _exists_on_server(self, path: str) -> bool:
        """exists() without the listing cache: for checks that guard a write."""
        try:
            self.info(path, refresh=True)
        except FileNotFoundError:
            return False
        return True

    def isdir(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "directory"
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "file"
        except FileNotFoundError:
            return False

    def created(self, path: str) -> datetime:
        return self._timestamp(path, "created")

    def modified(self, path: str) -> datetime:
        return self._timestamp(path, "mtime")

    def _timestamp(self, path: str, key: str) -> datetime:
        value = self.info(path).get(key)
        if value is None:  # listing entries lack some: ask the storage API
            value = self.info(path, refresh=True).get(key)
        if value is None:
            raise ValueError(f"the server gave no {key} time for {path}")
        return value

    def _sha256(self, path: str) -> str | None:
        info = self.info(path)
        if info["type"] == "file" and not info.get("sha256"):
            info = self.info(path, refresh=True)
        return info.get("sha256")

    def checksum(self, path: str) -> int:
        """The sha256 the server computed, as an int (directories: fsspec's default)."""
        digest = self._sha256(path)
        return int(digest, 16) if digest else super().checksum(path)

    def ukey(self, path: str) -> str:
        """The sha256 of the content: equal keys mean equal bytes."""
        return self._sha256(path) or super().ukey(path)

    # -- properties (extended attributes) ---------------------------------------

    def listxattrs(self, path: str) -> dict[str, str | list[str]]:
        """Every Artifactory property of ``path`` (a file, folder or repository).

        A key with one value maps to a ``str``, one with several to a ``list``.
        """
        return properties.read_properties(self, self._strip_protocol(path))

    def getxattr(self, path: str, attr_name: str) -> str | list[str] | None:
        """The Artifactory property ``attr_name`` of ``path``; None when it is not set."""
        return self.listxattrs(path).get(attr_name)

    def setxattrs(
        self, path: str, recursive: bool = False, **attrs: str | list[str] | None
    ) -> None:
        """Set properties (a str, or a list of str for several values); None removes one.

        One request changes them all. On a folder the change stays on the folder
        unless ``recursive=True`` (then everything below it changes too).
        Keys that are not Python names go as ``**{"build.number": "7"}``.
        """
        properties.write_properties(self, self._strip_protocol(path), attrs, recursive=recursive)

    setxattr = setxattrs  # s3fs's name for it

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """Not possible on Artifactory: NotImplementedError saying what to do instead."""
        raise NotImplementedError(
            f"cannot sign {path}: Artifactory has no pre-signed or token-carrying download "
            "URL for a file in a repository, so any client that GETs it needs its own "
            "credentials; give it a read-only access token, or allow anonymous reads on "
            "the repository"
        )

    # -- listings ---------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, refresh: bool = False, **kwargs: Any) -> list[Any]:
        """Entries directly under ``path``; ``[info(path)]`` when ``path`` is a file."""
        path = self._strip_protocol(path)
        entries: list[dict[str, Any]] | None = None
        if not refresh:
            with self._cache_lock:
                # The exact key only: _ls_from_cache would answer a directory with itself.
                entries = self.dircache.get(path)
        if entries is None:
            listed = (
                listings.list_repositories(self)
                if not path
                else listings.list_folder(self, path, detail)
            )
            if isinstance(listed, dict):  # a file
                return [listed] if detail else [path]
            entries = listed
            if all(e["size"] is not None for e in entries):  # complete: worth caching
                self._remember_listing(path, entries)
        if detail:
            return [dict(e) for e in entries]
        return [e["name"] for e in entries]

    def _remember_listing(self, path: str, entries: list[dict[str, Any]]) -> None:
        with self._cache_lock:
            self.dircache[path] = entries

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Everything below ``path`` in one File List request where the server allows it."""
        path = self._strip_protocol(path)
        if maxdepth is not None or not path or not self._file_list_api:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        try:
            entries = listings.file_list(self, path, deep=True)
            if entries is None:
                info = self.info(path, refresh=True)
        except FileNotFoundError:
            return {} if detail else []
        out: dict[str, dict[str, Any]] = {}
        if entries is None and info["type"] == "directory":
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        if entries is None:
            out[path] = info
        else:
            listings.cache_tree(self, path, entries)
            if withdirs:
                out[path] = {"name": path, "size": 0, "type": "directory"}
            for entry in entries:
                if withdirs or entry["type"] != "directory":
                    out[entry["name"]] = dict(entry)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget ``path``, everything below it and every ancestor (a deploy makes parents)."""
        with self._cache_lock:
            if path is None:
                self.dircache.clear()
            else:
                path = self._strip_protocol(path)
                prefix = path + "/"
                for key in [k for k in self.dircache if k == path or k.startswith(prefix)]:
                    self.dircache.pop(key, None)
                ancestor = path
                while ancestor:
                    ancestor = self._parent(ancestor)
                    self.dircache.pop(ancestor, None)
        super().invalidate_cache(path)

    # -- reads ------------------------------------------------------------------

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of ``path`` in ``[start, end)``, with one ranged GET."""
        return downloads.read_range(self, self._strip_protocol(path), start, end)

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
        downloads.download_to_path(self, rpath, os.fspath(lpath), callback)

    def download(
        self,
        rpath: str,
        out: downloads._Writer,
        *,
        callback: Callback = DEFAULT_CALLBACK,
        restartable: bool = False,
        verify: bool = True,
    ) -> None:
        """Stream ``rpath`` into ``out`` with one GET, checking size and checksum.

        A broken connection is retried (within ``attempts``) when ``restartable``
        says ``out`` may be rewound and truncated. ``verify=False`` skips the
        checksum (the size is still checked), for a caller that hashes what it
        receives and checks it itself: hashing twice costs a core's time.
        """
        downloads.download(
            self,
            self._strip_protocol(rpath),
            out,
            callback=callback,
            restartable=restartable,
            verify=verify,
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
            # A check, not a guarantee: Artifactory has no conditional deploy.
            raise FileExistsError(errno.EEXIST, "already exists", path)
        return ArtifactoryFile(
            self,
            path,
            mode=mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    # -- writes -----------------------------------------------------------------

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        data = bytes(value)
        if mode == "create" and self._exists_on_server(path):
            raise FileExistsError(errno.EEXIST, "already exists", path)
        size, sha1, sha256 = size_and_digests(io.BytesIO(data))
        self._deploy(path, lambda: io.BytesIO(data), size, sha1, sha256)

    def put_file(
        self,
        lpath: Any,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        sha256: str | None = None,
        sha1: str | None = None,
        hashed_stat: os.stat_result | None = None,
        **kwargs: Any,
    ) -> None:
        """Deploy a local file with its sha1 and sha256, so a corrupted upload is refused.

        Files of 10 KiB or more are first offered by checksum alone: when the
        server already holds the content, no byte is sent.

        ``sha256`` (and ``sha1``), when given, are what the caller hashed
        earlier; a file changed since then is not uploaded
        (:class:`ArtifactoryIntegrityError`). With ``sha256`` alone the file
        is read once first, for its sha1 and to check its sha256. With both,
        it is not read before sending: the server checks every byte against
        them (409 on a mismatch, nothing stored), and ``hashed_stat``, the
        file's ``os.stat`` when it was hashed, refuses before any byte is sent
        a file whose size, mtime or inode changed since.
        """
        rpath = self._strip_protocol(rpath)
        lpath = os.fspath(lpath)
        if mode == "create" and self._exists_on_server(rpath):
            raise FileExistsError(errno.EEXIST, "already exists", rpath)
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        uploads.deploy_file(self, rpath, lpath, sha256, sha1, hashed_stat, callback)

    def _deploy(
        self,
        path: str,
        open_body: Callable[[], Readable],
        size: int,
        sha1: str,
        sha256: str,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> None:
        """PUT a whole file (checksum deploy first when worth it), retrying by reopening."""
        uploads.deploy(self, path, open_body, size, sha1, sha256, callback)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """``PUT path/``; FileExistsError if it exists (parents are made by the server)."""
        path = self._strip_protocol(path)
        if self.exists(path):
            raise FileExistsError(errno.EEXIST, "already exists", path)
        if "/" not in path:
            raise ArtifactoryNotFoundError(
                f"repository {path!r} does not exist; repositories are created by an "
                "Artifactory administrator, not through the filesystem"
            )
        if not create_parents and not self.exists(self._parent(path)):
            raise FileNotFoundError(errno.ENOENT, "parent folder does not exist", path)
        self._make_folder(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        try:
            info = self.info(path)
        except FileNotFoundError:
            info = None
        if info is not None:
            if exist_ok and info["type"] == "directory":
                return
            raise FileExistsError(errno.EEXIST, "already exists", path)
        if "/" not in path:
            raise ArtifactoryNotFoundError(
                f"repository {path!r} does not exist; repositories are created by an "
                "Artifactory administrator, not through the filesystem"
            )
        self._make_folder(path)

    def _make_folder(self, path: str) -> None:
        try:
            self._call(
                "PUT", self._file_url(path) + "/", f"create folder {path}", ok=(200, 201)
            ).close()
        finally:
            self.invalidate_cache(path)

    def rm_file(self, path: str) -> None:
        """Delete a file, or an empty folder (``rm(recursive=True)`` deletes full ones)."""
        path = self._strip_protocol(path)
        info = self.info(path)
        if info["type"] == "directory" and self.ls(path, detail=False, refresh=True):
            raise OSError(errno.ENOTEMPTY, "folder is not empty (use recursive=True)", path)
        self._delete(path)

    def _delete(self, path: str) -> None:
        if "/" not in path:
            raise ArtifactoryPermissionError(
                f"refusing to delete repository {path!r}: delete what is inside it instead "
                f"(rm('{path}/*', recursive=True))"
            )
        try:
            self._call("DELETE", self._file_url(path), f"delete {path}", ok=(200, 202, 204)).close()
        finally:
            self.invalidate_cache(path)

    def rmdir(self, path: str) -> None:
        """Delete an empty folder."""
        path = self._strip_protocol(path)
        if self.info(path)["type"] != "directory":
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", path)
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete; a recursive delete of one plain path is one request (the server recurses)."""
        if (
            isinstance(path, str)
            and recursive
            and maxdepth is None
            and not _GLOB_CHARS.search(path)
        ):
            stripped = self._strip_protocol(path)
            if "/" in stripped:
                self._delete(stripped)
                return
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        for p in paths:
            if "/" not in p:  # refuse before deleting anything, not after its contents
                self._delete(p)
        for p in reversed(paths):
            self.rm_file(p)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Server-side copy; else a checksum deploy; else download and upload."""
        path1 = self._strip_protocol(path1)
        path2 = self._strip_protocol(path2)
        source = self.info(path1)
        if source["type"] == "directory":
            self.makedirs(path2, exist_ok=True)
            return
        try:
            if self._copy_api and uploads.server_side(self, "copy", path1, path2):
                return
            if not source.get("sha256") or not source.get("sha1"):
                source = self.info(path1, refresh=True)
            if uploads.deploy_by_checksum(self, path2, source):
                return
            uploads.copy_by_streaming(self, path1, path2)
        finally:
            self.invalidate_cache(path2)

    def mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Server-side move of one file (or folder, with ``recursive``) to a new name."""
        if (
            isinstance(path1, str)
            and isinstance(path2, str)
            and maxdepth is None
            and self._copy_api
            and not _GLOB_CHARS.search(path1)
        ):
            src = self._strip_protocol(path1)
            dst = self._strip_protocol(path2)
            if src == dst:
                return
            kind = self.info(src)["type"]
            # An existing target folder would receive the source inside it: only move
            # to a free name, so the result is exactly ``dst``.
            free = "/" in dst and not self._exists_on_server(dst)
            if (kind == "file" or recursive) and "/" in src and free:
                try:
                    if uploads.server_side(self, "move", src, dst):
                        return
                finally:
                    self.invalidate_cache(src)
                    self.invalidate_cache(dst)
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)
