"""Single values of the configuration: ``${VAR}`` expansion, parsing, and their rules.

Each ``*_problem`` function says why a value is unusable, or None when it is
fine; each ``parse_*`` function turns text or a number into the value, or
raises ValueError with the reason. The schema (:mod:`fsartifacts.config.schema`)
and the model builder (:mod:`fsartifacts.config.build`) share them.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fsartifacts.config.model import RESERVED_NAMES, STORE_KINDS, StoreKind
from fsartifacts.escaping import has_control_characters

SAFE_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an artifact name in fsartifacts.yaml, or None when it can."""
    if not SAFE_CHARS.fullmatch(name):
        return f"{name!r} may hold only letters, digits, '.', '_' and '-'"
    if name in (".", ".."):
        return f"{name!r} is not a usable name"
    if name.upper() in RESERVED_NAMES:
        return f"{name!r} is reserved (ALL and LATEST are command keywords, in any case)"
    return None


# --------------------------------------------------------------------------- ${VAR} expansion

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def expand_variables(value: Any, path: str, environ: Mapping[str, str], errors: list[str]) -> Any:
    """``${VAR}`` and ``${VAR:-default}`` in every string value (keys are left alone)."""
    if isinstance(value, str):
        return _expand_text(value, path, environ, errors)
    if isinstance(value, dict):
        return {
            k: expand_variables(v, join_key(path, k), environ, errors) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            expand_variables(v, join_key(path, i), environ, errors) for i, v in enumerate(value)
        ]
    return value


def _expand_text(text: str, path: str, environ: Mapping[str, str], errors: list[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":  # an escaped, literal "${"
            return "${"
        inner = match.group(1)
        parsed = _VARIABLE.fullmatch(inner)
        if parsed is None:
            errors.append(
                f"{path}: malformed reference ${{{inner}}}; write ${{NAME}} or ${{NAME:-default}}"
            )
            return match.group(0)
        name, default = parsed.group(1), parsed.group(2)
        value = environ.get(name)
        if default is not None and not value:  # the shell's ":-": unset or empty
            return default
        if value is None:
            errors.append(
                f"{path}: environment variable {name} is not set; set it, "
                f"or give a default as ${{{name}:-default}}"
            )
            return match.group(0)
        return value

    return _REFERENCE.sub(substitute, text)


def join_key(path: str, key: object) -> str:
    """The key path of ``key`` inside ``path``: ``a.b``, or ``a[0]`` for a list index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# --------------------------------------------------------------------------- value rules

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)(B?)", re.IGNORECASE | re.ASCII)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}


def parse_size(value: object) -> int:
    """Bytes from ``8388608``, ``"8MiB"``, ``"16MB"`` (decimal) or ``"8M"`` (binary, as rclone)."""
    problem = f"must be a size such as 8MiB, 16MB or 8388608 (got {value!r})"
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE.fullmatch(value.strip())):
        number, unit, binary, byte = match.groups()
        power = _POWERS[unit.upper()]
        decimal = bool(unit) and bool(byte) and not binary  # "MB" is 10**6, "M" and "MiB" 2**20
        if binary and not unit:
            raise ValueError(problem)
        scaled = float(number) * (1000 if decimal else 1024) ** power
        if not math.isfinite(scaled):
            raise ValueError(problem)
        size = int(scaled)
    else:
        raise ValueError(problem)
    if size < 1:
        raise ValueError(f"must be at least 1 byte (got {value!r})")
    return size


def parse_count(value: object) -> int:
    problem = f"must be a whole number of at least 1 (got {value!r})"
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value.strip())
    else:
        raise ValueError(problem)
    if count < 1:
        raise ValueError(problem)
    return count


MAX_SECONDS = 86400


def parse_seconds(value: object) -> float:
    problem = f"must be a number of seconds above 0, such as 60 or 0.5 (got {value!r})"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(problem)
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(problem) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(problem)
    if seconds > MAX_SECONDS:
        # The socket layer cannot hold much more, and a day without progress is a hang.
        raise ValueError(f"must be at most {MAX_SECONDS} seconds, a day (got {value!r})")
    return seconds


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE | re.ASCII)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION_DAYS = 36500  # timedelta's own limit is far above; past this is a typo


def parse_duration(value: object) -> timedelta:
    """A span of time from ``"0s"``, ``"90"`` (seconds), ``"30m"``, ``"1h"`` or ``"7d"``."""
    problem = f"must be a duration such as 0s, 30m, 1h or 7d (got {value!r})"
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(problem)
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if not math.isfinite(seconds) or seconds > MAX_DURATION_DAYS * 86400:
        raise ValueError(f"must be at most {MAX_DURATION_DAYS} days (got {value!r})")
    return timedelta(seconds=seconds)


def path_problem(file: str) -> str | None:
    """Why an artifact ``file`` leaves the project root, or None when it stays inside."""
    if has_control_characters(file):
        return control_problem(file)
    if file.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[\\/]", file):
        return f"{file!r} is absolute; give a path relative to the project root"
    normal = posixpath.normpath(file.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"{file!r} leaves the project root; keep artifacts inside the project"
    if normal == ".":
        return f"{file!r} is the project root itself; name a file or folder inside it"
    return None


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", re.DOTALL)


def scheme_typo_problem(url: str) -> str | None:
    """Why ``url`` is a mistyped URL (``s3:/bucket``, ``https:host``), or None.

    A scheme must be followed by ``//``. Not a typo: a one-letter "scheme" (a
    Windows drive, ``C:/x``) and ``host:8081/x`` (a port, for settings where no
    scheme means https).
    """
    match = _SCHEME.fullmatch(url.strip())
    if match is None or len(match.group(1)) == 1:
        return None
    scheme, rest = match.groups()
    if rest.startswith("//") or rest[:1].isdigit():
        return None
    return (
        f"{url!r} is not a URL fsartifacts can use: write "
        f"{scheme}://{rest.lstrip('/')} (two slashes after {scheme}:)"
    )


def control_problem(text: str) -> str | None:
    """Why a configured name or URL cannot be used as it holds a control character."""
    if has_control_characters(text):
        return f"{text!r} holds a control character (a NUL, a newline, ...); remove it"
    return None


def url_syntax_problem(url: str) -> str | None:
    """Why ``url`` is mistyped or cannot be parsed as a URL (``http://[::1/a``), or None."""
    typo = control_problem(url) or scheme_typo_problem(url)
    if typo:
        return typo
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - the port is parsed lazily, and may be invalid
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc}); check the brackets, host and port"
    host = parts.hostname or ""
    if parts.scheme.lower() in ("http", "https") and ":" not in host and _BAD_HOST.search(host):
        # No request could go there: urllib3 refuses such a host, after every try. (An
        # IPv6 literal may hold a % before its zone.)
        return f"{url!r} is not a valid URL (its host {parts.hostname!r}); check the host"
    return None


# Characters no host name holds (a space, the % of an escape, what URLs reserve).
_BAD_HOST = re.compile(r"[\s%<>\"{}|\\^`]")


def store_url_problem(url: str) -> str | None:
    """Why ``repository.url`` cannot be the store the user meant, or None.

    Each part of a chained URL (``simplecache::s3://b``) is checked: it must be
    a well-formed URL (:func:`url_syntax_problem`) that names something after
    its scheme (``file://`` names no folder), or a local path. Whether fsspec
    knows the scheme is checked when the store is opened, as that needs fsspec.
    """
    for part in url.strip().split("::"):
        problem = url_syntax_problem(part)
        if problem:
            return problem
        scheme, sep, rest = part.partition("://")
        if sep and not rest.strip():
            return (
                f"{url!r} names no path after {scheme}://; "
                f"write {scheme}://bucket/folder or file://./folder"
            )
    return None


def local_path_of(url: str) -> str | None:
    """The path of a local folder store's URL (``file://x``, or a bare path), else None."""
    if url.startswith("file://"):
        return url[len("file://") :]
    if "://" in url or "::" in url:
        return None
    return url


def outside_root_problem(root: Path, file: str | Path) -> str | None:
    """Why ``file`` (relative to ``root``, or absolute), every symlink on its way resolved,
    is not a place inside the project root; None when it is.

    The one rule for both flavours, at config build time and again right before a
    pull writes there: a symlink may appear between the two.
    """
    problem = control_problem(str(file))
    if problem:
        return problem
    try:
        real_root = root.resolve()
        real = (root / file).resolve()
        real.exists()  # the name is checked by the system: too long, a part too long
    except OSError as exc:
        return f"{str(file)!r} cannot be used as a path: {exc.strerror or exc}"
    if real == real_root:
        return f"{str(file)!r} is the project root itself; name a file or folder inside it"
    if not real.is_relative_to(real_root):
        return (
            f"{str(file)!r} resolves to {real}, outside the project root {real_root}; "
            "keep artifacts inside the project"
        )
    return None


def ext_problem(ext: str) -> str | None:
    if not ext.startswith(".") or len(ext) < 2 or not SAFE_CHARS.fullmatch(ext):
        return (
            f"{ext!r} must start with '.' and hold only letters, digits, '.', '_' and '-' "
            "(like .pkl or .tar.gz)"
        )
    return None


def as_text(value: Any) -> Any:
    """YAML reads ``version: 2`` as a number; versions are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def kind_of(value: object) -> str:
    """The YAML type of a value as a message says it: a string, a mapping, an integer, null..."""
    if value is None:
        return "null"
    names = {str: "string", bool: "boolean", int: "integer", float: "number", list: "list"}
    names.update({dict: "mapping", date: "date", datetime: "timestamp", bytes: "binary"})
    names[set] = "set"
    name = names.get(type(value), type(value).__name__)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def stores_in(repository: Mapping[str, Any]) -> list[StoreKind]:
    """The store kinds a repository mapping sets, in the order s3, artifactory, url."""
    return [kind for kind in STORE_KINDS if repository.get(kind) is not None]
