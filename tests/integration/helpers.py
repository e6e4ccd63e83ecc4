"""Waiting, reading and probing helpers for the end-to-end tests on the session sandbox.

Everything waits with a deadline and polls; nothing sleeps a fixed time. Reads go through the administrator's
clients unless a test asks for a role's own credentials.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline_functions.replicator.items import to_python
from pipeline_infra_tools.sandbox.service_grants import queue_policy_admitting

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from tests.integration.conftest import DeployedSandbox

T = TypeVar("T")
DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.05
_MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    """The probe's first non-None value; fails the test naming `what` when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def targets(sandbox: DeployedSandbox) -> list[str]:
    """The environments prod replicates to."""
    return list(sandbox.settings.source.replication.targets)


def overlay_level(sandbox: DeployedSandbox, env: str) -> str:
    """The `logging.level` the environment's replication overlay sets on replicas."""
    return str(sandbox.settings.env(env).replication.overlay["logging"]["level"])


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    metadata: dict[str, str]
    version_id: str | None
    last_modified: datetime
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


def read_object(s3: Any, bucket: str, key: str) -> StoredObject | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    return StoredObject(
        body=response["Body"].read(),
        metadata=dict(response.get("Metadata") or {}),
        version_id=response.get("VersionId"),
        last_modified=response["LastModified"],
        content_type=str(response.get("ContentType", "")),
    )


def wait_for_object(
    s3: Any, bucket: str, key: str, accept: Callable[[StoredObject], bool] = lambda _: True
) -> StoredObject:
    """The object once it exists and `accept` holds for it (e.g. the body carries the latest change)."""

    def probe() -> StoredObject | None:
        found = read_object(s3, bucket, key)
        return found if found is not None and accept(found) else None

    return wait_for(probe, f"s3://{bucket}/{key}")


def wait_for_object_gone(s3: Any, bucket: str, key: str) -> None:
    wait_for(lambda: True if read_object(s3, bucket, key) is None else None, f"s3://{bucket}/{key} deleted")


def object_versions(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """Every version and delete marker of exactly `key`, newest first."""
    response = s3.list_object_versions(Bucket=bucket, Prefix=key)
    entries = response.get("Versions", []) + response.get("DeleteMarkers", [])
    return sorted((e for e in entries if e["Key"] == key), key=lambda e: e["LastModified"], reverse=True)


def read_item(dynamodb: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item (plain Python values) by its DynamoDB-JSON key, read consistently."""
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return to_python(item) if item else None


def wait_for_item(
    dynamodb: Any, table: str, key: dict[str, Any], accept: Callable[[dict[str, Any]], bool] = lambda _: True
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = read_item(dynamodb, table, key)
        return found if found is not None and accept(found) else None

    return wait_for(probe, f"item {key} in {table}")


def wait_for_item_gone(dynamodb: Any, table: str, key: dict[str, Any]) -> None:
    wait_for(lambda: True if read_item(dynamodb, table, key) is None else None, f"item {key} deleted from {table}")


@dataclass
class Notification:
    """One SNS message as an SQS subscriber receives it: the JSON body and the message attributes."""

    body: dict[str, Any]
    attributes: dict[str, str]


@dataclass
class Inbox:
    """A test-only SQS queue subscribed to a topic, so a test sees the notifications operators get."""

    sqs: Any
    url: str
    received: list[Notification] = field(default_factory=list)

    def _drain(self) -> None:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                self.received.append(Notification(json.loads(envelope["Message"]), attributes))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def wait(
        self,
        match: Callable[[Notification], bool],
        count: int = 1,
        what: str = "",
        timeout: float = DEADLINE_SECONDS,
    ) -> list[Notification]:
        """At least `count` received notifications that `match`, waiting for them up to the deadline."""

        def probe() -> list[Notification] | None:
            self._drain()
            found = [n for n in self.received if match(n)]
            return found if len(found) >= count else None

        return wait_for(probe, f"{count} notification(s) {what}".strip(), timeout)


@contextmanager
def subscribed(sandbox: DeployedSandbox, topic_arn: str) -> Iterator[Inbox]:
    """An inbox on `topic_arn` for the duration of the block; the queue and subscription are removed after."""
    sqs, sns = sandbox.client("sqs"), sandbox.client("sns")
    url = sqs.create_queue(QueueName=unique("test-inbox"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy_admitting(arn, "sns.amazonaws.com", topic_arn))}
    )
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
    try:
        yield Inbox(sqs, url)
    finally:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        sqs.delete_queue(QueueUrl=url)


def role_client(sandbox: DeployedSandbox, role_arn: str, service: str, assumed_by: Any = None) -> Any:
    """A client with the role's own credentials, assumed as the service it trusts would assume them, or by the
    `assumed_by` STS client (a role that another role's trust names).
    """
    return assumed_clients(sandbox, role_arn, (service,), assumed_by)[service]


def admit_rule(sqs: Any, queue_url: str, queue_arn: str, rule_arn: str) -> None:
    """Give a test's queue the policy EventBridge needs to deliver the rule's events to it, as AWS requires."""
    policy = queue_policy_admitting(queue_arn, "events.amazonaws.com", rule_arn)
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


def trusted_service(sandbox: DeployedSandbox, role_arn: str) -> str:
    """The service principal the role's trust policy names (`lambda.amazonaws.com`, `pipes.amazonaws.com`)."""
    role = sandbox.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    document = role["AssumeRolePolicyDocument"]
    trust = json.loads(document) if isinstance(document, str) else document
    services = [
        service
        for statement in trust["Statement"]
        for service in _as_list((statement.get("Principal") or {}).get("Service"))
    ]
    assert services, f"{role_arn} trusts no service: {trust}"
    return str(services[0])


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def assert_denied(call: Callable[[], Any], what: str) -> None:
    """The request is refused by IAM (AccessDenied), not by anything else."""
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response.get("Error", {})
    assert error.get("Code") == "AccessDenied", f"{what}: expected AccessDenied, got {error}"


# -- The command line and the replication DLQ, as an operator uses them -------------------------------------------

CLI = Path(sys.executable).parent / "pipeline-infra"
CLI_TIMEOUT_SECONDS = 600


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pipeline-infra ARGS` run in the workspace at `root`, as a user runs it; never raises on its exit code."""
    return subprocess.run(
        [str(CLI), *args], cwd=root, capture_output=True, text=True, check=False, timeout=CLI_TIMEOUT_SECONDS
    )


def run_repair(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    """Run a repair line exactly as a report printed it (it must be a `pipeline-infra` command)."""
    argv = shlex.split(command)
    assert argv[:1] == ["pipeline-infra"], f"not a pipeline-infra command: {command!r}"
    return cli(root, *argv[1:])


def cli_json(completed: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a `--format json` command printed; fails the test with its output when it printed none."""
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"exit {completed.returncode}, no JSON on stdout:\n{completed.stdout}\n{completed.stderr}")


def live_drift(root: Path, env: str) -> tuple[int, dict[str, Any]]:
    """`pipeline-infra drift --live --env ENV --format json`: its exit code and report."""
    completed = cli(root, "drift", "--live", "--env", env, "--format", "json")
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return completed.returncode, cli_json(completed)


def about(key: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a dead-letter record's original event names exactly this object key."""
    quoted = json.dumps(key)
    return lambda record: quoted in json.dumps(record.get("requestPayload"))


def _sweep(sqs: Any, queue_url: str, match: Callable[[dict[str, Any]], bool], take: bool) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:  # hidden while collected, so each receive hands out the next ones
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    found: list[dict[str, Any]] = []
    for message in messages:
        record = json.loads(message["Body"])
        selected = match(record)
        if selected:
            found.append(record)
        if selected and take:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return found


def peek_dead_letters(
    sqs: Any, queue_url: str, match: Callable[[dict[str, Any]], bool] = lambda _: True
) -> list[dict[str, Any]]:
    """Every record in the queue that `match`es, all of them left on the queue (and visible) as they were."""
    return _sweep(sqs, queue_url, match, take=False)


def take_dead_letters(
    sqs: Any, queue_url: str, match: Callable[[dict[str, Any]], bool] = lambda _: True
) -> list[dict[str, Any]]:
    """Every record in the queue that `match`es, deleted from it; the others are left as they were."""
    return _sweep(sqs, queue_url, match, take=True)


# -- Roles with several clients on one assumption, refusals as every protocol reports them, soft polling ------------


def assumed_clients(
    sandbox: DeployedSandbox,
    role_arn: str,
    services: tuple[str, ...],
    assumed_by: Any = None,
    session_name: str | None = None,
) -> dict[str, Any]:
    """A client per service on one assumption of the role: by the administrator, playing the service the role
    trusts (the sandbox admits it under that session name only), or by the `assumed_by` STS client (a role that
    another role's trust names).
    """
    sts = assumed_by if assumed_by is not None else sandbox.client("sts")
    name = session_name or (trusted_service(sandbox, role_arn) if assumed_by is None else unique("test"))
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
    # On boto3's default session, whose loaded service models every client shares: a session per role loads them
    # again (about 0.1 s a client).
    return {
        service: boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=sandbox.state.endpoint,
            region_name=sandbox.state.region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        for service in services
    }


def poll_until(probe: Callable[[], T | None], timeout: float = DEADLINE_SECONDS) -> T | None:
    """The probe's first non-None value, or None once the deadline passes: for callers that report, not fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(POLL_SECONDS)
