"""`--live`: the cloud against the code, and replicated data against prod.

Two comparisons make the cloud's drift from the code, per deployed stack:
- the record against the rendering (`compare_deployed`): code changed and not deployed, by logical name, with
  the ids the emulator generates (stream labels, subscription ids) masked. Records are the local target's saved
  results, `<root>/.pipeline/stacks/<project>/<env>.json` ({project, stack, outputs, resources}).
- the cloud against the record (`compare_cloud`): every managed resource read back (a preview-only refresh), so
  a change made outside the tool, a resource deleted outside it, or something attached to a managed resource
  that no stack records is a row. A live row is drift even where the property may differ between
  environments: the approval is for the code's values, not for hand edits.

The data comparison is the drift checker's own (`pipeline_functions.drift_checker.compare_environments`),
with prod's data rewritten for each target exactly as the replicator does, run with the sandbox's
administrator credentials (`<root>/.pipeline/sandbox.json`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import NAME_SUFFIX_OUTPUT
from pipeline_infra_tools.drift.approvals import Scope, compare_values
from pipeline_infra_tools.drift.exceptions import DriftUsageError, LiveStateError
from pipeline_infra_tools.drift.graph_diff import PRESENT_PATH, Normaliser, stack_nodes
from pipeline_infra_tools.drift.models import Approval, Category, Difference, Kind, Status
from pipeline_infra_tools.drift.normalise import flatten
from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.sandbox.admin_clients import AdminClients
from pipeline_infra_tools.sandbox.exceptions import SandboxError
from pipeline_infra_tools.sandbox.state import SandboxState, SandboxStateFile
from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.cloud_state import RefreshResult
    from pipeline_infra_tools.drift.graph_diff import StackDocument

CODE = "code"  # the rendering's side of a live difference
OUTPUTS_RESOURCE = "(stack outputs)"
# Parts of ids that the emulator makes up and a rendering cannot know.
_VOLATILE = (
    (re.compile(r"/stream/[0-9T:.\-]+"), "/stream/{label}"),
    (re.compile(r"(arn:aws:sns:[^:\"]+:[^:\"]+:[^:\"]+):[0-9a-f\-]{20,}"), r"\1:{subscription}"),
    # A KMS key has no name: its id is the cloud's to choose.
    (re.compile(r"(arn:aws:kms:[^:\"]+:[^:\"]+:key/)[0-9a-f\-]{36}"), r"\1{key}"),
    # Queue URLs name the endpoint that created them: AWS's in a rendering, the emulator's once deployed locally.
    (re.compile(r"https?://(?:sqs\.[a-z0-9-]+\.amazonaws\.com|127\.0\.0\.1:\d+|localhost:\d+)/(?=\d{12}/)"), "{sqs}/"),
)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        for pattern, replacement in _VOLATILE:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def read_sandbox(state_dir: Path) -> SandboxState:
    """The running sandbox (the sandbox's own state file), or DriftUsageError saying how to start one."""
    try:
        state = SandboxStateFile(state_dir).load()
    except SandboxError as err:
        raise LiveStateError(str(err)) from err
    if state is None:
        raise DriftUsageError(f"no sandbox running: run `{command_prefix()} sandbox up`")
    return state


def administrator_clients(state: SandboxState, settings: Settings) -> Callable[[str, str], Any]:
    """`client(service, env)`: the sandbox administrator's client in the environment's account and region."""
    admin = AdminClients(state)
    return lambda service, env: admin.client(service, settings.env(env).account_id, settings.env(env).region)


def load_deployed(state_dir: Path, project: str, env: str) -> StackDocument | None:
    """The local target's saved record of a deployed stack (the sandbox's own store), or None."""
    store = StackOutputsStore(SandboxStateFile(state_dir).stacks_dir)
    try:
        return store.load(project, env)
    except ValueError as err:
        raise LiveStateError(f"{store.path(project, env)}: not valid JSON ({err}); redeploy the stack") from err


def every_saved_resource(state_dir: Path) -> list[dict[str, Any]]:
    """The resources of every stack the local target has saved, across layers and environments."""
    store = StackOutputsStore(SandboxStateFile(state_dir).stacks_dir)
    records: list[dict[str, Any]] = []
    for path in sorted(store.root.glob("*/*.json")):
        records += (load_deployed(state_dir, path.parent.name, path.stem) or {}).get("resources", [])
    return records


def deploy_repair(env: str, layer: str) -> str:
    return f"{command_prefix()} deploy --env {env} --layer {layer}"


def _live(env: str, layer: str, kind: Kind, values: dict[str, Any], **fields: Any) -> Difference:
    # The deployed side is named by its environment, as in the property differences of the same stack.
    absent = tuple(side for side in (CODE, env) if side not in values)
    return Difference(
        category=Category.LIVE,
        kind=kind,
        baseline=CODE,
        environment=env,
        path=PRESENT_PATH,
        values=values,
        absent=absent,
        layer=layer,
        repair=deploy_repair(env, layer),
        **fields,
    )


def compare_deployed(env: str, layer: str, rendered: StackDocument, deployed: StackDocument | None) -> list[Difference]:
    """The deployed stack against its rendering: missing, extra or changed resources and outputs."""
    if deployed is None:
        return [_live(env, layer, Kind.UNCHECKED, {CODE: "rendered"}, note="stack not deployed")]
    plain = Normaliser(None)
    code_nodes = stack_nodes(_mask(rendered), plain)
    live_nodes = stack_nodes(_mask(deployed), plain)
    differences: list[Difference] = []
    repair = deploy_repair(env, layer)
    for key in sorted(code_nodes.keys() | live_nodes.keys()):
        code, live = code_nodes.get(key), live_nodes.get(key)
        if live is None and code is not None:
            differences.append(_live(env, layer, Kind.MISSING, {CODE: code.type}, resource=key, type=code.type))
        elif code is None and live is not None:
            differences.append(_live(env, layer, Kind.EXTRA, {env: live.type}, resource=key, type=live.type))
        elif code is not None and live is not None and code.type != live.type:
            values = {CODE: code.type, env: live.type}
            differences.append(_live(env, layer, Kind.TYPE, values, resource=key, type=code.type))
        elif code is not None and live is not None:
            scope = Scope(Category.LIVE, (), lambda _env: repair, layer=layer, resource=key, type=code.type)
            differences += compare_values(scope, (CODE, env), CODE, {CODE: code.properties, env: live.properties})
    outputs = {CODE: flatten(_mask(rendered.get("outputs", {}))), env: flatten(_mask(deployed.get("outputs", {})))}
    scope = Scope(Category.LIVE, (), lambda _env: repair, layer=layer, resource=OUTPUTS_RESOURCE)
    differences += compare_values(scope, (CODE, env), CODE, outputs)
    return differences


def unchecked_live(env: str, layer: str | None, note: str) -> Difference:
    return Difference(
        category=Category.LIVE,
        kind=Kind.UNCHECKED,
        baseline=CODE,
        environment=env,
        path=PRESENT_PATH,
        layer=layer,
        note=note,
        repair=deploy_repair(env, layer) if layer else "",
    )


def compare_cloud(result: RefreshResult) -> list[Difference]:
    """A stack's preview-only refresh as drift rows: one per changed property, deleted or attached resource."""
    env, layer = result.env, result.layer
    repair = deploy_repair(env, layer)
    rows: list[Difference] = []
    for resource in result.resources:
        name, type_, physical = resource.name, resource.type, resource.physical
        if resource.status == "gone":
            rows.append(
                _live(
                    env,
                    layer,
                    Kind.MISSING,
                    {CODE: type_},
                    resource=name,
                    type=type_,
                    physical=physical,
                    note="deleted outside the tool",
                )
            )
        for change in resource.changes:
            values = {CODE: change.recorded, env: change.live}
            absent = tuple(CODE if side == "recorded" else env for side in change.absent)
            rows.append(
                Difference(
                    category=Category.LIVE,
                    kind=Kind.VALUE,
                    baseline=CODE,
                    environment=env,
                    path=change.path or PRESENT_PATH,
                    values={side: value for side, value in values.items() if side not in absent},
                    absent=absent,
                    note="changed outside the tool",
                    repair=repair,
                    layer=layer,
                    resource=name,
                    type=type_,
                    physical=physical,
                )
            )
        for item in resource.attached:
            rows.append(
                Difference(
                    category=Category.LIVE,
                    kind=Kind.EXTRA,
                    baseline=CODE,
                    environment=env,
                    path=f"({item.kind} {item.name})",
                    values={env: item.detail},
                    absent=(CODE,),
                    note=f"{item.kind} {item.name!r} was attached outside the tool; no stack records it",
                    repair=f"remove {item.kind} {item.name!r} from {physical}, or add it to the code",
                    layer=layer,
                    resource=name,
                    type=type_,
                    physical=item.name,  # the attached thing's own AWS name, e.g. `role/policy`
                )
            )
    return rows


def resync_repair(source: str, env: str) -> str:
    return f"{command_prefix()} resync --from {source} --to {env}"


def data_targets(settings: Settings, storage_outputs: Mapping[str, Mapping[str, Any]], targets: Sequence[str]) -> Any:
    """The REPLICATION_TARGETS the replicator is given, built from deployed storage outputs and settings."""
    from pipeline_functions.shared.targets import parse_targets
    from pipeline_infra.naming import name_token
    from pipeline_infra.replication_targets import targets_document

    source = settings.source
    described = []
    for name in targets:
        env, outputs = settings.env(name), storage_outputs[name]
        described.append(
            {
                "environment": name,
                "bucket": outputs["bucket_name"],
                "config_table": outputs["config_table_name"],
                "writer_role_arn": outputs.get("replica_writer_role_arn") or "",
                "region": env.region,
                "account_id": env.account_id,
                "name_token": name_token(name, outputs.get(NAME_SUFFIX_OUTPUT, env.suffix)),
                "overlay": env.replication.overlay,
            }
        )
    document = targets_document(
        storage_outputs[source.name]["bucket_name"],
        name_token(source.name, storage_outputs[source.name].get(NAME_SUFFIX_OUTPUT, source.suffix)),
        source.account_id,
        source.region,
        described,
        external_id=source.replication.external_id,
    )
    return parse_targets(json.loads(document))


# The setting that approves a verbatim replica (shared_config, replication.verbatim_prefixes).
VERBATIM_APPROVAL = "replication.verbatim_prefixes"
_DATA_KINDS = {"missing": Kind.MISSING, "extra": Kind.EXTRA, "different": Kind.VALUE, "names-prod": Kind.VALUE}
_DATA_NOTES = {"names-prod": "names a prod identifier", "verbatim": "verbatim copy of prod"}


def _data_difference(source: str, env: str, found: Any) -> Difference:
    kind = str(found.kind)
    return Difference(
        category=Category.DATA,
        kind=_DATA_KINDS.get(kind, Kind.VALUE),
        baseline=source,
        environment=env,
        path=found.detail or "(whole)",
        layer="storage",
        resource=found.identifier,
        type=found.resource_type,
        note=f"{found.resource_type} {_DATA_NOTES.get(kind, kind)} in {env}",
        repair=resync_repair(source, env),
    )


def compare_data(
    settings: Settings,
    envs: Sequence[str],
    storage_outputs: Mapping[str, Mapping[str, Any]],
    client: Callable[[str, str], Any],
) -> tuple[list[Difference], int]:
    """Prod's config objects and items against each selected replication target; returns (differences, compared).

    `storage_outputs` maps environments to their deployed storage stack outputs; `client(service, env)` returns
    a boto3 client that can read that environment's data, in its account and region (the administrator's).
    """
    from pipeline_functions.drift_checker.compare import EnvironmentStore, compare_environments
    from pipeline_functions.shared.rewrite import RewriteLimits
    from pipeline_functions.shared.targets import TargetClients

    source = settings.source
    wanted = [env for env in source.replication.targets if env in envs]
    differences: list[Difference] = []
    ready = [env for env in wanted if env in storage_outputs and source.name in storage_outputs]
    for env in [env for env in wanted if env not in ready]:
        missing = env if env not in storage_outputs else source.name
        differences.append(
            Difference(
                Category.DATA,
                Kind.UNCHECKED,
                source.name,
                env,
                "(data)",
                layer="storage",
                note=f"storage/{missing} is not deployed, so the data was not compared",
                repair=deploy_repair(missing, "storage"),
            )
        )
    if not ready:
        return differences, 0
    store = EnvironmentStore(
        source.name,
        storage_outputs[source.name]["bucket_name"],
        storage_outputs[source.name]["config_table_name"],
        client("s3", source.name),
        client("dynamodb", source.name),
    )
    report = compare_environments(
        store,
        data_targets(settings, storage_outputs, ready),
        lambda target: TargetClients(
            s3=client("s3", target.environment), dynamodb=client("dynamodb", target.environment)
        ),
        prefixes=source.replication.prefixes,
        limits=RewriteLimits(
            max_bytes=source.replication.rewrite_max_bytes,
            in_memory_bytes=source.replication.rewrite_in_memory_bytes,
            verbatim_prefixes=tuple(source.replication.verbatim_prefixes),
        ),
    )
    for env_drift in report.environments:
        for found in env_drift.differences:
            differences.append(_data_difference(source.name, env_drift.environment, found))
        for found in env_drift.approved:
            differences.append(
                dataclasses.replace(
                    _data_difference(source.name, env_drift.environment, found),
                    status=Status.APPROVED,
                    approval=Approval(
                        VERBATIM_APPROVAL, "documents under this prefix may be copied verbatim when not rewritable"
                    ),
                    repair="",
                )
            )
    compared = sum(e.objects_compared + e.items_compared for e in report.environments)
    return differences, compared
