"""End to end on Artifactory: the installed command over HTTP to the local server.

Every credential source and auth type is driven through the real CLI, the
skelebot bugs of reference/peers.md section 4 that concern Artifactory are
pinned by tests named after them, and the server's request log shows what
went over the wire (which credential header, how many listings, how many
tries). Each run of the command costs a few tenths of a second, so remote
state a test only needs to *be there* is seeded straight through
:class:`ArtifactoryFileSystem` instead.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.stores.artifactory.ops import HASHED_AS_SENT_MIN
from fsartifacts.testing.artifactory import ArtifactoryServer
from fsartifacts.testing.requestlog import RequestRecord
from tests.fixtures.artifactory import (
    ARTIFACTORY_API_KEY,
    ARTIFACTORY_PASSWORD,
    ARTIFACTORY_TOKEN,
    ARTIFACTORY_USER,
    ArtifactoryRepo,
    reset_server,
)
from tests.fixtures.cli import (
    THREE_ARTIFACTS,
    fsartifacts,
    start,
    tree_digest,
    write_project,
    write_three,
)

# -- helpers --------------------------------------------------------------------

BASIC = "Basic " + base64.b64encode(f"{ARTIFACTORY_USER}:{ARTIFACTORY_PASSWORD}".encode()).decode()
CREDENTIAL_HEADERS = ("authorization", "x-jfrog-art-api", "x-api-key", "cookie")


@pytest.fixture
def secure_repo(artifactory_secure_server: ArtifactoryServer) -> Iterator[ArtifactoryRepo]:
    """A fresh repository of this test's own on the server that requires credentials."""
    name = f"sec-{uuid.uuid4().hex[:12]}-local"
    reset_server(artifactory_secure_server)
    artifactory_secure_server.add_repo(name)
    yield ArtifactoryRepo(artifactory_secure_server, name)
    reset_server(artifactory_secure_server)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home folder: the developer's own ~/.netrc must not answer for the tests."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def run(
    *args: str,
    cwd: Path,
    home: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    # NETRC empty: ~/.netrc, i.e. the test's own home, whatever the developer's shell says.
    isolated = {"HOME": str(home), "NETRC": "", **(env or {})}
    return fsartifacts(*args, cwd=cwd, env=isolated, input=input)


def config(
    url: str,
    repo: str,
    artifacts: str,
    *,
    path: str | None = "team/models",
    auth: str = "{authType: none}",
) -> str:
    path_line = f"    path: {path}\n" if path else ""
    return (
        f"repository:\n  artifactory:\n    url: {url}\n    repo: {repo}\n{path_line}"
        f"    auth: {auth}\n  artifacts:\n{artifacts}"
    )


MODEL = "    - name: model\n      file: models/model.pkl\n"
THREE = THREE_ARTIFACTS


def build(root: Path, seed: str) -> None:
    """The files of THREE; here the singular artifact changes with ``seed`` too."""
    write_three(root, seed, labels=f'["{seed}"]')


def admin_fs(server: ArtifactoryServer) -> ArtifactoryFileSystem:
    """How the tests see the server: the configured user, or anonymous."""
    if server.credentials.enabled:
        return ArtifactoryFileSystem(
            url=server.url,
            user=ARTIFACTORY_USER,
            password=ARTIFACTORY_PASSWORD,
            skip_instance_cache=True,
        )
    return ArtifactoryFileSystem(url=server.url, anon=True, skip_instance_cache=True)


def credential_headers(record: RequestRecord) -> dict[str, str]:
    return {k.lower(): v for k, v in record.headers.items() if k.lower() in CREDENTIAL_HEADERS}


def json_doc(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def by_artifact(doc: dict[str, Any], field: str) -> dict[str, Any]:
    return {r["artifact"]: r[field] for r in doc["results"]}


def netrc_home(home: Path, password: str) -> None:
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {ARTIFACTORY_USER}\n  password {password}\n")
    netrc.chmod(0o600)


def create_secret(endpoint: str, secret_id: str, value: dict[str, str]) -> None:
    """A secret in moto's Secrets Manager, as JSON (skelebot's format)."""
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    client.create_secret(Name=secret_id, SecretString=json.dumps(value))


# -- push, pull, list and ALL LATEST with every auth type ----------------------------

# (id, authType, extra CLI args, extra environment, write ~/.netrc, the headers the server sees)
AUTH_CASES = [
    ("user_pass-flags", "user_pass", ["-u", ARTIFACTORY_USER, "-t", ARTIFACTORY_PASSWORD], {},
     False, {"authorization": BASIC}),
    ("user_pass-env", "user_pass", [],
     {"ARTIFACTORY_USER": ARTIFACTORY_USER, "ARTIFACTORY_TOKEN": ARTIFACTORY_PASSWORD},
     False, {"authorization": BASIC}),
    ("user_pass-netrc", "user_pass", [], {}, True, {"authorization": BASIC}),
    ("token", "token", ["-t", ARTIFACTORY_TOKEN], {}, False,
     {"authorization": f"Bearer {ARTIFACTORY_TOKEN}"}),
    ("api_key", "api_key", ["-t", ARTIFACTORY_API_KEY], {}, False,
     {"x-jfrog-art-api": ARTIFACTORY_API_KEY}),
    ("none", "none", [], {}, False, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("auth_type", "args", "env", "with_netrc", "headers"),
    [case[1:] for case in AUTH_CASES],
    ids=[case[0] for case in AUTH_CASES],
)
def test_push_pull_list_and_all_latest_with_each_auth_type(
    auth_type: str,
    args: list[str],
    env: dict[str, str],
    with_netrc: bool,
    headers: dict[str, str],
    request: pytest.FixtureRequest,
    home: Path,
    tmp_path: Path,
) -> None:
    repo: ArtifactoryRepo = request.getfixturevalue(
        "artifactory_repo" if auth_type == "none" else "secure_repo"
    )
    server = repo.server
    if with_netrc:
        netrc_home(home, ARTIFACTORY_PASSWORD)
    cfg = config(repo.url, repo.name, THREE, auth=f"{{authType: {auth_type}}}")
    # Older builds already there: another major, and an older minor of this one.
    fs = admin_fs(server)
    fs.pipe_file(f"{repo.name}/team/models/model_v2.0.0.pkl", b"major two")
    fs.pipe_file(f"{repo.name}/team/models/model_v1.1.0.pkl", b"one one")
    server.clear_requests()

    producer = write_project(tmp_path / "producer", cfg, "1.2.0")
    build(producer, "twelve")
    pushed = run("push", "ALL", *args, cwd=producer, home=home, env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert "3 artifacts: 3 pushed" in pushed.stdout

    consumer = write_project(tmp_path / "consumer", cfg, "1.5.0")
    pulled = run("pull", "ALL", "latest", *args, "--json", cwd=consumer, home=home, env=env)
    assert pulled.returncode == 0, pulled.stderr
    doc = json_doc(pulled)
    # LATEST: same major, not above 1.5.0, so 1.2.0 and never 2.0.0.
    assert by_artifact(doc, "version") == {"model": "1.2.0", "features": "1.2.0", "labels": None}
    assert tree_digest(consumer / "features_v1.2.0") == tree_digest(producer / "data" / "features")
    built = (producer / "models" / "model.pkl").read_bytes()
    assert (consumer / "model_v1.2.0.pkl").read_bytes() == built
    assert (consumer / "labels.json").read_text() == '["twelve"]'

    listed = run("list", "model", *args, "--json", cwd=consumer, home=home, env=env)
    assert listed.returncode == 0, listed.stderr
    (model,) = json_doc(listed)["artifacts"]
    assert [v["version"] for v in model["versions"]] == ["2.0.0", "1.2.0", "1.1.0"]
    assert model["latest"] == "1.2.0"

    # Every request carried the credentials of this auth type, and only those.
    records = server.requests
    assert len(records) >= 8
    for record in records:
        assert credential_headers(record) == headers, record
        assert record.status not in (401, 403), record


def test_token_stdin(secure_repo: ArtifactoryRepo, home: Path, tmp_path: Path) -> None:
    cfg = config(secure_repo.url, secure_repo.name, MODEL, auth="{authType: token}")
    project = write_project(tmp_path / "p", cfg)
    build(project, "stdin")
    pushed = run("push", "model", "--token-stdin", "-v", "-v", cwd=project, home=home,
                 input=ARTIFACTORY_TOKEN + "\n")  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert "access token from --token-stdin" in pushed.stderr  # -v -v says where it came from
    assert ARTIFACTORY_TOKEN not in pushed.stdout + pushed.stderr
    records = secure_repo.server.requests
    assert records
    for record in records:
        assert credential_headers(record) == {"authorization": f"Bearer {ARTIFACTORY_TOKEN}"}
    stored = admin_fs(secure_repo.server).cat_file(
        f"{secure_repo.name}/team/models/model_v1.0.0.pkl"
    )
    assert stored == (project / "models" / "model.pkl").read_bytes()


# -- wrong and missing credentials ------------------------------------------------------

WRONG = "Wrong-Secret-4711"

# (id, authType, CLI args, environment, ~/.netrc password, the source the message names)
WRONG_CASES = [
    ("flag", "user_pass", ["-u", ARTIFACTORY_USER, "-t", WRONG], {}, None,
     f"password of user '{ARTIFACTORY_USER}' from --token"),
    ("env", "user_pass", [], {"ARTIFACTORY_USER": ARTIFACTORY_USER, "ARTIFACTORY_TOKEN": WRONG},
     None, f"password of user '{ARTIFACTORY_USER}' from $ARTIFACTORY_TOKEN"),
    ("netrc", "user_pass", [], {}, WRONG, f"password of user '{ARTIFACTORY_USER}' from ~/.netrc"),
    ("api_key", "api_key", ["-t", WRONG], {}, None, "API key from --token"),  # a 403, not a 401
]  # fmt: skip


@pytest.mark.parametrize(
    ("auth_type", "args", "env", "netrc_password", "source"),
    [case[1:] for case in WRONG_CASES],
    ids=[case[0] for case in WRONG_CASES],
)
def test_wrong_credentials_exit_1_naming_their_source_never_the_secret(
    auth_type: str,
    args: list[str],
    env: dict[str, str],
    netrc_password: str | None,
    source: str,
    secure_repo: ArtifactoryRepo,
    home: Path,
    tmp_path: Path,
) -> None:
    if netrc_password:
        netrc_home(home, netrc_password)
    cfg = config(secure_repo.url, secure_repo.name, MODEL, auth=f"{{authType: {auth_type}}}")
    project = write_project(tmp_path / "p", cfg)
    build(project, "wrong")
    refused = run("push", "model", *args, "--json", "-v", "-v", cwd=project, home=home, env=env)
    assert refused.returncode == 1, refused.stderr
    assert f"refused the {source}" in refused.stderr
    (result,) = json_doc(refused)["results"]
    assert result["action"] == "failed" and f"refused the {source}" in result["error"]
    output = refused.stdout + refused.stderr  # -v -v adds the debug traceback: clean too
    assert "Traceback" in refused.stderr
    assert WRONG not in output
    assert base64.b64encode(f"{ARTIFACTORY_USER}:{WRONG}".encode()).decode() not in output
    assert not admin_fs(secure_repo.server).exists(f"{secure_repo.name}/team/models")


def test_skelebot_C2_no_prompt_without_a_terminal(
    secure_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """skelebot prompted for credentials in CI and died with EOFError. Without a terminal
    nothing is asked: the run goes anonymous and the server's 401 becomes exit 2 with
    the ways to give credentials."""
    cfg = config(secure_repo.url, secure_repo.name, MODEL, auth="{authType: user_pass}")
    project = write_project(tmp_path / "p", cfg)
    build(project, "c2")
    admin_fs(secure_repo.server).pipe_file(
        f"{secure_repo.name}/team/models/model_v1.0.0.pkl", b"there"
    )
    # stdin a pipe holding an answer (a prompt would read it), and stdin /dev/null.
    runs = [
        run("pull", "ALL", "LATEST", cwd=project, home=home, input=f"{ARTIFACTORY_USER}\nx\n"),
        run("push", "ALL", cwd=project, home=home),
        run("list", cwd=project, home=home),
    ]
    for result in runs:
        assert result.returncode == 2, result.stderr
        err = result.stderr
        assert "requires credentials and none were given" in err
        for way in ("-u USER", "--token-stdin", "$ARTIFACTORY_TOKEN", "~/.netrc", "aws: true"):
            assert way in err
        assert "EOFError" not in err and "Traceback" not in err
        assert "Artifactory user for" not in err and "password for" not in err
    assert not (project / "model_v1.0.0.pkl").exists()
    assert all(r.status != 200 for r in secure_repo.server.requests)


# -- secrets never show --------------------------------------------------------------


@pytest.mark.parametrize("source", ["flag", "env", "aws"])
def test_a_token_never_shows_in_debug_or_json_output(
    source: str,
    secure_repo: ArtifactoryRepo,
    home: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    args: list[str] = []
    env: dict[str, str] = {}
    auth = "{authType: token}"
    if source == "flag":
        args = ["-t", ARTIFACTORY_TOKEN]
    elif source == "env":
        env = {"ARTIFACTORY_TOKEN": ARTIFACTORY_TOKEN}
    else:
        endpoint = request.getfixturevalue("moto_server")
        secret_id = f"artifactory-{uuid.uuid4().hex[:8]}"
        create_secret(endpoint, secret_id, {"user": ARTIFACTORY_USER, "token": ARTIFACTORY_TOKEN})
        auth = f"{{authType: token, aws: true, awsSecret: {secret_id}}}"
        env = {"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint}
    project = write_project(
        tmp_path / "p", config(secure_repo.url, secure_repo.name, THREE, auth=auth)
    )
    build(project, "secret")
    pushed = run("push", "ALL", *args, "-v", "-v", cwd=project, home=home, env=env)
    assert pushed.returncode == 0, pushed.stderr
    pulled = run(
        "pull", "ALL", "LATEST", *args, "--json", "-v", "-v", cwd=project, home=home, env=env
    )
    assert pulled.returncode == 0, pulled.stderr
    assert json_doc(pulled)["ok"] is True
    where = {"flag": "--token", "env": "$ARTIFACTORY_TOKEN", "aws": "AWS Secrets Manager"}[source]
    # Debug output says what was used and where it came from...
    assert "Artifactory credentials: access token" in pushed.stderr
    assert where in pushed.stderr
    for result in (pushed, pulled):  # ...never the secret
        assert ARTIFACTORY_TOKEN not in result.stdout
        assert ARTIFACTORY_TOKEN not in result.stderr
    # The token was really used, so the checks above could have failed.
    assert {credential_headers(r).get("authorization") for r in secure_repo.server.requests} == {
        f"Bearer {ARTIFACTORY_TOKEN}"
    }


def test_validate_never_shows_a_token_from_the_environment(home: Path, tmp_path: Path) -> None:
    """A token that reaches the config through ${ARTIFACTORY_TOKEN} is redacted by validate."""
    cfg = config(
        "http://${ARTIFACTORY_USER}:${ARTIFACTORY_TOKEN}@127.0.0.1:8081/artifactory",
        "generic-local",
        MODEL,
        auth="{authType: user_pass}",
    )
    project = write_project(tmp_path / "p", cfg)
    env = {"ARTIFACTORY_USER": ARTIFACTORY_USER, "ARTIFACTORY_TOKEN": ARTIFACTORY_TOKEN}
    text = run("validate", "-v", "-v", cwd=project, home=home, env=env)
    as_json = run("validate", "--json", "-v", "-v", cwd=project, home=home, env=env)
    for result in (text, as_json):
        assert result.returncode == 0, result.stderr
        assert ARTIFACTORY_TOKEN not in result.stdout + result.stderr
    shown = json_doc(as_json)["repository"]["artifactory"]["url"]
    assert shown == f"http://{ARTIFACTORY_USER}:***@127.0.0.1:8081/artifactory"


# -- skelebot's layout, and the overwrite permission ---------------------------------------


def test_skelebot_remote_layout(
    artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """url/repo/path puts an artifact at {url}/{repo}/{path}/{name}_v{version}{ext}, where
    skelebot's ArtifactoryPath put it, so each tool finds what the other pushed."""
    cfg = config(artifactory_repo.url, artifactory_repo.name, MODEL, path="team/models")
    project = write_project(tmp_path / "p", cfg, "1.3.0")
    build(project, "layout")
    pushed = run("push", "model", cwd=project, home=home)
    assert pushed.returncode == 0, pushed.stderr
    url = f"{artifactory_repo.url}/{artifactory_repo.name}/team/models/model_v1.3.0.pkl"
    assert url in pushed.stdout
    with urllib.request.urlopen(url) as response:  # a plain GET, as any other client does
        assert response.read() == (project / "models" / "model.pkl").read_bytes()
    on_disk = artifactory_repo.server.root / artifactory_repo.name / "team" / "models"
    # Beside it only what fsartifacts records of it, hidden (a dot) from skelebot's listing.
    assert sorted(p.name for p in on_disk.iterdir()) == [
        ".model_v1.3.0.pkl.fsartifacts-provenance.json",
        "model_v1.3.0.pkl",
    ]


@pytest.mark.parametrize("authenticated", [True, False], ids=["user_pass", "anonymous"])
def test_no_overwrite_server_refuses_push_force_with_a_permission_message(
    authenticated: bool, request: pytest.FixtureRequest, home: Path, tmp_path: Path
) -> None:
    """A user without the Delete permission cannot overwrite: Artifactory answers 403."""
    repo: ArtifactoryRepo = request.getfixturevalue(
        "secure_repo" if authenticated else "artifactory_repo"
    )
    auth = "{authType: user_pass}" if authenticated else "{authType: none}"
    args = ["-u", ARTIFACTORY_USER, "-t", ARTIFACTORY_PASSWORD] if authenticated else []
    project = write_project(tmp_path / "p", config(repo.url, repo.name, MODEL, auth=auth))
    build(project, "new build")
    remote = f"{repo.name}/team/models/model_v1.0.0.pkl"
    fs = admin_fs(repo.server)
    fs.pipe_file(remote, b"the published 1.0.0")
    repo.server.no_overwrite = True
    refused = run("push", "model", "-f", *args, cwd=project, home=home)
    assert refused.returncode == 1, refused.stderr
    err = refused.stderr
    assert "Not enough permissions to delete/overwrite artifact" in err
    assert "needs DELETE permission" in err
    assert "Traceback" not in err
    if authenticated:
        # The password was fine: the message must not send the user hunting for another.
        assert "was accepted, but that user lacks the permission" in err
        assert "refused the" not in err
    else:
        assert "access denied for anonymous requests" in err
    fs.invalidate_cache()
    assert fs.cat_file(remote) == b"the published 1.0.0"


# -- skelebot's bugs, pinned --------------------------------------------------------------


def test_skelebot_A3_underscore_v_in_the_url_does_not_break_latest(
    artifactory_server: ArtifactoryServer, home: Path, tmp_path: Path
) -> None:
    """skelebot split the whole URL on "_v": a repo named ml_vault broke LATEST."""
    repo = f"ml_vault_{uuid.uuid4().hex[:8]}-local"
    reset_server(artifactory_server)
    artifactory_server.add_repo(repo)
    cfg = config(artifactory_server.url, repo, MODEL, path="proj_v2/models")
    fs = admin_fs(artifactory_server)
    fs.pipe_file(f"{repo}/proj_v2/models/model_v1.0.0.pkl", b"one oh")
    fs.pipe_file(f"{repo}/proj_v2/models/model_v1.9.0.pkl", b"one nine")
    producer = write_project(tmp_path / "producer", cfg, "1.2.0")
    build(producer, "a3")
    assert run("push", "model", cwd=producer, home=home).returncode == 0
    consumer = write_project(tmp_path / "consumer", cfg, "1.5.0")
    pulled = run("pull", "model", "LATEST", "--json", cwd=consumer, home=home)
    assert pulled.returncode == 0, pulled.stderr
    assert by_artifact(json_doc(pulled), "version") == {"model": "1.2.0"}
    built = (producer / "models" / "model.pkl").read_bytes()
    assert (consumer / "model_v1.2.0.pkl").read_bytes() == built


def test_skelebot_A4_substring_artifact_names_never_match_on_artifactory(
    artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """skelebot's `f"{name}_v{major}" in path` took mymodel_v1.4.0.pkl for artifact model."""
    fs = admin_fs(artifactory_repo.server)
    folder = f"{artifactory_repo.name}/team/models"
    fs.pipe_file(f"{folder}/mymodel_v1.4.0.pkl", b"another artifact")
    fs.pipe_file(f"{folder}/model_v1.1.0.pkl", b"the model")
    fs.pipe_file(f"{folder}/model_v1.2.0.json", b"another extension")
    project = write_project(
        tmp_path / "p", config(artifactory_repo.url, artifactory_repo.name, MODEL), "1.5.0"
    )
    pulled = run("pull", "model", "LATEST", cwd=project, home=home)
    assert pulled.returncode == 0, pulled.stderr
    assert (project / "model_v1.1.0.pkl").read_bytes() == b"the model"
    assert not (project / "mymodel_v1.4.0.pkl").exists()
    listed = run("list", "model", "--json", cwd=project, home=home)
    (model,) = json_doc(listed)["artifacts"]
    assert [v["version"] for v in model["versions"]] == ["1.1.0"]
    assert model["latest"] == "1.1.0"


def test_skelebot_A9_one_listing_per_remote_folder(
    artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """skelebot walked the folder per artifact; pull ALL LATEST lists it once per run."""
    cfg = config(artifactory_repo.url, artifactory_repo.name, THREE)
    producer = write_project(tmp_path / "producer", cfg)
    build(producer, "a9")
    assert run("push", "ALL", cwd=producer, home=home).returncode == 0
    consumer = write_project(tmp_path / "consumer", cfg)
    artifactory_repo.server.clear_requests()
    pulled = run("pull", "ALL", "LATEST", "-j", "3", cwd=consumer, home=home)
    assert pulled.returncode == 0, pulled.stderr
    assert "3 pulled" in pulled.stdout
    folder = f"/artifactory/api/storage/{artifactory_repo.name}/team/models"
    api_calls = [
        r.path for r in artifactory_repo.server.requests if r.path.startswith("/artifactory/api/")
    ]
    # One listing (it carries sizes and checksums, so no per-file storage call either).
    assert len(api_calls) == 1, api_calls
    assert api_calls[0].partition("?")[0] == folder


def test_skelebot_B1_missing_artifact_is_exit_1_on_artifactory(
    artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """skelebot printed "Artifact Not Found" and exited 0."""
    admin_fs(artifactory_repo.server).pipe_file(
        f"{artifactory_repo.name}/team/models/model_v1.0.0.pkl", b"one"
    )
    artifacts = MODEL + "    - name: ghost\n      file: ghost.bin\n"
    cfg = config(artifactory_repo.url, artifactory_repo.name, artifacts)
    project = write_project(tmp_path / "p", cfg, "2.0.0")
    exact = run("pull", "model", "1.0.1", cwd=project, home=home)
    assert exact.returncode == 1
    assert "no version 1.0.1" in exact.stderr and "Versions there: 1.0.0." in exact.stderr
    latest = run("pull", "ALL", "LATEST", "--json", cwd=project, home=home)
    assert latest.returncode == 1
    doc = json_doc(latest)
    assert by_artifact(doc, "action") == {"model": "failed", "ghost": "failed"}
    errors = by_artifact(doc, "error")
    assert "no LATEST (same major 2" in errors["model"]
    assert "Versions there: 1.0.0." in errors["model"]
    assert "Versions there: none." in errors["ghost"]
    assert sorted(p.name for p in project.iterdir()) == ["VERSION", "fsartifacts.yaml"]


@pytest.mark.parametrize("attempts", ["1", "5"], ids=["fails", "retry-succeeds"])
def test_skelebot_B2_dropped_download_leaves_the_working_file_intact(
    attempts: str, artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """skelebot opened the destination with "wb" before reading: a dropped connection
    with --override left the working model.pkl empty."""
    server = artifactory_repo.server
    published = os.urandom(256 * 1024)
    admin_fs(server).pipe_file(f"{artifactory_repo.name}/team/models/model_v1.0.0.pkl", published)
    project = write_project(
        tmp_path / "p", config(artifactory_repo.url, artifactory_repo.name, MODEL)
    )
    build(project, "working copy")
    before = tree_digest(project)
    server.faults.drop_after(64 * 1024, path_contains="model_v1.0.0.pkl")
    server.clear_requests()
    pulled = run("pull", "model", "1.0.0", "-o", cwd=project, home=home,
                 env={"FSARTIFACTS_ATTEMPTS": attempts})  # fmt: skip
    downloads = [r for r in server.requests if r.method == "GET" and "/api/" not in r.path]
    assert server.faults.pending() == 0  # the fault did fire
    if attempts == "1":
        assert pulled.returncode == 1
        assert "failed after 1 tries" in pulled.stderr
        assert len(downloads) == 1
        # Byte for byte as it was, and no temporary left behind.
        assert tree_digest(project) == before
    else:
        assert pulled.returncode == 0, pulled.stderr
        assert len(downloads) == 2
        assert (project / "models" / "model.pkl").read_bytes() == published
        assert sorted(p.name for p in (project / "models").iterdir()) == ["model.pkl"]


def test_skelebot_B3_push_does_not_touch_local_files_on_artifactory(
    artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """skelebot copied the file to its versioned name in the CWD and deleted it: a file
    pulled earlier under that name was destroyed, and a singular artifact whose file
    already had its remote name failed with SameFileError."""
    cfg = config(artifactory_repo.url, artifactory_repo.name, THREE)
    project = write_project(tmp_path / "p", cfg)
    build(project, "b3")
    (project / "model_v1.0.0.pkl").write_bytes(b"pulled earlier, must survive")
    (project / "model_v1.0.0.pkl").chmod(0o444)

    def state() -> dict[str, tuple[str, int, int, int]]:
        digests = tree_digest(project)
        return {
            name: (digest, (s := (project / name).stat()).st_mtime_ns, s.st_ino, s.st_mode)
            for name, digest in digests.items()
        }

    before = state()
    pushed = run("push", "ALL", cwd=project, home=home)
    assert pushed.returncode == 0, pushed.stderr
    assert state() == before
    fs = admin_fs(artifactory_repo.server)
    folder = f"{artifactory_repo.name}/team/models"
    built = (project / "models" / "model.pkl").read_bytes()
    assert fs.cat_file(f"{folder}/model_v1.0.0.pkl") == built  # not the stale local copy
    assert fs.cat_file(f"{folder}/labels.json") == b'["b3"]'


def test_skelebot_C1_credentials_resolved_once_per_run(
    secure_repo: ArtifactoryRepo,
    moto_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """skelebot read Secrets Manager once per artifact (and prompted twice per artifact)."""
    import fsartifacts.stores.artifactory.auth
    from fsartifacts import Project

    secret_id = f"artifactory-{uuid.uuid4().hex[:8]}"
    create_secret(moto_server, secret_id, {"user": ARTIFACTORY_USER, "token": ARTIFACTORY_PASSWORD})
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server)
    real = fsartifacts.stores.artifactory.auth.read_aws_secret
    reads: list[str] = []

    def counting(secret: str, **options: Any) -> str:
        reads.append(secret)
        return real(secret, **options)

    monkeypatch.setattr(fsartifacts.stores.artifactory.auth, "read_aws_secret", counting)
    auth = f"{{authType: user_pass, aws: true, awsSecret: {secret_id}}}"
    project_dir = write_project(
        tmp_path / "p", config(secure_repo.url, secure_repo.name, THREE, auth=auth)
    )
    build(project_dir, "c1")
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("FSARTIFACTS_", "ARTIFACTORY_"))
    }
    environ["FSARTIFACTS_CACHE_DIR"] = str(tmp_path / "cache")
    environ["NETRC"] = str(tmp_path / "no-netrc")
    project = Project.load(project_dir / "fsartifacts.yaml", environ=environ, jobs=3)
    results = project.push("ALL")
    assert [r.action for r in results] == ["pushed", "pushed", "pushed"], results
    assert reads == [secret_id]
    assert project.credentials is not None
    assert project.credentials.source == f"AWS Secrets Manager (secret '{secret_id}')"
    assert {credential_headers(r).get("authorization") for r in secure_repo.server.requests} == {
        BASIC
    }


# -- no credentials after a redirect to another host ---------------------------------------

FORWARDED = "X-Test-Forwarded"  # marks the requests the proxy below passed on


class _RedirectingProxy(BaseHTTPRequestHandler):
    """An "Artifactory" in front of the real local server: it forwards REST calls (with
    their headers) and answers file downloads with a 302 to the server's own port, as
    Artifactory does towards a CDN or a presigned S3 URL: another origin."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        target: tuple[str, int] = self.server.target  # type: ignore[attr-defined]
        if not self.path.startswith("/artifactory/api/"):
            self.send_response(302)
            self.send_header("Location", f"http://{target[0]}:{target[1]}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        connection = http.client.HTTPConnection(*target, timeout=30)
        try:
            connection.request("GET", self.path, headers={**headers, FORWARDED: "1"})
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def redirecting_proxy(artifactory_server: ArtifactoryServer) -> Iterator[str]:
    """The base URL of a _RedirectingProxy in front of the shared anonymous server."""
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _RedirectingProxy)
    proxy.target = ("127.0.0.1", artifactory_server.port)  # type: ignore[attr-defined]
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{proxy.server_address[1]}/artifactory"
    proxy.shutdown()
    proxy.server_close()
    thread.join()


def test_an_api_key_does_not_follow_a_redirect_to_another_host(
    artifactory_repo: ArtifactoryRepo, redirecting_proxy: str, home: Path, tmp_path: Path
) -> None:
    """X-JFrog-Art-Api is not Authorization: requests itself would pass it on to the CDN."""
    fs = admin_fs(artifactory_repo.server)
    fs.pipe_file(f"{artifactory_repo.name}/team/models/model_v1.0.0.pkl", b"behind a redirect")
    cfg = config(redirecting_proxy, artifactory_repo.name, MODEL, auth="{authType: api_key}")
    project = write_project(tmp_path / "p", cfg)
    artifactory_repo.server.clear_requests()
    pulled = run("pull", "model", "LATEST", "-t", ARTIFACTORY_API_KEY, cwd=project, home=home)
    assert pulled.returncode == 0, pulled.stderr
    assert (project / "model_v1.0.0.pkl").read_bytes() == b"behind a redirect"
    records = artifactory_repo.server.requests
    forwarded = [r for r in records if FORWARDED.lower() in map(str.lower, r.headers)]
    redirected = [r for r in records if r not in forwarded]
    # The origin got the key (so this test can fail)...
    assert forwarded and all(
        credential_headers(r) == {"x-jfrog-art-api": ARTIFACTORY_API_KEY} for r in forwarded
    )
    # ...the other host got the download, and no credential of any kind.
    assert [r.path for r in redirected] == [
        f"/artifactory/{artifactory_repo.name}/team/models/model_v1.0.0.pkl"
    ]
    assert credential_headers(redirected[0]) == {}


def test_without_a_home_folder_no_netrc_is_read_from_where_the_command_runs(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    # A uid without a home folder has no ~/.netrc: "~" stayed "~", and a "~/.netrc"
    # below the current folder (a project's, anyone's) gave the credentials sent.
    config = (
        f"repository:\n  artifactory:\n    url: {artifactory_repo.url}\n"
        f"    repo: {artifactory_repo.name}\n    auth: {{authType: user_pass}}\n"
        "  artifacts:\n    - {name: model, file: model.bin}\n"
    )
    project = write_project(tmp_path / "p", config)
    (project / "~").mkdir()
    (project / "~" / ".netrc").write_text("default login mallory password planted\n")
    (project / "~" / ".netrc").chmod(0o600)
    run = fsartifacts("list", cwd=project, homeless=True)
    assert run.returncode == 0, run.stderr
    sent = [r.headers.get("Authorization") for r in artifactory_repo.server.requests]
    assert sent and not any(sent), sent


def test_a_path_that_does_not_exist_in_the_repository_fails_list_and_pull_and_push_creates_it(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path, home: Path
) -> None:
    """Artifactory answers a folder it lacks (404) unlike an empty one: a `path` that is
    not there is not an empty store (a typo would look like one), as a store folder that
    does not exist is not; the first push into it creates it."""
    cfg = config(artifactory_repo.url, artifactory_repo.name, MODEL, path="team/nothere")
    project = write_project(tmp_path / "p", cfg)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    where = f"{artifactory_repo.url}/{artifactory_repo.name}/team/nothere"
    for args in (["list"], ["pull", "model", "LATEST"]):
        done = run(*args, cwd=project, home=home)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"nothing at {where}: the folder 'team/nothere' does not exist" in lines[0]
        assert "check `path`" in lines[0] and "a push creates it" in lines[0], lines[0]
    pushed = run("push", "model", cwd=project, home=home)
    assert pushed.returncode == 0, pushed.stderr
    listed = run("list", cwd=project, home=home)
    assert listed.returncode == 0 and "1.0.0" in listed.stdout, listed.stderr


def test_a_push_killed_after_sending_its_bytes_leaves_no_version_behind(
    artifactory_repo: ArtifactoryRepo, home: Path, tmp_path: Path
) -> None:
    """A large file is hashed as it is sent, so the server cannot check its bytes: they go
    to a hidden name and reach the version's path only once the pusher checked them. A
    pusher killed (SIGKILL) once the server has stored them, before it learns the answer,
    leaves no version a pull could install; gc knows the hidden copy for a leftover."""
    repo, root = artifactory_repo, tmp_path / "producer"
    write_project(root, config(repo.url, repo.name, MODEL, path=None))
    (root / "models").mkdir()
    (root / "models" / "model.pkl").write_bytes(os.urandom(HASHED_AS_SENT_MIN))
    pusher: list[subprocess.Popen[str]] = []
    running = threading.Event()

    def kill_the_pusher() -> None:
        running.wait(60)
        os.kill(pusher[0].pid, signal.SIGKILL)

    repo.server.faults.before_answer(kill_the_pusher, path_contains="model_v1.0.0.pkl")
    pusher.append(start("push", "model", cwd=root, env={"HOME": str(home), "NETRC": ""}))
    running.set()
    _, err = pusher[0].communicate(timeout=120)
    assert pusher[0].returncode == -signal.SIGKILL, err
    assert repo.server.wait_idle()
    left = [name for name, _ in repo.server.storage.children(repo.name, "")]
    assert "model_v1.0.0.pkl" not in left
    assert [name for name in left if name.startswith(".model_v1.0.0.pkl.fsartifacts-")]
    collected = run("gc", "--older-than", "0s", cwd=root, home=home)
    assert collected.returncode == 0, collected.stderr
    assert not [
        name
        for name, _ in repo.server.storage.children(repo.name, "")
        if name.startswith(".model_v1.0.0.pkl")
    ]
