"""Storage options of ``artifactory://``: ``base_url`` (``url`` its alias), what travels in
``storage_options`` and pickles, and credentials from the environment read at each request."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import fsspec
import pandas as pd
import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import ARTIFACTORY_TOKEN, ArtifactoryRepo
from tests.fixtures.dask import worker_environment

if TYPE_CHECKING:
    from distributed import Client

ENVIRONMENT = ("ARTIFACTORY_URL", "ARTIFACTORY_USER", "ARTIFACTORY_TOKEN")


@pytest.fixture(autouse=True)
def _no_artifactory_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own $ARTIFACTORY_* must not leak into these tests."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_instance_cache() -> Any:
    ArtifactoryFileSystem.clear_instance_cache()
    yield
    ArtifactoryFileSystem.clear_instance_cache()


def _in_a_process_without_the_environment(code: str, blob: bytes) -> subprocess.CompletedProcess:
    """Run ``code`` with the pickle ``blob`` as ``fs``, in a process with no $ARTIFACTORY_*."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    script = f"import pickle, sys\nfs = pickle.loads(sys.stdin.buffer.read())\n{code}\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        input=blob,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", ["base_url", "url"])
def test_the_server_is_base_url_or_its_alias_url_and_is_kept_as_base_url(
    artifactory_repo: ArtifactoryRepo, name: str
) -> None:
    fs = fsspec.filesystem("artifactory", **{name: artifactory_repo.url + "/"})
    assert fs.url == artifactory_repo.url
    assert fs.storage_options["base_url"] == artifactory_repo.url
    assert "url" not in fs.storage_options and fs.storage_args == ()
    assert json.loads(fs.to_json())["base_url"] == artifactory_repo.url
    fs.pipe_file(f"{artifactory_repo.name}/{name}.txt", b"x")
    assert fs.ls(artifactory_repo.name, detail=False) == [f"{artifactory_repo.name}/{name}.txt"]


def test_two_different_server_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="give only base_url"):
        ArtifactoryFileSystem(base_url="https://a/artifactory", url="https://b/artifactory")


def test_pandas_and_get_mapper_take_base_url(artifactory_repo: ArtifactoryRepo) -> None:
    options = {"base_url": artifactory_repo.url}
    where = f"artifactory://{artifactory_repo.name}/frames/table.parquet"
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_parquet(where, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_parquet(where, storage_options=options), frame)
    mapper = fsspec.get_mapper(f"artifactory://{artifactory_repo.name}/kv", **options)
    mapper["one"] = b"1"
    assert dict(mapper) == {"one": b"1"}


def test_url_to_fs_takes_base_url_flat_and_url_only_nested(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    """As the README says: ``base_url`` flat, ``url`` under the protocol's name only,
    since ``url_to_fs``, ``get_mapper`` and ``open_local`` have a ``url`` parameter."""
    repo = artifactory_repo.name
    ArtifactoryFileSystem(base_url=artifactory_repo.url).pipe_file(f"{repo}/flat/a.txt", b"a")
    fs, path = fsspec.core.url_to_fs(f"artifactory://{repo}/flat", base_url=artifactory_repo.url)
    assert (fs.url, path) == (artifactory_repo.url, f"{repo}/flat")
    assert fs.ls(path, detail=False) == [f"{repo}/flat/a.txt"]
    nested, _ = fsspec.core.url_to_fs(
        f"artifactory://{repo}/flat", artifactory={"url": artifactory_repo.url}
    )
    assert nested.url == artifactory_repo.url
    with fsspec.open(f"artifactory://{repo}/flat/a.txt", url=artifactory_repo.url) as f:
        assert f.read() == b"a"  # fsspec.open's own parameter is urlpath: url is ours
    for call in (fsspec.core.url_to_fs, fsspec.get_mapper, fsspec.open_local):
        with pytest.raises(TypeError, match="multiple values for argument 'url'"):
            call(f"artifactory://{repo}/flat", url=artifactory_repo.url)


def test_the_url_alias_reaches_pandas_and_get_mapper_as_an_artifactory_option(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    """fsspec.url_to_fs (under pandas and get_mapper) has a parameter of its own named
    ``url``: the alias goes there under the protocol's name, as fsspec allows for any."""
    options = {"artifactory": {"url": artifactory_repo.url}}
    where = f"artifactory://{artifactory_repo.name}/frames/alias.csv"
    frame = pd.DataFrame({"a": [1, 2]})
    frame.to_csv(where, index=False, storage_options={"url": artifactory_repo.url})
    pd.testing.assert_frame_equal(
        pd.read_csv(where, storage_options={"url": artifactory_repo.url}), frame
    )
    frame.to_parquet(where + ".parquet", storage_options=options)
    pd.testing.assert_frame_equal(
        pd.read_parquet(where + ".parquet", storage_options=options), frame
    )
    mapper = fsspec.get_mapper(f"artifactory://{artifactory_repo.name}/kv-alias", **options)
    mapper["two"] = b"2"
    assert list(mapper) == ["two"]


def test_a_pickle_made_from_artifactory_url_lists_where_the_variable_is_unset(
    artifactory_repo: ArtifactoryRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTORY_URL", artifactory_repo.url)
    fs = ArtifactoryFileSystem()
    fs.pipe_file(f"{artifactory_repo.name}/env/one.txt", b"1")
    done = _in_a_process_without_the_environment(
        f"print(fs.url, fs.ls({artifactory_repo.name + '/env'!r}, detail=False))",
        pickle.dumps(fs),
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == [
        artifactory_repo.url,
        f"['{artifactory_repo.name}/env/one.txt']",
    ]


def test_a_worker_without_the_environment_token_gets_a_clear_401(
    artifactory_secure_server: ArtifactoryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTORY_URL", artifactory_secure_server.url)
    monkeypatch.setenv("ARTIFACTORY_TOKEN", ARTIFACTORY_TOKEN)
    fs = ArtifactoryFileSystem()
    fs.pipe_file("generic-local/env-worker.txt", b"w")
    blob = pickle.dumps(fs)
    assert ARTIFACTORY_TOKEN.encode() not in blob
    done = _in_a_process_without_the_environment(
        "try:\n    fs.cat_file('generic-local/env-worker.txt')\n"
        "except PermissionError as exc:\n    print(type(exc).__name__, exc)\n",
        blob,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "PermissionError" in done.stdout.decode()
    assert "401" in done.stdout.decode()


def test_a_cached_instance_uses_a_token_set_after_it_was_made_and_a_rotated_one(
    artifactory_secure_server: ArtifactoryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = artifactory_secure_server.url
    early = fsspec.filesystem("artifactory", base_url=url)
    assert early.anonymous
    with pytest.raises(PermissionError):
        early.cat_file("generic-local/late-token.txt")
    monkeypatch.setenv("ARTIFACTORY_TOKEN", ARTIFACTORY_TOKEN)
    fs = fsspec.filesystem("artifactory", base_url=url)
    assert fs is early  # fsspec's instance cache
    assert fs.auth_description.startswith("bearer token")
    fs.pipe_file("generic-local/late-token.txt", b"now")
    assert fs.cat_file("generic-local/late-token.txt") == b"now"
    monkeypatch.setenv("ARTIFACTORY_TOKEN", "a-rotated-token")
    artifactory_secure_server.clear_requests()
    with pytest.raises(PermissionError):
        fs.cat_file("generic-local/late-token.txt")
    sent = [r.headers.get("Authorization") for r in artifactory_secure_server.requests]
    assert sent and set(sent) == {"Bearer a-rotated-token"}


def test_dask_workers_fail_the_task_without_the_environment_token_and_read_with_it(
    artifactory_secure_server: ArtifactoryServer,
    dask_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two worker processes unpickle a filesystem configured from the environment: the
    URL travels, the token does not, and its absence is a task error, never a hang."""
    import dask.dataframe as dd

    url = artifactory_secure_server.url
    where = "artifactory://generic-local/dask/table.parquet"
    frame = pd.DataFrame({"a": [3, 1, 2]})
    frame.to_parquet(where, storage_options={"base_url": url, "token": ARTIFACTORY_TOKEN})
    # Set after the workers started: the client has the environment, they do not.
    monkeypatch.setenv("ARTIFACTORY_URL", url)
    monkeypatch.setenv("ARTIFACTORY_TOKEN", ARTIFACTORY_TOKEN)
    with pytest.raises(PermissionError, match="401"):
        dask_client.compute(dd.read_parquet(where)).result()
    # The workers' filesystems read the environment at each request: now they have it.
    with worker_environment(dask_client, ARTIFACTORY_TOKEN=ARTIFACTORY_TOKEN):
        # A graph of its own: the scheduler may still hold the first one's erred tasks.
        rows = dask_client.compute(dd.read_parquet(where, columns=["a"])).result()
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert sorted(rows["a"].tolist()) == [1, 2, 3]


def test_the_instance_cache_tells_servers_named_by_artifactory_url_apart(
    artifactory_repo: ArtifactoryRepo,
    artifactory_secure_server: ArtifactoryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARTIFACTORY_URL", artifactory_repo.url)
    first = fsspec.filesystem("artifactory")
    assert fsspec.filesystem("artifactory") is first
    monkeypatch.setenv("ARTIFACTORY_URL", artifactory_secure_server.url)
    assert fsspec.filesystem("artifactory").url == artifactory_secure_server.url
    assert first.url == artifactory_repo.url


def test_credentials_in_a_given_url_travel_as_options_and_those_in_the_environment_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fs = ArtifactoryFileSystem(base_url="http://me:secret@h.example/artifactory")
    assert fs.storage_options == {
        "base_url": "http://h.example/artifactory",
        "user": "me",
        "password": "secret",
    }
    assert pickle.loads(pickle.dumps(fs)).auth_description == "user 'me' (given)"
    assert "secret" not in fs.to_json() and "secret" not in repr(fs)
    monkeypatch.setenv("ARTIFACTORY_URL", "http://env:hidden@h.example/artifactory")
    from_env = ArtifactoryFileSystem()
    assert from_env.auth_description.startswith("user 'env'")
    assert from_env.storage_options == {"base_url": "http://h.example/artifactory"}
    assert b"hidden" not in pickle.dumps(from_env)
