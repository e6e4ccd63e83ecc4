"""boto3 clients with botocore's retry modes; the endpoint comes from boto3's own AWS_ENDPOINT_URL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args, overload

import boto3
from botocore.config import Config

from pipeline_functions.constants import (
    AWS_MAX_ATTEMPTS_ENV,
    AWS_RETRY_MODE_ENV,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_MODE,
)
from pipeline_functions.exceptions import ConfigurationError
from pipeline_functions.shared.config import read_int

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_pipes import EventBridgePipesClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

RetryMode = Literal["legacy", "standard", "adaptive"]
ServiceName = Literal["s3", "dynamodb", "sqs", "sns", "sts", "events", "pipes"]
_RETRY_MODES: dict[str, RetryMode] = {mode: mode for mode in get_args(RetryMode)}


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of an assumed role; ``expiration`` is timezone-aware."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


def boto_config(environ: Mapping[str, str] | None = None) -> Config:
    """Exponential backoff with jitter from botocore; AWS_RETRY_MODE / AWS_MAX_ATTEMPTS still tune it."""
    env = os.environ if environ is None else environ
    raw_mode = env.get(AWS_RETRY_MODE_ENV, "").strip() or DEFAULT_RETRY_MODE
    mode = _RETRY_MODES.get(raw_mode)
    if mode is None:
        raise ConfigurationError(
            f"environment variable {AWS_RETRY_MODE_ENV}={raw_mode!r} is not a retry mode; "
            f"expected one of {', '.join(_RETRY_MODES)}"
        )
    attempts = read_int(AWS_MAX_ATTEMPTS_ENV, DEFAULT_MAX_ATTEMPTS, env)
    return Config(retries={"mode": mode, "max_attempts": attempts}, connect_timeout=5, read_timeout=60)


@overload
def client(
    service: Literal["s3"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> S3Client: ...
@overload
def client(
    service: Literal["dynamodb"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> DynamoDBClient: ...
@overload
def client(
    service: Literal["sqs"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> SQSClient: ...
@overload
def client(
    service: Literal["sns"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> SNSClient: ...
@overload
def client(
    service: Literal["sts"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> STSClient: ...
@overload
def client(
    service: Literal["events"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> EventBridgeClient: ...
@overload
def client(
    service: Literal["pipes"],
    *,
    credentials: Credentials | None = ...,
    region: str | None = ...,
    config: Config | None = ...,
) -> EventBridgePipesClient: ...
def client(
    service: ServiceName,
    *,
    credentials: Credentials | None = None,
    region: str | None = None,
    config: Config | None = None,
) -> Any:
    """A client for ``service``; without ``credentials`` it uses the function's own (environment or role)."""
    kwargs: dict[str, Any] = {"config": config or boto_config()}
    if region:
        kwargs["region_name"] = region
    if credentials is not None:
        kwargs.update(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    return boto3.client(service, **kwargs)
