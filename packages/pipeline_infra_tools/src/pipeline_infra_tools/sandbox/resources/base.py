"""What every resource handler shares: the emulator's clients, the request's tags and small conversions."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.clients import emulator_clients

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.engine.backend import ResourceRequest

# AWS Config ("config") is only read: moto's GetBucketNotificationConfiguration drops EventBridgeConfiguration,
# and its AWS Config view of a bucket is where the emulator reports it (see s3_reads.py).
SERVICES = (
    "s3",
    "dynamodb",
    "sns",
    "sqs",
    "iam",
    "logs",
    "events",
    "lambda",
    "pipes",
    "sts",
    "config",
    "cloudwatch",
    "kms",
    "ec2",
)

Outputs = dict[str, Any]


class Clients:
    """boto3 clients for one region, one per service, each made on first use: a program that changes nothing
    calls no service, and making all fourteen would cost it about a second. Clients are thread-safe; sessions
    are not, so each client is made from its own session, under a lock."""

    def __init__(self, region: str, make: Callable[[str], Any]) -> None:
        self.region = region
        self.by_service: dict[str, Any] = {}  # the clients made so far
        self._make = make
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, endpoint: str, region: str, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> Clients:
        """Clients of the emulator at `endpoint`, with these keys."""

        def make(service: str) -> Any:
            return emulator_clients(endpoint, region, access_key_id, secret_access_key, (service,), session_token)[
                service
            ]

        return cls(region, make)

    def client(self, service: str) -> Any:
        if service not in SERVICES:
            raise AttributeError(service)
        with self._lock:
            if service not in self.by_service:
                self.by_service[service] = self._make(service)
            return self.by_service[service]

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        return self.client(service)

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")


@dataclass(frozen=True)
class ResourceContext:
    """Where a resource goes: its region's clients, the account, and its tags (provider defaults + its own).

    `previous_id` is the id the stack records for the resource when this is an update in place (None when it is
    created or replaced): what a provider's Update is given, for resources AWS does not name (a KMS key)."""

    clients: Clients
    region: str
    account_id: str
    tags: dict[str, str]
    previous_id: str | None = None


class CreateHandler(Protocol):
    def __call__(self, request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]: ...


class DeleteHandler(Protocol):
    def __call__(self, id_: str, outputs: Outputs, ctx: ResourceContext) -> None: ...


@dataclass(frozen=True)
class ResourceHandler:
    """Create-or-update (an upsert, so a redeploy changes nothing and duplicates nothing) and delete."""

    create: CreateHandler
    delete: DeleteHandler


def resource_tags(default_tags: dict[str, str], inputs: dict[str, Any]) -> dict[str, str]:
    """Provider default tags overlaid with the resource's own, as AWS reports them in `tagsAll`."""
    own = inputs.get("tags") or {}
    return {**default_tags, **{str(k): str(v) for k, v in own.items()}}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def integer(value: Any) -> int:
    """Numbers reach mock inputs as floats (30.0); AWS APIs want integers."""
    return int(value)


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def ignore_missing(call: Callable[..., Any], *codes: str, **kwargs: Any) -> Any:
    """Run `call`; a 'not found' error (one of `codes`) means the resource is already gone, which delete wants."""
    try:
        return call(**kwargs)
    except ClientError as err:
        if error_code(err) in codes:
            return None
        raise


def camel_to_pascal(value: Any, renames: dict[str, str] | None = None) -> Any:
    """Pulumi's camelCase input shapes to the AWS API's PascalCase; `renames` covers irregular names."""
    renames = renames or {}
    if isinstance(value, dict):
        return {
            renames.get(key, key[:1].upper() + key[1:]): camel_to_pascal(item, renames) for key, item in value.items()
        }
    if isinstance(value, list):
        return [camel_to_pascal(item, renames) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
