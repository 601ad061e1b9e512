"""Mistakes and store failures end in one clear line and the right exit code, never a
traceback or a false success: stores that do not exist, unknown artifact names, and
deletes the store refuses.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import fsartifacts, write_project
from tests.fixtures.remotes import Remote, yaml_config

MODEL = "    - name: model\n      file: models/model.pkl\n"


def artifactory_project(root: Path, url: str, repo: str, artifacts: str = MODEL) -> Path:
    config = (
        f"repository:\n  artifactory:\n    url: {url}\n    repo: {repo}\n"
        f"    path: team/models\n    auth: {{authType: none}}\n  artifacts:\n{artifacts}"
    )
    project = write_project(root, config)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    return project


def json_doc(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("fsartifacts: error")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- rm and prune on store errors -------------------------------------------------------------


@pytest.mark.parametrize("fault", ["no_overwrite", "server_error"])
def test_rm_refused_by_the_store_is_exit_1_with_its_json_document(
    fault: str, artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    project = artifactory_project(tmp_path / "p", artifactory_repo.url, artifactory_repo.name)
    remote = f"{artifactory_repo.name}/team/models/model_v1.0.0.pkl"
    ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True).pipe_file(
        remote, b"published"
    )
    if fault == "no_overwrite":
        artifactory_repo.server.no_overwrite = True
    else:
        artifactory_repo.server.faults.fail_next(10, 500, methods=["DELETE"])
    env = {"FSARTIFACTS_ATTEMPTS": "2", "FSARTIFACTS_TIMEOUT": "60"}
    for args in (["rm", "model", "1.0.0"], ["prune", "--keep", "1", "--project-version", "1.0.1"]):
        if args[0] == "prune":
            ArtifactoryFileSystem(
                url=artifactory_repo.url, anon=True, skip_instance_cache=True
            ).pipe_file(remote.replace("1.0.0", "1.0.1"), b"newer")
        text = fsartifacts(*args, cwd=project, env=env)
        assert text.returncode == 1, text.stderr
        line = one_line_error(text)
        assert "model" in line
        assert ("needs DELETE permission" if fault == "no_overwrite" else "HTTP 500") in line
        as_json = fsartifacts(*args, "--json", cwd=project, env=env)
        assert as_json.returncode == 1, as_json.stderr
        doc = json_doc(as_json)
        assert doc["ok"] is False
        assert [r["action"] for r in doc["results"]] == ["failed"]
        assert "Traceback" not in as_json.stderr


# -- an artifact name that is not in the config ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["push", "nope"],
        ["pull", "nope", "LATEST"],
        ["sync", "push", "nope"],
        ["sync", "pull", "nope"],
        ["list", "nope"],
        ["rm", "nope", "1.0.0"],
        ["prune", "nope", "--keep", "1"],
    ],
    ids=lambda args: "-".join(args[:2]),
)
def test_an_unknown_artifact_is_a_usage_error_listing_the_configured_names(
    args: list[str], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    artifacts = MODEL + "    - name: labels\n      file: labels.json\n"
    project = write_project(
        tmp_path / "p", f"repository:\n  url: {store.as_uri()}\n  artifacts:\n{artifacts}"
    )
    run = fsartifacts(*args, cwd=project)
    assert run.returncode == 2, run.stderr
    line = one_line_error(run)
    assert "'nope'" in line and "configured: model, labels" in line


# -- a store that does not exist is not an empty store ---------------------------------------
# Its address in the configuration is wrong: a configuration error (exit 2), which no
# retry gets past; a version missing from a store that exists is an operation's failure.


def test_a_repository_the_server_lacks_is_an_error_naming_url_and_repo(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    project = artifactory_project(tmp_path / "p", artifactory_repo.url, "no-such-repo-local")
    for args in (["list"], ["pull", "model", "LATEST"], ["push", "model"]):
        run = fsartifacts(*args, cwd=project)
        assert run.returncode == 2, (args, run.stderr)
        line = one_line_error(run)
        assert f"{artifactory_repo.url}/no-such-repo-local/team/models" in line, line
        assert "'no-such-repo-local' does not exist" in line, line
        assert "`repo`" in line and "`url`" in line, line


@pytest.fixture
def html_server(tmp_path: Path) -> Iterator[str]:
    """A plain web server (not an Artifactory) serving a folder as HTML pages."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>a web site</body></html>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    with serving(handler) as url:
        yield url


@contextlib.contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """A web server on 127.0.0.1 (port 0) answering with ``handler``: its URL, until the
    block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_base_url_that_is_not_an_artifactory_is_an_error_naming_it(
    html_server: str, tmp_path: Path
) -> None:
    project = artifactory_project(tmp_path / "p", html_server, "generic-local")
    for args in (["list"], ["pull", "model", "LATEST"], ["push", "model"]):
        run = fsartifacts(*args, cwd=project, env={"FSARTIFACTS_ATTEMPTS": "1"})
        assert run.returncode == 2, (args, run.stderr)
        line = one_line_error(run)
        assert html_server in line, line
        assert "not an Artifactory" in line and "`url`" in line, line


def test_an_s3_endpoint_that_is_a_web_server_is_an_error_naming_it(
    html_server: str, tmp_path: Path
) -> None:
    project = write_project(
        tmp_path / "p",
        f"repository:\n  s3:\n    bucket: models\n    region: us-east-1\n"
        f"    endpoint_url: {html_server}\n  artifacts:\n{MODEL}",
    )
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "FSARTIFACTS_ATTEMPTS": "1"}
    for args in (["list"], ["pull", "model", "LATEST"]):
        run = fsartifacts(*args, cwd=project, env=env)
        assert run.returncode == 2, (args, run.stderr)
        line = one_line_error(run)
        assert html_server in line and "not an S3 endpoint" in line, line
        assert "endpoint_url" in line, line


class PortalHandler(BaseHTTPRequestHandler):
    """Every request answered 200 with a web page, as a captive portal does."""

    status = 200

    def do_GET(self) -> None:
        body = b"<html><body>Sign in to the hotel wifi</body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BadGatewayHandler(PortalHandler):
    """A proxy whose S3 behind it is down: its 502 page, as nginx words it."""

    status = 502


@pytest.fixture
def portal(request: pytest.FixtureRequest) -> Iterator[str]:
    with serving(getattr(request, "param", PortalHandler)) as url:
        yield url


def s3_project(root: Path, endpoint: str) -> Path:
    project = write_project(
        root,
        f"repository:\n  s3:\n    bucket: models\n    region: us-east-1\n"
        f"    endpoint_url: {endpoint}\n  artifacts:\n{MODEL}",
    )
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    return project


def test_an_s3_endpoint_answering_200_with_a_web_page_is_an_error_naming_it(
    portal: str, tmp_path: Path
) -> None:
    """Not an empty bucket, and no push "succeeds" into it."""
    project = s3_project(tmp_path / "p", portal)
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "FSARTIFACTS_ATTEMPTS": "1"}
    for args in (["list"], ["pull", "model", "LATEST"], ["push", "model"]):
        run = fsartifacts(*args, cwd=project, env=env)
        assert run.returncode == 2, (args, run.stderr)
        line = one_line_error(run)
        assert portal in line and "not an S3 endpoint" in line and "endpoint_url" in line, line


@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_artifacts_that_are_html_pages_push_and_pull_on_s3(remote: Remote, tmp_path: Path) -> None:
    """What marks an endpoint as no S3 is an answer of its API that is a page, never the
    bytes of an object: a report or a folder of a site stored on S3 moves as any other."""
    page = b"<!DOCTYPE html>\n<html><body>the model's report</body></html>\n"
    artifacts = (
        "    - name: report\n      file: out/report.html\n    - name: site\n      file: out/site\n"
    )
    producer = write_project(tmp_path / "producer", yaml_config(remote, artifacts))
    (producer / "out" / "site" / "docs").mkdir(parents=True)
    (producer / "out" / "report.html").write_bytes(page)
    (producer / "out" / "site" / "index.html").write_bytes(page)
    (producer / "out" / "site" / "docs" / "a.html").write_bytes(b"<html>" + page)
    pushed = fsartifacts("push", "ALL", cwd=producer, env=remote.env)
    assert pushed.returncode == 0, pushed.stderr
    consumer = write_project(tmp_path / "consumer", yaml_config(remote, artifacts))
    pulled = fsartifacts("pull", "ALL", "LATEST", "-o", cwd=consumer, env=remote.env)
    assert pulled.returncode == 0, pulled.stderr
    for relative in ("report.html", "site/index.html", "site/docs/a.html"):
        want = (producer / "out" / relative).read_bytes()
        assert (consumer / "out" / relative).read_bytes() == want


@pytest.mark.parametrize("portal", [BadGatewayHandler], indirect=True)
def test_a_proxys_error_page_for_the_s3_behind_it_is_a_failure_tried_again(
    portal: str, tmp_path: Path
) -> None:
    """A 5xx (or 429) page is the proxy's word for the store's failure, not a sign that
    the endpoint is no S3: tried again, then a failed command (exit 1), the configuration
    left alone."""
    project = s3_project(tmp_path / "p", portal)
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "FSARTIFACTS_ATTEMPTS": "2"}
    run = fsartifacts("list", cwd=project, env=env)
    assert run.returncode == 1, run.stderr
    assert "not an S3 endpoint" not in run.stderr and "Traceback" not in run.stderr
    assert "retrying GET" in run.stderr and "502" in run.stderr, run.stderr


@pytest.mark.parametrize("portal", [BadGatewayHandler], indirect=True)
def test_a_proxys_error_page_for_the_artifactory_behind_it_is_a_failure_not_a_wrong_url(
    portal: str, tmp_path: Path
) -> None:
    project = artifactory_project(tmp_path / "p", portal, "generic-local")
    run = fsartifacts("list", cwd=project, env={"FSARTIFACTS_ATTEMPTS": "2"})
    assert run.returncode == 1, run.stderr
    assert "not an Artifactory" not in run.stderr and "Traceback" not in run.stderr
    assert "502" in one_line_error(run)


@pytest.mark.parametrize("variable", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_an_aws_key_with_a_line_break_is_a_configuration_error_naming_it_not_its_value(
    variable: str, moto_server: str, tmp_path: Path
) -> None:
    project = s3_project(tmp_path / "p", moto_server)
    secret = "AKIAEXAMPLEKEY0123"
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", variable: secret + "\r\n"}
    run = fsartifacts("list", cwd=project, env=env)
    assert run.returncode == 2, run.stderr
    line = one_line_error(run)
    assert line.startswith(f"fsartifacts: error: {variable} holds a line break"), line
    assert secret not in run.stderr + run.stdout


def test_a_store_folder_that_does_not_exist_fails_list_and_pull_and_push_creates_it(
    tmp_path: Path,
) -> None:
    store = tmp_path / "no" / "store"
    project = write_project(
        tmp_path / "p", f"repository:\n  url: {store.as_uri()}\n  artifacts:\n{MODEL}"
    )
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    for args in (["list"], ["pull", "model", "LATEST"], ["prune", "--keep", "1"]):
        run = fsartifacts(*args, cwd=project)
        assert run.returncode == 2, (args, run.stderr)
        line = one_line_error(run)
        assert f"nothing at {store.as_uri()}: the folder does not exist; check `url`" in line
    assert not store.exists()
    pushed = fsartifacts("push", "model", cwd=project)
    assert pushed.returncode == 0, pushed.stderr
    assert (store / "model_v1.0.0.pkl").read_bytes() == b"the model\n"


def test_an_empty_place_in_an_existing_store_lists_no_versions_yet_and_pull_fails(
    remote: Remote, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "p", yaml_config(remote, MODEL))
    listed = fsartifacts("list", cwd=project, env=remote.env)
    assert listed.returncode == 0, listed.stderr
    assert "no versions of model at " in listed.stdout and " yet" in listed.stdout
    pulled = fsartifacts("pull", "model", "LATEST", cwd=project, env=remote.env)
    assert pulled.returncode == 1, pulled.stderr
    assert "Versions there: none." in one_line_error(pulled)
