"""`pipeline-infra redrive`: replay the replication DLQ through the replicator.

A replayed event that succeeds leaves the DLQ; one that fails again goes back with its new reason, in the same
on-failure record shape Lambda writes. Messages are collected first, so a message put back during the run is
not replayed twice in it.

The replicator is given the dead-letter record itself, so it knows the change is a replay (one attempt, then
straight back to the DLQ with a `failed` notification) and how many attempts came before. It puts a record that
fails again back in the DLQ itself and says so in its response (`dead_lettered`); redrive then counts it as
failed and does not queue it a second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.lambda_runtime.async_invoke import destination_record

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime

# Long enough that a message being replayed is not handed out again before the run deletes it.
COLLECT_VISIBILITY_SECONDS = 600


@dataclass
class RedriveReport:
    replayed: int = 0
    succeeded: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"replayed": self.replayed, "succeeded": self.succeeded, "failed": self.failed}


def original_event(body: str) -> tuple[Any, int]:
    """The event a DLQ message carries (a Lambda on-failure record or EventBridge's raw event) and its attempts."""
    message = json.loads(body)
    if isinstance(message, dict) and "requestPayload" in message and "requestContext" in message:
        return message["requestPayload"], int(message["requestContext"].get("approximateInvokeCount", 1))
    return message, 0


def failed_function(body: str) -> str | None:
    """The function an on-failure record came from (None for EventBridge's own dead letters)."""
    message = json.loads(body)
    if not isinstance(message, dict):
        return None
    arn = str((message.get("requestContext") or {}).get("functionArn", ""))
    return arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0] if ":function:" in arn else None


def collect(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=COLLECT_VISIBILITY_SECONDS
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def replay_record(body: str) -> dict[str, Any]:
    """The message as an on-failure record (EventBridge's own dead letters are wrapped as one attempt)."""
    message = json.loads(body)
    if isinstance(message, dict) and "requestPayload" in message and "requestContext" in message:
        return message
    return {
        "requestContext": {"condition": "EventBridgeDeadLetter", "approximateInvokeCount": 1},
        "requestPayload": message,
    }


def dead_lettered_again(result: Any) -> list[dict[str, Any]]:
    """What the replicator reports it put back in the DLQ itself during this replay."""
    letters = result.get("dead_lettered") if isinstance(result, dict) else None
    return [letter for letter in letters or [] if isinstance(letter, dict)]


def redrive(runtime: LambdaRuntime, function_name: str, queue_url: str) -> RedriveReport:
    """Replay every message: a Lambda on-failure record through the function it names, anything else (events
    EventBridge could not deliver) through `function_name`, the replicator, the queue's rule target."""
    report = RedriveReport()
    runtime.reload()
    for message in collect(runtime.sqs, queue_url):
        event, attempts = original_event(message["Body"])
        name = failed_function(message["Body"])
        name = name if name in runtime.deployment.functions else function_name
        spec = runtime.deployment.functions[name]
        payload = replay_record(message["Body"]) if name == function_name else event
        invocation = runtime.invoke(name, payload)
        report.replayed += 1
        again = dead_lettered_again(invocation.result) if invocation.ok else []
        if invocation.ok and not again:
            report.succeeded += 1
        elif invocation.ok:
            for letter in again:
                report.failed.append(
                    {"function": name, "reason": str(letter.get("reason")), "error": str(letter.get("error"))}
                )
        else:
            record = destination_record(spec, event, attempts + 1, invocation)
            runtime.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))
            report.failed.append(
                {"function": name, "reason": str(invocation.error_message), "error": str(invocation.error_type)}
            )
        runtime.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return report
