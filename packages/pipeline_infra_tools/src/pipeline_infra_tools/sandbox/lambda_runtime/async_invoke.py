"""Asynchronous invocation as Lambda and EventBridge do it: retries, then the on-failure destination or DLQ.

Each hand-over is made as the service that makes it on AWS: EventBridge invokes a function only when the
function's resource policy admits the rule, and puts an undeliverable event on the target's DLQ only when the
queue's policy admits the rule; Lambda sends to an on-failure destination with the function's own role.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.admin_clients import arn_place
from pipeline_infra_tools.sandbox.lambda_runtime.queues import queue_url
from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import (
    EVENTS_SERVICE,
    LAMBDA_SERVICE,
    is_denied,
    log_refusal,
)
from pipeline_infra_tools.sandbox.service_grants import Decision, ServiceRequest, decide

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import Deployment, FunctionSpec, TargetSpec
    from pipeline_infra_tools.sandbox.lambda_runtime.functions import FunctionPool, Invocation
    from pipeline_infra_tools.sandbox.lambda_runtime.resource_policies import ResourcePolicies
    from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import ServiceRoles

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
OUTCOMES_KEPT = 100
__all__ = ["AsyncInvoker", "AsyncOutcome", "destination_record", "queue_url"]


def destination_record(spec: FunctionSpec, event: Any, attempts: int, failure: Invocation) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination once retries are exhausted."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": failure.request_id,
            "functionArn": f"{spec.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": failure.error_payload(),
    }


@dataclass
class AsyncOutcome:
    function: str
    attempts: int
    final: Invocation
    destination: str | None = None


@dataclass
class AsyncInvoker:
    """Runs events through a function with its async retry budget; what still fails goes to its destination."""

    deployment: Deployment
    pool: FunctionPool
    roles: ServiceRoles
    policies: ResourcePolicies
    # The latest outcomes only (`sandbox tick` reports on them); a long-running runtime must not keep them all.
    outcomes: deque[AsyncOutcome] = field(default_factory=lambda: deque(maxlen=OUTCOMES_KEPT))

    def invoke(
        self, spec: FunctionSpec, event: Any, attempts: int = 0, on_attempt: Callable[[], None] | None = None
    ) -> AsyncOutcome:
        """Run the event with what is left of the retry budget after `attempts` already made (a replay after a
        restart continues, rather than restarts, its retries); `on_attempt` records each attempt as it ends."""
        config = self.deployment.async_config(spec.name)
        while True:
            attempts += 1
            # Lambda waits a minute, then two, between attempts; the sandbox retries at once.
            invocation = self.pool.invoke(spec, event)
            if on_attempt is not None:
                on_attempt()
            if invocation.ok or attempts > config.retries:
                break
            log.info("retrying %s after %s: %s", spec.name, invocation.error_type, invocation.error_message)
        outcome = AsyncOutcome(spec.name, attempts, invocation)
        if not invocation.ok and config.on_failure_arn:
            record = destination_record(spec, event, attempts, invocation)
            if self._send_to_destination(spec, config.on_failure_arn, record):
                outcome.destination = config.on_failure_arn
        elif not invocation.ok:
            log.error(
                "%s failed after %d attempts with no destination: %s", spec.name, attempts, invocation.error_message
            )
        self.outcomes.append(outcome)
        return outcome

    def deliver_rule_event(
        self,
        target: TargetSpec,
        event: dict[str, Any],
        attempts: int = 0,
        on_attempt: Callable[[], None] | None = None,
    ) -> AsyncOutcome | None:
        """EventBridge → Lambda target: the target's constant input if it has one, else the matched event."""
        payload = json.loads(target.input) if target.input else event
        spec = self.deployment.function_by_arn(target.arn)
        if spec is None:
            self._dead_letter(target, event, "ResourceNotFoundException", f"Function not found: {target.arn}")
            return None
        request = ServiceRequest(
            EVENTS_SERVICE, "lambda:InvokeFunction", spec.arn, target.rule_arn, target.rule_arn.split(":")[4]
        )
        decision = decide(self.policies.function(spec.arn), request)
        if not decision.allowed:
            log_refusal(request, decision, "events-to-lambda", event_id=event.get("id"))
            self._dead_letter(target, event, "AccessDeniedException", decision.reason)
            return None
        return self.invoke(spec, payload, attempts, on_attempt)

    def _send_to_destination(self, spec: FunctionSpec, destination: str, record: dict[str, Any]) -> bool:
        """Lambda sends the record with the function's execution role; a role without the grant loses it."""
        sqs = self.roles.client(spec.role_arn, LAMBDA_SERVICE, "sqs", arn_place(destination)[1])
        try:
            sqs.send_message(QueueUrl=queue_url(destination, self.policies.endpoint), MessageBody=json.dumps(record))
        except ClientError as error:
            if not is_denied(error):
                raise
            request = ServiceRequest(LAMBDA_SERVICE, "sqs:SendMessage", destination, spec.arn, spec.arn.split(":")[4])
            reason = f"{spec.role_arn} may not send to its on-failure destination: {error}"
            log_refusal(
                request,
                Decision(False, reason),
                "lambda-to-destination",
                request_id=record["requestContext"]["requestId"],
            )
            return False
        return True

    def _dead_letter(self, target: TargetSpec, event: dict[str, Any], code: str, message: str) -> None:
        """What EventBridge does with an event it cannot hand to the target: the DLQ, with the reason attached."""
        log.error("rule %s could not deliver to %s: %s", target.rule_name, target.arn, message)
        if not target.dead_letter_arn:
            return
        request = ServiceRequest(
            EVENTS_SERVICE, "sqs:SendMessage", target.dead_letter_arn, target.rule_arn, target.rule_arn.split(":")[4]
        )
        decision = decide(self.policies.queue(target.dead_letter_arn), request)
        if not decision.allowed:
            # AWS drops the event; only its CloudWatch metric would say so.
            log_refusal(request, decision, "events-to-dlq", event_id=event.get("id"))
            return
        attributes = {
            "RULE_ARN": target.rule_arn,
            "TARGET_ARN": target.arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message,
        }
        self.policies.sqs_for(target.dead_letter_arn).send_message(
            QueueUrl=queue_url(target.dead_letter_arn, self.policies.endpoint),
            MessageBody=json.dumps(event),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
