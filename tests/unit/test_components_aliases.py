"""Renamed components keep their live resources: every URN deployed before the Args refactor is still reached.

`data/urns_before_args_refactor.json` holds the URN of every resource of every stack as rendered by the code
before the refactor (type tokens `pipeline-infra:processing:PipelineFunction` and
`pipeline-infra:storage:PipelineTable`). Rendered resource inputs do not record aliases, so the aliases a URN
answers to are derived from `pipeline_infra.components.aliases.RENAMED_TYPES`, the mapping the components' own
options are built from; a subprocess under Pulumi mocks shows those aliases reach the engine.
"""

from __future__ import annotations

import inspect
import itertools
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pulumi
import pytest

from pipeline_infra import components
from pipeline_infra.components.aliases import RENAMED_TYPES, SHARED_LAYER, carry_over
from pipeline_infra.layers import LAYERS

BEFORE = Path(__file__).parent / "data" / "urns_before_args_refactor.json"
TOKEN_PREFIX = "pipeline-infra:"


def answers_to(urn: str) -> set[str]:
    """`urn` and every URN it is an alias of: each type of its qualified type either as it is or renamed back."""
    stack_part, project, qualified_type, name = urn.split("::", 3)
    choices = [(t, RENAMED_TYPES[t]) if t in RENAMED_TYPES else (t,) for t in qualified_type.split("$")]
    return {f"{stack_part}::{project}::{'$'.join(types)}::{name}" for types in itertools.product(*choices)}


def test_the_urn_helper_renames_the_resource_and_its_parents() -> None:
    urn = "urn:pulumi:prod::p::pipeline-infra:shared:PipelineFunction$aws:iam/role:Role::f-role"
    assert answers_to(urn) == {urn, urn.replace("shared:", "processing:")}
    assert answers_to("urn:pulumi:dev::p::aws:sqs/queue:Queue::q") == {"urn:pulumi:dev::p::aws:sqs/queue:Queue::q"}


# Resources added on purpose after the refactor (URN suffix -> why); nothing else may be new.
ADDED_SINCE = {
    "$aws:sqs/queuePolicy:QueuePolicy::processing-task-dlq-policy": (
        "the raw-uploads rule dead-letters into the task DLQ, which EventBridge can only do with this policy"
    ),
}

# Resource types added on purpose after the refactor (type -> why), wherever they appear.
TYPES_ADDED_SINCE = {
    "pipeline-infra:shared:Alarms": "every layer alarms on what it owns, to the failure topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "every layer alarms on what it owns, to the failure topic",
    "pipeline-infra:shared:Dashboard": "a dashboard per environment, and one of replication where it runs",
    "aws:cloudwatch/dashboard:Dashboard": "a dashboard per environment, and one of replication where it runs",
    "aws:kms/key:Key": "CloudWatch cannot publish to a topic on the AWS managed key: the failure topic has its own",
}


def test_no_resource_deployed_before_the_refactor_would_be_replaced(rendered: dict) -> None:
    # GIVEN every URN of every stack before the refactor
    before: dict[str, list[str]] = json.loads(BEFORE.read_text())
    assert sorted(before) == sorted(f"{layer}/{env}" for layer, env in rendered), "the same stacks are rendered"
    for key, before_urns in before.items():
        layer, env = key.split("/")
        # WHEN each resource rendered now is matched by its URN or one of its aliases
        matched: dict[str, str] = {}
        created = []
        for resource in rendered[(layer, env)].resources:
            hits = answers_to(resource.urn) & set(before_urns)
            added = resource.urn.endswith(tuple(ADDED_SINCE)) or resource.type in TYPES_ADDED_SINCE
            if not hits and not added:
                created.append(resource.urn)
            for hit in hits:
                assert hit not in matched, f"{key}: {hit} is claimed by {matched[hit]} and {resource.urn}"
                matched[hit] = resource.urn
        # THEN every old URN is still reached (nothing deleted) and nothing new appears (nothing created)
        missing = sorted(set(before_urns) - set(matched))
        assert not missing, f"{key}: these resources would be deleted and recreated: {missing}"
        assert not created, f"{key}: these resources are new: {created}"


def test_renamed_tokens_alias_their_old_token_and_others_keep_their_options() -> None:
    opts = pulumi.ResourceOptions(protect=False)
    for new, old in RENAMED_TYPES.items():
        aliased = carry_over(new, opts)
        assert aliased is not None
        assert [a.type_ for a in aliased.aliases or [] if isinstance(a, pulumi.Alias)] == [old], new
        assert new.split(":")[1] == SHARED_LAYER and new.rsplit(":", 1)[1] == old.rsplit(":", 1)[1], new
    assert carry_over("pipeline-infra:storage:DataBucket", opts) is opts


def _component_modules() -> dict[str, object]:
    classes = [getattr(components, n) for n in components.__all__]
    return {
        cls.__name__: sys.modules[cls.__module__]
        for cls in classes
        if inspect.isclass(cls) and issubclass(cls, pulumi.ComponentResource)
    }


def test_every_component_registers_its_token_through_carry_over() -> None:
    modules = _component_modules()
    assert len(modules) == 14, sorted(modules)  # every ComponentResource the library exports
    for name, module in modules.items():
        token = vars(module)["TYPE_TOKEN"]
        assert token.startswith(TOKEN_PREFIX) and token.endswith(f":{name}"), (name, token)
        source = inspect.getsource(getattr(module, name))
        assert "super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))" in source, name


def test_type_tokens_name_the_layer_that_uses_them(rendered: dict, vpc_rendered: dict) -> None:
    used_by: dict[str, set[str]] = defaultdict(set)
    # The shipped profile and the VPC profile (whose storage adds the functions' network) together use them all.
    for (layer, _env), stack in [*rendered.items(), *vpc_rendered.items()]:
        for resource in stack.resources:
            if resource.type.startswith(TOKEN_PREFIX):
                used_by[resource.type].add(layer)
    assert set(used_by) == {vars(m)["TYPE_TOKEN"] for m in _component_modules().values()}
    for token, layers in used_by.items():
        token_layer = token.split(":")[1]
        if token_layer == SHARED_LAYER:
            assert len(layers) > 1, f"{token} is used by {layers} only: name that layer"
        else:
            assert token_layer in LAYERS and layers == {token_layer}, f"{token} is used by {sorted(layers)}"


PROBE = """
import json
import pulumi
from pulumi.runtime import mocks

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)
    def call(self, args):
        return {}, None

class Monitor(mocks.MockMonitor):
    seen = {}
    def RegisterResource(self, request):
        self.seen[request.type] = [a.spec.type for a in request.aliases if a.HasField("spec")]
        return super().RegisterResource(request)

pulumi.runtime.set_mocks(Mocks(), project="p", stack="s", preview=False, monitor=Monitor(Mocks()))
from pipeline_infra.components import FunctionSpec, PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components import PipelineTable, PipelineTableArgs

@pulumi.runtime.test
def build():
    spec = FunctionSpec(function_name="f", role_name="r", runtime="python3.12", architecture="x86_64",
                        memory_mb=128, timeout_seconds=1, log_retention_days=1, log_level="INFO")
    function = PipelineFunction("f", PipelineFunctionArgs(spec=spec, handler="h.h", code_path=__file__))
    table = PipelineTable("t", PipelineTableArgs(table_name="t", hash_key="id"))
    return pulumi.Output.all(function.function_arn, table.table_arn)

build()
print(json.dumps(Monitor.seen))
"""


@pytest.mark.skipif(not RENAMED_TYPES, reason="no component was renamed")
def test_the_aliases_reach_the_engine(tmp_path: Path) -> None:
    # GIVEN the renamed components built under Pulumi's mock monitor, in a process of their own
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    # WHEN they register
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN each registration carries the alias to its old token
    for new, old in RENAMED_TYPES.items():
        assert seen.get(new) == [old], (new, seen)
