"""The S3 baseline for one large file: boto3's own managed transfer, with its defaults.

    python baseline_boto3.py upload ENDPOINT BUCKET KEY FILE
    python baseline_boto3.py download ENDPOINT BUCKET KEY FILE

``upload_file`` and ``download_file`` with the default TransferConfig (8 MiB
parts, 10 threads; downloads are parallel ranged GETs). Credentials come from
the environment, as for fsartifacts.
"""

from __future__ import annotations

import sys

import boto3


def main(argv: list[str]) -> None:
    action, endpoint, bucket, key, path = argv
    client = boto3.session.Session().client("s3", endpoint_url=endpoint)
    if action == "upload":
        client.upload_file(path, bucket, key)
    elif action == "download":
        client.download_file(bucket, key, path)
    else:
        raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
