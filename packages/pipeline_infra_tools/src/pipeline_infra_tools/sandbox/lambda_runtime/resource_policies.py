"""Resource policies as the emulator holds them at the moment of a delivery.

Read at each delivery rather than from the saved stacks, so a grant removed outside the tool stops deliveries as
it would on AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.lambda_runtime.queues import queue_url

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.admin_clients import AdminClients


@dataclass
class ResourcePolicies:
    """Read with the administrator's clients of each resource's own account and region."""

    admin: AdminClients
    endpoint: str

    def sqs_for(self, arn: str) -> Any:
        return self.admin.for_arn("sqs", arn)

    def function(self, arn: str) -> str | None:
        """The function's resource policy; None when it has none (Lambda answers ResourceNotFound)."""
        try:
            name = arn.rsplit(":function:", 1)[-1].split(":", maxsplit=1)[0]
            policy: str = self.admin.for_arn("lambda", arn).get_policy(FunctionName=name)["Policy"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ResourceNotFoundException", "404"):
                return None
            raise
        return policy

    def queue(self, arn: str) -> str | None:
        """The queue's access policy; None when it has none or the queue is gone."""
        try:
            attributes = self.sqs_for(arn).get_queue_attributes(
                QueueUrl=queue_url(arn, self.endpoint), AttributeNames=["Policy"]
            )
        except ClientError as error:
            if "NonExistentQueue" in str(error.response.get("Error", {}).get("Code")):
                return None
            raise
        policy: str | None = attributes.get("Attributes", {}).get("Policy")
        return policy
