"""S3's typed settings, its bucket specs and limits: no s3fs, no server."""

from __future__ import annotations

from typing import Any

import pytest

from fsartifacts.errors import EXIT_USAGE, ConfigError
from fsartifacts.sizes import MiB
from fsartifacts.stores.s3.settings import (
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    S3Settings,
    check_part_size,
    normal_bucket,
    parse_bucket,
)


@pytest.mark.parametrize(
    ("spec", "bucket", "prefix"),
    [
        ("my-bucket", "my-bucket", ""),
        ("my-bucket/", "my-bucket", ""),
        ("bkt-c/", "bkt-c", ""),
        ("s3://my-bucket/a/b/", "my-bucket", "a/b"),
        ("S3A://my-bucket//a///b", "my-bucket", "a/b"),
        ("  /my-bucket/models  ", "my-bucket", "models"),
    ],
)
def test_bucket_spec_normalised(spec: str, bucket: str, prefix: str) -> None:
    assert parse_bucket(spec) == (bucket, prefix)


@pytest.mark.parametrize("spec", [None, "", "  ", "s3://", "///", 42])
def test_bucket_spec_without_a_bucket_is_a_config_error(spec: Any) -> None:
    with pytest.raises(ConfigError, match=r"repository\.s3\.bucket"):
        parse_bucket(spec)


def test_a_bucket_spec_is_shown_as_one_path() -> None:
    assert normal_bucket("s3://my-bucket//team/models/") == "my-bucket/team/models"
    assert normal_bucket("bkt/") == "bkt"


@pytest.mark.parametrize("part_size", [MIN_PART_SIZE - 1, MAX_PART_SIZE + 1])
def test_a_part_size_outside_s3s_limits_names_where_it_was_set(part_size: int) -> None:
    with pytest.raises(ConfigError, match=r"^\$FSARTIFACTS_PART_SIZE: a part size of") as caught:
        check_part_size(part_size, {"part_size": "$FSARTIFACTS_PART_SIZE"})
    assert caught.value.exit_code == EXIT_USAGE
    check_part_size(8 * MiB, {"part_size": "transfer.part_size"})


def test_settings_show_only_what_was_given() -> None:
    assert S3Settings("b/models").as_dict() == {"bucket": "b/models"}
    given = S3Settings("b", region="eu-west-1", extra_args={"ACL": "private"})
    assert given.as_dict() == {
        "bucket": "b",
        "region": "eu-west-1",
        "extra_args": {"ACL": "private"},
    }
