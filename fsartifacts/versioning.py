"""The project version, an artifact's version, and the LATEST rule.

Versions are :class:`semver.Version` objects throughout, so pre-releases and
build metadata compare as the semver spec says (skelebot's own parser could
not read ``1.2.3-rc.1`` at all).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import semver

from fsartifacts.errors import ConfigError
from fsartifacts.localfiles import CONFIG_LIMIT, VERSION_LIMIT, UnreadableFile, read_small_text

if TYPE_CHECKING:
    from fsartifacts.config.model import Artifact, Config

ENV_VERSION = "FSARTIFACTS_VERSION"
VERSION_FILE = "VERSION"
PYPROJECT_FILE = "pyproject.toml"
LATEST = "LATEST"

_EXAMPLE = "MAJOR.MINOR.PATCH such as 1.4.0, 1.4.0-rc.1 or 1.4.0+build.5"


def parse_version(text: object, *, source: str) -> semver.Version:
    """``text`` as a semantic version; ``source`` says where it came from, for the error.

    A leading ``v`` is tolerated (``v1.2.3``), as tags are often written that way.
    """
    raw = str(text).strip() if text is not None else ""
    version = exact_version(raw)
    if version is None:
        raise ConfigError(f"{source}: {raw!r} is not a semantic version; write {_EXAMPLE}")
    return version


Precedence = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


def precedence(version: semver.Version) -> Precedence:
    """A sort key that orders versions as semver compares them (build metadata aside).

    Sorting 10,000 versions by the key is one tuple comparison per step, where
    ``semver.Version``'s own comparison builds tuples and strings at each one.
    """
    pre = version.prerelease
    if pre is None:
        return (version.major, version.minor, version.patch, 1, ())
    return (version.major, version.minor, version.patch, 0,
            tuple(_identifier(part) for part in pre.split(".")))  # fmt: skip


def _identifier(part: str) -> tuple[int, int, str]:
    """A pre-release identifier's key: numbers below words, numbers by value."""
    if not part.isdigit():
        return (1, 0, part)
    digits = part.lstrip("0") or "0"
    return (0, len(digits), digits)


def is_latest_keyword(text: str) -> bool:
    """Whether ``text`` asks for the latest compatible version (``LATEST`` in any case)."""
    return text.strip().upper() == LATEST


def read_version_file(root: Path) -> str | None:
    """The text of ``root/VERSION`` (stripped), or None when there is no such file."""
    path = root / VERSION_FILE
    if not path.exists():
        return None
    try:
        return read_small_text(path, VERSION_LIMIT).strip()
    except UnreadableFile as exc:
        raise ConfigError(f"{path} {exc.strerror}; write the version in a plain file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the project version: {exc}") from None


def _pyproject_version(root: Path) -> str | None:
    path = root / PYPROJECT_FILE
    if not path.exists():
        return None
    import tomllib  # only for a project with a pyproject.toml: it compiles its regexes

    try:
        data = tomllib.loads(read_small_text(path, CONFIG_LIMIT))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read [project].version: {exc}; fix the file or give the "
            f"version another way (--project-version, ${ENV_VERSION}, a VERSION file)"
        ) from None
    project = data.get("project")
    if not isinstance(project, dict):
        return None
    version = project.get("version")
    return str(version) if version is not None else None


def resolve_project_version(
    config: Config, *, cli_version: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[semver.Version, str]:
    """The project version and a description of the source it came from.

    First found wins: ``--project-version``, ``$FSARTIFACTS_VERSION``, ``version:`` of
    fsartifacts.yaml, a VERSION file in the project root, ``[project].version`` of
    pyproject.toml. An empty command-line value or variable counts as not given.
    """
    env = os.environ if environ is None else environ
    if cli_version:
        return parse_version(cli_version, source="--project-version"), "--project-version"
    from_env = env.get(ENV_VERSION)
    if from_env:
        source = f"${ENV_VERSION}"
        return parse_version(from_env, source=source), source
    if config.version is not None:
        source = f"version: in {config.path}"
        return parse_version(config.version, source=source), source
    version_file = config.root / VERSION_FILE
    text = read_version_file(config.root)
    if text is not None:
        if not text:
            raise ConfigError(
                f"{version_file}: the file is empty; write the version in it ({_EXAMPLE})"
            )
        return parse_version(text, source=str(version_file)), str(version_file)
    pyproject = config.root / PYPROJECT_FILE
    text = _pyproject_version(config.root)
    if text is not None:
        source = f"{pyproject} [project].version"
        return parse_version(text, source=source), source
    where = (
        "version: in fsartifacts.yaml, " if config.flavour == "fsartifacts" else ""
    ) + f"{version_file}, [project].version in {pyproject}"
    raise ConfigError(
        f"no project version found (looked at --project-version, ${ENV_VERSION}, {where}); "
        f"give one of them, e.g. a VERSION file holding 1.0.0"
    )


def project_version(
    config: Config, *, cli_version: str | None = None, environ: Mapping[str, str] | None = None
) -> semver.Version:
    """The project version (see :func:`resolve_project_version` for the order of sources)."""
    return resolve_project_version(config, cli_version=cli_version, environ=environ)[0]


def exact_version(text: str) -> semver.Version | None:
    """``text`` as one exact version (a leading ``v`` tolerated), or None when it is not one
    (a range such as ``^1.4``, ``LATEST``, an alias)."""
    candidate = text.strip()
    candidate = candidate[1:] if candidate[:1] in ("v", "V") else candidate
    try:
        return semver.Version.parse(candidate)
    except ValueError:
        return None


def pinned_version(artifact: Artifact) -> semver.Version | None:
    """The artifact's pin: its ``version:`` when that is one exact version.

    A range or an alias there is not a pin but what a pull of the artifact asks for by
    default; such an artifact is pushed as the project version.
    """
    return exact_version(artifact.version) if artifact.version is not None else None


def artifact_version(artifact: Artifact, project: semver.Version) -> semver.Version:
    """The version an artifact is pushed as, and LATEST is judged against: its pin wins."""
    pin = pinned_version(artifact)
    return project if pin is None else pin


def latest_compatible(
    versions: Iterable[semver.Version], project: semver.Version, *, pre: bool = False
) -> semver.Version | None:
    """The highest version with ``project``'s major that is not above ``project``.

    Pre-releases count only with ``pre=True``. A pre-release project (2.0.0-rc.1) never
    picks its own final release (2.0.0 is above it), and without ``pre`` it picks no
    2.x at all, since every 2.x at or below 2.0.0-rc.1 is itself a pre-release.
    Versions equal but for build metadata tie-break on the build string, so the
    answer does not depend on listing order.
    """
    candidates = [
        v
        for v in versions
        if v.major == project.major and v <= project and (pre or v.prerelease is None)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (v, v.build or ""))
