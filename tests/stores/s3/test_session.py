"""The S3 store's botocore session and client settings: per-request work botocore does by
default and the store does once, or in the standard library, with the same results."""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from datetime import UTC
from pathlib import Path
from typing import Any

import aiobotocore.session
import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

import fsartifacts.stores.s3.retries as s3_retries
from fsartifacts.config.model import TransferSettings
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.session import new_session, parse_timestamp, user_agent
from fsartifacts.stores.s3.settings import S3Settings
from fsartifacts.stores.store import Store

TRANSFER = TransferSettings(jobs=2, attempts=3, timeout=20.0)


@pytest.fixture
def store(moto_server: str, bucket: str) -> Store:
    settings = S3Settings(bucket=bucket, endpoint_url=moto_server, region="us-east-1")
    return open_s3_store(settings, TRANSFER)


@pytest.mark.parametrize(
    "text",
    [
        "Tue, 01 Dec 2026 20:41:00 GMT",  # a Last-Modified header
        "2026-12-01T20:41:00.000Z",  # a listing's LastModified
        "2026-12-01T20:41:00Z",
        "2026-12-01T20:41:00.123456Z",
        "2026-12-01T20:41:00+02:00",
        "Tue, 01 Dec 2026 20:41:00 +0200",
        "Tue, 01 Dec 2026 20:41:00 -0000",  # no zone: left to botocore
        "1764621660",  # seconds since the epoch: left to botocore
        "2026-12-01 20:41:00",  # no zone either: botocore's answer, naive as it is
    ],
)
def test_timestamps_are_the_instants_botocore_reads(text: str) -> None:
    parsed, expected = parse_timestamp(text), botocore_parse_timestamp(text)
    assert parsed == expected
    assert (parsed.tzinfo is None) == (expected.tzinfo is None)


def test_what_neither_parser_reads_is_botocores_error() -> None:
    with pytest.raises(ValueError):
        botocore_parse_timestamp("not a time")
    with pytest.raises(ValueError):
        parse_timestamp("not a time")


def test_responses_timestamps_are_parsed_by_the_standard_library(
    store: Store, s3_client: Any, bucket: str
) -> None:
    """A HEAD's Last-Modified and a listing's LastModified: the instants boto3 reads, as
    the standard library's UTC (dateutil's parser, botocore's default, gives its own)."""
    s3_client.put_object(Bucket=bucket, Key="a.bin", Body=b"a")
    head = store.fs.call_s3("head_object", Bucket=bucket, Key="a.bin")
    (entry,) = store.ops.listing(store.root)
    listed = s3_client.list_objects_v2(Bucket=bucket)["Contents"][0]["LastModified"]
    headed = s3_client.head_object(Bucket=bucket, Key="a.bin")["LastModified"]
    assert head["LastModified"] == headed
    assert entry["LastModified"] == listed
    assert head["LastModified"].tzinfo is UTC
    assert entry["LastModified"].tzinfo is UTC


def test_every_request_carries_the_user_agent_composed_once(
    store: Store, bucket: str, tmp_path: Path
) -> None:
    sent: list[str] = []

    def before_send(request: Any, **_: Any) -> None:
        sent.append(request.headers["User-Agent"].decode())

    store.fs.s3.meta.events.register("before-send.s3", before_send)
    local = tmp_path / "m.bin"
    local.write_bytes(b"model")
    sha = hashlib.sha256(b"model").hexdigest()
    store.ops.upload(str(local), store.path("m.bin"), sha256=sha, exclusive=True)
    assert store.ops.read_bytes(store.path("m.bin")) == b"model"
    assert len(sent) >= 2 and len(set(sent)) == 1
    assert sent[0].startswith(user_agent())  # aiobotocore appends botocore's version
    assert user_agent().startswith("fsartifacts/")


def test_request_lines_are_worded_only_when_they_are_logged(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """botocore asks the retry handler after every request; the line for ``-v`` is made
    only when INFO is shown."""
    worded: list[str] = []

    def shown_url(url: str) -> str:
        worded.append(url)
        return url

    monkeypatch.setattr(s3_retries, "shown_url", shown_url)
    with caplog.at_level(logging.WARNING, logger="fsartifacts"):
        store.ops.listing(store.root)
    assert worded == []
    with caplog.at_level(logging.INFO, logger="fsartifacts"):
        store.ops.listing(store.root)
    assert len(worded) == 1
    assert any(store.root.split("/")[0] in r.getMessage() for r in caplog.records)


def test_the_filesystem_still_pickles_without_its_session(
    store: Store, s3_client: Any, bucket: str
) -> None:
    """fsspec pickles a filesystem as the arguments it was made with; the session made
    for it is not one of them (it does not pickle), and the copy makes its own."""
    import pickle

    s3_client.put_object(Bucket=bucket, Key="a.bin", Body=b"a")
    copy = pickle.loads(pickle.dumps(store.fs))
    assert copy.session is not store.fs.session
    head = copy.call_s3("head_object", Bucket=bucket, Key="a.bin")
    assert head["LastModified"].tzinfo is UTC


def _handlers(session: Any, event: str) -> list[Any]:
    return list(session._events._emitter._handlers.prefix_search(event))


@pytest.fixture(scope="module")
def sessions() -> tuple[Any, Any]:
    """A session of the store's, and aiobotocore's own: handlers are added under events of
    each test's own."""
    return new_session(), aiobotocore.session.AioSession()


def test_a_session_registers_botocores_handlers_as_aiobotocores_own_does(
    sessions: tuple[Any, Any],
) -> None:
    ours, theirs = sessions
    for event in ("before-parameter-build.s3.PutObject", "before-sign.s3.GetObject",
                  "after-call.s3.ListObjectsV2", "choose-signer.s3"):  # fmt: skip
        assert _handlers(ours, event) == _handlers(theirs, event) != []


class _Handlers:
    def method(self, request: Any, **kwargs: Any) -> None: ...

    def strict(self, request: Any) -> None: ...


def _with_kwargs(request: Any, **kwargs: Any) -> None: ...


def _without_kwargs(request: Any) -> None: ...


def _signed_with_kwargs(request: Any) -> None: ...


_signed_with_kwargs.__signature__ = inspect.signature(_with_kwargs)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("handler", "accepted"),
    [(_with_kwargs, True), (_without_kwargs, False), (_Handlers().method, True),
     (_Handlers().strict, False), (functools.partial(_with_kwargs, 1), True),
     (functools.partial(_without_kwargs), False), (_signed_with_kwargs, True)],
)  # fmt: skip
def test_a_handler_is_refused_without_kwargs_as_botocore_refuses_it(
    sessions: tuple[Any, Any], handler: Any, accepted: bool
) -> None:
    event = f"before-sign.s3.Op{id(handler)}"
    for session in sessions:
        if accepted:
            session.register(event, handler)
            assert handler in _handlers(session, event)
        else:
            with pytest.raises(ValueError, match="must accept keyword arguments"):
                session.register(event, handler)
