"""``fsartifacts demo``: the whole job on a local folder store, with nothing to set up.

It writes a small project (two file artifacts, a folder artifact and a
singular one) whose store is a folder beside it, pushes ALL, then pulls ALL
LATEST into a second checkout of the same project, and checks the bytes.
Run again in the same folder, it starts over from an empty store; a folder
holding parts it did not make is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from fsartifacts.cli.render import failure_lines, render_results
from fsartifacts.engine.results import Result
from fsartifacts.errors import EXIT_FAILED, EXIT_OK, ConfigError
from fsartifacts.escaping import printable
from fsartifacts.hashing import hash_file

PARTS = ("producer", "consumer", "store")
MARKER = ".fsartifacts-demo"

CONFIG = """\
# A demo project: its store is the folder ../store.
repository:
  url: file://../store
  artifacts:
    - name: model
      file: models/model.pkl
    - name: features
      file: data/features.csv
    - name: embeddings
      file: data/embeddings
    - name: labels
      file: data/labels.json
      singular: true
"""

FILES = {
    "models/model.pkl": b"\x80\x04demo model weights\n" * 2048,
    "data/features.csv": b"id,height,weight\n"
    + b"".join(b"%d,%d,%d\n" % (i, i, i) for i in range(500)),
    "data/embeddings/part-0.bin": os.urandom(64 * 1024),
    "data/embeddings/part-1.bin": os.urandom(32 * 1024),
    "data/embeddings/meta/info.json": b'{"dim": 128}\n',
    "data/labels.json": b'["cat", "dog"]\n',
}


def _write_project(folder: Path, version: str, files: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fsartifacts.yaml").write_text(CONFIG)
    (folder / "VERSION").write_text(version + "\n")
    if files:
        for rel, data in FILES.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _check(results: list[Result], producer: Path) -> list[str]:
    """Compare every pulled copy with the pushed original."""
    problems = []
    for r in results:
        if r.action != "pulled" or r.local is None:
            continue
        pulled = Path(r.local)
        source = next(p for p in FILES if p.startswith(_file_of(r.artifact)))
        original = producer / _file_of(r.artifact)
        if pulled.is_dir():
            for rel in (p for p in FILES if p.startswith(_file_of(r.artifact) + "/")):
                inner = rel[len(_file_of(r.artifact)) + 1 :]
                if hash_file(pulled / inner) != hash_file(producer / rel):
                    problems.append(f"{r.artifact}: {inner} differs")
        elif hash_file(pulled) != hash_file(original):
            problems.append(f"{r.artifact}: {source} differs")
    return problems


def _file_of(artifact: str) -> str:
    return {
        "model": "models/model.pkl",
        "features": "data/features.csv",
        "embeddings": "data/embeddings",
        "labels": "data/labels.json",
    }[artifact]


def _start_over(base: Path) -> None:
    """An empty demo folder: the parts an earlier demo made there are removed."""
    if (base / MARKER).is_file():
        for part in PARTS:
            shutil.rmtree(base / part, ignore_errors=True)
    else:
        present = [part for part in PARTS if (base / part).exists()]
        if present:
            raise ConfigError(
                f"{base} already holds {', '.join(present)}, not made by `fsartifacts demo`: "
                "give the demo an empty folder (or none, for a temporary one)."
            )
    base.mkdir(parents=True, exist_ok=True)
    (base / MARKER).write_text("made by `fsartifacts demo`, which starts over here on each run\n")


def run_demo(directory: str | None, *, as_json: bool = False) -> int:
    from fsartifacts.project import Project

    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="fsartifacts-demo-"))
    _start_over(base)
    producer, consumer = base / "producer", base / "consumer"
    _write_project(producer, "1.4.0", files=True)
    _write_project(consumer, "1.9.0", files=False)

    pushed = Project.load(start=producer).push("ALL")
    pulled = Project.load(start=consumer).pull("ALL", "LATEST")
    problems = _check(pulled, producer)
    failed = [r for r in pushed + pulled if r.action == "failed"]
    if as_json:
        print(
            json.dumps(
                {
                    "directory": str(base),
                    "push": [r.to_dict() for r in pushed],
                    "pull": [r.to_dict() for r in pulled],
                    "problems": problems,
                },
                indent=2,
            )
        )
    else:
        print(f"demo project in {base}\n")
        print(f"$ cd {producer} && fsartifacts push ALL        # project version 1.4.0")
        print(printable(render_results(pushed, show_summary=True, command="push"), lines=True))
        print(f"\n$ cd {consumer} && fsartifacts pull ALL LATEST # project version 1.9.0")
        print(printable(render_results(pulled, show_summary=True, command="pull"), lines=True))
        for line in failure_lines(pushed + pulled):
            print(printable(line), file=sys.stderr)
        verdict = (
            "every pulled byte matches what was pushed" if not problems else "; ".join(problems)
        )
        print(f"\ncheck: {verdict}")
    return EXIT_FAILED if failed or problems else EXIT_OK
