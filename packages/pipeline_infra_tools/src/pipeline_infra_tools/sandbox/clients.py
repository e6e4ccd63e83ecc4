"""The one way anything in the tool talks to the emulator: boto3 clients with botocore's standard retries.

Standard retries (exponential backoff with jitter) ride out a busy machine dropping a connection; the timeouts
keep a stuck emulator from hanging a command. Every caller (resource handlers, the local Lambda runtime, the
demo, drift, redrive and resync) goes through here, so the emulator's client setup has one home.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

EMULATOR_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)
# The local runtime plays AWS's own machinery (rule deliveries, EMF extraction, Pipes); its calls carry this in
# their user agent, so the emulator's request counts tell them from a deploy's or an operator's.
RUNTIME_USER_AGENT = "pipeline-infra-sandbox-runtime"
RUNTIME_CLIENT_CONFIG = EMULATOR_CLIENT_CONFIG.merge(Config(user_agent_extra=RUNTIME_USER_AGENT))


def emulator_session(
    access_key_id: str, secret_access_key: str, region: str, session_token: str | None = None
) -> boto3.Session:
    """A session for one set of credentials; create its clients up front (sessions are not thread-safe)."""
    return boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
    )


def emulator_client(session: boto3.Session, service: str, endpoint: str, config: Config | None = None) -> Any:
    """A client of `service` at the emulator's `endpoint`."""
    make: Any = session.client  # the service name is a runtime value, which the stubs' overloads cannot take
    return make(service, endpoint_url=endpoint, config=config or EMULATOR_CLIENT_CONFIG)


def emulator_clients(
    endpoint: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    services: tuple[str, ...],
    session_token: str | None = None,
) -> dict[str, Any]:
    """One client per service, all with the same credentials."""
    session = emulator_session(access_key_id, secret_access_key, region, session_token)
    return {service: emulator_client(session, service, endpoint) for service in services}


__all__ = [
    "EMULATOR_CLIENT_CONFIG",
    "RUNTIME_CLIENT_CONFIG",
    "RUNTIME_USER_AGENT",
    "emulator_client",
    "emulator_clients",
    "emulator_session",
]
