"""How a server URL may be written: the one rule the configuration, its validation and the
``artifactory://`` filesystem share. Imports nothing, so every layer may use it."""

from __future__ import annotations

DEFAULT_SCHEME = "https"


def with_scheme(url: str) -> str:
    """``url`` with ``https://`` in front when it names no scheme: skelebot's documentation
    writes an Artifactory server as a bare host (``artifactory.example.com/artifactory``)."""
    return url if "://" in url else f"{DEFAULT_SCHEME}://{url}"
