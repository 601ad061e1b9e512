"""Run the fsartifacts CLI, counting the files it opens and the folders it lists below one
folder (a folder store): ``python list_counted.py STORE ARGS...``.

The counts come from the interpreter's audit events (``open``, ``os.scandir``,
``os.listdir``), so every way of reading the store is seen, whichever layer does it.
They are printed as the last line of stderr, as JSON: ``{"opened": N, "listed": M}``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def main() -> int:
    store, args = os.path.abspath(sys.argv[1]), sys.argv[2:]
    counts = {"opened": 0, "listed": 0}

    def audit(event: str, hooked: tuple[Any, ...]) -> None:
        if event not in ("open", "os.scandir", "os.listdir") or not hooked:
            return
        path = hooked[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and (path == store or path.startswith(store + os.sep)):
            counts["opened" if event == "open" else "listed"] += 1

    sys.addaudithook(audit)
    from fsartifacts.cli.commands import main as cli

    code = cli(args)
    sys.stdout.flush()
    print(json.dumps(counts), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
