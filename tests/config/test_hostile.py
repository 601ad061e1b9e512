"""Hostile configuration and local files: one line and the right exit code, never a hang.

Each test runs the installed command in a subprocess with a timeout, so that a
hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

import pytest

from fsartifacts.hashshards import shard_name
from tests.fixtures.cli import BIN, fsartifacts, write_project

CONFIG = """\
repository:
  url: file://./store
  artifacts:
    - name: model
      file: model.pkl
"""

# 342 bytes that expand to 9**9 strings: every alias repeats the list before it nine times.
BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


def one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def _limit_memory() -> None:
    # 1 GiB of address space: an expansion without end fails fast instead of swapping.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_billion_laughs_ends_quickly_in_bounded_memory(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", BILLION_LAUGHS + CONFIG)
    run = subprocess.run(
        [str(BIN), "validate"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        env={**os.environ, "FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")},
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2, run.stderr
    line = one_error_line(run)
    assert "fsartifacts.yaml" in line and "alias" in line, line


@pytest.mark.parametrize(
    "anchor",
    ["loop: &a [*a]\n", "loop: &a {self: *a}\n", "loop: &a [1, [2, *a]]\n"],
)
def test_a_recursive_anchor_is_one_line_and_exit_2(tmp_path: Path, anchor: str) -> None:
    project = write_project(tmp_path / "p", anchor + CONFIG)
    run = fsartifacts("validate", cwd=project, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "recursive" in one_error_line(run)


def test_a_recursive_anchor_in_a_skelebot_repository_is_one_line(tmp_path: Path) -> None:
    text = "components:\n  repository:\n    url: file://./store\n    artifacts: &a [*a]\n"
    project = write_project(tmp_path / "p", text, name="skelebot.yaml")
    run = fsartifacts("validate", cwd=project, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "recursive" in one_error_line(run)


def test_a_config_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "VERSION").write_text("1.0.0\n")
    os.mkfifo(project / "fsartifacts.yaml")
    for args in (["validate"], ["--config", "fsartifacts.yaml", "validate"]):
        run = fsartifacts(*args, cwd=project)
        assert run.returncode == 2, run.stderr
        line = one_error_line(run)
        assert "FIFO" in line and "not a regular file" in line, line


@pytest.mark.parametrize(
    ("device", "kind"), [("/dev/null", "character device"), ("/dev/zero", "character device")]
)
def test_a_config_that_is_a_device_says_what_it_is(tmp_path: Path, device: str, kind: str) -> None:
    project = write_project(tmp_path / "p", CONFIG)
    run = fsartifacts("--config", device, "validate", cwd=project)
    assert run.returncode == 2, run.stderr
    line = one_error_line(run)
    assert device in line and kind in line and "no such file" not in line, line


def test_a_huge_config_file_is_refused(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", CONFIG + "#" + "x" * (2 << 20) + "\n")
    run = fsartifacts("validate", cwd=project)
    assert run.returncode == 2, run.stderr
    assert "larger than" in one_error_line(run)


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_lock_file_that_is_a_fifo_or_dev_zero_is_refused(tmp_path: Path, kind: str) -> None:
    project = write_project(tmp_path / "p", CONFIG)
    (project / "model.pkl").write_bytes(b"m" * 100)
    assert fsartifacts("push", "ALL", cwd=project).returncode == 0
    lock = project / "fsartifacts.lock"
    if kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.symlink_to("/dev/zero")
    run = fsartifacts("pull", "ALL", "LATEST", "-o", cwd=project)
    assert run.returncode == 2, run.stderr
    line = one_error_line(run)
    assert "fsartifacts.lock" in line and "not a regular file" in line, line


@pytest.mark.parametrize("where", ["shard", "folder"])
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_hash_cache_that_is_a_fifo_or_dev_zero_is_ignored(
    tmp_path: Path, kind: str, where: str
) -> None:
    """The project's shard of the cache, or the cache's folder itself."""
    project = write_project(tmp_path / "p", CONFIG)
    (project / "model.pkl").write_bytes(b"m" * 100)
    cache_dir = tmp_path / "cache"
    (cache_dir / "hashes").mkdir(parents=True)
    odd = cache_dir / "hashes" / shard_name(os.path.realpath(project))
    if where == "folder":
        (cache_dir / "hashes").rmdir()
        odd = cache_dir / "hashes"
    if kind == "fifo":
        os.mkfifo(odd)
    else:
        odd.symlink_to("/dev/zero")
    env = {"FSARTIFACTS_CACHE_DIR": str(cache_dir)}
    pushed = fsartifacts("push", "ALL", cwd=project, env=env)
    assert pushed.returncode == 0, pushed.stderr
    synced = fsartifacts("sync", "pull", cwd=project, env=env)
    assert synced.returncode == 0, synced.stderr


# --------------------------------------------------------------------------- URLs


def url_project(root: Path, url: str, extra: str = "") -> Path:
    artifacts = "  artifacts:\n    - name: model\n      file: model.pkl\n"
    config = f"repository:\n  url: '{url}'\n{extra}{artifacts}"
    project = write_project(root, config)
    (project / "model.pkl").write_bytes(b"m" * 10)
    return project


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3:/bucket/models", "s3://"),
        ("gs:/bucket", "gs://"),
        ("file:/tmp/store", "file://"),
        ("s3:bucket", "s3://"),
        ("file://", "no path"),
        ("s3://", "no path"),
        ("nosuchproto://x/y", "nosuchproto"),
        ("http://[::1/a", "not a valid URL"),
        ("file://./VERSION", "a file, not a folder"),
    ],
)
def test_a_url_that_cannot_be_what_was_meant_is_a_config_error(
    tmp_path: Path, url: str, says: str
) -> None:
    project = url_project(tmp_path / "p", url)
    for command in (["validate"], ["list"], ["pull", "model", "LATEST"]):
        run = fsartifacts(*command, cwd=project, timeout=60)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        line = one_error_line(run)
        assert "repository.url" in line and says in line, line


def test_memory_urls_are_allowed_and_said_to_last_only_as_long_as_the_process(
    tmp_path: Path,
) -> None:
    project = url_project(tmp_path / "p", "memory://scratch/models")
    shown = fsartifacts("validate", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "only as long as" in shown.stdout
    listed = fsartifacts("-v", "list", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert "only as long as" in listed.stderr
    quiet = fsartifacts("list", cwd=project)
    assert "only as long as" not in quiet.stderr


def test_storage_options_the_filesystem_does_not_take_are_a_config_error(tmp_path: Path) -> None:
    project = url_project(
        tmp_path / "p", "file://./store", "  options: {auto_mkdir: true, colour: blue}\n"
    )
    for command in (["validate"], ["push", "model"]):
        run = fsartifacts(*command, cwd=project, timeout=60)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        line = one_error_line(run)
        assert "repository.options.colour" in line and "auto_mkdir" in line, line
    good = url_project(tmp_path / "q", "file://./store", "  options: {auto_mkdir: true}\n")
    assert fsartifacts("push", "model", cwd=good).returncode == 0


# --------------------------------------------------------------------------- secrets in URLs


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://u:PW-in-url@127.0.0.1:1/x", 1),
        ("bogus://u:PW-in-url@x/y", 2),
        ("s3:/u:PW-in-url@b", 2),
    ],
)
def test_a_password_in_a_url_is_never_printed(tmp_path: Path, url: str, code: int) -> None:
    project = url_project(tmp_path / "p", url)
    for command in (["list"], ["--json", "list"], ["push", "model"]):
        run = fsartifacts(*command, cwd=project, timeout=60)
        assert run.returncode == code, (command, run.stdout, run.stderr)
        assert "PW-in-url" not in run.stdout + run.stderr
        one_error_line(run)


def test_a_password_in_an_s3_endpoint_url_is_never_printed(tmp_path: Path) -> None:
    config = (
        "repository:\n  s3:\n    bucket: b\n    region: us-east-1\n"
        "    endpoint_url: http://u:PW-in-url@127.0.0.1:1\n"
        "  artifacts:\n    - name: model\n      file: model.pkl\n"
    )
    project = write_project(tmp_path / "p", config)
    (project / "model.pkl").write_bytes(b"m")
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "FSARTIFACTS_ATTEMPTS": "1",
        "FSARTIFACTS_TIMEOUT": "5",
    }
    for command in (["validate"], ["list"], ["push", "model"]):
        run = fsartifacts(*command, cwd=project, env=env, timeout=120)
        assert "PW-in-url" not in run.stdout + run.stderr, (command, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- tracebacks


@pytest.mark.parametrize(
    "transfer",
    [
        'part_size: "999999999999999999999999999999999999999999999999999999999999999999999999999999'
        "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        '99999999999999999999999999999999999999999999999999999999999999999999999999T"',
        "timeout: 1e300",
    ],
)
def test_huge_transfer_values_are_one_line_exit_2(tmp_path: Path, transfer: str) -> None:
    project = url_project(tmp_path / "p", "file://./store")
    config = project / "fsartifacts.yaml"
    config.write_text(config.read_text() + f"transfer:\n  {transfer}\n")
    for command in (["validate"], ["push", "model"]):
        run = fsartifacts(*command, cwd=project, timeout=60)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        assert "transfer." in one_error_line(run)


@pytest.mark.parametrize("where", ["artifactory", "endpoint_url"])
@pytest.mark.parametrize("url", ["http://[::1/a", "http://exa mple.com/a", "https://%zz/a"])
def test_a_malformed_http_url_elsewhere_is_one_line_exit_2(
    tmp_path: Path, where: str, url: str
) -> None:
    """A host no request can go to (a space, a stray %) was found only by the first
    request, as a connection that failed (exit 1) after every try."""
    store = (
        f"  artifactory:\n    url: '{url}'\n    repo: r\n    auth: {{authType: none}}\n"
        if where == "artifactory"
        else f"  s3:\n    bucket: b\n    endpoint_url: '{url}'\n"
    )
    config = f"repository:\n{store}  artifacts:\n    - name: model\n      file: model.pkl\n"
    project = write_project(tmp_path / "p", config)
    for command in (["validate"], ["list"]):
        run = fsartifacts(*command, cwd=project, timeout=60)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        assert "not a valid URL" in one_error_line(run)


# --------------------------------------------------------------------------- terminal escapes

ESCAPE = "\x1b]0;pwned\x07"


def test_escape_sequences_from_the_store_are_printed_escaped(tmp_path: Path) -> None:
    import json

    config = (
        "repository:\n  url: file://./../store\n  artifacts:\n"
        "    - name: model\n      file: model.pkl\n    - name: data\n      file: data\n"
    )
    project = write_project(tmp_path / "p", config)
    (project / "model.pkl").write_bytes(b"m" * 10)
    (project / "data").mkdir()
    (project / "data" / "a.csv").write_text("a\n")
    assert fsartifacts("push", "ALL", cwd=project).returncode == 0
    store = tmp_path / "store"
    # A recorded sha256 of 64 characters that holds a terminal escape, on a file and
    # on a folder's entry; and a manifest path holding one.
    forged = (ESCAPE * 8)[:64]
    (store / "model_v1.0.0.pkl.sha256").write_text(f"{forged}  model_v1.0.0.pkl\n")
    manifest_path = store / "data_v1.0.0.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["sha256"] = forged
    manifest["files"].append({"path": f"b{ESCAPE}.csv", "size": 1, "sha256": "0" * 64})
    manifest_path.write_text(json.dumps(manifest))

    for command in (["pull", "ALL", "1.0.0"], ["-v", "pull", "ALL", "1.0.0"], ["list"]):
        run = fsartifacts(*command, cwd=project, env={"FSARTIFACTS_ATTEMPTS": "2"}, timeout=60)
        out = run.stdout + run.stderr
        assert "\x1b" not in out and "\x07" not in out, (command, out)
        if command[-1] == "1.0.0":
            assert run.returncode == 1, out
            assert "\\x1b]0;pwned\\x07" in run.stderr, run.stderr
    as_json = fsartifacts("--json", "pull", "ALL", "1.0.0", cwd=project, timeout=60)
    assert "\x1b" not in as_json.stdout and "\\u001b" in as_json.stdout


@pytest.mark.parametrize("flavour", ["fsartifacts.yaml", "skelebot.yaml"])
@pytest.mark.parametrize(
    ("url", "file", "says"),
    [
        ('"file://./st\\0ore"', "model.pkl", "control character"),
        ("file://./store", '"mod\\0el.pkl"', "control character"),
        ("file://./store", '"model.pkl\\n"', "control character"),
        ("file://./" + "s" * 5000, "model.pkl", "File name too long"),
        ("file://./store", "m" * 5000, "File name too long"),
    ],
)
def test_nul_newlines_and_overlong_names_in_the_config_are_one_line_exit_2(
    tmp_path: Path, flavour: str, url: str, file: str, says: str
) -> None:
    block = f"url: {url}\nartifacts:\n  - name: model\n    file: {file}\n"
    if flavour == "fsartifacts.yaml":
        text = "repository:\n" + "".join(f"  {line}\n" for line in block.splitlines())
    else:
        text = "components:\n  repository:\n" + "".join(
            f"    {line}\n" for line in block.splitlines()
        )
    project = write_project(tmp_path / "p", text, name=flavour)
    for command in (["validate"], ["pull", "model", "1.0.0", "-o"]):
        run = fsartifacts(*command, cwd=project, timeout=60)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        assert says in one_error_line(run)


@pytest.mark.parametrize("given", ["config", "verify"])
@pytest.mark.parametrize(
    ("home", "env", "says"),
    [
        # pathlib raises where it knows no home folder for "~user": an internal error, exit 1.
        ("~no-such-user-here", {}, "no home folder of the user no-such-user-here"),
        # An empty $HOME made "~" the root folder: "/ca.pem", outside any project.
        ("~", {"HOME": ""}, "no home folder of this user ($HOME unset, empty or relative)"),
    ],
)
def test_a_path_in_the_home_folder_of_no_known_user_is_one_line_exit_2(
    tmp_path: Path, given: str, home: str, env: dict[str, str], says: str
) -> None:
    config = (
        "repository:\n  artifactory:\n    url: https://example.com/artifactory\n    repo: r\n"
        f"    verify: {home}/ca.pem\n  artifacts:\n    - {{name: m, file: m.bin}}\n"
    )
    root = write_project(tmp_path / "p", CONFIG if given == "config" else config)
    args = ["--config", f"{home}/fsartifacts.yaml"] if given == "config" else []
    run = fsartifacts(*args, "validate", cwd=root, env=env)
    assert run.returncode == 2, run.stderr
    line = one_error_line(run)
    assert f"{home}/" in line and says in line, line
