"""The emulator process: moto's server, with the sandbox's corrections of its IAM and events behaviour applied first.

Run as `python -m pipeline_infra_tools.sandbox.emulator -H 127.0.0.1 -p PORT` (server.py does this).
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any


def _unknown_conditions_do_not_deny() -> None:
    """Emulator gap: moto evaluates a policy statement as if its Condition held whenever the request carries no
    value for the condition's keys (it has no request context for bucket policies).

    The data bucket's TLS-only statement (Deny s3:* when aws:SecureTransport is false) therefore denies every
    object request, so nothing could be written to a deployed bucket. In AWS a condition on a key the request
    does not carry is false, and the sandbox's loopback HTTP endpoint stands in for AWS's TLS one. The stored
    policy stays exactly as declared; only evaluation changes: a Deny statement with a condition on keys the
    request does not carry does not apply. Allow statements keep moto's behaviour.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        statement = self._statement
        conditions = statement.get("Condition") or {}
        if statement.get("Effect") == "Deny" and conditions:
            known = incoming_condition_values or {}
            keys = [key for values in conditions.values() for key in values]
            if any(key not in known for key in keys):
                return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def _route_events_as_aws_does() -> None:
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


def _s3_events_as_aws_sends_them() -> None:
    """Emulator gaps in the S3 events it sends to EventBridge.

    - moto tags every new object through its own PutObjectTagging path, so every PutObject, CopyObject and
      CompleteMultipartUpload also sends "Object Tags Added". AWS sends that only for PutObjectTagging; here it
      is sent only while that API call is being served.
    - moto gives every S3 event the same id and sequencer. AWS gives each event its own id, and a sequencer that
      grows for later changes of a key; here each event gets a fresh id and a sequencer from a counter.
    """
    import itertools
    import threading
    import uuid

    from moto.events.models import Rule
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3 import notifications
    from moto.s3.responses import S3Response

    serving = threading.local()
    sequence = itertools.count(1)
    lock = threading.Lock()
    original_send, original_tagging = notifications.send_event, S3Response.put_object_tagging
    original_route = Rule.send_to_targets

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if event_name == notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT and not getattr(
            serving, "tagging", False
        ):
            return
        original_send(account_id, event_name, bucket, key)

    def put_object_tagging(self: S3Response) -> Any:
        serving.tagging = True
        try:
            return original_tagging(self)
        finally:
            serving.tagging = False

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        # One S3 event is routed to every rule as the same dict: the first rule gives it its own identity.
        if original_event.get("source") == "aws.s3" and original_event.get("id") == _BASE_EVENT_MESSAGE["id"]:
            with lock:
                original_event["id"] = str(uuid.uuid4())
                obj = (original_event.get("detail") or {}).get("object")
                if isinstance(obj, dict):
                    obj["sequencer"] = f"{next(sequence):018X}"
        original_route(self, original_event, transform_input)

    notifications.send_event = send_event
    S3Response.put_object_tagging = put_object_tagging  # type: ignore[method-assign]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _object_writes_are_atomic() -> None:
    """Emulator gap: moto stores a new object, and sends its "Object Created" event, before it sets the object's
    metadata and tags. A reader in between (a replicator acting on the event, a test polling for the replica)
    sees the object without them; on AWS a PUT is atomic. Object reads and writes are serialised here, so a
    read waits until the write that made the object visible has finished."""
    import functools
    import threading

    from moto.s3.responses import S3Response

    lock = threading.RLock()

    def serialised(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: S3Response, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return call

    for name in ("_key_response_get", "_key_response_put", "_key_response_post", "head_object"):
        setattr(S3Response, name, serialised(getattr(S3Response, name)))


ADMIN_USER_ARN_SUFFIX = ":user/sandbox-admin"


def _get_requests_sign_no_body() -> None:
    """Emulator gap: with IAM enforcement on, every GET to a REST-JSON service (Lambda, Pipes, Scheduler) fails
    with SignatureDoesNotMatch: moto re-signs the request with the parsed query as its body, while the client
    signed an empty body. Re-sign GET/HEAD/DELETE requests that carry no body with an empty one, as AWS does.
    """
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def create_aws_request(self: IAMRequestBase) -> Any:
        request = original(self)
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def _role_sessions_match_their_role() -> None:
    """Emulator gaps in trust policies, for `sts:AssumeRole` with IAM enforcement on.

    - A trust policy naming a role (`arn:aws:iam::A:role/R`) admits that role's sessions
      (`arn:aws:sts::A:assumed-role/R/S`) in AWS; moto compares the session ARN with the role ARN and denies.
      This is how prod's replicator assumes the writer roles of dev and staging.
    - AWS services assume execution roles through service principals (`lambda.amazonaws.com`,
      `pipes.amazonaws.com`); in the sandbox the local runtime plays those services with the sandbox
      administrator's key and names the service it plays as the session name. The administrator is admitted
      only where the role trusts that very service, so a role that trusts `pipes.amazonaws.com` cannot be
      taken on as a Lambda function's role, as in AWS.
    """
    from moto.iam.access_control import IAMPolicy, IAMRequestBase, PermissionResult

    def check_role_trust_relationship(self: IAMRequestBase, role_arn: str) -> bool:
        caller = self._access_key.arn
        role = self.backend.get_role_by_arn(role_arn)
        trusted = json.loads(role.assume_role_policy_document)["Statement"]
        if caller.endswith(ADMIN_USER_ARN_SUFFIX):
            played = _request_value(self._data, "RoleSessionName")
            services = {
                service
                for s in trusted
                if s.get("Effect") == "Allow" and isinstance(s.get("Principal"), dict)
                for service in _as_list(s["Principal"].get("Service"))
            }
            if played in services:
                return True
        # moto compares principals only in statements that name AWS principals (a Service-only one crashes it).
        aws_statements = [s for s in trusted if isinstance(s.get("Principal"), dict) and "AWS" in s["Principal"]]
        if not aws_statements:
            return False
        trust = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": aws_statements}))
        candidates = [caller]
        if ":assumed-role/" in caller:
            candidates.append(f"arn:aws:iam::{caller.split(':')[4]}:role/{caller.split('/')[1]}")
        return any(
            trust.is_action_permitted(self._action, role_arn, principal) == PermissionResult.PERMITTED
            for principal in candidates
        )

    IAMRequestBase._check_role_trust_relationship = check_role_trust_relationship  # type: ignore[method-assign]


def _unknown_resources_are_checked_by_action() -> None:
    """Emulator gap: for DynamoDB, SNS, EventBridge, CloudWatch and Logs moto checks a request against the
    resource `*` instead of the resource it names, so any Allow scoped to an ARN is denied and every role
    with least-privilege statements fails. Where the emulator does not know the resource, an Allow whose
    actions match is honoured: these services are checked by action in the sandbox, and each role's
    resource scoping is proven by evaluating its rendered policy per resource (tests/unit/test_iam_static.py).
    S3, SQS, IAM and STS requests carry their real resource and are unaffected.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        result = original(self, action, resource, principal, incoming_condition_values)
        statement = self._statement
        unknown_resource = resource == "*" and principal is None
        if result == PermissionResult.NEUTRAL and unknown_resource and statement.get("Effect") == "Allow":
            return original(self, action, _any_resource_of(statement), principal, incoming_condition_values)
        return result

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def _delete_markers_can_be_disposed() -> None:
    """Emulator gap: removing a key from a bucket whose versioning is suspended disposes of every version of the
    key, and a delete marker has nothing to dispose of, so the request fails with a 500. Destroying a data bucket
    (versioning suspended, then every version deleted) failed this way once any object in it had been deleted.
    A delete marker holds no data: disposing of it does nothing.
    """
    from moto.s3.models import FakeDeleteMarker

    def dispose(self: FakeDeleteMarker, garbage: bool = False) -> None:
        return None

    FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]


def _requests_name_their_resource() -> None:
    """Emulator gap: DynamoDB, DynamoDB Streams and SNS requests are checked against the resource `*`, so a role
    allowed an action on one table or topic could use it on every other. Each request here names the resource
    AWS checks: the table (or its index) from `TableName` (and `IndexName`), the stream from `StreamArn` (or the
    shard iterator), the topic from `TopicArn`. Requests that name no single resource (ListTables, ListStreams,
    batch calls across tables) stay checked by action.
    """
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.sns.responses import SNSResponse

    def table_resource(self: DynamoHandler) -> str:
        body = self.body if isinstance(self.body, dict) else getattr(self, "params", {}) or {}
        table = body.get("TableName")
        if not isinstance(table, str) or not table:
            return "*"
        if table.startswith("arn:"):
            arn = table
        else:
            arn = f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"
        index = body.get("IndexName")
        return f"{arn}/index/{index}" if isinstance(index, str) and index else arn

    def stream_resource(self: DynamoDBStreamsHandler) -> str:
        arn = self._get_param("StreamArn")
        if not arn:
            # The emulator's shard iterators begin with their stream's ARN.
            iterator = self._get_param("ShardIterator")
            arn = iterator.split("|", 1)[0] if isinstance(iterator, str) and "|" in iterator else None
        return arn if isinstance(arn, str) and arn else "*"

    def topic_resource(self: SNSResponse) -> str:
        arn = self._get_param("TopicArn")
        return arn if isinstance(arn, str) and arn else "*"

    DynamoHandler._determine_resource = table_resource  # type: ignore[attr-defined]
    DynamoDBStreamsHandler._determine_resource = stream_resource  # type: ignore[attr-defined]
    SNSResponse._determine_resource = topic_resource  # type: ignore[attr-defined]


def _services_deliver_only_where_allowed() -> None:
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


def _dead_letter_attributes(rule_arn: str, target_arn: str) -> dict[str, dict[str, str]]:
    """What EventBridge attaches to an event it put on a target's DLQ: why it was not delivered."""
    reasons = {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": "AccessDeniedException",
        "ERROR_MESSAGE": f"the queue policy of {target_arn} does not let events.amazonaws.com send for {rule_arn}",
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in reasons.items()}


def _request_value(data: Any, name: str) -> str | None:
    value = (data or {}).get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _any_resource_of(statement: dict[str, Any]) -> str:
    resources = statement.get("Resource", "*")
    first = resources[0] if isinstance(resources, list) and resources else resources
    return str(first).replace("*", "x")


def main(argv: list[str] | None = None) -> None:
    _unknown_conditions_do_not_deny()
    _route_events_as_aws_does()
    _services_deliver_only_where_allowed()
    _s3_events_as_aws_sends_them()
    _object_writes_are_atomic()
    _get_requests_sign_no_body()
    _role_sessions_match_their_role()
    _unknown_resources_are_checked_by_action()
    _requests_name_their_resource()
    _delete_markers_can_be_disposed()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
