"""Which files of a folder artifact a partial pull takes: ``--include`` / ``--exclude``.

Patterns are gitignore-style (``*.csv``, ``images/``, ``/top.txt``, ``a/**/b``,
``!keep.csv``), matched against the paths a folder's manifest lists. A file is
taken when it matches an include pattern (any file, without ``--include``)
and no exclude pattern. A pull with a selection installs only those files and
leaves the local files outside it as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fsartifacts.engine.manifest import Manifest
from fsartifacts.errors import ConfigError, option

if TYPE_CHECKING:
    from pathspec import PathSpec


@dataclass(frozen=True)
class Selection:
    """The files of a folder a pull takes; with no patterns, all of them."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Selection:
        """A selection from patterns as given; an empty or unusable pattern is refused."""
        selection = cls(tuple(include), tuple(exclude))
        for flag, patterns in (("include", selection.include), ("exclude", selection.exclude)):
            for pattern in patterns:
                if not pattern.strip() or pattern.strip() in ("!", "/"):
                    raise ConfigError(
                        f"{option(flag)}{pattern!r} matches no path: give a gitignore-style "
                        "pattern such as '*.csv', 'images/' or 'a/**/b.bin'."
                    )
        selection._compiled()  # refuses a pattern gitignore rules cannot read
        return selection

    @property
    def partial(self) -> bool:
        return bool(self.include or self.exclude)

    def wants(self, path: str) -> bool:
        """Whether the file at ``path`` (relative, POSIX) is taken."""
        include, exclude = self._compiled()
        if include is not None and not include.match_file(path):
            return False
        return exclude is None or not exclude.match_file(path)

    def select(self, manifest: Manifest, where: str) -> Manifest:
        """The manifest's files this selection takes; none at all is an error."""
        if not self.partial:
            return manifest
        files = tuple(f for f in manifest.files if self.wants(f.path))
        if not files:
            raise ConfigError(
                f"{where}: {self.describe()} matches none of its {len(manifest.files)} files; "
                f"`fsartifacts list --files {manifest.artifact} {manifest.version}` shows them."
            )
        return Manifest(manifest.artifact, manifest.version, files)

    def describe(self) -> str:
        """The selection as it was given on the command line."""
        given = [f"{option('include')}{p!r}" for p in self.include]
        given += [f"{option('exclude')}{p!r}" for p in self.exclude]
        return " ".join(given) or "every file"

    def _compiled(self) -> tuple[PathSpec | None, PathSpec | None]:
        return _compile(self.include), _compile(self.exclude)


@functools.lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> PathSpec | None:
    if not patterns:
        return None
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(patterns)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"cannot read the pattern {exc}: give gitignore-style patterns such as '*.csv', "
            "'images/' or 'a/**/b.bin'."
        ) from exc


EVERY_FILE = Selection()
