"""What a command loads before its first request: the libraries of the stores it does not
use, and of the features it does not run, stay unimported (each costs a noticeable part of
a second at every start). A module imported at the top level where it is not needed fails
here, on each store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.cli import command_env, write_project
from tests.fixtures.remotes import Remote, yaml_config

# Runs each command of argv[1] in turn in one process; after each, its exit code and the
# modules loaded so far go to the file argv[2]. On S3 (argv[3]) it counts the
# reads of S3's service model (a large JSON file) by `list`, and whether aiohttp's default
# TLS contexts (never used by the S3 client) are still to read their certificates.
RUN_AND_LIST_MODULES = """\
import json, sys
from fsartifacts.cli.commands import main
commands = json.loads(sys.argv[1])
reads = []
def count_s3_model_reads():
    import botocore.loaders
    read = botocore.loaders.Loader.load_service_model
    def counted(self, service_name, type_name, api_version=None):
        reads.extend([1] if (service_name, type_name) == ("s3", "service-2") else [])
        return read(self, service_name, type_name, api_version)
    botocore.loaders.Loader.load_service_model = counted
loaded = []
for argv in commands:
    if argv == ["list"] and sys.argv[3] == "s3":
        count_s3_model_reads()
    counted = len(reads)
    code = main(argv)
    loaded.append([argv, code, sorted(sys.modules)])
    if argv == ["list"]:
        list_reads = len(reads) - counted
connector = sys.modules.get("aiohttp.connector")
unread = [getattr(getattr(connector, name, None), "deferred", None)
          for name in ("_SSL_CONTEXT_VERIFIED", "_SSL_CONTEXT_UNVERIFIED")]
with open(sys.argv[2], "w") as out:
    json.dump({"commands": loaded, "s3_model_reads": list_reads, "unread_tls": unread}, out)
"""

NETWORK = {"urllib3", "certifi", "idna"}  # requests and botocore share them
STORE_LIBRARIES = {
    "folder": set(),
    "artifactory": {"requests", "charset_normalizer", *NETWORK},
    "s3": {"s3fs", "aiobotocore", "botocore", "aiohttp", "jmespath", *NETWORK},
}
ALL_STORE_LIBRARIES = set().union(*STORE_LIBRARIES.values())
# Never before the first request: bars (off without a terminal), ignore-patterns (no
# --include/--exclude given), dataframes (fsspec implementations may pull them in).
NEVER = {"tqdm", "pathspec", "pandas", "pyarrow", "numpy", "boto3"}
# Read only for a project whose version is in its pyproject.toml (this one has a VERSION).
NOT_ASKED = {"tomllib"}
# Standard modules fsartifacts itself never needs (a temporary's name, a claim's token are
# random bytes), though the libraries of a store bring them (fsspec.mapping imports uuid).
NOT_OURS = {"uuid", "platform"}
CONFIG_LIBRARIES = {"yaml", "cerberus", "semver"}
TRANSFERS = {f"fsartifacts.engine.{name}" for name in ("push", "pull", "install", "ranged")}


def test_each_command_loads_only_what_its_store_and_its_work_need(
    remote: Remote, tmp_path: Path
) -> None:
    """On S3, too, the service model is read once, by the client: the check of
    ``extra_args`` against it reads it again only when there are some. A push and a
    pull of a small file, after them in the same process, still load no library of
    another store nor of a feature they do not use."""
    root = write_project(
        tmp_path / "project", yaml_config(remote, "    - {name: model, file: model.pkl}\n")
    )
    (root / "model.pkl").write_bytes(b"weights")
    commands = [["--help"], ["validate"], ["list"], ["push", "model"], ["pull", "-o", "model"]]
    report, kind = tmp_path / "modules.json", remote.kind
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, json.dumps(commands), str(report), kind],
        cwd=root,
        env={**command_env(root, remote.env), "CI": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    reported = json.loads(report.read_text())
    loaded = {" ".join(argv): (code, set(modules)) for argv, code, modules in reported["commands"]}
    packages = {command: {m.split(".")[0] for m in got} for command, (_, got) in loaded.items()}
    assert {command: code for command, (code, _) in loaded.items()} == dict.fromkeys(loaded, 0)
    others = ALL_STORE_LIBRARIES - STORE_LIBRARIES[remote.kind]
    forbidden = {
        # The grammar and its words only.
        "--help": {"fsspec", *CONFIG_LIBRARIES, *ALL_STORE_LIBRARIES, *NEVER},
        # The configuration read and checked; no store opened, no request sent.
        "validate": {"fsspec", *ALL_STORE_LIBRARIES, *NEVER, *NOT_ASKED, *NOT_OURS},
        "list": others | NEVER | NOT_ASKED,
        "push model": others | NEVER | NOT_ASKED,
        "pull -o model": others | NEVER | NOT_ASKED,
    }
    found = {command: sorted(packages[command] & forbidden[command]) for command in forbidden}
    assert found == {command: [] for command in forbidden}, done.stderr
    # A listing transfers nothing: the modules of push and pull stay unloaded too.
    assert sorted(loaded["list"][1] & TRANSFERS) == []
    assert reported["s3_model_reads"] == (1 if remote.kind == "s3" else 0)
    # On S3, aiohttp's two default TLS contexts, unused, read no certificates either.
    assert reported["unread_tls"] == ([True, True] if remote.kind == "s3" else [None, None])
