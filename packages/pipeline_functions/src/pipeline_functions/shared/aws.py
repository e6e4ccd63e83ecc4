"""boto3 clients with botocore's retry modes; the endpoint comes from boto3's own AWS_ENDPOINT_URL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from pipeline_functions.constants import (
    AWS_MAX_ATTEMPTS_ENV,
    AWS_RETRY_MODE_ENV,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_MODE,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime


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
    mode = env.get(AWS_RETRY_MODE_ENV, "").strip() or DEFAULT_RETRY_MODE
    attempts = int(env.get(AWS_MAX_ATTEMPTS_ENV, "").strip() or DEFAULT_MAX_ATTEMPTS)
    return Config(
        retries={"mode": mode, "max_attempts": attempts},  # type: ignore[arg-type]
        connect_timeout=5,
        read_timeout=60,
    )


def client(
    service: str,
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
    return boto3.client(service, **kwargs)  # type: ignore[call-overload]
