"""Every delivery a service makes has the grant that service needs, checked across resources on the rendered graph.

A delivery is allowed by a resource policy (EventBridge to a Lambda function or a dead-letter queue) or by the
role the service acts with (Lambda polling its event source or sending to its on-failure destination, a Pipe
reading its stream and putting events on its bus). Resource policies are decided by the sandbox's own
service-principal evaluator, roles by moto's IAM evaluator: the same two that decide in the sandbox.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from moto.iam.access_control import IAMPolicy, PermissionResult

from pipeline_infra_tools.sandbox.service_grants import ServiceRequest, decide

if TYPE_CHECKING:
    from tests.unit.conftest import RenderedStack

EVENTS = "events.amazonaws.com"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"


def resources(rendered: dict[tuple[str, str], RenderedStack], type_: str) -> list[Any]:
    return [resource for stack in rendered.values() for resource in stack.of_type(type_)]


def arn_of(resource: Any) -> str:
    return str(resource.outputs.get("arn") or resource.inputs.get("arn"))


def functions_by_name(rendered: dict[tuple[str, str], RenderedStack]) -> dict[str, Any]:
    return {f.inputs["name"]: f for f in resources(rendered, "aws:lambda/function:Function")}


def function_of(functions: dict[str, Any], reference: str) -> Any:
    return functions[reference.rsplit(":function:", 1)[-1].split(":", 1)[0]]


def role_policy(rendered: dict[tuple[str, str], RenderedStack], role_arn: str) -> IAMPolicy:
    role_name = role_arn.rsplit("/", 1)[-1]
    [policy] = [
        p for p in resources(rendered, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] in (role_name, role_arn)
    ]
    return IAMPolicy(policy.inputs["policy"])


def role_may(policy: IAMPolicy, action: str, resource: str) -> bool:
    return policy.is_action_permitted(action, resource) == PermissionResult.PERMITTED


def lambda_resource_policy(rendered: dict[tuple[str, str], RenderedStack], function: Any) -> dict[str, Any]:
    """The function's resource policy as Lambda builds it from its permissions."""
    statements = []
    for permission in resources(rendered, LAMBDA_PERMISSION):
        if permission.inputs["function"] not in (function.inputs["name"], arn_of(function)):
            continue
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Service": permission.inputs["principal"]},
            "Action": permission.inputs["action"],
            "Resource": arn_of(function),
        }
        if permission.inputs.get("sourceArn"):
            statement["Condition"] = {"ArnLike": {"AWS:SourceArn": permission.inputs["sourceArn"]}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def queue_policies(rendered: dict[tuple[str, str], RenderedStack]) -> dict[str, dict[str, Any]]:
    """Queue ARN → its policy document (each queue has at most one QueuePolicy)."""
    found: dict[str, dict[str, Any]] = {}
    for policy in resources(rendered, "aws:sqs/queuePolicy:QueuePolicy"):
        document = json.loads(policy.inputs["policy"])
        for statement in document["Statement"]:
            resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for queue in resources_:
                found[queue] = document
    return found


def test_every_rule_may_invoke_its_lambda_targets_and_dead_letter_into_their_queues(rendered: dict) -> None:
    functions, queues = functions_by_name(rendered), queue_policies(rendered)
    rules = {
        (r.inputs.get("eventBusName") or "default", r.inputs["name"]): r
        for r in resources(rendered, "aws:cloudwatch/eventRule:EventRule")
    }
    invokes = dead_letters = 0
    for target in resources(rendered, "aws:cloudwatch/eventTarget:EventTarget"):
        rule = rules[(target.inputs.get("eventBusName") or "default", target.inputs["rule"])]
        rule_arn, account = arn_of(rule), arn_of(rule).split(":")[4]
        if ":function:" in target.inputs["arn"]:
            function = function_of(functions, target.inputs["arn"])
            request = ServiceRequest(EVENTS, "lambda:InvokeFunction", arn_of(function), rule_arn, account)
            decision = decide(lambda_resource_policy(rendered, function), request)
            assert decision.allowed, f"{target.urn}: {decision.reason}"
            invokes += 1
        dlq = (target.inputs.get("deadLetterConfig") or {}).get("arn")
        assert dlq, f"{target.urn} has no dead-letter queue"
        decision = decide(queues.get(dlq), ServiceRequest(EVENTS, "sqs:SendMessage", dlq, rule_arn, account))
        assert decision.allowed, f"{target.urn}: {decision.reason}"
        dead_letters += 1
    # raw uploads in three environments, prod's S3 and item changes, the drift schedule
    assert invokes >= 6 and dead_letters >= 6


def test_every_on_failure_destination_is_writable_by_its_functions_role(rendered: dict) -> None:
    functions, checked = functions_by_name(rendered), 0
    for config in resources(rendered, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        destination = ((config.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
        assert destination, f"{config.urn} has no on-failure destination"
        function = function_of(functions, config.inputs["functionName"])
        assert role_may(role_policy(rendered, function.inputs["role"]), "sqs:SendMessage", destination), (
            f"{function.inputs['name']}'s role may not send to its on-failure destination {destination}"
        )
        checked += 1
    assert checked >= 1


def test_every_event_source_mapping_is_readable_by_its_functions_role(rendered: dict) -> None:
    functions, checked = functions_by_name(rendered), 0
    for mapping in resources(rendered, "aws:lambda/eventSourceMapping:EventSourceMapping"):
        function = function_of(functions, mapping.inputs["functionName"])
        policy, queue = role_policy(rendered, function.inputs["role"]), mapping.inputs["eventSourceArn"]
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert role_may(policy, action, queue), f"{function.inputs['name']}'s role may not {action} on {queue}"
        checked += 1
    assert checked == 3, "one task queue mapping per environment"


def test_the_pipe_may_read_its_stream_and_put_events_on_its_bus(rendered: dict) -> None:
    [pipe] = resources(rendered, "aws:pipes/pipe:Pipe")
    policy, stream, bus = role_policy(rendered, pipe.inputs["roleArn"]), pipe.inputs["source"], pipe.inputs["target"]
    for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
        assert role_may(policy, action, stream), f"the pipe's role may not {action} on {stream}"
    assert role_may(policy, "dynamodb:ListStreams", "*")
    assert role_may(policy, "events:PutEvents", bus)
    assert not role_may(policy, "events:PutEvents", bus.replace("event-bus/", "event-bus/other-")), "only its bus"


def test_a_missing_grant_fails_the_check() -> None:
    """The checks above can fail: a queue policy for another rule does not admit this one."""
    queue, rule = "arn:aws:sqs:us-east-1:1:dlq", "arn:aws:events:us-east-1:1:rule/r"
    other = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": EVENTS},
                "Action": "sqs:SendMessage",
                "Resource": queue,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule + "-other"}},
            }
        ]
    }
    assert not decide(other, ServiceRequest(EVENTS, "sqs:SendMessage", queue, rule, "1")).allowed
