"""The mock runtime backend of the local target: every resource is created for real in the emulator.

A program runs unchanged under `pulumi.runtime.set_mocks`; each registration reaches `create`. A resource the
saved record holds with the same inputs is left alone (its saved id and outputs are returned, no call made);
any other is upserted through boto3 (so a redeploy duplicates nothing) and the emulator's own ids, ARNs and
attributes are returned. `delete` removes one resource for destroy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_infra_tools.exceptions import UnsupportedResourceError
from pipeline_infra_tools.sandbox.exceptions import EmulatorRequestError
from pipeline_infra_tools.sandbox.provider_clients import ProviderClients
from pipeline_infra_tools.sandbox.replacement import forces_replacement
from pipeline_infra_tools.sandbox.resources import HANDLERS
from pipeline_infra_tools.sandbox.resources.base import resource_tags
from pipeline_infra_tools.sandbox.unchanged import SAVED_STACK_OPTION, load_saved_resources, unchanged

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import Placement, ResourceBackend, ResourceRequest

REQUIRED_OPTIONS = ("endpoint", "region", "access_key_id", "secret_access_key")
PREVIEW_MODE = "preview"


def supported_types() -> list[str]:
    return sorted(HANDLERS)


class EmulatorBackend:
    """Creates resources in the emulator at `endpoint`. Safe to call from several threads at once."""

    def __init__(self, providers: ProviderClients, saved: dict[str, dict[str, Any]] | None = None) -> None:
        self.providers = providers
        self.saved = saved or {}
        self.region = providers.region

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ResourceBackend:
        """Build the backend from the JSON options the launcher passes to the program's process."""
        missing = [key for key in REQUIRED_OPTIONS if not options.get(key)]
        if options.get("mode") == PREVIEW_MODE:
            from pipeline_infra_tools.sandbox.preview import PreviewBackend

            return PreviewBackend.from_options(options)
        if missing:
            raise EmulatorRequestError(
                f"sandbox backend options lack {', '.join(missing)}; start the sandbox with "
                "`pipeline-infra sandbox up` and deploy through `pipeline-infra deploy`"
            )
        return cls(ProviderClients.from_options(options), load_saved_resources(options.get(SAVED_STACK_OPTION)))

    def invoke(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.providers.context(None).clients.sts.get_caller_identity()
            return {"accountId": identity["Account"], "arn": identity["Arn"], "userId": identity["UserId"]}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        raise UnsupportedResourceError(
            f"provider function {token} is not emulated by the local target; supported: getCallerIdentity, "
            "getRegion, getPartition"
        )

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        handler = HANDLERS.get(request.type)
        if handler is None:
            raise UnsupportedResourceError(
                f"resource type {request.type} ({request.name!r}) is not supported by the local target; "
                f"add a handler in pipeline_infra/sandbox/resources/ or deploy with --target aws. "
                f"Supported types: {', '.join(supported_types())}"
            )
        tags = resource_tags(request.default_tags, request.inputs) if _taggable(request) else {}
        saved = self.saved.get(request.urn)
        if saved is not None and unchanged(saved, request, tags):
            return str(saved["id"]), dict(saved["outputs"])
        previous_id = None
        if saved is not None and not forces_replacement(request.type, saved.get("inputs") or {}, request.inputs):
            previous_id = str(saved["id"])
        ctx = self.providers.context(request.placement, tags, previous_id)
        try:
            id_, extra = handler.create(request, ctx)
        except (ClientError, BotoCoreError) as err:
            raise EmulatorRequestError(f"{request.type} {request.name!r}: the emulator refused it: {err}") from err
        outputs = {**request.inputs, **extra, "id": id_}
        if tags:
            outputs["tagsAll"] = tags
        return id_, outputs

    def delete(self, type_: str, id_: str, outputs: dict[str, Any], placement: Placement | None = None) -> None:
        handler = HANDLERS.get(type_)
        if handler is None:
            raise UnsupportedResourceError(f"resource type {type_} ({id_}) cannot be deleted by the local target")
        ctx = self.providers.context(placement)
        try:
            handler.delete(id_, outputs, ctx)
        except (ClientError, BotoCoreError) as err:
            raise EmulatorRequestError(f"{type_} {id_}: the emulator refused to delete it: {err}") from err

    def close(self) -> None:
        self.providers.close()


def _taggable(request: ResourceRequest) -> bool:
    """Resources that carry tags in AWS (configuration sub-resources, policies and targets do not)."""
    return request.type in TAGGABLE_TYPES


TAGGABLE_TYPES = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:dynamodb/table:Table",
        "aws:sns/topic:Topic",
        "aws:sqs/queue:Queue",
        "aws:iam/role:Role",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/eventBus:EventBus",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:lambda/function:Function",
        "aws:pipes/pipe:Pipe",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:kms/key:Key",
    }
)
