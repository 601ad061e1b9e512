"""A moto server shared by the whole test session (S3, Secrets Manager...).

Tests talk real HTTP to it on 127.0.0.1. The fixture also walls the session
off from the developer's own AWS setup: dummy credentials and region, no
profile, no ~/.aws files, no boto config, no instance metadata lookups.
Each test creates its own uniquely named buckets/secrets, so one server is
enough for everyone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Variables that would let the developer's real AWS setup leak into the tests.
_AWS_VARIABLES_TO_DROP = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CA_BUNDLE",
)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ThreadedMotoServer on a free loopback port; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    aws_home = tmp_path_factory.mktemp("aws-home")
    with pytest.MonkeyPatch.context() as env:
        for name in _AWS_VARIABLES_TO_DROP:
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_SESSION_TOKEN", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("BOTO_CONFIG", "/dev/null")
        # Files that do not exist: botocore then reads no profile from disk.
        env.setenv("AWS_CONFIG_FILE", str(aws_home / "config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_home / "credentials"))
        # No 169.254.169.254 probes when a test removes the credentials on purpose.
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()
