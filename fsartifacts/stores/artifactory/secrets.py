"""The Artifactory credentials kept in AWS Secrets Manager: one bounded read of a secret.

A secret is JSON ``{"user": ..., "token": ...}``, or a plain string that is the
token. botocore is imported only when a configuration asks for this
(``auth.aws: true``); it honours ``$AWS_ENDPOINT_URL_SECRETS_MANAGER`` and
``$AWS_ENDPOINT_URL`` by itself.
"""

from __future__ import annotations

import json
from typing import cast

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import AuthError, ConfigError, TransferError
from fsartifacts.stores.artifactory.settings import AUTH_KEY


def read_aws_secret(
    secret_id: str, *, profile: str | None, region: str, transfer: TransferSettings | None = None
) -> str:
    """The SecretString (or decoded SecretBinary) of secret_id, or an AuthError (exit 2).

    The request is bounded and its retries announced as every store's (``transfer``)."""
    try:
        import botocore.session
        from botocore.config import Config
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
            ReadTimeoutError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError as exc:  # pragma: no cover - botocore comes with s3fs
        raise ConfigError(f"{AUTH_KEY}.aws: true needs botocore: pip install botocore") from exc

    where = f"secret '{secret_id}' in region {region}"
    if profile:
        where += f" (AWS profile '{profile}')"
    fix = f"fix {AUTH_KEY}.awsSecret/awsRegion/awsProfile or the AWS credentials"
    try:
        from fsartifacts.retry import connect_timeout
        from fsartifacts.stores.s3.retries import watch_requests

        transfer = transfer or TransferSettings()
        session = botocore.session.Session(profile=profile)
        bounded = Config(
            connect_timeout=connect_timeout(transfer.timeout),
            read_timeout=transfer.timeout,
            retries={"total_max_attempts": transfer.attempts, "mode": "standard"},
        )
        client = session.create_client("secretsmanager", region_name=region, config=bounded)
        watch_requests(client, transfer.attempts, asynchronous=False)
        response = client.get_secret_value(SecretId=secret_id)
    except ProfileNotFound as exc:
        raise AuthError(
            f"Cannot read the Artifactory credentials from AWS Secrets Manager: AWS profile "
            f"'{profile}' does not exist: fix {AUTH_KEY}.awsProfile or your AWS config",
            missing_credentials=True,
        ) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise AuthError(
            f"Cannot read the Artifactory credentials from AWS Secrets Manager {where}: no AWS "
            "credentials were found; set $AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            f"or {AUTH_KEY}.awsProfile",
            missing_credentials=True,
        ) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code == "ResourceNotFoundException":
            problem = "it does not exist"
        else:
            problem = f"{code}: {error.get('Message', '')}".rstrip(": ")
        raise AuthError(
            f"Cannot read the Artifactory credentials from AWS Secrets Manager {where}: "
            f"{problem}; {fix}",
            missing_credentials=True,
        ) from exc
    except (ReadTimeoutError, BotoConnectionError) as exc:
        # The network, not the credentials: exit 1, naming the endpoint and the setting.
        raise TransferError(
            f"Cannot read the Artifactory credentials from AWS Secrets Manager {where}: {exc}; "
            "check the network and $AWS_ENDPOINT_URL_SECRETS_MANAGER, or allow more time "
            "(transfer.timeout, FSARTIFACTS_TIMEOUT)"
        ) from exc
    except BotoCoreError as exc:
        raise AuthError(
            f"Cannot read the Artifactory credentials from AWS Secrets Manager {where}: {exc}",
            missing_credentials=True,
        ) from exc

    if "SecretString" in response:
        return cast(str, response["SecretString"])
    try:
        return cast(bytes, response["SecretBinary"]).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        raise AuthError(
            f"AWS Secrets Manager {where} holds binary data, not text: store the credentials "
            'as JSON {"user": ..., "token": ...} or as the token itself',
            missing_credentials=True,
        ) from None


def parse_aws_secret(text: str, secret_id: str) -> tuple[str | None, str]:
    """(user, token) from a JSON object, or (None, text) for a plain-string secret."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # A plain string (JSON scalars such as an all-digit token included) is the token.
        return None, text[:-1] if text.endswith("\n") else text
    user, token = data.get("user"), data.get("token")
    if isinstance(token, bool) or not isinstance(token, str | int) or token == "":
        keys = ", ".join(sorted(str(k) for k in data)) or "none"
        raise AuthError(
            f"AWS Secrets Manager secret '{secret_id}' has no \"token\" (its keys: {keys}): store "
            'the credentials as JSON {"user": ..., "token": ...}',
            missing_credentials=True,
        )
    return (str(user) if user else None), str(token)
