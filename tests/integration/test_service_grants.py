"""Services in the sandbox act as themselves: each delivery a service makes needs the grant AWS checks.

Each test removes one grant from the deployed sandbox (as someone might by hand), makes the delivery happen, and
sees it refused: not delivered, written to the sandbox's logs as `delivery_refused` and counted by
`pipeline-infra sandbox status`. The grant is put back afterwards, and where the service retries (a Pipe, an
event source mapping) the delivery then goes through, so nothing was lost to the test.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.sandbox.deliveries import refused_deliveries
from pipeline_infra_tools.sandbox.lambda_runtime.process import LOG_FILE as RUNTIME_LOG
from pipeline_infra_tools.sandbox.service_grants import queue_policy_admitting
from pipeline_infra_tools.sandbox.state import SandboxStateFile
from tests.integration.helpers import cli, cli_json, read_item, unique, wait_for, wait_for_item

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
# Long enough for the runtime to have tried the delivery many times over.
QUIET_SECONDS = 3.0


def refusals(sandbox: DeployedSandbox, delivery: str, since: float, **match: str) -> list[dict[str, Any]]:
    state_dir = sandbox.workspace.state_dir
    logs = [SandboxStateFile(state_dir).log_path, state_dir / RUNTIME_LOG]
    return [
        r
        for r in refused_deliveries(logs, since)
        if r.get("delivery") == delivery and all(str(r.get(k, "")).find(v) >= 0 for k, v in match.items())
    ]


def wait_for_refusal(sandbox: DeployedSandbox, delivery: str, since: float, **match: str) -> dict[str, Any]:
    found = wait_for(lambda: refusals(sandbox, delivery, since, **match) or None, f"a refused {delivery} delivery")
    return found[-1]


def role_name(sandbox: DeployedSandbox, function: str) -> str:
    role_arn = sandbox.client("lambda").get_function_configuration(FunctionName=function)["Role"]
    return str(role_arn).rsplit("/", 1)[-1]


@contextmanager
def without_role_policy(sandbox: DeployedSandbox, role: str) -> Iterator[None]:
    """The role's inline policy removed for the block, then put back exactly as it was."""
    iam = sandbox.client("iam")
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    iam.delete_role_policy(RoleName=role, PolicyName=name)
    try:
        yield
    finally:
        text = document if isinstance(document, str) else json.dumps(document)
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=text)


@contextmanager
def without_queue_policy(sandbox: DeployedSandbox, queue_url: str) -> Iterator[None]:
    sqs = sandbox.client("sqs")
    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": ""})
    try:
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})


@contextmanager
def without_invoke_permission(sandbox: DeployedSandbox, function: str, rule_arn: str) -> Iterator[None]:
    """The function's resource-policy statement that lets the rule invoke it, removed for the block."""
    lambda_ = sandbox.client("lambda")
    statements = json.loads(lambda_.get_policy(FunctionName=function)["Policy"])["Statement"]
    [statement] = [s for s in statements if rule_arn in json.dumps(s.get("Condition", {}))]
    lambda_.remove_permission(FunctionName=function, StatementId=statement["Sid"])
    try:
        yield
    finally:
        lambda_.add_permission(
            FunctionName=function,
            StatementId=statement["Sid"],
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )


def take_messages(sandbox: DeployedSandbox, queue_url: str, needle: str) -> list[dict[str, Any]]:
    """Messages on the queue whose body mentions `needle`, deleted as they are taken."""
    sqs, taken = sandbox.client("sqs"), []
    for message in sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    ).get("Messages", []):
        if needle in message["Body"]:
            taken.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return taken


def queued(sqs: Any, queue_url: str) -> int:
    """Messages on the queue, visible or held by a receiver."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def upload_raw(sandbox: DeployedSandbox, env: str) -> str:
    key = f"raw/grants/{unique('upload')}.csv"
    bucket = sandbox.outputs("storage", env)["bucket_name"]
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=b"id,value\n1,2\n")
    return key


def test_eventbridge_invokes_a_function_only_with_its_resource_policy(sandbox: DeployedSandbox) -> None:
    # GIVEN the validator's permission for the raw-uploads rule is removed
    processing = sandbox.outputs("processing", "dev")
    function, rule = processing["validator_function_name"], processing["raw_upload_rule_arn"]
    dlq = sandbox.outputs("notifications", "dev")["task_dlq_url"]
    since = time.time()
    with without_invoke_permission(sandbox, function, rule):
        # WHEN a raw upload matches the rule
        key = upload_raw(sandbox, "dev")
        # THEN the rule may not invoke the function: refused, and the event goes to the target's DLQ with why
        refused = wait_for_refusal(sandbox, "events-to-lambda", since, source_arn=rule)
        assert refused["service"] == "events.amazonaws.com" and refused["action"] == "lambda:InvokeFunction"
        [dead] = wait_for(lambda: take_messages(sandbox, dlq, key) or None, "the refused event on the task DLQ")
        assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"
        assert dead["MessageAttributes"]["RULE_ARN"]["StringValue"] == rule


def test_eventbridge_dead_letters_only_into_a_queue_whose_policy_admits_the_rule(sandbox: DeployedSandbox) -> None:
    # GIVEN the delivery fails (no invoke permission) AND the DLQ's policy is gone
    processing = sandbox.outputs("processing", "dev")
    function, rule = processing["validator_function_name"], processing["raw_upload_rule_arn"]
    dlq = sandbox.outputs("notifications", "dev")["task_dlq_url"]
    since = time.time()
    with without_invoke_permission(sandbox, function, rule), without_queue_policy(sandbox, dlq):
        key = upload_raw(sandbox, "dev")
        # THEN the event cannot even be dead-lettered: dropped as AWS drops it, and recorded as refused
        refused = wait_for_refusal(sandbox, "events-to-dlq", since, source_arn=rule)
        assert refused["resource"].endswith(dlq.rsplit("/", 1)[-1])
        time.sleep(QUIET_SECONDS)
        assert take_messages(sandbox, dlq, key) == []


def test_sns_delivers_to_a_queue_only_with_the_queue_policy(sandbox: DeployedSandbox) -> None:
    sns, sqs = sandbox.client("sns"), sandbox.client("sqs")
    topic = sns.create_topic(Name=unique("sns-grant-test"))["TopicArn"]
    url = sqs.create_queue(QueueName=unique("sns-grant-inbox"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    try:
        since = time.time()
        # WHEN the queue has no policy, a publish is refused
        sns.publish(TopicArn=topic, Message="without the grant")
        assert wait_for_refusal(sandbox, "sns-to-sqs", since, source_arn=topic)["resource"] == arn
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
        # AND with the grant SNS needs, the next one arrives
        policy = queue_policy_admitting(arn, "sns.amazonaws.com", topic)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        sns.publish(TopicArn=topic, Message="with the grant")
        [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
        assert json.loads(message["Body"])["Message"] == "with the grant"
    finally:
        sns.delete_topic(TopicArn=topic)
        sqs.delete_queue(QueueUrl=url)


def test_an_eventbridge_rule_delivers_to_a_queue_only_with_the_queue_policy(sandbox: DeployedSandbox) -> None:
    events, sqs = sandbox.client("events"), sandbox.client("sqs")
    source = unique("grants.test")
    name = unique("rule-grant-test")
    rule = events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    url = sqs.create_queue(QueueName=unique("rule-grant-target"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    entry = {"Source": source, "DetailType": "grant test", "Detail": "{}"}
    try:
        since = time.time()
        events.put_events(Entries=[entry])
        assert wait_for_refusal(sandbox, "events-to-sqs", since, source_arn=rule)["resource"] == arn
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
        policy = queue_policy_admitting(arn, "events.amazonaws.com", rule)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        events.put_events(Entries=[entry])
        [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
        assert json.loads(message["Body"])["source"] == source
    finally:
        events.remove_targets(Rule=name, Ids=["queue"])
        events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=url)


def test_an_event_source_mapping_polls_with_the_functions_role(sandbox: DeployedSandbox) -> None:
    # GIVEN the task processor's role has lost its policy (and with it sqs:ReceiveMessage on the task queue)
    processing, notifications = sandbox.outputs("processing", "dev"), sandbox.outputs("notifications", "dev")
    function, queue = processing["task_processor_function_name"], notifications["task_queue_url"]
    sqs, since = sandbox.client("sqs"), time.time()
    with without_role_policy(sandbox, role_name(sandbox, function)):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"probe": unique("esm")}))
        # THEN Lambda cannot receive from its event source: refused, and the message waits on the queue
        refused = wait_for_refusal(sandbox, "sqs-to-lambda", since, function=function)
        assert refused["resource"] == notifications["task_queue_arn"]
        time.sleep(QUIET_SECONDS)
        # (a long poll the role opened before losing its policy may hold it briefly: it is back within seconds)
        assert queued(sqs, queue) >= 1
    # AND once the grant is back the mapping takes it (a bad task goes on to the DLQ after its receives)
    wait_for(lambda: queued(sqs, queue) == 0 or None, "the task queue drained by the restored mapping")


def test_the_pipe_reads_its_stream_and_puts_events_with_its_own_role(sandbox: DeployedSandbox) -> None:
    # GIVEN the config pipe's role has lost its policy
    pipe_arn = sandbox.outputs("replication", "prod")["config_pipe_arn"]
    pipe = sandbox.client("pipes").describe_pipe(Name=pipe_arn.rsplit("/", 1)[-1])
    table = sandbox.outputs("storage", "prod")["config_table_name"]
    target_table = sandbox.outputs("storage", "dev")["config_table_name"]
    key = {"pk": {"S": unique("pipe-grant")}, "sk": {"S": "settings"}}
    since = time.time()
    with without_role_policy(sandbox, pipe["RoleArn"].rsplit("/", 1)[-1]):
        sandbox.client("dynamodb").put_item(TableName=table, Item={**key, "value": {"S": "through the pipe"}})
        # THEN the Pipe may not read its stream: refused, and nothing reaches the replica meanwhile
        refused = wait_for_refusal(sandbox, "pipe", since, source_arn=pipe_arn)
        assert refused["service"] == "pipes.amazonaws.com"
        time.sleep(QUIET_SECONDS)
        assert read_item(sandbox.client("dynamodb"), target_table, key) is None
    # AND with its grants back the Pipe resumes where it stopped: the change is replicated
    wait_for_item(sandbox.client("dynamodb"), target_table, key)


def test_an_on_failure_destination_is_sent_with_the_functions_role(sandbox: DeployedSandbox) -> None:
    # GIVEN the replicator's role has lost its policy: it can neither read prod nor send to its destination
    function = sandbox.outputs("replication", "prod")["replicator_function_name"]
    dlq = sandbox.outputs("notifications", "prod")["replication_dlq_url"]
    bucket = sandbox.outputs("storage", "prod")["bucket_name"]
    key = f"config/grants/{unique('destination')}.json"
    since = time.time()
    with without_role_policy(sandbox, role_name(sandbox, function)):
        sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=b'{"grant": "removed"}')
        # THEN after its retries Lambda may not send the failure record: refused with the function named
        refused = wait_for_refusal(sandbox, "lambda-to-destination", since, source_arn=function)
        assert refused["resource"].endswith(dlq.rsplit("/", 1)[-1])
        assert take_messages(sandbox, dlq, key) == [], "nothing reached the destination the role may not send to"
    sandbox.client("s3").delete_object(Bucket=bucket, Key=key)


def test_sandbox_status_counts_refused_deliveries(sandbox: DeployedSandbox) -> None:
    # GIVEN at least one refusal since the sandbox started (any test above, or this one's own)
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name=unique("status-count"))["TopicArn"]
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName=unique("status-count"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    since = time.time()
    try:
        sns.publish(TopicArn=topic, Message="refused")
        wait_for_refusal(sandbox, "sns-to-sqs", since, source_arn=topic)
        expected = len(refusals(sandbox, "sns-to-sqs", 0.0))
        # WHEN an operator asks for the sandbox's status
        completed = cli(sandbox.workspace.root, "sandbox", "status", "--format", "json")
        status = cli_json(completed)
        # THEN the refusals are counted per kind of delivery, with the logs that hold them
        assert status["refused_deliveries"]["sns-to-sqs"] == expected
        assert all(path.endswith(".log") for path in status["logs"])
        text = cli(sandbox.workspace.root, "sandbox", "status").stdout
        assert "refused deliveries" in text and "sns-to-sqs" in text
    finally:
        sns.delete_topic(TopicArn=topic)
        sqs.delete_queue(QueueUrl=url)
