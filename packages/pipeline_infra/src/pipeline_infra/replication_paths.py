"""REPLICATION_PATHS: the rules and the Pipe the drift checker reads back to see replication is switched on.

Pure (no Pulumi), like `replication_targets`, so the tool can build the same document from deployed stack outputs.
`pipeline_functions.drift_checker.paths` reads it; the kinds below are the contract between the two.
"""

from __future__ import annotations

import json
from typing import Any

RULE = "rule"
PIPE = "pipe"


def paths_document(paths: list[dict[str, Any]]) -> str:
    """REPLICATION_PATHS: per rule or Pipe, its kind, name, ARN and the ARNs it must still deliver to."""
    described = [
        {
            "kind": path["kind"],
            "name": path["name"],
            "arn": path["arn"],
            "target_arns": sorted(path["target_arns"]),
        }
        for path in paths
    ]
    return json.dumps(described, separators=(",", ":"), sort_keys=True)


def arns_of_kind(paths: list[dict[str, Any]], kind: str) -> list[str]:
    """The ARNs of the paths of one kind, for the policy that lets the drift checker read them."""
    return sorted(path["arn"] for path in paths if path["kind"] == kind)


__all__ = ["PIPE", "RULE", "arns_of_kind", "paths_document"]
