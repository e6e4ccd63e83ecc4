"""Asynchronous invocation as Lambda and EventBridge do it: retries, then the on-failure destination or DLQ."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import Deployment, FunctionSpec, TargetSpec
    from pipeline_infra_tools.sandbox.lambda_runtime.functions import FunctionPool, Invocation

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")


def queue_url(arn: str, endpoint: str) -> str:
    """The emulator's URL of the queue named by an SQS ARN."""
    account, name = arn.split(":")[4:6]
    return f"{endpoint}/{account}/{name}"


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
    send_message: Callable[[str, str, dict[str, Any]], None]
    outcomes: list[AsyncOutcome] = field(default_factory=list)

    def invoke(self, spec: FunctionSpec, event: Any) -> AsyncOutcome:
        config = self.deployment.async_config(spec.name)
        attempts = 0
        while True:
            attempts += 1
            # Lambda waits a minute, then two, between attempts; the sandbox retries at once.
            invocation = self.pool.invoke(spec, event)
            if invocation.ok or attempts > config.retries:
                break
            log.info("retrying %s after %s: %s", spec.name, invocation.error_type, invocation.error_message)
        outcome = AsyncOutcome(spec.name, attempts, invocation)
        if not invocation.ok and config.on_failure_arn:
            record = destination_record(spec, event, attempts, invocation)
            self.send_message(config.on_failure_arn, json.dumps(record), {})
            outcome.destination = config.on_failure_arn
        elif not invocation.ok:
            log.error(
                "%s failed after %d attempts with no destination: %s", spec.name, attempts, invocation.error_message
            )
        self.outcomes.append(outcome)
        return outcome

    def deliver_rule_event(self, target: TargetSpec, event: dict[str, Any]) -> AsyncOutcome | None:
        """EventBridge → Lambda target: the target's constant input if it has one, else the matched event."""
        payload = json.loads(target.input) if target.input else event
        spec = self.deployment.function_by_arn(target.arn)
        reason = None
        if spec is None:
            reason = ("ResourceNotFoundException", f"Function not found: {target.arn}")
        elif not self.deployment.may_invoke(spec.name, target.rule_arn):
            reason = ("AccessDeniedException", f"{target.rule_arn} is not allowed to invoke {target.arn}")
        if reason is not None or spec is None:
            self._dead_letter(target, event, *(reason or ("Unknown", "no function")))
            return None
        return self.invoke(spec, payload)

    def _dead_letter(self, target: TargetSpec, event: dict[str, Any], code: str, message: str) -> None:
        """What EventBridge does with an event it cannot hand to the target: the DLQ, with the reason attached."""
        log.error("rule %s could not deliver to %s: %s", target.rule_name, target.arn, message)
        if not target.dead_letter_arn:
            return
        attributes = {
            "RULE_ARN": target.rule_arn,
            "TARGET_ARN": target.arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message,
        }
        self.send_message(
            target.dead_letter_arn,
            json.dumps(event),
            {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
