"""Fault injection in a running emulator: errors as clients see them, retries riding them out, expiry, principals,
duplicate and reordered deliveries.

The patches are process-wide, so the emulator runs as the sandbox runs it (`python -m
pipeline_infra_tools.sandbox.emulator`), in a process of its own, without IAM enforcement.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.faults import FaultRuleError, clear_faults, fault_rules, set_faults
from pipeline_infra_tools.sandbox.server import start_server, stop_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REGION = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1})
# Enough attempts that a rate of 0.5 fails a call about once in a million.
PATIENT = Config(retries={"mode": "standard", "total_max_attempts": 20})


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_server(tmp_path_factory.mktemp("faults") / "emulator.log")
    try:
        yield server.endpoint
    finally:
        stop_server(server.pid)


@pytest.fixture(autouse=True)
def no_rules_left(endpoint: str) -> Iterator[None]:
    yield
    clear_faults(endpoint)


def client(endpoint: str, service: str, config: Config = NO_RETRIES, key: str = "AKIAFAULTTEST") -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key="secret",
        config=config,
    )


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


CALLS: dict[str, Callable[[str], Any]] = {
    "s3": lambda endpoint: client(endpoint, "s3").list_buckets(),
    "dynamodb": lambda endpoint: client(endpoint, "dynamodb").list_tables(),
    "sqs": lambda endpoint: client(endpoint, "sqs").list_queues(),
    "sns": lambda endpoint: client(endpoint, "sns").list_topics(),
    "events": lambda endpoint: client(endpoint, "events").list_rules(),
}


@pytest.mark.parametrize(
    ("service", "error"),
    [
        ("s3", "SlowDown"),
        ("dynamodb", "ProvisionedThroughputExceededException"),
        ("sqs", "ThrottlingException"),
        ("sns", "ThrottlingException"),
        ("events", "ThrottlingException"),
        ("s3", "InternalError"),
        ("dynamodb", "ServiceUnavailable"),
    ],
)
def test_a_certain_rule_gives_the_client_exactly_that_error(endpoint: str, service: str, error: str) -> None:
    # GIVEN a rule that fails every request to the service
    [rule] = set_faults(endpoint, {"service": service, "error": error, "rate": 1.0})
    # THEN a client without retries gets exactly that error code
    assert error_code(lambda: CALLS[service](endpoint)) == error
    # AND other services are untouched
    other = "dynamodb" if service != "dynamodb" else "s3"
    CALLS[other](endpoint)
    assert {r["id"]: r["injected"] for r in fault_rules(endpoint)} == {rule["id"]: 1}


def test_standard_retries_ride_out_half_the_requests_failing(endpoint: str) -> None:
    s3, dynamodb = client(endpoint, "s3", PATIENT), client(endpoint, "dynamodb", PATIENT)
    s3.create_bucket(Bucket="faults-retried")
    set_faults(
        endpoint,
        {"service": "s3", "error": "SlowDown", "rate": 0.5},
        {"service": "dynamodb", "error": "ProvisionedThroughputExceededException", "rate": 0.5},
    )
    # WHEN a client with botocore's standard retries makes calls while half of them are throttled
    retried = 0
    for n in range(2):
        retried += s3.put_object(Bucket="faults-retried", Key=f"k{n}", Body=b"x")["ResponseMetadata"]["RetryAttempts"]
        retried += dynamodb.list_tables()["ResponseMetadata"]["RetryAttempts"]
    # THEN every call succeeded, and every injected error was one retry
    assert sum(rule["injected"] for rule in fault_rules(endpoint)) == retried


def test_a_rule_expires_after_its_seconds(endpoint: str) -> None:
    set_faults(endpoint, {"service": "sqs", "error": "ThrottlingException", "seconds": 1.0})
    assert error_code(lambda: CALLS["sqs"](endpoint)) == "ThrottlingException"
    time.sleep(1.1)
    CALLS["sqs"](endpoint)
    [rule] = fault_rules(endpoint)
    assert (rule["active"], rule["injected"]) == (False, 1)


def test_roles_only_spares_the_administrator_and_fails_assumed_roles(endpoint: str) -> None:
    iam = client(endpoint, "iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]}
    role = iam.create_role(RoleName="faulty-function", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    credentials = client(endpoint, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="faulty")["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    role_sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=NO_RETRIES,
    )
    set_faults(endpoint, {"service": "sqs", "error": "ThrottlingException", "principal": "roles-only"})
    CALLS["sqs"](endpoint)  # the administrator's key
    assert error_code(role_sqs.list_queues) == "ThrottlingException"


def test_the_control_api_and_moto_api_are_never_faulted(endpoint: str) -> None:
    set_faults(endpoint, {"error": "InternalError", "rate": 1.0})  # every service
    with urllib.request.urlopen(endpoint + "/moto-api/", timeout=5) as response:
        assert response.status == 200
    assert len(fault_rules(endpoint)) == 1
    assert error_code(lambda: CALLS["sns"](endpoint)) == "InternalError"


def test_a_faulted_upload_leaves_the_connection_usable(endpoint: str) -> None:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="faults-upload")
    [rule] = set_faults(endpoint, {"service": "s3", "error": "SlowDown", "match": "PUT /faults-upload/big"})
    body = b"x" * (2 * 1024 * 1024)
    assert error_code(lambda: s3.put_object(Bucket="faults-upload", Key="big", Body=body)) == "SlowDown"
    clear_faults(endpoint, rule["id"])
    # The same client (and kept-alive connection) goes on as if nothing happened.
    s3.put_object(Bucket="faults-upload", Key="big", Body=body)
    assert s3.get_object(Bucket="faults-upload", Key="big")["ContentLength"] == len(body)


def test_a_bad_rule_is_answered_with_the_reason(endpoint: str) -> None:
    with pytest.raises(FaultRuleError, match="rate"):
        set_faults(endpoint, {"service": "s3", "error": "SlowDown", "rate": 2})
    assert fault_rules(endpoint) == []


def receive(sqs: Any, url: str, count: int, timeout: float = 5.0) -> list[str]:
    """The bodies of `count` messages in the order received, then whatever else arrives within half a second."""
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wait = 1 if len(bodies) < count else 0
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) >= count and not messages:
            if deadline - time.monotonic() > 0.5:
                deadline = time.monotonic() + 0.5
            else:
                break
    return bodies


def test_duplicate_deliveries_enqueue_matching_queues_messages_twice(endpoint: str) -> None:
    sqs = client(endpoint, "sqs")
    doubled, plain = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("dup-tap-a", "other-a"))
    set_faults(endpoint, {"kind": "duplicate", "queue_prefix": "dup-tap-", "rate": 1.0})
    for n in range(3):
        sqs.send_message(QueueUrl=doubled, MessageBody=f"m{n}")
        sqs.send_message(QueueUrl=plain, MessageBody=f"m{n}")
    assert sorted(receive(sqs, doubled, 6)) == ["m0", "m0", "m1", "m1", "m2", "m2"]
    assert sorted(receive(sqs, plain, 3)) == ["m0", "m1", "m2"]


def test_a_reordered_delivery_is_overtaken_by_a_later_message(endpoint: str) -> None:
    sqs = client(endpoint, "sqs")
    url = sqs.create_queue(QueueName="late-tap-a")["QueueUrl"]
    # GIVEN the first message is held back (between 0.3 and 3 s), and the second is not
    [rule] = set_faults(endpoint, {"kind": "reorder", "queue_prefix": "late-", "rate": 1.0, "max_delay_seconds": 3})
    sqs.send_message(QueueUrl=url, MessageBody="first")
    clear_faults(endpoint, rule["id"])
    sqs.send_message(QueueUrl=url, MessageBody="second")
    # THEN the second is received first, and the first still arrives
    assert receive(sqs, url, 2) == ["second", "first"]
