"""Emulator patches to what services deliver: rule routing, service-principal grants, the stream doorbell."""

from __future__ import annotations

import copy
import json
from typing import Any


def route_events_as_aws_does() -> None:
    """Emulator gaps in routing events to rule targets.

    - moto matches a rule without an event pattern (a schedule-only rule) against every event; in AWS such a
      rule only fires on its schedule, so a rule without a pattern is skipped when an event is routed.
    - moto cannot deliver to Lambda targets: it raises, which fails the whole PutEvents call and every target
      after it. Lambda targets are delivered by the sandbox's local runtime (through the rule's tap queue), so
      the emulator routes to every other target and leaves Lambda targets out.
    """
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.get_pattern():
            return
        # A shallow copy, so concurrent requests never see the rule's targets changed.
        routed = copy.copy(self)
        routed.targets = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        original(routed, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def services_deliver_only_where_allowed() -> None:
    """Emulator gap: moto's own deliveries (an EventBridge rule to an SQS target, an SNS topic to an SQS
    subscription) ignore the queue's policy, so a missing grant that AWS would refuse went unnoticed. Each such
    delivery is checked here against the queue policy, with the service as principal and the rule or topic as
    `aws:SourceArn`. A refused delivery is dropped as AWS drops it, written to the emulator's log as one
    `delivery_refused` JSON line, and a refused rule target goes to its dead-letter queue when that queue's
    policy admits the rule (EventBridge's own behaviour).
    """
    from moto.events.models import Rule
    from moto.sns.models import Subscription
    from moto.sqs import sqs_backends
    from moto.sqs.exceptions import QueueDoesNotExist

    from pipeline_infra_tools.sandbox.deliveries import refusal_line
    from pipeline_infra_tools.sandbox.service_grants import ServiceRequest, decide

    def queue_of(arn: str) -> Any:
        _, _, _, region, account, name = arn.split(":", 5)
        try:
            return sqs_backends[account][region].get_queue(name)
        except QueueDoesNotExist:
            return None

    def admitted(queue_arn: str, service: str, source_arn: str, delivery: str, **details: Any) -> bool:
        queue = queue_of(queue_arn)
        if queue is None:
            return True  # the emulator reports a missing queue in its own way
        request = ServiceRequest(service, "sqs:SendMessage", queue_arn, source_arn, source_arn.split(":")[4])
        decision = decide(queue.policy, request)
        if not decision.allowed:
            print(refusal_line(request, decision, delivery, **details), flush=True)
        return decision.allowed

    original_route = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        refused = [
            t
            for t in self.targets
            if t["Arn"].startswith("arn:aws:sqs:")
            and not admitted(
                t["Arn"], "events.amazonaws.com", self.arn, "events-to-sqs", event_id=original_event.get("id")
            )
        ]
        routed = copy.copy(self)
        routed.targets = [t for t in self.targets if t not in refused]
        original_route(routed, original_event, transform_input)
        for target in refused:
            dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
            if dead_letter and admitted(dead_letter, "events.amazonaws.com", self.arn, "events-to-dlq"):
                _, _, _, region, account, name = dead_letter.split(":", 5)
                sqs_backends[account][region].send_message(
                    name,
                    json.dumps(original_event, default=str),
                    message_attributes=_dead_letter_attributes(self.arn, target["Arn"]),
                )

    original_publish = Subscription.publish

    def publish(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if self.protocol == "sqs" and not admitted(
            self.endpoint, "sns.amazonaws.com", self.topic.arn, "sns-to-sqs", message_id=message_id
        ):
            return
        original_publish(self, message, message_id, *args, **kwargs)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
    Subscription.publish = publish  # type: ignore[method-assign]


def queue_attributes_keep_the_policy() -> None:
    """Emulator gap: SetQueueAttributes without a `Policy` clears the queue's policy, so redeploying a queue (which
    sets its other attributes) silently removed the grant its QueuePolicy had given EventBridge. AWS changes only
    the attributes a request names; here an update that names no policy keeps the one the queue has.
    """
    from moto.sqs.models import SQSBackend

    original = SQSBackend.set_queue_attributes

    def set_queue_attributes(self: SQSBackend, queue_name: str, attributes: dict[str, Any]) -> Any:
        if "Policy" not in attributes:
            kept = self.get_queue(queue_name).policy
            queue = original(self, queue_name, attributes)
            queue.policy = kept
            return queue
        return original(self, queue_name, attributes)

    SQSBackend.set_queue_attributes = set_queue_attributes  # type: ignore[method-assign]


def event_invoke_configs_are_replaced() -> None:
    """Emulator gap: PutFunctionEventInvokeConfig appends a configuration and Get always answers the first one ever
    put, so a function's retries and on-failure destination could never be changed after its first deploy. AWS
    replaces the function's configuration; here a put does too.
    """
    from moto.awslambda.models import EventInvokeConfig, LambdaBackend

    def put(self: LambdaBackend, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        event_config = EventInvokeConfig(fn.function_arn, fn.last_modified, config)
        fn.event_invoke_config = [event_config]
        response: dict[str, Any] = event_config.response()
        return response

    LambdaBackend.put_function_event_invoke_config = put  # type: ignore[method-assign]


def _dead_letter_attributes(rule_arn: str, target_arn: str) -> dict[str, dict[str, str]]:
    """What EventBridge attaches to an event it put on a target's DLQ: why it was not delivered."""
    reasons = {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": "AccessDeniedException",
        "ERROR_MESSAGE": f"the queue policy of {target_arn} does not let events.amazonaws.com send for {rule_arn}",
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in reasons.items()}


def stream_records_ring_a_doorbell() -> None:
    """Nothing in the emulator tells a stream reader that a record arrived, and a reader that asks in a loop costs
    CPU while idle. The local runtime plays the EventBridge Pipe: when a DynamoDB stream gets a record, the
    emulator puts the table's ARN on a sandbox-only queue (when the runtime created it), and the runtime's Pipe
    waits on that queue with a long poll instead of reading streams in a loop.
    """
    from moto.dynamodb.models.table import StreamShard
    from moto.sqs import sqs_backends
    from moto.sqs.exceptions import QueueDoesNotExist

    from pipeline_infra_tools.sandbox.doorbell import STREAM_DOORBELL_QUEUE

    original = StreamShard.add

    def add(self: StreamShard, old: Any, new: Any) -> None:
        original(self, old, new)
        table = self.table
        try:
            backend = sqs_backends[self.account_id][table.region_name]
            backend.send_message(STREAM_DOORBELL_QUEUE, table.table_arn)
        except QueueDoesNotExist:
            return

    StreamShard.add = add  # type: ignore[method-assign]


def permission_ids_are_unique() -> None:
    """Emulator gap: moto's AddPermission appends a statement whose id the function's policy already holds, where
    AWS refuses it (ResourceConflictException, 409), so a policy could hold the same grant twice and a removal
    leave one behind. The second statement is refused here, as AWS does."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.policy import Policy

    class ResourceConflict(LambdaClientError):
        code = 409

        def __init__(self, statement_id: str) -> None:
            super().__init__(
                "ResourceConflictException",
                f"The statement id ({statement_id}) provided already exists. Please provide a new statement id, "
                "or remove the existing statement.",
            )

    original = Policy.add_statement

    def add_statement(self: Policy, raw: str, qualifier: str | None = None) -> tuple[Any, str]:
        wanted = json.loads(raw).get("StatementId")  # the AddPermission request's body
        if wanted and any(statement.get("Sid") == wanted for statement in self.statements):
            raise ResourceConflict(str(wanted))
        return original(self, raw, qualifier)

    Policy.add_statement = add_statement  # type: ignore[method-assign]
