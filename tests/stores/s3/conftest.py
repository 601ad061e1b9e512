"""Fixtures of the S3 store tests: a client of the session's moto server, a fresh bucket."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture(scope="module")
def s3_client(moto_server: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")


@pytest.fixture
def bucket(s3_client: Any) -> str:
    """A fresh bucket of this test's own: the server is shared, never reset."""
    name = f"fsa-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    return name
