"""Fault rules of the emulator's fault injection: validation, selection, firing, and errors as botocore reads them.

Nothing here starts a server; tests/functional/test_faults_server.py runs the same rules in the emulator.
"""

from __future__ import annotations

import io
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from pipeline_infra_tools.sandbox.faults import (
    ERRORS,
    FaultRule,
    FaultRuleError,
    FaultTable,
    RequestInfo,
    describe_request,
    error_response,
)

USER_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE0000000000/20260101/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)
ROLE_AUTH = USER_AUTH.replace("AKIAEXAMPLE", "ASIAEXAMPLE")


def environ(service: str, method: str = "POST", path: str = "/", role: bool = False, **extra: Any) -> dict[str, Any]:
    auth = ROLE_AUTH if role else USER_AUTH
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_AUTHORIZATION": auth.format(service=service), **extra}


def form(body: str) -> dict[str, Any]:
    data = body.encode()
    return {
        "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"service": "s3", "error": "Teapot"}, "error"),
        ({"service": "s3", "error": "SlowDown", "rate": 1.5}, "rate"),
        ({"service": "s3", "error": "SlowDown", "rate": True}, "rate"),
        ({"service": "s3", "error": "SlowDown", "principal": "root"}, "principal"),
        ({"service": "s3", "error": "SlowDown", "seconds": 0}, "seconds"),
        ({"kind": "reorder", "max_delay_seconds": 901}, "max_delay_seconds"),
        ({"kind": "explode"}, "kind"),
        ({"service": "s3", "error": "SlowDown", "colour": "red"}, "colour"),
        ({"service": 3, "error": "SlowDown"}, "service"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(FaultRuleError, match=field):
        FaultRule.from_json(data)


def test_a_rule_selects_by_service_principal_and_match() -> None:
    rule = FaultRule.from_json(
        {"service": "S3", "error": "SlowDown", "match": "config/", "principal": "roles-only", "rate": 1}
    )
    for request, selected in [
        (RequestInfo("s3", True, "PUT /bucket/config/a.json? "), True),
        (RequestInfo("s3", False, "PUT /bucket/config/a.json? "), False),  # the administrator is spared
        (RequestInfo("s3", True, "PUT /bucket/raw/a.json? "), False),
        (RequestInfo("dynamodb", True, "POST /config/ "), False),
        (RequestInfo(None, True, "PUT /bucket/config/a.json? "), False),
    ]:
        assert rule.matches_request(request) is selected, request
    every = FaultRule.from_json({"error": "InternalError", "principal": "users-only"})
    assert every.matches_request(RequestInfo("sns", False, "POST / "))
    assert not every.matches_request(RequestInfo("sns", True, "POST / "))


def test_delivery_rules_select_queues_by_prefix_and_leave_fifo_queues_alone() -> None:
    rule = FaultRule.from_json({"kind": "duplicate", "queue_prefix": "sandbox-tap-", "rate": 1})
    assert rule.matches_queue("sandbox-tap-rule")
    assert not rule.matches_queue("sqs-replication-dlq-prod-pl01")
    assert not rule.matches_queue("sandbox-tap-rule.fifo")
    assert not rule.matches_request(RequestInfo("sqs", False, "POST / "))


def test_rates_fire_as_set_and_every_firing_is_counted() -> None:
    table = FaultTable(seed=7)
    never, always = (
        FaultRule.from_json({"service": "s3", "error": "SlowDown", "rate": 0.0}),
        FaultRule.from_json({"service": "dynamodb", "error": "ThrottlingException", "rate": 1.0}),
    )
    half = FaultRule.from_json({"service": "sqs", "error": "ThrottlingException", "rate": 0.5})
    table.add([never, always, half])
    fired = [table.error_for(RequestInfo(service, False, "POST / ")) for service in ("s3", "dynamodb") * 50]
    assert [rule.id for rule in fired if rule is not None] == [always.id] * 50
    halves = sum(table.error_for(RequestInfo("sqs", False, "POST / ")) is not None for _ in range(1000))
    assert 400 < halves < 600
    counts = {row["id"]: row["injected"] for row in table.listing()}
    assert counts == {never.id: 0, always.id: 50, half.id: halves}


def test_an_expired_rule_stops_firing_but_stays_listed() -> None:
    table = FaultTable(seed=1)
    rule = FaultRule.from_json({"service": "s3", "error": "SlowDown", "seconds": 5})
    table.add([rule])
    assert table.error_for(RequestInfo("s3", False, "GET / ")) is rule
    rule.created -= 6  # as if five seconds had passed
    assert table.error_for(RequestInfo("s3", False, "GET / ")) is None
    assert not table.has_error_rules()
    [listed] = table.listing()
    assert (listed["active"], listed["injected"], listed["remaining_seconds"]) == (False, 1, 0.0)
    assert table.remove() == 1 and table.listing() == []


def test_a_request_is_described_by_its_credential_scope_target_and_action() -> None:
    dynamo = describe_request(environ("dynamodb", HTTP_X_AMZ_TARGET="DynamoDB_20120810.PutItem", role=True))
    assert (dynamo.service, dynamo.assumed_role) == ("dynamodb", True)
    assert "DynamoDB_20120810.PutItem" in dynamo.description
    events = describe_request(environ("eventbridge"))
    assert (events.service, events.assumed_role) == ("events", False)
    presigned = describe_request(
        {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/b/k",
            "QUERY_STRING": "X-Amz-Credential=ASIAX%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
        }
    )
    assert (presigned.service, presigned.assumed_role) == ("s3", True)
    assert describe_request({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}).service is None


def test_a_form_body_is_read_for_its_action_and_put_back_for_moto() -> None:
    request = environ("sns", **form("Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"))
    described = describe_request(request)
    assert "Action=Publish" in described.description
    assert request["wsgi.input"].read().startswith(b"Action=Publish")


def parsed_error(service: str, status: int, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The error as botocore's own parser for the service's protocol reads the response."""
    model = botocore.session.get_session().get_service_model(service)
    parser = create_parser(model.protocol)
    operation = model.operation_model(model.operation_names[0])
    response = {"status_code": status, "headers": dict(headers), "body": body}
    error: dict[str, Any] = parser.parse(response, operation.output_shape)["Error"]  # type: ignore[arg-type]
    return error


@pytest.mark.parametrize(
    ("service", "error", "request_environ"),
    [
        ("s3", "SlowDown", environ("s3", method="PUT", path="/bucket/key")),
        ("s3", "InternalError", environ("s3", method="GET", path="/bucket/key")),
        (
            "dynamodb",
            "ProvisionedThroughputExceededException",
            environ(
                "dynamodb",
                HTTP_X_AMZ_TARGET="DynamoDB_20120810.PutItem",
                CONTENT_TYPE="application/x-amz-json-1.0",
            ),
        ),
        (
            "sqs",
            "ThrottlingException",
            environ("sqs", HTTP_X_AMZ_TARGET="AmazonSQS.SendMessage", CONTENT_TYPE="application/x-amz-json-1.0"),
        ),
        (
            "events",
            "ServiceUnavailable",
            environ("events", HTTP_X_AMZ_TARGET="AWSEvents.PutEvents", CONTENT_TYPE="application/x-amz-json-1.1"),
        ),
        ("sns", "ThrottlingException", environ("sns", **form("Action=Publish"))),
        ("lambda", "ThrottlingException", environ("lambda", method="GET", path="/2015-03-31/functions/")),
    ],
)
def test_an_injected_error_reads_as_that_code_in_the_services_protocol(
    service: str, error: str, request_environ: dict[str, Any]
) -> None:
    rule = FaultRule.from_json({"service": service, "error": error})
    status, headers, body = error_response(rule, describe_request(request_environ), request_environ)
    assert status == ERRORS[error]
    assert parsed_error(service, status, headers, body)["Code"] == error
    assert dict(headers)["Content-Length"] == str(len(body))


def test_a_head_request_gets_the_status_without_a_body() -> None:
    request = environ("s3", method="HEAD", path="/bucket/key")
    rule = FaultRule.from_json({"service": "s3", "error": "SlowDown"})
    status, _, body = error_response(rule, describe_request(request), request)
    assert (status, body) == (503, b"")
