"""What every case needs: the run's settings, a scratch folder, and the servers (started lazily)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from measure import MiB, Summary
from peers import Peers
from servers import Artifactory, Moto

GiB = 1024 * MiB


@dataclass
class Bench:
    """One benchmark run. ``runs`` is how many times each measured command runs (median)."""

    quick: bool
    runs: int
    large_mib: int | None = None  # --large-size: one size for every store's large artifact
    stores: frozenset[str] | None = None  # --store: the stores to measure on (None: every one)
    peers: Peers = field(default_factory=Peers)  # rclone, aws, dvc: found or set up
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fsartifacts-bench-")))
    details: list[str] = field(default_factory=list)
    _warmed: int = 0
    _artifactory: Artifactory | None = None
    _moto: Moto | None = None

    def large_size(self, kind: str) -> int:
        """The size of the large artifact: 1 GiB, 256 MiB on moto; 16 MiB with --quick;
        or the one --large-size gives."""
        if self.large_mib is not None:
            return self.large_mib * MiB
        if self.quick:
            return 16 * MiB
        return 256 * MiB if kind == "s3" else GiB

    def on(self, *kinds: str) -> tuple[str, ...]:
        """Of a case's stores ``kinds``, in its order, those this run measures on
        (``--store``): a case on moto and Artifactory can then skip moto's slow rows."""
        return tuple(kind for kind in kinds if self.stores is None or kind in self.stores)

    def artifactory(self) -> Artifactory:
        if self._artifactory is None:
            self._artifactory = Artifactory(self.work / "artifactory-server")
        return self._artifactory

    def moto(self) -> Moto:
        if self._moto is None:
            home = self.work / "aws-home"
            home.mkdir(exist_ok=True)
            self._moto = Moto(home)
        return self._moto

    def warm_memory(self, size: int) -> None:
        """Write and delete ``size`` bytes once, before the large cases.

        On a virtual machine the first write to a never-used page of guest memory
        costs a fault in the host, several times a normal page-cache write; the
        kernel hands freed pages out again first. Without this, whichever command
        runs first pays for it (measured here: ``cp`` of 1 GiB 0.5 s or 3.7 s).
        """
        if size <= self._warmed:
            return
        path = self.work / "warm-up.bin"
        block = bytes(4 * MiB)
        with open(path, "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
        path.unlink()
        self._warmed = size

    def scratch(self, name: str) -> Path:
        """A fresh folder under the run's scratch folder."""
        path = self.work / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def note(self, message: str) -> None:
        """Progress, on stderr (the table goes to stdout)."""
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    def detail(self, what: str, who: str, summary: Summary) -> None:
        """Remember one command's medians, printed under the table."""
        self.details.append(
            f"{what} | {who}: wall {summary.wall:.3f} s, cpu {summary.cpu:.2f} s, "
            f"peak RSS {summary.peak_rss / MiB:.0f} MiB (median of {summary.runs})"
        )

    def close(self) -> None:
        for server in (self._artifactory, self._moto):
            if server is not None:
                server.stop()
        self._artifactory = self._moto = None
        shutil.rmtree(self.work, ignore_errors=True)
