"""The guardrails: each rule fails the resource that breaks it, the shipped environments pass every rule, and
the policy pack the engine runs is the same rules, reporting the same findings."""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import subprocess
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.guardrails import POLICY_PACK_DIR, RULES, TAGGABLE_TYPES, rule_named
from pipeline_infra_tools.guardrails.check import check_document
from pipeline_infra_tools.guardrails.graph import stack_resources
from tests.unit.conftest import ENVIRONMENTS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.unit.conftest import RenderedStack

Record = dict[str, Any]
PROJECT = "pipeline-infra-storage"
PROVIDER_URN = f"urn:pulumi:prod::{PROJECT}::pulumi:providers:aws::aws-prod"
TAGS = {"Environment": "prod", "Project": "pipeline-infra", "ManagedBy": "pulumi", "Layer": "storage"}
SQS_ARN = "arn:aws:sqs:us-east-1:123456789012:"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def record(type_: str, logical: str, /, **inputs: Any) -> Record:
    """A resource as `render --format json` gives it, on the tagged provider (`name=` is an input)."""
    return {
        "urn": f"urn:pulumi:prod::{PROJECT}::{type_}::{logical}",
        "id": logical,
        "type": type_,
        "name": logical,
        "parent": None,
        "provider": f"{PROVIDER_URN}::aws-prod-provider-id",
        "inputs": inputs,
        "outputs": {},
    }


def tls_only(bucket: str) -> str:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [deny]})


def allow(*actions: str, **extra: Any) -> str:
    statement = {"Sid": "Use", "Effect": "Allow", "Action": list(actions), "Resource": ["arn:aws:s3:::b/*"], **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def compliant() -> list[Record]:
    """One of everything the rules judge, each as the shipped layers build it: no rule fails any of it."""
    provider = record("pulumi:providers:aws", "aws-prod", defaultTags=json.dumps({"tags": TAGS}))
    provider.update(urn=PROVIDER_URN, id="aws-prod-provider-id", provider=None)
    sse = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    flags = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    return [
        provider,
        record("aws:s3/bucket:Bucket", "data-bucket", bucket="b", forceDestroy=True),
        record(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "data-encryption",
            bucket="b",
            rules=[sse],
        ),
        record("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "data-public-access", bucket="b", **flags),
        record("aws:s3/bucketPolicy:BucketPolicy", "data-tls-only", bucket="b", policy=tls_only("b")),
        record("aws:dynamodb/table:Table", "config-table", name="t", deletionProtectionEnabled=False),
        record("aws:sns/topic:Topic", "topics-failure", name="failure", kmsMasterKeyId="alias/aws/sns"),
        record("aws:sqs/queue:Queue", "tasks-dlq", name="tasks-dlq", sqsManagedSseEnabled=True),
        record(
            "aws:sqs/queue:Queue",
            "tasks-queue",
            name="tasks",
            sqsManagedSseEnabled=True,
            redrivePolicy=json.dumps({"deadLetterTargetArn": f"{SQS_ARN}tasks-dlq", "maxReceiveCount": 3}),
        ),
        record("aws:iam/role:Role", "validator-role", name="role", assumeRolePolicy=allow("sts:AssumeRole")),
        record("aws:iam/rolePolicy:RolePolicy", "validator-policy", role="role", policy=allow("s3:GetObject")),
        record("aws:cloudwatch/logGroup:LogGroup", "validator-logs", name="/aws/lambda/fn", retentionInDays=30),
        record(
            "aws:lambda/function:Function",
            "validator-function",
            name="fn",
            loggingConfig={"logGroup": "/aws/lambda/fn"},
            vpcConfig={"subnetIds": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]},
        ),
        record(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "network-sqs",
            vpcEndpointType="Interface",
            policy=allow("sqs:SendMessage", Principal="*"),
        ),
        record(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
            "validator-async",
            functionName="fn",
            destinationConfig={"onFailure": {"destination": f"{SQS_ARN}tasks-dlq"}},
        ),
        record("aws:cloudwatch/eventRule:EventRule", "uploads", name="rule-uploads"),
        record(
            "aws:cloudwatch/eventTarget:EventTarget",
            "uploads-target",
            rule="rule-uploads",
            arn=f"{FUNCTION_ARN}fn",
            deadLetterConfig={"arn": f"{SQS_ARN}tasks-dlq"},
        ),
        record(
            "aws:pipes/pipe:Pipe",
            "config-pipe",
            name="pipe-config",
            sourceParameters={
                "dynamodbStreamParameters": {"startingPosition": "LATEST", "deadLetterConfig": {"arn": f"{SQS_ARN}dlq"}}
            },
        ),
        record(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            "task-source",
            eventSourceArn=f"{SQS_ARN}tasks",
            functionName=f"{FUNCTION_ARN}fn",
        ),
    ]


def named(resources: list[Record], name: str) -> Record:
    [found] = [r for r in resources if r["name"] == name]
    return found


def without(resources: list[Record], name: str) -> None:
    resources.remove(named(resources, name))


def inputs(resources: list[Record], name: str) -> dict[str, Any]:
    found: dict[str, Any] = named(resources, name)["inputs"]
    return found


def _function_before_its_log_group(resources: list[Record]) -> None:
    group = named(resources, "validator-logs")
    resources.remove(group)
    resources.append(group)
    named(resources, "validator-function").pop("dependencies", None)
    if any("dependencies" in r for r in resources):
        named(resources, "validator-function")["dependencies"] = []


# Each rule, and one change to the compliant stack that breaks it (and nothing else), with what the report says.
BREAKS: dict[str, tuple[Callable[[list[Record]], None], str]] = {
    "s3-encryption": (lambda r: without(r, "data-encryption"), "no server-side encryption"),
    "s3-public-access-block": (
        lambda r: inputs(r, "data-public-access").update(restrictPublicBuckets=False),
        "leaves restrictPublicBuckets off",
    ),
    "s3-tls-only": (lambda r: inputs(r, "data-tls-only").update(policy=allow("s3:GetObject")), "SecureTransport"),
    "sns-encryption": (lambda r: inputs(r, "topics-failure").pop("kmsMasterKeyId"), "kmsMasterKeyId is not set"),
    "sqs-encryption": (lambda r: inputs(r, "tasks-dlq").pop("sqsManagedSseEnabled"), "rest unencrypted"),
    "iam-no-wildcard-actions": (
        lambda r: inputs(r, "validator-policy").update(policy=allow("s3:GetObject", "dynamodb:*")),
        "statement Use allows dynamodb:*",
    ),
    "default-tags": (lambda r: inputs(r, "aws-prod").update(defaultTags=json.dumps({"tags": {}})), "Layer"),
    "destroyable": (
        lambda r: inputs(r, "config-table").update(deletionProtectionEnabled=True),
        "deletionProtectionEnabled is true",
    ),
    "log-retention": (lambda r: inputs(r, "validator-logs").pop("retentionInDays"), "retentionInDays is not set"),
    "eventbridge-target-dlq": (lambda r: inputs(r, "uploads-target").pop("deadLetterConfig"), "no deadLetterConfig"),
    "pipe-source-dlq": (
        lambda r: inputs(r, "config-pipe")["sourceParameters"]["dynamodbStreamParameters"].pop("deadLetterConfig"),
        "no deadLetterConfig on its source",
    ),
    "lambda-async-on-failure": (
        lambda r: inputs(r, "validator-async").pop("destinationConfig"),
        "no on-failure destination",
    ),
    "sqs-source-redrive": (lambda r: inputs(r, "tasks-queue").pop("redrivePolicy"), "no redrive policy"),
    "log-group-before-function": (_function_before_its_log_group, "registered before its log group"),
    "lambda-in-vpc": (lambda r: inputs(r, "validator-function").pop("vpcConfig"), "no vpcConfig"),
    "endpoint-policy-resources": (
        lambda r: inputs(r, "network-sqs").update(policy=allow("sqs:SendMessage", Resource="*")),
        "allows sqs:SendMessage on Resource '*'",
    ),
}


def check(resources: list[Record]) -> list[tuple[str, str, str]]:
    report = check_document(
        {"environment": "prod", "stacks": [{"project": PROJECT, "stack": "prod", "resources": resources}]}
    )
    return [(v.rule, v.name, v.reason) for v in report.violations]


def test_public_surface() -> None:
    from pipeline_infra_tools import guardrails

    assert set(guardrails.__all__) == {
        "POLICY_PACK_DIR",
        "REQUIRED_TAGS",
        "RULES",
        "TAGGABLE_TYPES",
        "Evaluation",
        "Finding",
        "GuardrailsError",
        "GuardrailsUsageError",
        "Resource",
        "ResourceRule",
        "Rule",
        "StackRule",
        "document_resources",
        "evaluate",
        "rule_named",
        "stack_resources",
    }


def test_every_rule_has_a_breaking_case() -> None:
    assert list(BREAKS) == [rule.name for rule in RULES]


def test_the_compliant_stack_passes_every_rule() -> None:
    assert check(compliant()) == []


@pytest.mark.parametrize("rule", list(BREAKS))
def test_each_rule_fails_the_resource_that_breaks_it(rule: str) -> None:
    resources = compliant()
    breaks, reason = BREAKS[rule]
    breaks(resources)
    found = check(resources)
    assert {name for name, _, _ in found} == {rule}, found
    assert any(reason in text for _, _, text in found), found


def test_a_deny_may_name_every_action_but_an_allow_of_everything_else_may_not() -> None:
    resources = compliant()
    inputs(resources, "validator-policy").update(policy=allow(NotAction="iam:*"))
    assert check(resources) == [
        (
            "iam-no-wildcard-actions",
            "validator-policy",
            "policy statement Use allows every action but its NotAction list",
        )
    ]


def test_a_read_back_of_rules_and_pipes_names_its_actions() -> None:
    # The drift checker's read-back passes as it is written; a service wildcard in its place does not.
    resources = compliant()
    inputs(resources, "validator-policy").update(
        policy=allow("events:DescribeRule", "events:ListTargetsByRule", "pipes:DescribePipe")
    )
    assert check(resources) == []
    inputs(resources, "validator-policy").update(policy=allow("events:DescribeRule", "pipes:*"))
    assert check(resources) == [
        (
            "iam-no-wildcard-actions",
            "validator-policy",
            "policy statement Use allows pipes:*: name the actions it needs",
        )
    ]


def test_inline_role_policies_are_read_too() -> None:
    resources = compliant()
    inputs(resources, "validator-role")["inlinePolicies"] = [{"name": "extra", "policy": allow("*")}]
    assert [reason for _, _, reason in check(resources)] == [
        "inlinePolicies[0] statement Use allows *: name the actions it needs"
    ]


def test_known_dependencies_decide_log_group_order_over_registration() -> None:
    by_name = {r.name: r for r in stack_resources({"resources": compliant()})}
    group, function = by_name["validator-logs"], by_name["validator-function"]
    assert group.position < function.position
    rule = rule_named("log-group-before-function")
    assert rule.findings([group, replace(function, dependencies=frozenset({group.urn}))]) == []
    [finding] = rule.findings([group, replace(function, dependencies=frozenset())])
    assert "does not depend on its log group" in finding.reason


def test_a_narrowed_check_still_sees_other_layers() -> None:
    """`--layer notifications` judges the task queue by the mapping processing owns."""
    resources = compliant()
    inputs(resources, "tasks-queue").pop("redrivePolicy")
    mapping = named(resources, "task-source")
    resources.remove(mapping)
    processing = {"project": "pipeline-infra-processing", "stack": "prod", "resources": [resources[0], mapping]}
    document = {
        "environment": "prod",
        "stacks": [{"project": PROJECT, "stack": "prod", "resources": resources}, processing],
    }
    assert [v.rule for v in check_document(document, {PROJECT}).violations] == ["sqs-source-redrive"]
    assert check_document(document, {"pipeline-infra-processing"}).violations == []


# -- the shipped environments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_shipped_environments_pass_every_rule(rendered: dict[tuple[str, str], RenderedStack], env: str) -> None:
    stacks = [s.result.to_json() for (_, stack_env), s in rendered.items() if stack_env == env]
    report = check_document({"environment": env, "stacks": stacks})
    assert [json.dumps(v.to_json()) for v in report.violations] == []
    judged_nothing = {name for name, count in report.judged.items() if count == 0}
    # Every rule finds something to judge in each environment, but the Pipe's (only prod replicates) and the
    # endpoints' (the shipped environments run outside any VPC; the VPC profile's are judged in test_vpc_profile).
    expected = {"endpoint-policy-resources"} | (set() if env == "prod" else {"pipe-source-dlq"})
    assert judged_nothing == expected, judged_nothing
    assert report.checked == report.resources > 40


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # importing pulumi_aws.s3 warns about its V2 aliases
def test_taggable_types_are_exactly_those_the_sdk_tags(rendered: dict[tuple[str, str], RenderedStack]) -> None:
    rendered_types = {r.type for s in rendered.values() for r in s.resources if r.type.startswith("aws:")}
    for type_ in rendered_types | set(TAGGABLE_TYPES):
        _, module, name = type_.split(":")
        package = module.split("/")[0]
        cls = getattr(
            importlib.import_module(f"pulumi_aws.{package}_" if package == "lambda" else f"pulumi_aws.{package}"), name
        )
        takes_tags = "tags" in inspect.signature(cls._internal_init).parameters
        assert takes_tags == (type_ in TAGGABLE_TYPES), f"{type_}: takes tags {takes_tags}"


# -- the policy pack ------------------------------------------------------------------------------------------


pulumi_policy = pytest.importorskip("pulumi_policy")


def _options(protect: bool = False) -> Any:
    return pulumi_policy.PolicyResourceOptions(protect, [], None, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0), [])


def _engine_props(values: dict[str, Any]) -> Any:
    """Properties as the SDK hands them to a policy: read-only proxies over maps and lists."""
    from pulumi_policy.proxy import unknown_checking_proxy

    return unknown_checking_proxy(copy.deepcopy(values))


def _provider(resources: list[Record] | None = None) -> Any:
    """The provider as the engine describes it to a policy; its inputs from the stack's provider record."""
    props = named(resources, "aws-prod")["inputs"] if resources else {"defaultTags": {"tags": TAGS}}
    return pulumi_policy.PolicyProviderResource("pulumi:providers:aws", _engine_props(props), PROVIDER_URN, "aws-prod")


def _policy_resources(resources: list[Record]) -> list[Any]:
    built = {
        r["urn"]: pulumi_policy.PolicyResource(
            r["type"], _engine_props(r["inputs"]), r["urn"], r["name"], _options(), _provider(resources), None, [], {}
        )
        for r in resources
    }
    for r in resources:
        built[r["urn"]].dependencies.extend(built[urn] for urn in r.get("dependencies", []))
    return list(built.values())


def _run_pack(resources: list[Record]) -> list[tuple[str, str, str]]:
    """Every policy of the pack over `resources`, as the engine calls them: (policy, urn, message) per report."""
    from pipeline_infra_tools.guardrails.pack import policies

    reported: list[tuple[str, str, str]] = []
    for policy in policies():
        if isinstance(policy, pulumi_policy.StackValidationPolicy):
            args = pulumi_policy.StackValidationArgs(_policy_resources(resources))
            policy.validate(args, lambda message, urn, name=policy.name: reported.append((name, str(urn), message)))
            continue
        assert isinstance(policy, pulumi_policy.ResourceValidationPolicy), policy.name
        for r in resources:
            args = pulumi_policy.ResourceValidationArgs(
                r["type"], _engine_props(r["inputs"]), r["urn"], r["name"], _options(), _provider(resources)
            )
            policy.validate(
                args, lambda message, _urn, name=policy.name, urn=r["urn"]: reported.append((name, urn, message))
            )
    return reported


def test_the_pack_has_one_mandatory_policy_per_rule() -> None:
    from pipeline_infra_tools.guardrails.model import ResourceRule
    from pipeline_infra_tools.guardrails.pack import policies

    built = policies()
    assert [p.name for p in built] == [rule.name for rule in RULES]
    for policy, rule in zip(built, RULES, strict=True):
        assert policy.enforcement_level == pulumi_policy.EnforcementLevel.MANDATORY
        assert policy.description == rule.description
        expected = (
            pulumi_policy.ResourceValidationPolicy
            if isinstance(rule, ResourceRule)
            else pulumi_policy.StackValidationPolicy
        )
        assert isinstance(policy, expected), policy.name


@pytest.mark.parametrize("rule", list(BREAKS))
def test_the_pack_reports_what_the_offline_check_finds(rule: str) -> None:
    # GIVEN the compliant stack with what the engine also knows: the function waits for its log group
    resources = compliant()
    for r in resources:
        r["dependencies"] = [named(resources, "validator-logs")["urn"]] if r["name"] == "validator-function" else []
    BREAKS[rule][0](resources)
    urns = {r["name"]: r["urn"] for r in resources}
    offline = sorted((name, urns[resource], reason) for name, resource, reason in check(resources))
    assert sorted(_run_pack(resources)) == offline


def test_the_pack_fails_a_protected_resource() -> None:
    from pipeline_infra_tools.guardrails.pack import resource_from_args

    args = pulumi_policy.ResourceValidationArgs(
        "aws:sns/topic:Topic", _engine_props({"kmsMasterKeyId": "k"}), "urn:x", "t", _options(protect=True), _provider()
    )
    assert [f.reason for f in rule_named("destroyable").findings([resource_from_args(args)])] == [
        "the protect option is set, so `destroy` stops at it"
    ]


@pytest.fixture
def analyzer() -> Iterator[Any]:
    """The pack directory served as the Pulumi CLI starts it (`python -m pulumi.policy ENGINE PACK`), on 127.0.0.1."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(POLICY_PACK_DIR)],
        cwd=POLICY_PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()  # the pack prints the port it listens on, then serves
        assert port.isdigit(), server.stderr.read() if server.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_the_engine_gets_every_guardrail_as_a_mandatory_policy_that_judges(analyzer: Any) -> None:
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    # WHEN the engine asks the pack what it enforces
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    # THEN it is every rule, each mandatory
    assert info.name == "pipeline-infra-guardrails"
    assert [p.name for p in info.policies] == [rule.name for rule in RULES]
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}
    # WHEN it analyzes an unencrypted topic created without the tagged provider
    properties = struct_pb2.Struct()
    properties.update({"name": "sns-failure-prod-pl01"})
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:sns/topic:Topic", properties=properties, urn="urn:pulumi:prod::p::aws:sns/topic:Topic::t", name="t"
    )
    diagnostics = analyzer.Analyze(request, timeout=30).diagnostics
    # THEN both rules it breaks say why, as mandatory violations
    assert sorted((d.policyName, d.enforcementLevel) for d in diagnostics) == [
        ("default-tags", analyzer_pb2.MANDATORY),
        ("sns-encryption", analyzer_pb2.MANDATORY),
    ]
    assert any("kmsMasterKeyId is not set" in d.message for d in diagnostics)
