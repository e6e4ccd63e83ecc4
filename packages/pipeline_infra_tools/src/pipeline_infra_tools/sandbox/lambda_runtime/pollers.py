"""One thread per event source, each waiting on the emulator instead of asking it in a loop.

Queues are read with long polls (the emulator answers as soon as a message arrives), and Pipes wake when the
emulator rings the stream doorbell, so an idle sandbox costs next to nothing. A message leaves its queue only
when its delivery finished (see inflight.py).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.admin_clients import arn_place
from pipeline_infra_tools.sandbox.lambda_runtime.queues import queue_url
from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import LAMBDA_SERVICE, is_denied
from pipeline_infra_tools.sandbox.lambda_runtime.sources import failed_message_ids, sqs_batch_event
from pipeline_infra_tools.sandbox.service_grants import ServiceRequest

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import MappingSpec, PipeSpec, TargetSpec
    from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
# How long one receive waits for a message (SQS's longest): every poll is a signed request the emulator checks
# against IAM, so an idle sandbox makes as few as it can. A stopping runtime does not wait for open polls.
LONG_POLL_SECONDS = 20
# Events of one rule being delivered at once, and the most one receive asks for.
DELIVERIES_PER_TAP = 8
MAX_RECEIVE = 10
# After an unexpected error, or while a grant is missing, a poller waits this long before it tries again.
RETRY_SECONDS = 1.0
# A Pipe also looks at its stream this often without a doorbell, should a ring ever be missed.
PIPE_SAFETY_SECONDS = 30.0
# Visibility while a delivery runs: Lambda's async retries take at most this many times the function timeout.
VISIBILITY_MARGIN_SECONDS = 30
# A message is first received hidden this briefly, and hidden for its whole delivery only once it is recorded as
# in flight: a long poll still open when the runtime dies hands its message to no one, and it is back this soon.
RECEIVE_VISIBILITY_SECONDS = 10


class Poller(threading.Thread):
    def __init__(self, name: str, runtime: LambdaRuntime) -> None:
        super().__init__(name=name, daemon=True)
        self.runtime = runtime
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # one source failing must not stop it for good, nor any other source
                log.exception("%s failed; trying again", self.name)
                self.stopping.wait(RETRY_SECONDS)

    def poll_once(self) -> None:
        raise NotImplementedError


class TapPoller(Poller):
    """A rule's tap queue → its Lambda targets; events are delivered side by side, as EventBridge does."""

    def __init__(self, runtime: LambdaRuntime, rule_arn: str, url: str) -> None:
        super().__init__(f"tap {rule_arn.rsplit('/', 1)[-1]}", runtime)
        self.rule_arn, self.url = rule_arn, url
        # Taken before a message is received, given back when its delivery finished: no more are received than
        # can be worked on, so none waits out its visibility timeout in this process.
        self.slots = threading.BoundedSemaphore(DELIVERIES_PER_TAP)

    def poll_once(self) -> None:
        runtime = self.runtime
        rule = runtime.deployment.rule_by_arn(self.rule_arn)
        if rule is None:
            self.stopping.wait(RETRY_SECONDS)
            return
        targets = [t for t in rule.targets if ":function:" in t.arn]
        self.slots.acquire()
        free = 1
        while free < MAX_RECEIVE and self.slots.acquire(blocking=False):
            free += 1
        messages: list[dict[str, Any]] = []
        try:
            messages = (
                runtime.taps.sqs_for_rule(self.rule_arn)
                .receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=free,
                    WaitTimeSeconds=LONG_POLL_SECONDS,
                    VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
                )
                .get("Messages", [])
            )
        finally:
            for _ in range(free - len(messages)):
                self.slots.release()
        for message in messages:
            self._start(message, targets)

    def _start(self, message: dict[str, Any], targets: list[TargetSpec]) -> None:
        runtime, receipt = self.runtime, message["ReceiptHandle"]
        keys = {target.target_id: f"{message['MessageId']}/{target.target_id}" for target in targets}
        attempts = {target_id: runtime.inflight.begin(key, self.url, receipt) for target_id, key in keys.items()}
        runtime.taps.sqs_for_rule(self.rule_arn).change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=runtime.delivery_visibility(targets)
        )
        runtime.deliveries.submit(self._deliver, message, targets, keys, attempts)

    def _deliver(
        self, message: dict[str, Any], targets: list[TargetSpec], keys: dict[str, str], attempts: dict[str, int]
    ) -> None:
        runtime = self.runtime
        try:
            event = json.loads(message["Body"])
            for target in targets:
                record_attempt = functools.partial(runtime.inflight.attempted, keys[target.target_id])
                runtime.invoker.deliver_rule_event(target, event, attempts[target.target_id], record_attempt)
            runtime.taps.sqs_for_rule(self.rule_arn).delete_message(
                QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"]
            )
            for key in keys.values():
                runtime.inflight.finish(key)
        except Exception:  # left in flight: the message comes back after its visibility timeout, or on restart
            log.exception("%s: delivering message %s failed", self.name, message.get("MessageId"))
        finally:
            self.slots.release()


class MappingPoller(Poller):
    """An SQS event source mapping: batches received and deleted with the function's own role."""

    def __init__(self, runtime: LambdaRuntime, mapping: MappingSpec) -> None:
        super().__init__(f"mapping {mapping.queue_arn.rsplit(':', 1)[-1]}", runtime)
        self.mapping = mapping
        self.visibility: int | None = None

    def poll_once(self) -> None:
        runtime, mapping = self.runtime, self.mapping
        spec = runtime.deployment.functions.get(mapping.function_name)
        if spec is None:
            self.stopping.wait(RETRY_SECONDS)
            return
        sqs = runtime.roles.client(spec.role_arn, LAMBDA_SERVICE, "sqs", arn_place(self.mapping.queue_arn)[1])
        try:
            self._deliver_batch(sqs, spec)
        except ClientError as error:
            if not is_denied(error):
                raise
            action = f"sqs:{error.operation_name}"
            request = ServiceRequest(LAMBDA_SERVICE, action, mapping.queue_arn, spec.arn, spec.arn.split(":")[4])
            reason = f"{spec.role_arn} may not {action} on its event source: {error}"
            runtime.roles.refused(request, reason, "sqs-to-lambda", function=spec.name)
            self.stopping.wait(RETRY_SECONDS)

    def _deliver_batch(self, sqs: Any, spec: Any) -> None:
        runtime, mapping = self.runtime, self.mapping
        url = queue_url(mapping.queue_arn, runtime.endpoint)
        if self.visibility is None:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
            self.visibility = int(attributes["VisibilityTimeout"])
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(mapping.batch_size, 10),
            WaitTimeSeconds=LONG_POLL_SECONDS,
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        runtime.roles.succeeded("sqs-to-lambda", mapping.queue_arn, spec.arn)
        if not messages:
            return
        for message in messages:
            runtime.inflight.begin(message["MessageId"], url, message["ReceiptHandle"])
            # Hidden for the queue's own visibility timeout while the function runs, as Lambda's poller does.
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self.visibility
            )
        invocation = runtime.pool.invoke(spec, sqs_batch_event(mapping, spec.region, messages))
        ids = {m["MessageId"] for m in messages}
        failed = (
            ids
            if not invocation.ok
            else (failed_message_ids(invocation.result, ids) if mapping.reports_item_failures else set())
        )
        for message in messages:
            if message["MessageId"] in failed:
                # Visible again at once rather than after the queue's visibility timeout, so the receive count
                # and the redrive to the DLQ happen in seconds; the count and the redrive are the emulator's.
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            runtime.inflight.finish(message["MessageId"])


class PipePoller(Poller):
    """A Pipe: reads its stream when the doorbell rings (and now and then regardless), until nothing is left."""

    def __init__(self, runtime: LambdaRuntime, pipe: PipeSpec) -> None:
        super().__init__(f"pipe {pipe.name}", runtime)
        self.pipe = pipe
        self.wake = threading.Event()
        self.wake.set()  # catch up with whatever arrived before this poller started

    def stop(self) -> None:
        super().stop()
        self.wake.set()

    def poll_once(self) -> None:
        self.wake.wait(PIPE_SAFETY_SECONDS)
        self.wake.clear()
        while not self.stopping.is_set() and self.runtime.pipes.poll([self.pipe]):
            pass


class DoorbellPoller(Poller):
    """Waits for the emulator's stream doorbell and wakes the Pipes that read the table that changed."""

    def __init__(self, runtime: LambdaRuntime, url: str, sqs: Any = None) -> None:
        super().__init__("stream doorbell", runtime)
        # The emulator rings in the table's own account and region.
        self.url, self.sqs = url, sqs

    def poll_once(self) -> None:
        sqs = self.sqs or self.runtime.sqs
        messages = sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=LONG_POLL_SECONDS
        ).get("Messages", [])
        tables = {message["Body"] for message in messages}
        for poller in self.runtime.pipe_pollers():
            if any(poller.pipe.stream_arn.startswith(f"{table}/stream/") for table in tables):
                poller.wake.set()
        if messages:
            sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
