"""The layers: their order, which stacks each one reads, and the names those stacks go by.

The one home of the layer graph: programs build their StackReferences from it, and the tool orders deploys,
renders and destroys by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings

STORAGE = "storage"
NOTIFICATIONS = "notifications"
PROCESSING = "processing"
REPLICATION = "replication"
# Dependency order: a layer reads only layers before it.
LAYERS = (STORAGE, NOTIFICATIONS, PROCESSING, REPLICATION)

# Storage outputs other stacks read by key (the rest are listed in README's layer table).
NAME_SUFFIX_OUTPUT = "name_suffix"
REPLICA_WRITER_ROLE_ARN_OUTPUT = "replica_writer_role_arn"
# Exported by storage where settings give a `network`: the security group every function of the environment carries.
FUNCTION_SECURITY_GROUP_OUTPUT = "function_security_group_id"

Stack = tuple[str, str]
"""A (layer, environment) pair: one Pulumi stack."""


def project_name(settings: Settings, layer: str) -> str:
    """The Pulumi project name of a layer, as written in projects/<layer>/Pulumi.yaml."""
    return f"{settings.project.name}-{layer}"


def stack_reference_name(settings: Settings, layer: str, env: str) -> str:
    """The fully qualified stack name another stack uses to read `layer`'s outputs in `env`."""
    return settings.project.stack_reference_format.format(
        organization=settings.project.organization, project=project_name(settings, layer), stack=env
    )


def upstream_stacks(settings: Settings, layer: str, env: str) -> list[Stack]:
    """The stacks whose outputs the (layer, env) stack reads through StackReferences."""
    targets = list(settings.env(env).replication.targets)
    if layer == STORAGE:
        # The source bucket grants each target's writer role read access, by the ARN that target exported.
        return [(STORAGE, target) for target in targets]
    if layer == NOTIFICATIONS:
        return []
    if layer == PROCESSING:
        return [(STORAGE, env), (NOTIFICATIONS, env)]
    if layer == REPLICATION:
        return [(STORAGE, env), (NOTIFICATIONS, env), *[(STORAGE, target) for target in targets]]
    raise ValueError(f"unknown layer {layer!r}; expected one of {list(LAYERS)}")


def stack_closure(settings: Settings, wanted: list[Stack]) -> list[Stack]:
    """`wanted` and every stack they read, directly or not, in an order where each stack follows what it reads."""
    needed: set[Stack] = set()
    pending = list(wanted)
    while pending:
        stack = pending.pop()
        if stack not in needed:
            needed.add(stack)
            pending.extend(upstream_stacks(settings, *stack))
    return _dependency_order(settings, needed)


def _dependency_order(settings: Settings, stacks: set[Stack]) -> list[Stack]:
    """Topological order, ties broken by layer then environment so the order is stable."""
    key = {s: (LAYERS.index(s[0]), settings.project.environments.index(s[1])) for s in stacks}
    ordered: list[Stack] = []
    placed: set[Stack] = set()
    remaining = sorted(stacks, key=key.__getitem__)
    while remaining:
        ready = [s for s in remaining if all(u in placed or u not in stacks for u in upstream_stacks(settings, *s))]
        if not ready:
            raise ValueError(f"the layer graph has a cycle among {remaining}")
        ordered.extend(ready)
        placed.update(ready)
        remaining = [s for s in remaining if s not in placed]
    return ordered


__all__ = [
    "LAYERS",
    "NAME_SUFFIX_OUTPUT",
    "NOTIFICATIONS",
    "PROCESSING",
    "REPLICATION",
    "REPLICA_WRITER_ROLE_ARN_OUTPUT",
    "STORAGE",
    "Stack",
    "project_name",
    "stack_closure",
    "stack_reference_name",
    "upstream_stacks",
]
