"""Type tokens that changed, and the aliases that let live stacks keep their resources.

A component's URN contains its type token, and its children's URNs contain it too: changing a token without an
alias would make Pulumi delete and recreate everything under the component. Every component passes its token
through `carry_over`, so a rename is one entry in `RENAMED_TYPES`; `tests/unit/test_components_aliases.py` reads
the same mapping to show that every URN deployed before the rename is still reached.
"""

from __future__ import annotations

import pulumi

# Building blocks used by more than one layer carry a `shared` token.
SHARED_LAYER = "shared"

RENAMED_TYPES: dict[str, str] = {
    # Used by processing and replication; was tokened after processing.
    "pipeline-infra:shared:PipelineFunction": "pipeline-infra:processing:PipelineFunction",
    # Used by storage and replication (the idempotency table); was tokened after storage.
    "pipeline-infra:shared:PipelineTable": "pipeline-infra:storage:PipelineTable",
}
"""New type token -> the token live stacks were deployed with."""


def carry_over(type_token: str, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions | None:
    """`opts`, plus an alias to the component's previous type token when it had one."""
    previous = RENAMED_TYPES.get(type_token)
    if previous is None:
        return opts
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=previous)]))


__all__ = ["RENAMED_TYPES", "SHARED_LAYER", "carry_over"]
