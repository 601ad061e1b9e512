"""Version requests: exact, LATEST, npm/cargo ranges and aliases, parsed once and resolved."""

from __future__ import annotations

import pytest
import semver

from fsartifacts.errors import ConfigError
from fsartifacts.versionspec import VersionSpec, resolve

V = semver.Version.parse

STORE = (
    "0.2.3 0.2.9 0.3.0 1.2.9 1.2.10 1.4.0 1.4.2 1.4.3 1.5.0-rc.1 1.5.0 1.6.0-beta.2 "
    "2.0.0-rc.1 2.0.0 2.1.0+build.7"
)
RC_ONLY = "1.4.3 1.5.0-rc.1 1.5.0-rc.2 1.6.0-beta.1"

# (request, versions on the store, base version for LATEST, --pre, expected or None)
CASES = [
    ("^1.4", STORE, "1.5.0", False, "1.5.0"),
    ("~1.4.2", STORE, "1.5.0", False, "1.4.3"),
    ("~1.4", STORE, "1.5.0", False, "1.4.3"),
    ("1.x", STORE, "1.5.0", False, "1.5.0"),
    ("1.2.x", STORE, "1.5.0", False, "1.2.10"),  # 1.2.10 > 1.2.9: numbers, not text
    ("1.2", STORE, "1.5.0", False, "1.2.10"),
    ("<1.2.10", STORE, "1.5.0", False, "1.2.9"),
    (">=1.2.0,<2", STORE, "1.5.0", False, "1.5.0"),  # cargo's comma is "and"
    (">=1.2.0, <1.4", STORE, "1.5.0", False, "1.2.10"),
    (">=1.2.0 <2", STORE, "1.5.0", False, "1.5.0"),  # npm's space is "and"
    ("1.2.3 - 1.4", STORE, "1.5.0", False, "1.4.3"),
    ("^1.2 || ^2", STORE, "1.5.0", False, "2.1.0+build.7"),
    ("*", STORE, "1.5.0", False, "2.1.0+build.7"),  # any version: no project bound
    ("^0.2.3", STORE, "1.5.0", False, "0.2.9"),  # a caret on 0.x keeps the minor
    ("~0.2", STORE, "1.5.0", False, "0.2.9"),
    ("=1.2.9", STORE, "1.5.0", False, "1.2.9"),
    ("1.4.0", STORE, "1.5.0", False, "1.4.0"),  # exact
    ("v1.4.2", STORE, "1.5.0", False, "1.4.2"),
    ("1.5.0-rc.1", STORE, "1.5.0", False, "1.5.0-rc.1"),  # an exact pre-release needs no --pre
    ("^3", STORE, "1.5.0", False, None),  # no match
    ("~1.4.2", "1.4.0 1.5.0", "1.5.0", False, None),
    ("^1.4", "", "1.5.0", False, None),  # nothing on the store
    # pre-releases: only with --pre, or when a comparator names one of the same X.Y.Z
    ("^1.5.0-rc.0", RC_ONLY, "1.5.0", False, "1.5.0-rc.2"),
    ("^1.4", RC_ONLY, "1.5.0", False, "1.4.3"),
    ("^1.4", RC_ONLY, "1.5.0", True, "1.6.0-beta.1"),
    ("^1.4", "1.4.3 2.0.0-rc.1", "1.5.0", True, "1.4.3"),  # 2.0.0-rc.1 is not a 1.x
    (">=1.2.0,<2", "1.4.3 2.0.0-rc.1", "1.5.0", True, "1.4.3"),
    ("1.x", "1.0.0-rc.1", "1.5.0", False, None),
    ("1.x", "1.0.0-rc.1", "1.5.0", True, "1.0.0-rc.1"),
    # build metadata: ignored for precedence; equal versions tie-break on the build
    (">2.1.0", STORE, "1.5.0", False, None),  # 2.1.0+build.7 is not above 2.1.0
    (">=2.1.0", STORE, "1.5.0", False, "2.1.0+build.7"),
    ("2.1.0", STORE, "1.5.0", False, "2.1.0+build.7"),
    ("2.1.0+build.7", STORE, "1.5.0", False, "2.1.0+build.7"),
    ("2.1.0+other", STORE, "1.5.0", False, None),  # a named build is that build
    ("^1", "1.0.0+a 1.0.0+b", "1.5.0", False, "1.0.0+b"),
    ("^1", "1.0.0+b 1.0.0+a", "1.5.0", False, "1.0.0+b"),
    ("1.0.0", "1.0.0+b 1.0.0", "1.5.0", False, "1.0.0"),  # no build asked: the one without
    # LATEST: unchanged, same major as the base and not above it
    ("LATEST", STORE, "1.5.0", False, "1.5.0"),
    ("latest", STORE, "1.4.9", False, "1.4.3"),
    ("LATEST", STORE, "2.0.0-rc.1", False, None),
    ("LATEST", STORE, "2.0.0-rc.1", True, "2.0.0-rc.1"),
    ("LATEST", STORE, "3.0.0", False, None),
]


@pytest.mark.parametrize(("text", "store", "base", "pre", "expected"), CASES)
def test_resolve_table(text: str, store: str, base: str, pre: bool, expected: str | None) -> None:
    spec = VersionSpec.parse(text)
    available = [V(v) for v in store.split()]
    chosen = resolve(spec, available, V(base), pre=pre)
    assert (str(chosen) if chosen is not None else None) == expected
    assert len(CASES) >= 30


def test_kinds() -> None:
    assert VersionSpec.parse("1.4.0").kind == "exact"
    assert VersionSpec.parse(" latest ").kind == "latest"
    assert VersionSpec.parse("latest").text == "LATEST"
    assert VersionSpec.parse("^1.4").kind == "range"
    assert VersionSpec.parse("1.2").kind == "range"  # npm: 1.2.x
    prod = VersionSpec.parse("@prod")
    assert (prod.kind, prod.alias) == ("alias", "prod")


def test_an_alias_is_parsed_here_and_resolved_by_the_store() -> None:
    prod = VersionSpec.parse("@prod")
    with pytest.raises(ValueError, match="resolved by the store"):
        resolve(prod, [V("1.4.2")], V("1.5.0"))


@pytest.mark.parametrize(
    "text",
    [
        "^", ">=", "1.2.3.4", "01.2.3", "garbage", ">=1.0.0 ||", "|| ^1", "^1.4 extra",
        "1.2.3 -", "~>", "@", "@-x", "@pr od", "@v1", "@latest", "", "   ", "1.0.0\x1b[2J", None,
        ">=1.2.0,,<2", "^1.4,", ",^1.4", "^1 || ,<2", "1.x.x.x", "~", "\u0661.\u0662.\u0663",
    ],
)  # fmt: skip
def test_malformed_requests_are_usage_errors_naming_them(text: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        VersionSpec.parse(text, source="the VERSION argument")
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert message.startswith("the VERSION argument: ")
    if text and text.strip() and "\x1b" not in text:
        assert repr(text.strip()) in message
    assert "^1.4" in message or "@prod" in message  # says what would be right
