"""Resources in an environment's account and region that look like the project's but that no stack records.

As driftctl does: every resource of the project's kinds (`inventory.py`) is listed per (account, region) of the
compared environments, the ones a saved stack record holds (any layer, any environment) are set aside, and each
other one that carries the project's `Project` tag or follows its naming for an environment (the name token
`-{env}-{suffix}`, or the data bucket's `-{env}-{region}-{suffix}`) is one `unmanaged` difference of that
environment. A resource is attributed by its `Environment` tag first, then by its name, so resources of other
environments sharing the account and region are reported once, under their own environment (and only when it is
compared).

Children that no stack records on a managed resource (an inline policy on a role, a target on a rule, a
subscription, a permission) are found by the reads module (`reads.attached_extras`) and reported as `live`
drift of the resource they hang on: the resource is managed, what hangs on it is a change to it. Both are
approved by the `unmanaged:` entries of approved_differences.yaml (type token or '*', and a glob of the name).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import NAME_SUFFIX_OUTPUT
from pipeline_infra.naming import ENVIRONMENT_TAG, LAYER_TAG, PROJECT_TAG, bucket_token, name_token
from pipeline_infra_tools.drift import inventory
from pipeline_infra_tools.drift.models import Approval, Category, Difference, Kind, Status
from pipeline_infra_tools.sandbox.resources.base import Clients, ResourceContext
from pipeline_infra_tools.sandbox.resources.reads import attached_extras, owned_children
from pipeline_infra_tools.workspace import config_label

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from pipeline_infra.settings import Settings, UnmanagedApproval
    from pipeline_infra_tools.drift.inventory import ClientFor, CloudResource
    from pipeline_infra_tools.sandbox.resources.reading import Extra

CODE = "code"
PRESENT_PATH = "(resource)"
ATTACHED_PATH = "(attached)"


def approval_hint() -> str:
    return f"or approve it in {config_label()}/approved_differences.yaml under unmanaged"


# The type token of each kind of child the reads module finds on a managed resource.
EXTRA_TYPES = {
    "inline-policy": "aws:iam/rolePolicy:RolePolicy",
    "attached-policy": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "rule-target": "aws:cloudwatch/eventTarget:EventTarget",
    "subscription": "aws:sns/topicSubscription:TopicSubscription",
    "function-permission": "aws:lambda/permission:Permission",
}


@dataclass(frozen=True)
class EnvironmentNames:
    """How one environment's resources are named: its name tokens (one per suffix the stacks use)."""

    env: str
    tokens: tuple[str, ...]

    def matches(self, name: str) -> str | None:
        """The token `name` carries (followed by the end or a separator, so `-dev-pl01` is not `-dev-pl01x`)."""
        return next((token for token in self.tokens if re.search(re.escape(token) + r"(?![a-z0-9])", name)), None)


def environment_names(settings: Settings, suffixes: Mapping[str, Iterable[str]]) -> list[EnvironmentNames]:
    """Every declared environment's naming, with the suffixes its stacks override the settings' one with."""
    found = []
    for env in settings.project.environments:
        env_settings = settings.env(env)
        tokens: list[str] = []
        for suffix in dict.fromkeys([env_settings.suffix, *suffixes.get(env, ())]):
            tokens += [name_token(env, suffix), bucket_token(env, env_settings.region, suffix)]
        found.append(EnvironmentNames(env, tuple(dict.fromkeys(tokens))))
    return found


@dataclass(frozen=True)
class Ownership:
    """Why a cloud resource is judged the project's, and whose it is."""

    environment: str
    reason: str
    layer: str | None = None


def project_ownership(
    settings: Settings, naming: Sequence[EnvironmentNames], resource: CloudResource
) -> Ownership | None:
    """The environment a resource belongs to by its tags, else by its name; None when it is not the project's."""
    tags = resource.tags()
    tagged = tags.get(PROJECT_TAG) == settings.project.name
    by_name = next(((names.env, token) for names in naming if (token := names.matches(resource.name))), None)
    env_tag = tags.get(ENVIRONMENT_TAG)
    if tagged:
        env = env_tag if env_tag in settings.project.environments else by_name[0] if by_name else None
        reason = f"carries tag {PROJECT_TAG}={settings.project.name}" + (
            f", {ENVIRONMENT_TAG}={env_tag}" if env_tag else ""
        )
        if env is None:
            return Ownership("(unknown)", reason + "; no Environment tag or name token says which environment's")
        return Ownership(env, reason, tags.get(LAYER_TAG))
    if by_name is not None:
        return Ownership(by_name[0], f"named like the project's {by_name[0]} resources ('{by_name[1]}')")
    return None


def find_approval(entries: Iterable[UnmanagedApproval], type_: str, name: str, physical: str) -> Approval | None:
    """The first `unmanaged:` entry whose type is `type_` (or '*') and whose glob matches the name or ARN."""
    for entry in entries:
        if entry.type in ("*", type_) and (fnmatchcase(name, entry.name) or fnmatchcase(physical, entry.name)):
            return Approval(f"unmanaged {entry.type} {entry.name}", entry.reason)
    return None


def _judged(difference: Difference, entries: Iterable[UnmanagedApproval]) -> Difference:
    approval = find_approval(entries, difference.type or "", difference.resource or "", difference.physical or "")
    if approval is None:
        return difference
    return dataclasses.replace(difference, status=Status.APPROVED, approval=approval, repair="")


def unmanaged_difference(resource: CloudResource, owner: Ownership) -> Difference:
    return Difference(
        category=Category.UNMANAGED,
        kind=Kind.EXTRA,
        baseline=CODE,
        environment=owner.environment,
        path=PRESENT_PATH,
        values={owner.environment: resource.physical},
        absent=(CODE,),
        layer=owner.layer,
        resource=resource.name,
        type=resource.type,
        note=f"{owner.reason}; no stack records it",
        repair=f"import {resource.type} {resource.name} into the code or delete it, {approval_hint()}",
        physical=resource.physical,
    )


def attached_difference(env: str, layer: str, owner_physical: str, extra: Extra) -> Difference:
    type_ = EXTRA_TYPES.get(extra.kind, extra.kind)
    return Difference(
        category=Category.LIVE,
        kind=Kind.EXTRA,
        baseline=CODE,
        environment=env,
        path=ATTACHED_PATH,
        values={env: extra.aws_name},
        absent=(CODE,),
        layer=layer,
        resource=extra.owner,
        type=type_,
        note=f"{extra.kind} {extra.aws_name} on {owner_physical} is in no stack record: {extra.detail}",
        repair=f"remove {extra.kind} {extra.aws_name} from {owner_physical} or declare it in the {layer} layer, "
        f"{approval_hint()}",
        physical=extra.aws_name,
    )


@dataclass(frozen=True)
class Stack:
    layer: str
    env: str
    resources: tuple[Mapping[str, Any], ...]


def _stacks(settings: Settings, records: Iterable[Mapping[str, Any]]) -> list[Stack]:
    prefix = f"{settings.project.name}-"
    return [
        Stack(str(record["project"]).removeprefix(prefix), str(record["stack"]), tuple(record.get("resources") or ()))
        for record in records
    ]


def _client_in(client_for: ClientFor, region: str, service: str) -> Any:
    return client_for(service, region)


def _scan(
    client_for: ClientFor, region: str, is_projects_bus: Callable[[CloudResource], bool]
) -> Iterator[CloudResource]:
    buses: list[str] = []
    for lister in inventory.LISTERS:
        for resource in lister(client_for, region):
            if resource.type == inventory.BUS and is_projects_bus(resource):
                buses.append(resource.name)
            yield resource
    yield from inventory.rules(client_for, region, buses)


def find_unmanaged(
    settings: Settings,
    envs: Sequence[str],
    records: Iterable[Mapping[str, Any]],
    client_for: ClientFor,
    *,
    suffixes: Mapping[str, Iterable[str]] | None = None,
    ignore_prefixes: Sequence[str] = (),
    clients_in: Callable[[str], ClientFor] | None = None,
) -> tuple[list[Difference], int]:
    """Unmanaged resources of the environments `envs`, and children no record holds on their managed resources.

    `records` are every saved stack record (all layers, all environments: {project, stack, outputs, resources});
    `client_for(service, region)` returns a client that can read an environment's account; `suffixes` adds the
    `environmentSuffix` overrides of each environment's stacks; names starting with `ignore_prefixes` belong to
    the target itself (the sandbox's own queues); `clients_in(account)`, when given, is the `client_for` of each
    environment's account (environments in separate accounts). Returns the differences and how many cloud
    resources were looked at.
    """
    in_account = clients_in or (lambda _account: client_for)
    records = list(records)
    stacks = _stacks(settings, records)
    all_records = [resource for stack in stacks for resource in stack.resources]
    managed = {(str(r["type"]), inventory.record_name(r)) for r in all_records if r["type"] in inventory.KINDS}
    naming = environment_names(settings, _with_recorded_suffixes(records, suffixes or {}))
    entries = settings.approved.unmanaged
    differences: list[Difference] = []
    seen: set[tuple[str, str]] = set()
    looked_at = 0
    owners: dict[tuple[str, str], Ownership | None] = {}

    def owner(resource: CloudResource) -> Ownership | None:
        key = (resource.type, resource.physical)
        if key not in owners:
            owners[key] = project_ownership(settings, naming, resource)
        return owners[key]

    def is_projects_bus(bus: CloudResource) -> bool:
        return (bus.type, bus.name) in managed or owner(bus) is not None

    scopes = dict.fromkeys((settings.env(env).account_id, settings.env(env).region) for env in envs)
    for account, region in scopes:
        for resource in _scan(in_account(account), region, is_projects_bus):
            if (resource.type, resource.physical) in seen:
                continue  # a global kind (buckets, roles), or two environments' accounts read with one client
            seen.add((resource.type, resource.physical))
            looked_at += 1
            if (resource.type, resource.name) in managed or resource.name.startswith(tuple(ignore_prefixes)):
                continue
            found = owner(resource)
            if found is not None and (found.environment in envs or found.environment == "(unknown)"):
                differences.append(_judged(unmanaged_difference(resource, found), entries))
    attached = _attached(settings, envs, stacks, all_records, in_account)
    differences += [_judged(difference, entries) for difference in attached]
    return differences, looked_at


def _with_recorded_suffixes(
    records: Iterable[Mapping[str, Any]], suffixes: Mapping[str, Iterable[str]]
) -> dict[str, list[str]]:
    """`suffixes` plus the suffix each deployed storage stack exported (`name_suffix`)."""
    merged = {env: list(found) for env, found in suffixes.items()}
    for record in records:
        exported = (record.get("outputs") or {}).get(NAME_SUFFIX_OUTPUT)
        if exported:
            merged.setdefault(str(record["stack"]), []).append(str(exported))
    return merged


def _attached(
    settings: Settings,
    envs: Sequence[str],
    stacks: Sequence[Stack],
    all_records: Sequence[Mapping[str, Any]],
    in_account: Callable[[str], ClientFor],
) -> list[Difference]:
    """Children no record holds, on the managed resources of the compared environments (through the reads module)."""
    owned = owned_children(all_records)
    differences: list[Difference] = []
    contexts: dict[tuple[str, str], ResourceContext] = {}
    for stack in (s for s in stacks if s.env in envs):
        account, region = settings.env(stack.env).account_id, settings.env(stack.env).region
        if (account, region) not in contexts:
            clients = Clients(region, functools.partial(_client_in, in_account(account), region))
            contexts[(account, region)] = ResourceContext(clients, region, account, {})
        for record in stack.resources:
            if record["type"] not in inventory.KINDS:
                continue
            physical = str((record.get("outputs") or {}).get("arn") or record["id"])
            for extra in attached_extras(record, contexts[(account, region)], owned):
                differences.append(attached_difference(stack.env, stack.layer, physical, extra))
    return differences
