"""REPLICATION_TARGETS: the document that tells the replicator where each target is and how to rewrite for it.

Pure (no Pulumi), so the tool's drift and resync build the same document from deployed stack outputs.
"""

from __future__ import annotations

import json
from typing import Any


def targets_document(
    source_bucket: str,
    source_token: str,
    source_account: str,
    source_region: str,
    targets: list[dict[str, Any]],
    external_id: str | None = None,
) -> str:
    """REPLICATION_TARGETS: per target, where to write and which prod identifiers become which (longest first)."""
    described = []
    for target in targets:
        replacements = [[source_bucket, target["bucket"]], [source_token, target["name_token"]]]
        if target["account_id"] != source_account:
            replacements.append([source_account, target["account_id"]])
        if target["region"] != source_region:
            replacements.append([source_region, target["region"]])
        entry = {
            "environment": target["environment"],
            "bucket": target["bucket"],
            "config_table": target["config_table"],
            "writer_role_arn": target["writer_role_arn"],
            "region": target["region"],
            "replacements": sorted(replacements, key=lambda pair: -len(pair[0])),
            "overlay": target["overlay"],
        }
        if external_id is not None:
            entry["external_id"] = external_id
        described.append(entry)
    return json.dumps(described, separators=(",", ":"), sort_keys=True)


__all__ = ["targets_document"]
