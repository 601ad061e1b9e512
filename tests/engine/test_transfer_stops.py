"""The files of a folder stopped while one of them still waits for the server's first
answer (the local Artifactory server, and moto behind a proxy), through each store's own
download: no response exists yet under that request for the stop to close."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from fsspec.callbacks import Callback

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.config.model import TransferSettings
from fsartifacts.engine.folderstop import in_flight_of
from fsartifacts.engine.transfers import Transfers
from fsartifacts.inflight import Stopped
from fsartifacts.progressbars import Tally
from fsartifacts.stores.artifactory.ops import ArtifactoryOps
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.settings import S3Settings
from tests.fixtures.artifactory import ServerHold
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.stops import refuse_next_get

HANG = 30  # seconds: only a folder that waits for the held answer reaches it
FILES = {"held.bin": os.urandom(3000), "refused.bin": os.urandom(3000)}


class Bar(Callback):
    """The progress the folder's files report, in bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.moved = 0

    def call(self, *args: Any, **kwargs: Any) -> None:
        self.moved = self.value


class Sink:
    """Where one file's download goes: what it was given, chunk by chunk."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)


def store_of(kind: str, request: pytest.FixtureRequest) -> tuple[StoreOps, str, ServerHold]:
    """FILES on the store, the folder they are in, and a hold of the GET of held.bin
    (not entered yet) on the server that answers it (the proxy before moto, for S3); the
    GET of refused.bin is refused for good (403)."""
    if kind == "artifactory":
        repo = request.getfixturevalue("artifactory_repo")
        fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True, timeout=600)
        for name, data in FILES.items():
            fs.pipe_file(f"{repo.name}/folder/{name}", data)
        hold = ServerHold(repo.server, "held.bin")
        refuse_next_get(hold, "refused.bin")
        return ArtifactoryOps(fs), f"{repo.name}/folder", hold
    bucket, client = request.getfixturevalue("bucket"), request.getfixturevalue("s3_client")
    proxy: FaultProxy = request.getfixturevalue("proxy")
    for name, data in FILES.items():
        client.put_object(Bucket=bucket, Key=f"folder/{name}", Body=data)
    settings = S3Settings(bucket=bucket, endpoint_url=proxy.url, region="us-east-1")
    store = open_s3_store(settings, TransferSettings(timeout=600, attempts=1))
    hold = ServerHold(proxy, "held.bin")
    refuse_next_get(hold, "refused.bin")
    return store.ops, f"{bucket}/folder", hold


@pytest.mark.parametrize("kind", ["artifactory", "s3"])
def test_a_file_left_waiting_for_its_answer_writes_nothing_once_its_folder_has_failed(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """refused.bin fails for good while held.bin's request waits for the server's first
    answer: the folder's failure is raised without waiting for that answer, the file it
    left behind keeps its slot of -j until its request ends, and once answered it writes
    nothing, nor reports any progress."""
    ops, folder, hold = store_of(kind, request)
    transfers, bar = Transfers(2), Bar()
    tally = Tally(bar)
    sinks = {name: Sink() for name in FILES}
    raised: list[BaseException] = []
    threads: dict[str, threading.Thread] = {}  # the thread each file runs on

    def download(name: str, callback: Callback) -> None:
        threads[name] = threading.current_thread()
        ops.download(f"{folder}/{name}", sinks[name], callback=callback,
                     in_flight=in_flight_of(callback))  # fmt: skip

    def pull() -> None:
        try:
            transfers.files(tally, leave=True).each(download, list(FILES))
        except BaseException as exc:
            raised.append(exc)

    with hold:
        pulling = threading.Thread(target=pull)
        pulling.start()
        hold.wait()
        pulling.join(HANG)  # the hold lasts longer
        assert not pulling.is_alive(), "the folder waited for the held file's answer"
        left = threads["held.bin"]
        assert left.is_alive()
        threads["refused.bin"].join(HANG)  # ending, if the grace did not see it end
        # The held file's slot is still taken: one of -j 2 is free.
        assert transfers.spare_slot(0)
        assert not transfers.spare_slot(0)
        transfers.release_spare()
        written, moved = [len(s.chunks) for s in sinks.values()], bar.moved
        hold.release()  # the held file is answered now, its bytes on their way
        left.join(HANG)
        assert not left.is_alive()
    (error,) = raised
    assert "refused.bin" in str(error) and not isinstance(error, Stopped), repr(error)
    assert [len(s.chunks) for s in sinks.values()] == written
    assert not sinks["held.bin"].chunks
    assert bar.moved == moved
    assert transfers.spare_slot(0) and transfers.spare_slot(0)  # both of -j 2 free again
