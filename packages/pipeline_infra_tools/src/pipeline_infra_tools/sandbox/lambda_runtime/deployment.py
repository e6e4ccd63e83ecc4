"""What is deployed in the sandbox, read from the saved stacks: functions and everything that invokes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PIPE = "aws:pipes/pipe:Pipe"
DEFAULT_BUS = "default"
# Lambda's defaults when a function has no event invoke configuration.
DEFAULT_ASYNC_RETRIES = 2


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    handler: str
    role_arn: str
    code_path: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    region: str


@dataclass(frozen=True)
class TargetSpec:
    rule_name: str
    rule_arn: str
    bus: str
    target_id: str
    arn: str
    retry_attempts: int
    dead_letter_arn: str | None
    input: str | None


@dataclass(frozen=True)
class RuleSpec:
    name: str
    arn: str
    bus: str
    pattern: dict[str, Any] | None
    schedule: str | None
    targets: list[TargetSpec] = field(default_factory=list)


@dataclass(frozen=True)
class MappingSpec:
    queue_arn: str
    function_name: str
    batch_size: int
    reports_item_failures: bool


@dataclass(frozen=True)
class AsyncConfig:
    retries: int
    on_failure_arn: str | None


@dataclass(frozen=True)
class PipeSpec:
    name: str
    arn: str
    role_arn: str
    stream_arn: str
    bus_arn: str
    source: str
    detail_type: str
    filters: list[dict[str, Any]]


@dataclass
class Deployment:
    """Everything the local runtime delivers to, across every deployed stack."""

    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    rules: list[RuleSpec] = field(default_factory=list)
    mappings: list[MappingSpec] = field(default_factory=list)
    async_configs: dict[str, AsyncConfig] = field(default_factory=dict)
    pipes: list[PipeSpec] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def function_by_arn(self, arn: str) -> FunctionSpec | None:
        name = arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        return self.functions.get(name)

    def async_config(self, function: str) -> AsyncConfig:
        return self.async_configs.get(function, AsyncConfig(DEFAULT_ASYNC_RETRIES, None))

    def rule_by_arn(self, arn: str) -> RuleSpec | None:
        return next((rule for rule in self.rules if rule.arn == arn), None)

    def places(self) -> set[tuple[str | None, str | None]]:
        """Every (account, region) something deployed lives in, from its ARNs."""
        arns = [f.arn for f in self.functions.values()] + [r.arn for r in self.rules] + [p.arn for p in self.pipes]
        return {(arn.split(":")[4] or None, arn.split(":")[3] or None) for arn in arns if arn.count(":") >= 5}

    def lambda_rules(self) -> list[RuleSpec]:
        return [rule for rule in self.rules if any(":function:" in t.arn for t in rule.targets)]

    @classmethod
    def load(cls, stacks_dir: Path) -> Deployment:
        deployment = cls()
        resources: list[dict[str, Any]] = []
        for path in sorted(stacks_dir.glob("*/*.json")):
            saved = json.loads(path.read_text(encoding="utf-8"))
            deployment.outputs[f"{saved.get('project')}/{saved.get('stack')}"] = saved.get("outputs", {})
            resources.extend(saved.get("resources", []))
        deployment._read(resources)
        return deployment

    def _read(self, resources: list[dict[str, Any]]) -> None:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for resource in resources:
            by_type.setdefault(resource["type"], []).append(resource)
        for resource in by_type.get(FUNCTION, []):
            spec = _function(resource)
            self.functions[spec.name] = spec
        rules = {_rule_key(r["inputs"].get("eventBusName"), r["inputs"]["name"]): r for r in by_type.get(RULE, [])}
        targets: dict[tuple[str, str], list[TargetSpec]] = {}
        for resource in by_type.get(TARGET, []):
            inputs = resource["inputs"]
            key = _rule_key(inputs.get("eventBusName"), inputs["rule"])
            rule_arn = rules[key]["outputs"]["arn"] if key in rules else ""
            targets.setdefault(key, []).append(
                TargetSpec(
                    rule_name=inputs["rule"],
                    rule_arn=rule_arn,
                    bus=key[0],
                    target_id=inputs["targetId"],
                    arn=inputs["arn"],
                    retry_attempts=int((inputs.get("retryPolicy") or {}).get("maximumRetryAttempts", 185)),
                    dead_letter_arn=(inputs.get("deadLetterConfig") or {}).get("arn"),
                    input=inputs.get("input"),
                )
            )
        for key, resource in rules.items():
            inputs = resource["inputs"]
            pattern = inputs.get("eventPattern")
            self.rules.append(
                RuleSpec(
                    name=inputs["name"],
                    arn=resource["outputs"]["arn"],
                    bus=key[0],
                    pattern=json.loads(pattern) if pattern else None,
                    schedule=inputs.get("scheduleExpression"),
                    targets=targets.get(key, []),
                )
            )
        for resource in by_type.get(MAPPING, []):
            inputs = resource["inputs"]
            self.mappings.append(
                MappingSpec(
                    queue_arn=inputs["eventSourceArn"],
                    function_name=inputs["functionName"].split(":function:")[-1],
                    batch_size=int(inputs.get("batchSize", 10)),
                    reports_item_failures="ReportBatchItemFailures" in (inputs.get("functionResponseTypes") or []),
                )
            )
        for resource in by_type.get(INVOKE_CONFIG, []):
            inputs = resource["inputs"]
            on_failure = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
            retries = int(inputs.get("maximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
            self.async_configs[inputs["functionName"].split(":function:")[-1]] = AsyncConfig(retries, on_failure)
        for resource in by_type.get(PIPE, []):
            self.pipes.append(_pipe(resource))


def _rule_key(bus: str | None, name: str) -> tuple[str, str]:
    bus_name = (bus or DEFAULT_BUS).split("/")[-1]
    return bus_name, name


def _function(resource: dict[str, Any]) -> FunctionSpec:
    inputs, outputs = resource["inputs"], resource["outputs"]
    arn = str(outputs["arn"])
    return FunctionSpec(
        name=inputs["name"],
        arn=arn,
        handler=inputs["handler"],
        role_arn=inputs["role"],
        code_path=(inputs.get("code") or {}).get("path", ""),
        timeout_seconds=int(inputs.get("timeout", 3)),
        memory_mb=int(inputs.get("memorySize", 128)),
        environment=dict((inputs.get("environment") or {}).get("variables") or {}),
        region=arn.split(":")[3],
    )


def _pipe(resource: dict[str, Any]) -> PipeSpec:
    inputs = resource["inputs"]
    bus_parameters = (inputs.get("targetParameters") or {}).get("eventbridgeEventBusParameters") or {}
    filters = ((inputs.get("sourceParameters") or {}).get("filterCriteria") or {}).get("filters") or []
    return PipeSpec(
        name=inputs["name"],
        arn=resource["outputs"]["arn"],
        role_arn=inputs["roleArn"],
        stream_arn=inputs["source"],
        bus_arn=inputs["target"],
        source=bus_parameters.get("source", "Pipe " + inputs["name"]),
        detail_type=bus_parameters.get("detailType", "Event from aws:dynamodb"),
        filters=[json.loads(f["pattern"]) for f in filters if f.get("pattern")],
    )
