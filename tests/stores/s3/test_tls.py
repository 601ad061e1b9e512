"""The S3 client's TLS set-up, done only where a connection uses it: default contexts
that read their CA certificates when first used, and no verifying context for an
``http://`` endpoint reached without a proxy (over HTTPS or a proxy, verification is
botocore's, a custom CA bundle included)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.config.model import TransferSettings
from fsartifacts.stores.s3.filesystem import make_filesystem
from fsartifacts.stores.s3.tls import DeferredCertsContext, deferred_default_contexts, verify_for

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_default_context_made_while_deferred_reads_its_certificates_when_it_wraps() -> None:
    with deferred_default_contexts():
        deferred = ssl.create_default_context()
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        unverified.set_default_verify_paths()
    assert type(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)) is ssl.SSLContext  # put back
    assert isinstance(deferred, DeferredCertsContext) and isinstance(deferred, ssl.SSLContext)
    assert deferred.deferred and unverified.deferred
    plain = ssl.create_default_context()
    assert (deferred.verify_mode, deferred.check_hostname) == (ssl.CERT_REQUIRED, True)
    deferred.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    assert not deferred.deferred
    # What it then holds is what a context made at once holds.
    assert deferred.get_ca_certs() == plain.get_ca_certs()
    assert unverified.cert_store_stats() == plain.cert_store_stats()
    assert not unverified.deferred and unverified.verify_mode == ssl.CERT_NONE


def test_once_loaded_a_deferred_context_reads_at_once() -> None:
    with deferred_default_contexts():
        deferred = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert not deferred.deferred and deferred.cert_store_stats()["x509_ca"] == 0
    deferred.load_pending()
    deferred.load_default_certs()
    assert not deferred.deferred
    assert deferred.cert_store_stats() == ssl.create_default_context().cert_store_stats()


def test_an_http_endpoint_without_a_proxy_is_reached_with_nothing_to_verify(
    no_proxies: pytest.MonkeyPatch,
) -> None:
    assert verify_for("http://127.0.0.1:9000") is False
    assert verify_for("HTTP://minio.internal/") is False


@pytest.mark.parametrize("endpoint", [None, "https://s3.example.org", "https://127.0.0.1:9000"])
def test_https_and_aws_endpoints_keep_botocores_verification(
    no_proxies: pytest.MonkeyPatch, endpoint: str | None
) -> None:
    assert verify_for(endpoint) is None


def test_an_http_endpoint_behind_a_proxy_keeps_botocores_verification(
    no_proxies: pytest.MonkeyPatch,
) -> None:
    no_proxies.setenv("HTTP_PROXY", "https://proxy.example.org:3128")
    assert verify_for("http://minio.internal:9000") is None
    no_proxies.setenv("NO_PROXY", "minio.internal")  # the endpoint is reached directly
    assert verify_for("http://minio.internal:9000") is False


def _client_verify(endpoint: str) -> Any:
    fs = make_filesystem(TransferSettings(), region="us-east-1", endpoint_url=endpoint)
    fs.connect()
    return fs.s3._endpoint.http_session._verify


def test_the_client_of_an_http_endpoint_verifies_nothing_and_of_https_its_ca_bundle(
    no_proxies: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")  # only named: no connection is made
    no_proxies.setenv("AWS_CA_BUNDLE", str(bundle))
    assert _client_verify("http://127.0.0.1:1") is False
    assert _client_verify("https://127.0.0.1:1") == str(bundle)
