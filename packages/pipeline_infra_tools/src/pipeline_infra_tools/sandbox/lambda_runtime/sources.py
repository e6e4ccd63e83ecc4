"""Event sources the emulator stores but does not run, driven here as AWS would drive them.

- Rule taps: EventBridge rules with Lambda targets get one extra SQS target (sandbox-only), so events are
  matched by the emulator's own rule engine and reach the handler in exactly the shape EventBridge sends. A tap
  admits only its rule; whether the rule may invoke the function is the function's resource policy's decision,
  taken when the event is handed over.
- Pipes: the emulator creates Pipes but forwards nothing; the reader pulls the DynamoDB stream and puts each
  record on the Pipe's target bus, with the Pipe's source, detail type and filters, all with the Pipe's role.
- SQS event source mappings: batches of the mapping's size, partial batch failures honoured.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.admin_clients import arn_place
from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import EVENTS_SERVICE, PIPES_SERVICE, is_denied
from pipeline_infra_tools.sandbox.service_grants import ServiceRequest, queue_policy_admitting

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pipeline_infra_tools.sandbox.admin_clients import AdminClients
    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import MappingSpec, PipeSpec, RuleSpec
    from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import ServiceRoles

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
TAP_TARGET_ID = "sandbox-tap"
TAP_PREFIX = "sandbox-tap-"


def tap_queue_name(rule: RuleSpec) -> str:
    return (TAP_PREFIX + (rule.name if rule.bus == "default" else f"{rule.bus}-{rule.name}"))[:80]


@dataclass
class RuleTaps:
    """One sandbox-only queue per rule with Lambda targets, added as an extra target of that rule, in the rule's
    own account and region (a rule's target queue lives beside it)."""

    admin: AdminClients
    queues: dict[str, tuple[RuleSpec, str]] = field(default_factory=dict)

    def sqs_for_rule(self, rule_arn: str) -> Any:
        return self.admin.for_arn("sqs", rule_arn)

    def ensure(self, rules: list[RuleSpec], places: set[tuple[str | None, str | None]]) -> None:
        """A tap for every rule with Lambda targets; taps of rules that no longer exist are deleted (in every
        place stacks are deployed to). A tap already in place is only read, so attaching taps after a deploy
        that changed nothing writes nothing."""
        self.queues.clear()
        existing: dict[tuple[str | None, str | None], set[str]] = {}
        for place in places | {arn_place(rule.arn) for rule in rules}:
            sqs = self.admin.client("sqs", *place)
            existing[place] = set(sqs.list_queues(QueueNamePrefix=TAP_PREFIX).get("QueueUrls", []))
        for rule in rules:
            self.queues[rule.arn] = (rule, self._tap(rule, existing[arn_place(rule.arn)]))
        wanted = {url for _, url in self.queues.values()}
        for place, urls in existing.items():
            for url in urls - wanted:
                self.admin.client("sqs", *place).delete_queue(QueueUrl=url)

    def _tap(self, rule: RuleSpec, existing: set[str]) -> str:
        sqs, events = self.sqs_for_rule(rule.arn), self.admin.for_arn("events", rule.arn)
        name = tap_queue_name(rule)
        url = next((u for u in existing if u.rsplit("/", 1)[-1] == name), None)
        if url is None:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "Policy"])["Attributes"]
        arn = attributes["QueueArn"]
        policy = queue_policy_admitting(arn, EVENTS_SERVICE, rule.arn)
        if json.loads(attributes.get("Policy") or "{}") != policy:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        targets = events.list_targets_by_rule(Rule=rule.name, EventBusName=rule.bus).get("Targets", [])
        if not any(t["Id"] == TAP_TARGET_ID and t["Arn"] == arn for t in targets):
            events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=[{"Id": TAP_TARGET_ID, "Arn": arn}])
        return str(url)


@dataclass
class PipeReader:
    """Stream → bus for every Pipe, one record per event, from the Pipe's creation on.

    A Pipe created with starting position LATEST delivers every change made after it was created. The reader may
    first see a Pipe a moment later, so it reads each shard from its oldest record and skips the records older
    than the Pipe, which is what LATEST at creation delivers. Where it got to in each shard is kept on disk
    (`checkpoints`), so a restarted runtime goes on after the last record it put on the bus, neither losing nor
    repeating any.
    """

    roles: ServiceRoles
    pipes_for: Callable[[str], Any]  # the administrator's Pipes client of a Pipe's account and region, by ARN
    checkpoints: Path | None = None
    # Keyed by stream as well as shard: a table destroyed and created again gets a new stream whose shard ids
    # the emulator reuses, and it must be read from its own start.
    iterators: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    created: dict[tuple[str, str], float] = field(default_factory=dict)
    _positions: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def poll(self, pipes: list[PipeSpec]) -> int:
        forwarded = 0
        for pipe in pipes:
            try:
                with self._lock:
                    forwarded += self._poll_pipe(pipe)
            except ClientError as error:
                if not is_denied(error):
                    raise
                # The Pipe keeps its place in the stream and retries, as a Pipe whose role lacks a grant does.
                action = str(error.operation_name)
                request = ServiceRequest(PIPES_SERVICE, action, pipe.stream_arn, pipe.arn, pipe.arn.split(":")[4])
                self.roles.refused(request, f"{pipe.role_arn} may not {action}: {error}", "pipe", pipe=pipe.name)
                continue
            self.roles.succeeded("pipe", pipe.stream_arn, pipe.arn)
        return forwarded

    def _poll_pipe(self, pipe: PipeSpec) -> int:
        streams = self.roles.client(pipe.role_arn, PIPES_SERVICE, "dynamodbstreams", arn_place(pipe.stream_arn)[1])
        forwarded = 0
        for shard_id in self._shards(streams, pipe):
            key = (pipe.arn, pipe.stream_arn, shard_id)
            if key not in self.iterators:
                self.iterators[key] = self._iterator(streams, key)
            iterator = self.iterators[key]
            if iterator is None:
                continue
            response = streams.get_records(ShardIterator=iterator)
            records = response.get("Records", [])
            for record in records:
                if self._after_creation(pipe, record):
                    forwarded += self._forward(pipe, record)
            # Moved on only once every record is on the bus: a refused PutEvents reads them again next time.
            self.iterators[key] = response.get("NextShardIterator")
            if records:
                self._remember(key, str(records[-1]["dynamodb"]["SequenceNumber"]))
        return forwarded

    def _iterator(self, streams: Any, key: tuple[str, str, str]) -> str | None:
        _, stream_arn, shard_id = key
        position = self._saved_positions().get("|".join(key))
        if position is None:
            start: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            start = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
        iterator: str | None = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **start)[
            "ShardIterator"
        ]
        return iterator

    def _saved_positions(self) -> dict[str, str]:
        if self._positions is None:
            self._positions = {}
            if self.checkpoints is not None and self.checkpoints.is_file():
                try:
                    self._positions = json.loads(self.checkpoints.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    log.warning("unreadable pipe checkpoints %s: reading every stream from its start", self.checkpoints)
        return self._positions

    def _remember(self, key: tuple[str, str, str], sequence_number: str) -> None:
        positions = self._saved_positions()
        positions["|".join(key)] = sequence_number
        if self.checkpoints is None:
            return
        self.checkpoints.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.checkpoints.with_suffix(".tmp")
        temporary.write_text(json.dumps(positions), encoding="utf-8")
        os.replace(temporary, self.checkpoints)

    def _after_creation(self, pipe: PipeSpec, record: dict[str, Any]) -> bool:
        pipe_key = (pipe.arn, pipe.stream_arn)
        if pipe_key not in self.created:
            described = self.pipes_for(pipe.arn).describe_pipe(Name=pipe.name)
            self.created[pipe_key] = described["CreationTime"].timestamp()
        changed = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        changed_at = changed.timestamp() if isinstance(changed, datetime) else float(changed or 0)
        # Stream times have one-second resolution; a change in the Pipe's own second counts as after it.
        return changed_at >= int(self.created[pipe_key])

    def _shards(self, streams: Any, pipe: PipeSpec) -> list[str]:
        description = streams.describe_stream(StreamArn=pipe.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def _forward(self, pipe: PipeSpec, record: dict[str, Any]) -> int:
        record = {**record, "eventSourceARN": record.get("eventSourceARN", pipe.stream_arn)}
        plain = json.loads(json.dumps(record, default=_json_default))
        if pipe.filters and not _matches_any(pipe.filters, plain):
            return 0
        events = self.roles.client(pipe.role_arn, PIPES_SERVICE, "events", arn_place(pipe.bus_arn)[1])
        response = events.put_events(
            Entries=[
                {
                    "Source": pipe.source,
                    "DetailType": pipe.detail_type,
                    "Detail": json.dumps(plain),
                    "EventBusName": pipe.bus_arn,
                    "Resources": [pipe.arn],
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"pipe {pipe.name}: the bus refused the event: {response['Entries']}")
        return 1


def _matches_any(patterns: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Pipe filter criteria, evaluated by the emulator's own EventBridge pattern matcher."""
    from moto.events.models import EventPattern

    return any(EventPattern.load(json.dumps(p)).matches_event(record) for p in patterns)  # type: ignore[arg-type]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    return str(value)


def sqs_batch_event(mapping: MappingSpec, region: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event an SQS event source mapping hands to the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v["DataType"],
                    }
                    for k, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": mapping.queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def failed_message_ids(result: Any, batch_ids: set[str]) -> set[str]:
    """Partial batch failure semantics: listed ids fail; an unknown id or malformed reply fails the whole batch."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return set()
    failures = result["batchItemFailures"]
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if not isinstance(failures, list) or None in ids or not ids <= batch_ids:
        return batch_ids
    return {str(i) for i in ids}
