"""No silent waits: redirected deploys, endpoints that never answer, retries said aloud, and
what each verbosity shows. Every command runs as a real process bounded by a timeout.
"""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fsartifacts import Project
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.e2e.test_concurrent_pulls import wait_for
from tests.fixtures.artifactory import ARTIFACTORY_TOKEN, ArtifactoryRepo
from tests.fixtures.cli import fsartifacts, start, write_project

MODEL = "    - name: model\n      file: models/model.pkl\n"
FAST = {"FSARTIFACTS_TIMEOUT": "0.5", "FSARTIFACTS_ATTEMPTS": "2"}
RETRY_LINE = re.compile(
    r"^fsartifacts: retrying (GET|PUT|HEAD|POST) (\S+) in \d+\.\d s \(try 2 of \d\): (.+)$"
)


def artifactory_project(root: Path, url: str, repo: str, data: bytes = b"the model\n") -> Path:
    config = (
        f"repository:\n  artifactory:\n    url: {url}\n    repo: {repo}\n"
        f"    path: team/models\n    auth: {{authType: none}}\n  artifacts:\n{MODEL}"
    )
    project = write_project(root, config)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(data)
    return project


# -- a deploy answered with a redirect ---------------------------------------------------------


@pytest.mark.parametrize("size", [10, 64 * 1024], ids=["small", "checksum-deploy-first"])
def test_a_deploy_redirected_on_the_same_host_resends_its_body_there(
    size: int, artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    data = bytes(range(256)) * (size // 256) or b"x" * size
    project = artifactory_project(tmp_path / "p", artifactory_repo.url, artifactory_repo.name, data)
    remote = f"{artifactory_repo.name}/team/models/model_v1.0.0.pkl"
    moved = f"{artifactory_repo.name}/moved/model_v1.0.0.pkl"
    # A path on the same server: the body must arrive there whole, with the checksums.
    artifactory_repo.server.faults.redirect_next(
        f"/artifactory/{moved}", path_contains=remote, count=2
    )
    # Stalling for the timeout once would overrun this bound.
    env = {"FSARTIFACTS_TIMEOUT": "300"}
    run = fsartifacts("push", "model", cwd=project, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    fs = ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True)
    assert fs.cat_file(moved) == data
    puts = [r for r in artifactory_repo.server.requests if r.method == "PUT"]
    assert [r.status for r in puts][-1] == 201
    assert all(r.status in (201, 307, 404) for r in puts), puts


def test_a_deploy_redirected_to_another_host_fails_at_once_naming_the_redirect(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    project = artifactory_project(tmp_path / "p", artifactory_repo.url, artifactory_repo.name)
    elsewhere = artifactory_repo.url.replace("127.0.0.1", "localhost")
    target = f"{elsewhere}/{artifactory_repo.name}/moved/model_v1.0.0.pkl?X-Signature=s3cr3t"
    artifactory_repo.server.faults.redirect_next(target, count=10)
    env = {"FSARTIFACTS_TIMEOUT": "300", "FSARTIFACTS_ATTEMPTS": "5"}
    # Stalling for the timeout once would already overrun this bound.
    run = fsartifacts("push", "model", cwd=project, env=env, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert "redirected" in run.stderr and "HTTP 307" in run.stderr
    assert f"{elsewhere}/{artifactory_repo.name}/moved/model_v1.0.0.pkl" in run.stderr
    assert "s3cr3t" not in run.stderr
    assert "`url`" in run.stderr or "repository.artifactory.url" in run.stderr
    puts = [r for r in artifactory_repo.server.requests if r.method == "PUT"]
    assert len(puts) == 1, puts  # refused at once, not tried again
    assert artifactory_repo.server.faults.pending() == 9


# -- an endpoint that accepts connections and never answers ------------------------------------


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def retry_lines(stderr: str) -> list[re.Match[str]]:
    return [m for line in stderr.splitlines() if (m := RETRY_LINE.match(line))]


@pytest.mark.parametrize("command", [["list"], ["pull", "model", "LATEST"], ["push", "model"]])
def test_a_silent_artifactory_ends_with_retry_lines_and_the_setting_to_change(
    command: list[str], silent_endpoint: str, tmp_path: Path
) -> None:
    url = f"{silent_endpoint}/artifactory"
    project = artifactory_project(tmp_path / "p", url, "generic-local")
    run = fsartifacts(*command, cwd=project, env=FAST, timeout=30)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = retry_lines(run.stderr)
    assert len(lines) == 1, run.stderr  # attempts 2: one retry, said once
    assert lines[0].group(2).startswith(f"{url}/api/storage/generic-local/team/models")
    assert "no answer in time" in lines[0].group(3)
    errors = [line for line in run.stderr.splitlines() if line.startswith("fsartifacts: error")]
    assert len(errors) == 1, run.stderr
    assert f"{url} did not answer within 0.5 s" in errors[0]
    assert "after 2 tries" in errors[0]
    assert "transfer.timeout" in errors[0] and "FSARTIFACTS_TIMEOUT" in errors[0]


@pytest.mark.parametrize("command", [["list"], ["pull", "model", "LATEST"], ["push", "model"]])
def test_a_silent_s3_endpoint_ends_with_retry_lines_and_the_setting_to_change(
    command: list[str], silent_endpoint: str, moto_server: str, tmp_path: Path
) -> None:
    del moto_server  # not used, but its dummy credentials are
    config = (
        f"repository:\n  s3:\n    bucket: bkt/models\n    region: us-east-1\n"
        f"    endpoint_url: {silent_endpoint}\n  artifacts:\n{MODEL}"
    )
    project = write_project(tmp_path / "p", config)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    run = fsartifacts(*command, cwd=project, env=FAST, timeout=30)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = retry_lines(run.stderr)
    assert len(lines) == 1, run.stderr
    assert lines[0].group(2).startswith(f"{silent_endpoint}/bkt")
    assert "?" not in lines[0].group(2)  # no query string in the log
    assert "no answer in time" in lines[0].group(3)
    errors = [line for line in run.stderr.splitlines() if line.startswith("fsartifacts: error")]
    assert len(errors) == 1, run.stderr
    assert "did not answer in time" in errors[0] and "after 2 tries" in errors[0]
    assert silent_endpoint in errors[0]
    assert "transfer.timeout" in errors[0] and "FSARTIFACTS_TIMEOUT" in errors[0]


def test_a_silent_secrets_manager_ends_with_a_retry_line_and_the_setting_to_change(
    silent_endpoint: str, moto_server: str, tmp_path: Path
) -> None:
    del moto_server  # not used, but its dummy AWS credentials are
    config = (
        "repository:\n  artifactory:\n    url: http://127.0.0.1:9/artifactory\n"
        "    repo: generic-local\n    auth: {authType: token, aws: true}\n"
        f"  artifacts:\n{MODEL}"
    )
    project = write_project(tmp_path / "p", config)
    env = {**FAST, "AWS_ENDPOINT_URL_SECRETS_MANAGER": silent_endpoint}
    run = fsartifacts("list", cwd=project, env=env, timeout=30)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = retry_lines(run.stderr)
    assert len(lines) == 1, run.stderr
    assert lines[0].group(2).startswith(silent_endpoint)
    errors = [line for line in run.stderr.splitlines() if line.startswith("fsartifacts: error")]
    assert len(errors) == 1, run.stderr
    assert "AWS Secrets Manager" in errors[0] and silent_endpoint in errors[0]
    assert "FSARTIFACTS_TIMEOUT" in errors[0]


# -- what each verbosity shows -----------------------------------------------------------------


def test_verbosity_on_artifactory_requests_then_library_logs_and_never_the_token(
    artifactory_secure_server: ArtifactoryServer, tmp_path: Path
) -> None:
    server = artifactory_secure_server
    server.add_repo("verbose-local")
    config = (
        f"repository:\n  artifactory:\n    url: {server.url}\n    repo: verbose-local\n"
        f"    path: team/models\n    auth: {{authType: token}}\n  artifacts:\n{MODEL}"
    )
    project = write_project(tmp_path / "p", config)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    env = {"ARTIFACTORY_TOKEN": ARTIFACTORY_TOKEN}
    pushed = fsartifacts("push", "model", cwd=project, env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert "fsartifacts: GET" not in pushed.stderr  # requests only from -v on

    listed = fsartifacts("list", "-v", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    storage = f"{server.url}/api/storage/verbose-local/team/models"
    assert f"fsartifacts: GET {storage}: HTTP 200" in listed.stderr.splitlines()
    assert "urllib3" not in listed.stderr

    debug = fsartifacts("pull", "model", "LATEST", "-v", "-v", cwd=project, env=env)
    assert debug.returncode == 0, debug.stderr
    assert any(line.startswith("urllib3.connectionpool: ") for line in debug.stderr.splitlines())
    assert f"fsartifacts: GET {storage}: HTTP 200" in debug.stderr.splitlines()
    for run in (pushed, listed, debug):
        assert ARTIFACTORY_TOKEN not in run.stderr + run.stdout


def test_verbosity_on_s3_requests_then_botocore_logs_and_never_the_session_token(
    moto_server: str, tmp_path: Path
) -> None:
    import botocore.session

    bucket = "verbose-bucket"
    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=moto_server, region_name="us-east-1"
    )
    client.create_bucket(Bucket=bucket)
    config = (
        f"repository:\n  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n"
        f"    endpoint_url: {moto_server}\n  artifacts:\n{MODEL}"
    )
    project = write_project(tmp_path / "p", config)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    token = "session-token-that-must-not-show-0123456789"
    env = {"AWS_SESSION_TOKEN": token}
    listed = fsartifacts("list", "-v", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"fsartifacts: GET {moto_server}/{bucket}: HTTP 200" in listed.stderr.splitlines()
    assert "botocore" not in listed.stderr
    debug = fsartifacts("push", "model", "-v", "-v", cwd=project, env=env)
    assert debug.returncode == 0, debug.stderr
    lines = debug.stderr.splitlines()
    assert any(line.startswith("botocore.") for line in lines), debug.stderr[:2000]
    assert any("x-amz-security-token" in line.lower() for line in lines)  # shown, hidden
    assert token not in debug.stderr + debug.stdout
    assert token not in listed.stderr + listed.stdout


def test_quiet_prints_only_failures(artifactory_repo: ArtifactoryRepo, tmp_path: Path) -> None:
    project = artifactory_project(tmp_path / "p", artifactory_repo.url, artifactory_repo.name)
    artifactory_repo.server.faults.fail_next(1, 503, methods=["GET"])
    pushed = fsartifacts("push", "model", "-q", cwd=project)
    assert (pushed.returncode, pushed.stdout, pushed.stderr) == (0, "", "")

    # Listed after the push: a path nothing was pushed to is no store to list (exit 2).
    artifactory_repo.server.faults.fail_next(1, 503, methods=["GET"])
    loud = fsartifacts("list", cwd=project)
    assert loud.returncode == 0, loud.stderr
    assert len(retry_lines(loud.stderr)) == 1, loud.stderr  # the default says each retry
    pulled = fsartifacts("pull", "model", "LATEST", "-q", cwd=project)
    assert (pulled.returncode, pulled.stdout, pulled.stderr) == (0, "", "")
    missing = fsartifacts("pull", "model", "9.9.9", "-q", cwd=project)
    assert missing.returncode == 1
    assert missing.stdout == ""
    lines = missing.stderr.splitlines()
    assert lines and all(line.startswith("fsartifacts: error: ") for line in lines), lines
    assert "no version 9.9.9" in missing.stderr


@pytest.mark.parametrize(
    ("logged", "secret"),
    [
        ("headers={'X-Amz-Security-Token': b'FwoGZXIvYXdz', 'Host': 'h'}", "FwoGZXIvYXdz"),
        ("x-amz-security-token:FwoGZXIvYXdz\nhost:h", "FwoGZXIvYXdz"),
        ("{'Authorization': b'Bearer tok-123'}", "tok-123"),
        ("'x-amz-server-side-encryption-customer-key': 'c3NlLWMta2V5'", "c3NlLWMta2V5"),
        (
            'Response body:\nb\'{"ARN":"a","SecretString":'
            '"{\\\\"token\\\\": \\\\"tok-123\\\\"}"}\'',
            "tok-123",
        ),
    ],
    ids=["header-dict", "canonical-request", "bearer", "sse-c", "secrets-manager"],
)
def test_library_debug_lines_lose_credential_headers_and_secret_fields(
    logged: str, secret: str
) -> None:
    from fsartifacts.redaction import without_credential_fields

    shown = without_credential_fields(logged)
    assert secret not in shown
    assert "***" in shown


# -- Ctrl-C while the store stalls -------------------------------------------------------------


def test_ctrl_c_while_prune_reads_folder_sizes_from_a_stalled_store_exits_at_once(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    # Folders pushed before their size was noted in the listing: prune reads each one's
    # manifest, jobs at a time, and the server holds those answers. Ctrl-C waited for
    # every read to time out (a minute here) before the command could exit.
    config = (
        f"repository:\n  artifactory:\n    url: {artifactory_repo.url}\n"
        f"    repo: {artifactory_repo.name}\n    path: team\n    auth: {{authType: none}}\n"
        "  artifacts:\n    - {name: data, file: data}\n"
    )
    project = write_project(tmp_path / "p", config)
    (project / "data").mkdir()
    (project / "data" / "a.bin").write_bytes(b"a")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        (project / "VERSION").write_text(f"{version}\n")
        assert Project.load(start=project, environ={}).push("data")[0].action == "pushed"
    folder = f"{artifactory_repo.url}/{artifactory_repo.name}/team"
    listing = requests.get(
        f"{artifactory_repo.url}/api/storage/{artifactory_repo.name}/team", timeout=30
    )
    for child in listing.json()["children"]:
        if ".fsartifacts-listed." in child["uri"]:
            requests.delete(f"{folder}{child['uri']}", timeout=30).raise_for_status()
    faults = artifactory_repo.server.faults
    faults.stall_after(0, seconds=60, count=None, path_contains="manifest.json")
    run = start("prune", "data", "--keep", "1", "-j", "4", cwd=project)
    wait_for(lambda: faults.stalled() >= 2, "both manifest reads held by the server")
    run.send_signal(signal.SIGINT)
    try:
        _, stderr = run.communicate(timeout=20)
    finally:
        run.kill()
    assert run.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
