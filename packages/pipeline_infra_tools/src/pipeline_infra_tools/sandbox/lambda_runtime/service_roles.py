"""The services the runtime plays, each acting with the role AWS would use, and what they were refused.

Lambda reads an event source and sends to an on-failure destination with the function's execution role; a Pipe
reads its stream and puts events with its own role. The runtime assumes each role as that service (the service
principal is the session name, which the emulator checks against the role's trust policy), so the emulator's IAM
enforcement decides each call as AWS would. A refused call is logged once per streak as a `delivery_refused`
line, so a missing grant is visible without flooding the log while the runtime keeps trying.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.clients import RUNTIME_CLIENT_CONFIG, emulator_client, emulator_session
from pipeline_infra_tools.sandbox.deliveries import refusal
from pipeline_infra_tools.sandbox.service_grants import Decision, ServiceRequest

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
LAMBDA_SERVICE = "lambda.amazonaws.com"
PIPES_SERVICE = "pipes.amazonaws.com"
EVENTS_SERVICE = "events.amazonaws.com"
# What the emulator answers when IAM refuses a call: the query protocols' code, and the bare status JSON-protocol
# services report (see the README's table of emulator gaps).
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403"}


def log_refusal(request: ServiceRequest, decision: Decision, delivery: str, **details: Any) -> None:
    """One `delivery_refused` record in the runtime's log (its formatter writes a dict message as the line)."""
    log.warning(refusal(request, decision, delivery, **details))


def is_denied(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in DENIED_CODES


@dataclass
class ServiceRoles:
    """Credentials and clients per (role, service played), assumed once and reused while the sandbox runs."""

    sts: Any
    endpoint: str
    region: str
    _credentials: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    _clients: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)
    _refusing: set[tuple[str, str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def credentials(self, role_arn: str, service: str = LAMBDA_SERVICE) -> dict[str, str]:
        with self._lock:
            key = (role_arn, service)
            if key not in self._credentials:
                response = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=service)
                self._credentials[key] = response["Credentials"]
            return self._credentials[key]

    def client(self, role_arn: str, service: str, aws_service: str, region: str | None = None) -> Any:
        """A client of `aws_service` with the role's credentials, in `region` (the resource's; roles are global)."""
        key = (role_arn, service, aws_service, region or self.region)
        if key not in self._clients:
            credentials = self.credentials(role_arn, service)
            session = emulator_session(
                credentials["AccessKeyId"],
                credentials["SecretAccessKey"],
                region or self.region,
                credentials["SessionToken"],
            )
            made = emulator_client(session, aws_service, self.endpoint, RUNTIME_CLIENT_CONFIG)
            with self._lock:
                self._clients.setdefault(key, made)
        return self._clients[key]

    def refused(self, request: ServiceRequest, reason: str, delivery: str, **details: Any) -> None:
        """Log a refused call once until the same call succeeds again (`succeeded`): a source the service keeps
        polling is refused on every poll, but it is one missing grant."""
        key = (delivery, request.resource, request.source_arn)
        with self._lock:
            if key in self._refusing:
                return
            self._refusing.add(key)
        log_refusal(request, Decision(False, reason), delivery, **details)

    def succeeded(self, delivery: str, resource: str, source_arn: str) -> None:
        with self._lock:
            self._refusing.discard((delivery, resource, source_arn))
