"""Case ``peers``: which peer tools this run has, and their versions, or why not.

A row per peer (rclone, awscli, dvc): its version as it prints it, or ``not run
(why)`` when it is neither installed nor could be (the same words every row that
needs it shows). Cheap: it only asks each installed tool for its version.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from bench import Bench
from peers import AWS, DVC, PIP_PEERS, RCLONE, version
from table import Row

WHERE = {RCLONE: "Debian's rclone", AWS: "awscli (pip, own venv)", DVC: "dvc[s3] (pip, own venv)"}


def peers(bench: Bench) -> list[Row]:
    bench.note("peers: which are installed")
    try:
        ours = f"fsartifacts {package_version('fsartifacts')}"
    except PackageNotFoundError:  # run from a checkout that is not installed
        ours = "fsartifacts (not installed)"
    rows = []
    for name in (RCLONE, *PIP_PEERS):
        peer = bench.peers.get(name)
        found = version(peer) if peer.ok else f"not run ({peer.why_not})"
        rows.append(Row("peers", "", WHERE[name], ours, found))
    return rows
