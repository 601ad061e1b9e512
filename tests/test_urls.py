"""The one rule for a server URL written without a scheme, as each layer applies it."""

from __future__ import annotations

import pytest

from fsartifacts.artifactoryfs.http import normalise_url
from fsartifacts.urls import with_scheme


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("artifactory.example.com/artifactory", "https://artifactory.example.com/artifactory"),
        ("http://127.0.0.1:8081/artifactory", "http://127.0.0.1:8081/artifactory"),
        ("https://host", "https://host"),
    ],
)
def test_a_url_without_a_scheme_is_https_and_one_with_a_scheme_is_kept(
    written: str, meant: str
) -> None:
    assert with_scheme(written) == meant
    assert normalise_url(written)[0] == meant
