"""What a mock runtime backend must do: give every resource its physical id and outputs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

PROVIDER_TYPE_PREFIX = "pulumi:providers:"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Placement:
    """Where a provider puts its resources and with whose credentials: its region, the account it allows, and
    the role it assumes (`assumeRoles`), as the AWS provider reads its configuration."""

    region: str | None = None
    account_id: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str | None = None

    @classmethod
    def of_provider(cls, inputs: dict[str, Any]) -> Placement:
        allowed = _decoded(inputs.get("allowedAccountIds")) or []
        roles = _decoded(inputs.get("assumeRoles")) or []
        role = roles[0] if roles else {}
        return cls(
            region=str(inputs["region"]) if inputs.get("region") else None,
            account_id=str(allowed[0]) if allowed else None,
            role_arn=role.get("roleArn") or None,
            external_id=role.get("externalId") or None,
            session_name=role.get("sessionName") or None,
        )


def _decoded(value: Any) -> Any:
    """Provider configuration that is not a string reaches the engine JSON-encoded."""
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class ResourceRequest:
    """One resource registration, with the inputs the engine would send to the provider (camelCase, resolved)."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    custom: bool
    parent: str | None = None
    provider: str | None = None
    provider_inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def region(self) -> str | None:
        region = self.provider_inputs.get("region")
        return str(region) if region else None

    @property
    def placement(self) -> Placement:
        return Placement.of_provider(self.provider_inputs)

    @property
    def default_tags(self) -> dict[str, str]:
        raw = self.provider_inputs.get("defaultTags") or {}
        # Provider configuration reaches the engine JSON-encoded.
        default_tags = json.loads(raw) if isinstance(raw, str) else raw
        tags = default_tags.get("tags") or {}
        return {str(k): str(v) for k, v in tags.items()}


@dataclass
class RecordedResource:
    urn: str
    id: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    # URNs this resource waited for (explicit dependsOn and every resource whose output its inputs read):
    # what a delete must respect, since the record lists resources in construction order.
    dependencies: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ResourceBackend(Protocol):
    """Creates (or pretends to create) resources for the mock runtime. Called from several threads at once."""

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        """Return the physical id and every output attribute the program may read."""
        ...

    def invoke(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        """Answer a provider function call such as aws:index/getCallerIdentity:getCallerIdentity."""
        ...
