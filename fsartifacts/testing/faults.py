"""Fault switches of the local Artifactory server, settable at run time from any thread.

Each ``*_next``/``drop_after`` call arms a rule that fires on the next ``count`` matching
requests (FIFO when several rules match), then disarms itself:

* ``fail_next(n, status=500, retry_after=None, message=None)``: answer the next ``n``
  requests with ``status`` and the usual JSON error body (plus ``Retry-After`` when
  given; a fractional value is sent as is, e.g. ``0.05``, so tests need not sleep
  whole seconds). It fires before authentication and before any work is done, and the
  request body is read and discarded, so nothing is stored.
* ``drop_after(nbytes)``: reset the TCP connection (abortive close, RST) after
  ``nbytes`` of artifact content went out (GET) or came in (PUT; nothing is stored and
  no response is sent). Bytes still in flight may be lost, so a client receives at
  most ``nbytes``.
* ``truncate_next(nbytes)``: announce the full ``Content-Length``, send exactly
  ``nbytes`` of artifact content, then close the connection in an orderly way (FIN):
  the client sees a premature end of body.
* ``corrupt_next(offset=0)``: flip one byte (XOR 0xFF) of artifact content, at
  ``offset`` within the body (clamped to its last byte; empty bodies do not consume
  the rule). On GET the served bytes are corrupted, the stored file is not. On PUT
  the bytes are corrupted "in transit": the server hashes and stores the corrupted
  bytes, so a client that sent ``X-Checksum-*`` headers gets 409 and nothing is
  stored, and one that did not gets back checksums that differ from its own.
* ``redirect_next(location, status=307, count=1, methods=("PUT",))``: answer the next
  ``count`` matching requests with ``status`` and ``Location: location`` (a full URL, or
  a path on this server), after reading their body; nothing is stored. Like a proxy or
  a load balancer sending clients elsewhere.
* ``before_next(action, count=1, methods=None)``: call ``action()`` before handling the
  next ``count`` matching requests (after the latency, before any other fault): another
  client acting at that very moment, e.g. writing a file a request is about to affect.
* ``before_answer(action, count=1, methods=("PUT",))``: call ``action()`` once the next
  ``count`` matching deploys have stored their file, before their answer goes out: what
  another client sees, or does, at the moment the uploader is about to learn the outcome
  (a listing taken then, the uploader killed then).
* ``cut_after(nbytes)``: from now on (until ``reset()``), reset the connection (RST) of
  every matching download once ``nbytes`` of artifact content went out in all, over
  every request since it was armed: a network that goes down for good part way through
  a transfer, whatever the client retries.
* ``ignore_ranges(count=None)``: answer the next ``count`` matching ranged GETs (every
  one until ``reset()`` when None) as if they had no ``Range`` header: 200 and the whole
  file, as some proxies and CDNs do.
* ``stall_after(nbytes, seconds=60.0, count=1)``: once ``nbytes`` of artifact content
  went out, hold the rest of the response for ``seconds`` (cut short by ``reset()``),
  then reset the connection: a server or network that hangs part way. ``stalled()``
  counts the responses that began to hang since the last ``reset()``, ``hanging()``
  those hanging now (a client that gave up on one does not end it: only its time,
  ``end_stalls`` or ``reset()`` does); ``end_stalls(n=1)`` ends the ``n`` oldest of them.
* ``latency``: seconds slept before handling each request.
* ``throttle``: seconds slept between the blocks (256 KiB) of artifact content a GET sends:
  a slow link, so a download lasts long enough for something to happen while it runs.

``drop_after``, ``cut_after``, ``stall_after``, ``truncate_next`` and ``corrupt_next``
act on artifact content only (GET of a file under ``/artifactory/<repo>/``, PUT of a
file), never on REST API JSON, so a client's metadata calls do not use them up.
``methods`` (default ``("GET",)`` for those five, every method for ``fail_next``;
``None`` means any) and ``path_contains`` (a substring of the request target, raw or
percent-decoded) narrow which requests a rule matches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

FAIL = "fail"
DROP = "drop"
TRUNCATE = "truncate"
CORRUPT = "corrupt"
REDIRECT = "redirect"
BEFORE = "before"
BEFORE_ANSWER = "before_answer"
CUT = "cut"
IGNORE_RANGES = "ignore_ranges"
STALL = "stall"


@dataclass
class FaultRule:
    """One armed fault; ``remaining`` counts the requests it still applies to (None: it
    never runs out, for a subclass's standing rules; the server's switches always count)."""

    kind: str
    remaining: int | None
    methods: frozenset[str] | None
    path_contains: str | None
    status: int = 500
    retry_after: float | None = None
    message: str | None = None
    nbytes: int = 0
    offset: int = 0
    location: str = ""
    action: Callable[[], None] | None = None
    seconds: float = 0.0

    def matches(self, method: str, target: str) -> bool:
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.path_contains is None:
            return True
        return self.path_contains in target or self.path_contains in unquote(target)


class Faults:
    """The fault switches of one server (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._latency = 0.0
        self._throttle = 0.0
        self._stalls: list[threading.Event] = []  # of the responses hanging now, oldest first
        self._stalled = 0

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0 seconds")
        with self._lock:
            self._latency = float(seconds)

    @property
    def throttle(self) -> float:
        with self._lock:
            return self._throttle

    @throttle.setter
    def throttle(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("throttle must be >= 0 seconds")
        with self._lock:
            self._throttle = float(seconds)

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        methods: Iterable[str] | None = None,
        path_contains: str | None = None,
        message: str | None = None,
    ) -> None:
        check_failure(status, retry_after)
        self._arm(
            FaultRule(FAIL, n, _methods(methods), path_contains, status, retry_after, message)
        )

    def drop_after(
        self,
        nbytes: int,
        count: int = 1,
        methods: Iterable[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        self._arm(FaultRule(DROP, count, _methods(methods), path_contains, nbytes=_size(nbytes)))

    def cut_after(
        self,
        nbytes: int,
        methods: Iterable[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        self._arm(FaultRule(CUT, None, _methods(methods), path_contains, nbytes=_size(nbytes)))

    def ignore_ranges(
        self,
        count: int | None = None,
        methods: Iterable[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        self._arm(FaultRule(IGNORE_RANGES, count, _methods(methods), path_contains))

    def stall_after(
        self,
        nbytes: int,
        seconds: float = 60.0,
        count: int | None = 1,
        methods: Iterable[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        if seconds < 0:
            raise ValueError("a stall lasts >= 0 seconds")
        self._arm(FaultRule(STALL, count, _methods(methods), path_contains,
                            nbytes=_size(nbytes), seconds=float(seconds)))  # fmt: skip

    def stall(self, rule: FaultRule) -> None:
        """Hang for the ``stall_after`` rule: ``rule.seconds``, or until ``end_stalls()``
        or ``reset()`` ends it."""
        release = threading.Event()
        with self._lock:
            self._stalls.append(release)
            self._stalled += 1
        try:
            release.wait(rule.seconds)
        finally:
            with self._lock:
                if release in self._stalls:
                    self._stalls.remove(release)

    def end_stalls(self, n: int = 1) -> None:
        """End the ``n`` oldest of the responses hanging now (each then resets its
        connection, as a stall that ran out does)."""
        with self._lock:
            ending, self._stalls = self._stalls[:n], self._stalls[n:]
        for release in ending:
            release.set()

    def stalled(self) -> int:
        """How many responses began to hang (``stall_after``) since the last ``reset()``."""
        with self._lock:
            return self._stalled

    def hanging(self) -> int:
        """How many responses hang now (``stall_after``): those that began to and that
        neither their time, ``end_stalls()`` nor ``reset()`` ended yet."""
        with self._lock:
            return len(self._stalls)

    def spend(self, rule: FaultRule, nbytes: int) -> int:
        """How many of ``nbytes`` the ``cut_after`` rule still lets out (taken from it)."""
        with self._lock:
            allowed = min(nbytes, rule.nbytes)
            rule.nbytes -= allowed
            return allowed

    def truncate_next(
        self,
        nbytes: int,
        count: int = 1,
        methods: Iterable[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        rule = FaultRule(TRUNCATE, count, _methods(methods), path_contains, nbytes=_size(nbytes))
        self._arm(rule)

    def corrupt_next(
        self,
        count: int = 1,
        offset: int = 0,
        methods: Iterable[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        self._arm(FaultRule(CORRUPT, count, _methods(methods), path_contains, offset=_size(offset)))

    def redirect_next(
        self,
        location: str,
        status: int = 307,
        count: int = 1,
        methods: Iterable[str] | None = ("PUT",),
        path_contains: str | None = None,
    ) -> None:
        if not 300 <= status <= 399:
            raise ValueError(f"redirect_next needs a redirect status (300-399), not {status}")
        self._arm(
            FaultRule(REDIRECT, count, _methods(methods), path_contains, status, location=location)
        )

    def before_next(
        self,
        action: Callable[[], None],
        count: int = 1,
        methods: Iterable[str] | None = None,
        path_contains: str | None = None,
    ) -> None:
        self._arm(FaultRule(BEFORE, count, _methods(methods), path_contains, action=action))

    def before_answer(
        self,
        action: Callable[[], None],
        count: int = 1,
        methods: Iterable[str] | None = ("PUT",),
        path_contains: str | None = None,
    ) -> None:
        self._arm(FaultRule(BEFORE_ANSWER, count, _methods(methods), path_contains, action=action))

    def reset(self) -> None:
        """Disarm every rule, end every stall and set latency and throttle back to 0."""
        with self._lock:
            self._rules.clear()
            self._latency = self._throttle = 0.0
            ending, self._stalls, self._stalled = self._stalls, [], 0
        for release in ending:
            release.set()

    def pending(self) -> int:
        """How many fault applications are still armed (0 once all have fired)."""
        with self._lock:
            return sum(rule.remaining or 0 for rule in self._rules)

    def take(self, kind: str, method: str, target: str) -> FaultRule | None:
        """Use up one application of the first armed rule of ``kind`` matching a request."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.matches(method, target):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def _arm(self, rule: FaultRule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("a fault must apply to at least 1 request")
        with self._lock:
            self._rules.append(rule)


def check_failure(status: int, retry_after: float | None) -> None:
    """Refuse what ``fail_next`` cannot inject: a non-error status, a negative wait."""
    if not 400 <= status <= 599:
        raise ValueError(f"fail_next needs an error status (400-599), not {status}")
    if retry_after is not None and retry_after < 0:
        raise ValueError("retry_after must be >= 0 seconds")


def _methods(methods: Iterable[str] | None) -> frozenset[str] | None:
    if isinstance(methods, str):
        methods = (methods,)
    return None if methods is None else frozenset(m.upper() for m in methods)


def _size(value: int) -> int:
    if value < 0:
        raise ValueError("byte counts and offsets must be >= 0")
    return int(value)


def flip_byte(chunk: bytes, index: int) -> bytes:
    """``chunk`` with its byte at ``index`` inverted: what a corrupt fault does."""
    return chunk[:index] + bytes([chunk[index] ^ 0xFF]) + chunk[index + 1 :]
