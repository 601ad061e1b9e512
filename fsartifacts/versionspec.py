"""What a user asks for when they name a version, parsed once and resolved in one place.

Every place that takes a version (``pull``, ``sync pull``, ``list``, ``open``,
``Project.resolve``, an artifact's ``version:`` in the config, a
``fsartifacts://name@SPEC`` URL) turns the user's text into a
:class:`VersionSpec` with :meth:`VersionSpec.parse`, and picks a version with
:func:`resolve`:

- exact: ``1.4.0``, ``v1.4.0``, ``1.5.0-rc.1``, ``1.4.0+build.5``;
- ``LATEST`` (any case): the highest version with the base version's major
  that is not above it (the base is the project version, or an artifact's pin);
- a range, npm's syntax: ``^1.4``, ``~1.4.2``, ``1.x``, ``1.2``, ``*``,
  ``>=1.2.0 <2``, ``1.2.3 - 1.4``, ``^1 || ^2``; a comma means "and" as in
  cargo (``>=1.2.0,<2``);
- an alias: ``@prod``, a name that the store maps to a version.

The highest matching version wins (build metadata does not count for
precedence; equal versions tie-break on the build string so the answer does
not depend on listing order). Pre-releases count only with ``pre=True`` or,
as in npm, when a comparator of the range names a pre-release of the same
``MAJOR.MINOR.PATCH`` (``^1.5.0-rc.0`` takes ``1.5.0-rc.3``, not ``1.6.0-rc.1``).
Range matching is node-semver's; ordering is the ``semver`` package's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import semver

from fsartifacts.errors import ConfigError
from fsartifacts.escaping import has_control_characters
from fsartifacts.versioning import LATEST, exact_version, is_latest_keyword, latest_compatible

SpecKind = Literal["exact", "latest", "range", "alias"]

ALIAS_MARK = "@"  # @prod, where a version is asked for
ALIAS_NAME_RULE = (
    "an alias name is a letter, then letters, digits, '-' or '_' (at most 64), "
    "and looks like no version or keyword: for example prod, champion, staging"
)
_ALIAS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}", re.ASCII)
# v1, V2-rc: read as versions by people and by tools; _v1 anywhere: skelebot's
# Artifactory LATEST takes any path holding "{name}_v{major}" for a version.
_VERSION_LIKE = re.compile(r"(?:[vV][0-9].*|.*_[vV][0-9].*)", re.ASCII)
_KEYWORDS = {"latest", "all", "none"}
SPEC_EXAMPLES = (
    "an exact version (1.4.0), LATEST, a range (^1.4, ~1.4.2, 1.x, >=1.2.0,<2) or an alias (@prod)"
)


@dataclass(frozen=True)
class VersionSpec:
    """A parsed version request; build one with :meth:`parse`."""

    text: str  # as the user wrote it (stripped; LATEST in capitals)
    kind: SpecKind
    version: semver.Version | None = None  # for "exact"
    alias: str | None = None  # for "alias": the name without its "@"

    @classmethod
    def parse(cls, text: object, *, source: str = "the VERSION argument") -> VersionSpec:
        """``text`` as a request; a malformed one is a ConfigError (exit 2) naming ``source``."""
        raw = str(text).strip() if text is not None else ""
        if not raw:
            raise ConfigError(f"{source}: no version given; write {SPEC_EXAMPLES}")
        if has_control_characters(raw):
            raise ConfigError(f"{source}: {raw!r} holds control characters; write {SPEC_EXAMPLES}")
        if is_latest_keyword(raw):
            return cls.latest()
        if raw.startswith(ALIAS_MARK):
            name = raw[len(ALIAS_MARK) :]
            try:
                validate_alias_name(name)
            except ConfigError as exc:
                raise ConfigError(f"{source}: {raw!r} is not an alias (@prod): {exc}") from None
            return cls(raw, "alias", alias=name)
        exact = exact_version(raw)
        if exact is not None:
            return cls(raw, "exact", version=exact)
        try:
            _range(raw)
        except ValueError:
            raise ConfigError(
                f"{source}: {raw!r} is not a version or a range; write {SPEC_EXAMPLES}"
            ) from None
        return cls(raw, "range")

    @classmethod
    def latest(cls) -> VersionSpec:
        return cls(LATEST, "latest")

    @property
    def is_latest(self) -> bool:
        return self.kind == "latest"

    def matches(self, version: semver.Version, *, pre: bool = False) -> bool:
        """Whether ``version`` satisfies an exact version or a range (not LATEST, not an alias:
        those need the base version or the store, see :func:`resolve`)."""
        if self.kind == "exact":
            assert self.version is not None
            same_build = self.version.build is None or self.version.build == version.build
            return version == self.version and same_build
        if self.kind == "range":
            return bool(_range(self.text).test(str(version), include_prerelease=pre))
        raise ValueError(f"{self.text} is matched by resolve(), not matches()")

    def describe(self, base: semver.Version) -> str:
        """What the request means, for messages: "version 1.2.0", "LATEST (...)"..."""
        if self.kind == "latest":
            return f"LATEST (same major {base.major}, not above {base})"
        if self.kind == "exact":
            return f"version {self.version}"
        if self.kind == "alias":
            return f"alias {self.text}"
        return f"version matching {self.text}"

    def __str__(self) -> str:
        return self.text


def validate_alias_name(name: str) -> str:
    """``name`` when it may name an alias; else a ConfigError (exit 2) saying the rule."""
    if not _ALIAS_NAME.fullmatch(name) or _VERSION_LIKE.fullmatch(name):
        raise ConfigError(f"alias {name!r}: {ALIAS_NAME_RULE}")
    if name.lower() in _KEYWORDS:
        raise ConfigError(f"alias {name!r}: {name.upper()} is a keyword; {ALIAS_NAME_RULE}")
    return name


def resolve(
    spec: VersionSpec,
    available: Iterable[semver.Version],
    base: semver.Version,
    *,
    pre: bool = False,
) -> semver.Version | None:
    """The version ``spec`` picks among ``available``, or None when none fits.

    ``base`` is what LATEST is judged against (the project version, or the artifact's
    pin). An exact version wins even when it is a pre-release; a request without build
    metadata prefers the copy without any. An alias is not resolved here: the store
    holds what it points at (``engine.aliases``), an exact version then resolved here.
    """
    versions = list(available)
    if spec.kind == "latest":
        return latest_compatible(versions, base, pre=pre)
    if spec.kind == "alias":
        raise ValueError(f"{spec}: an alias is resolved by the store that holds it")
    candidates = [v for v in versions if spec.matches(v, pre=pre)]
    if not candidates:
        return None
    if spec.kind == "exact":
        assert spec.version is not None
        wanted = spec.version.build
        return max(candidates, key=lambda v: (v.build == wanted, v.build or ""))
    return max(candidates, key=lambda v: (v, v.build or ""))


@functools.lru_cache(maxsize=256)
def _range(text: str) -> Any:
    """node-semver's Range for ``text`` (raises ValueError when malformed).

    A comma is cargo's "and", which npm writes as a space. An empty alternative of
    ``||``, or an empty term between commas, would mean "any version" (or nothing) to
    node-semver: refused as the typo it is, as cargo does.
    """
    import nodesemver  # costs ~25 ms at import: only when a range is asked for

    if any(
        not term.strip() for part in text.split("||") if "," in part for term in part.split(",")
    ):
        raise ValueError(f"empty term between commas in {text!r}")
    normal = " ".join(text.replace(",", " ").split())
    if any(not part.strip() for part in normal.split("||")):
        raise ValueError(f"empty alternative in {text!r}")
    try:
        return nodesemver.make_range(normal, loose=False)
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(str(exc)) from None
