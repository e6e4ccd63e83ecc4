"""Lambda runtime code of pipeline-infra. Depends on boto3 and Powertools only, never on Pulumi."""

from __future__ import annotations

__all__: list[str] = []
