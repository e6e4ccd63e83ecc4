"""Structural drift: every layer's rendered resource graph in each environment against the baseline's.

Resources are matched by logical role: the logical name a component gives its child (`data-bucket`,
`processing-validator-function`) is the same in every environment once environment tokens are normalised
(`aws-prod` and `aws-dev` are both `aws-{env}`). For each role the report says whether it is missing on one
side, has another type, or has an input that differs; the parent is compared too, as `(parent)`, so a
resource moved to another component is seen. Inputs are what the engine would receive, not outputs, which
hold generated ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import LAYERS
from pipeline_infra_tools.drift.approvals import Scope, compare_values, judge
from pipeline_infra_tools.drift.models import Approval, Category, Difference, Kind, Status
from pipeline_infra_tools.drift.normalise import EnvTokens, Normaliser, flatten, urn_parent, wildcard_note
from pipeline_infra_tools.workspace import command_prefix, config_label

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pipeline_infra.settings import ApprovedDifference, NetworkSettings, Settings

StackDocument = dict[str, Any]  # {"project", "stack", "outputs", "resources": [RecordedResource JSON]}
PARENT_PATH = "(parent)"
LAYER_PATH = "(layer)"
PRESENT_PATH = "(resource)"


@dataclass(frozen=True)
class Node:
    """One resource of one environment, normalised."""

    key: str
    name: str
    type: str
    parent: str | None
    properties: dict[str, Any]


def env_tokens(settings: Settings, env: str, suffixes: Sequence[str] = ()) -> EnvTokens:
    """The tokens of `env`; `suffixes` adds stack-level `environmentSuffix` overrides."""
    environment = settings.env(env)
    return EnvTokens(
        environment.name,
        (environment.suffix, *suffixes),
        environment.region,
        environment.account_id,
        network_tokens(environment.network),
    )


def network_tokens(network: NetworkSettings | None) -> tuple[tuple[str, str], ...]:
    """Placeholders for the ids of an environment's network, numbered in the order settings give them."""
    if network is None:
        return ()
    tokens = [(network.vpc_id, "{vpc}")]
    for kind, ids in (
        ("subnet", network.subnet_ids),
        ("route-table", network.route_table_ids),
        ("security-group", network.security_group_ids),
    ):
        tokens += [(id_, f"{{{kind}-{number}}}") for number, id_ in enumerate(ids, start=1)]
    return tuple(tokens)


def stack_nodes(document: StackDocument, normaliser: Normaliser) -> dict[str, Node]:
    """The stack's resources by normalised logical name (with the type added when two share a name)."""
    nodes: dict[str, Node] = {}
    for resource in document.get("resources", []):
        key = normaliser.text(resource["name"])
        if key in nodes:
            key = f"{key} ({resource['type']})"
        properties = flatten(normaliser.value(resource.get("inputs") or {}))
        properties[PARENT_PATH] = urn_parent(resource.get("parent"), normaliser)
        nodes[key] = Node(key, resource["name"], resource["type"], properties[PARENT_PATH], properties)
    return nodes


def _structure_repair_for(layer: str, env: str) -> str:
    return structure_repair(env, layer)


def structure_repair(env: str, layer: str) -> str:
    return (
        f"make {env} render like the baseline ({config_label()}/{env}.yaml, projects/{layer}/Pulumi.{env}.yaml), "
        f"then `{command_prefix()} deploy --env {env} --layer {layer}`"
    )


@dataclass(frozen=True)
class _Pair:
    baseline: str
    layer: str

    def presence(self, kind: Kind, env: str, node: Node, entries: Sequence[ApprovedDifference]) -> Difference:
        verdict = judge(entries, node.type, [])
        side = self.baseline if kind is Kind.MISSING else env
        return Difference(
            category=Category.STRUCTURE,
            kind=kind,
            baseline=self.baseline,
            environment=env,
            path=PRESENT_PATH,
            values={side: node.type},
            absent=(env if kind is Kind.MISSING else self.baseline,),
            layer=self.layer,
            resource=node.key,
            type=node.type,
            status=verdict.status,
            approval=verdict.approval,
            rule_result=verdict.rule_result,
            repair=structure_repair(env, self.layer),
        )


def _layer_presence(
    settings: Settings, envs: Sequence[str], baseline: str, layer: str, present: Mapping[str, Sequence[str]]
) -> list[Difference]:
    """A layer missing (or extra) in an environment: approved when `approved.layers` declares exactly that."""
    declared = settings.approved.layers.get(layer)
    has = {env: layer in present.get(env, ()) for env in envs}
    differences = []
    for env in envs:
        if env == baseline and declared is None:
            continue
        differs_from_baseline = has[env] != has[baseline]
        breaks_declaration = declared is not None and has[env] != (env in declared)
        if not differs_from_baseline and not breaks_declaration:
            continue
        kind = Kind.EXTRA if has[env] else Kind.MISSING
        approval = Approval(f"layers.{layer}", f"declared for {sorted(declared)}") if declared is not None else None
        differences.append(
            Difference(
                category=Category.STRUCTURE,
                kind=kind,
                baseline=baseline,
                environment=env,
                path=LAYER_PATH,
                values={side: "present" for side in (baseline, env) if has[side]},
                absent=tuple(dict.fromkeys(side for side in (baseline, env) if not has[side])),
                layer=layer,
                status=Status.DRIFT if breaks_declaration or declared is None else Status.APPROVED,
                approval=approval,
                note="the layer's stacks differ from approved_differences.yaml layers" if breaks_declaration else None,
                repair=f"add or remove projects/{layer}/Pulumi.{env}.yaml to match approved_differences.yaml layers",
            )
        )
    return differences


def _inherit_presence_approvals(differences: list[Difference], nodes: Mapping[str, Mapping[str, Node]]) -> None:
    """A resource missing only because its approved-missing parent is: approved, naming the parent."""
    approved: dict[tuple[str, str], Difference] = {}
    for difference in differences:
        if difference.kind in (Kind.MISSING, Kind.EXTRA) and difference.approved and difference.resource:
            approved[(difference.environment, difference.resource)] = difference
    changed = True
    while changed:
        changed = False
        for index, difference in enumerate(differences):
            if difference.kind not in (Kind.MISSING, Kind.EXTRA) or difference.approved or not difference.resource:
                continue
            side = difference.baseline if difference.kind is Kind.MISSING else difference.environment
            node = nodes[side][difference.resource]
            parent_key = node.parent.split("::", 1)[1] if node.parent else None
            parent = approved.get((difference.environment, parent_key)) if parent_key else None
            if parent is None or parent.approval is None:
                continue
            inherited = Approval(parent.approval.pattern, f"inside {parent.resource}: {parent.approval.reason}")
            differences[index] = replace(difference, status=Status.APPROVED, approval=inherited)
            approved[(difference.environment, difference.resource)] = differences[index]
            changed = True


def compare_structure(
    settings: Settings,
    envs: Sequence[str],
    baseline: str,
    documents: Mapping[tuple[str, str], StackDocument],
    suffixes: Mapping[str, Sequence[str]] | None = None,
) -> list[Difference]:
    """Every structural difference between each environment's layers and the baseline's, approved or drift.

    `documents` maps (layer, env) to the stack's rendering (`StackResult.to_json()`); a missing key means
    the environment has no stack for that layer.
    """
    present: dict[str, list[str]] = {env: [layer for layer in LAYERS if (layer, env) in documents] for env in envs}
    entries = settings.approved.resources
    differences: list[Difference] = []
    for layer in LAYERS:
        differences += _layer_presence(settings, envs, baseline, layer, present)
        if (layer, baseline) not in documents:
            continue
        nodes = {
            env: stack_nodes(
                documents[(layer, env)], Normaliser(env_tokens(settings, env, (suffixes or {}).get(env, ())))
            )
            for env in envs
            if (layer, env) in documents
        }
        pair = _Pair(baseline, layer)
        layer_differences: list[Difference] = []
        for key, reference in nodes[baseline].items():
            same_type: dict[str, dict[str, Any]] = {baseline: reference.properties}
            for env, env_nodes in nodes.items():
                if env == baseline:
                    continue
                node = env_nodes.get(key)
                if node is None:
                    layer_differences.append(pair.presence(Kind.MISSING, env, reference, entries))
                elif node.type != reference.type:
                    layer_differences.append(_type_difference(pair, env, reference, node))
                else:
                    same_type[env] = node.properties
            scope = Scope(
                category=Category.STRUCTURE,
                entries=entries,
                repair=partial(_structure_repair_for, layer),
                layer=layer,
                resource=key,
                type=reference.type,
                pattern_prefix=reference.type,
                note=wildcard_note,
            )
            layer_differences += compare_values(scope, envs, baseline, same_type)
        for env, env_nodes in nodes.items():
            for key in env_nodes.keys() - nodes[baseline].keys():
                layer_differences.append(pair.presence(Kind.EXTRA, env, env_nodes[key], entries))
        _inherit_presence_approvals(layer_differences, nodes)
        differences += layer_differences
    return differences


def _type_difference(pair: _Pair, env: str, reference: Node, node: Node) -> Difference:
    return Difference(
        category=Category.STRUCTURE,
        kind=Kind.TYPE,
        baseline=pair.baseline,
        environment=env,
        path=PRESENT_PATH,
        values={pair.baseline: reference.type, env: node.type},
        layer=pair.layer,
        resource=reference.key,
        type=reference.type,
        repair=structure_repair(env, pair.layer),
    )


def count_resources(documents: Mapping[tuple[str, str], StackDocument]) -> int:
    return sum(len(document.get("resources", [])) for document in documents.values())
