"""Resource policies as the emulator holds them at the moment of a delivery.

Read at each delivery rather than from the saved stacks, so a grant removed outside the tool stops deliveries as
it would on AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.lambda_runtime.queues import queue_url


@dataclass
class ResourcePolicies:
    lambda_: Any
    sqs: Any
    endpoint: str

    def function(self, name: str) -> str | None:
        """The function's resource policy; None when it has none (Lambda answers ResourceNotFound)."""
        try:
            policy: str = self.lambda_.get_policy(FunctionName=name)["Policy"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ResourceNotFoundException", "404"):
                return None
            raise
        return policy

    def queue(self, arn: str) -> str | None:
        """The queue's access policy; None when it has none or the queue is gone."""
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=queue_url(arn, self.endpoint), AttributeNames=["Policy"]
            )
        except ClientError as error:
            if "NonExistentQueue" in str(error.response.get("Error", {}).get("Code")):
                return None
            raise
        policy: str | None = attributes.get("Attributes", {}).get("Policy")
        return policy
