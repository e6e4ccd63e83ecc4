"""Replication paths (from REPLICATION_PATHS): the rules and the Pipe that carry prod's changes to the replicator.

REPLICATION_PATHS is a JSON list of objects::

    [{"kind": "rule", "name": "evr-s3-changes-prod-pl01",
      "arn": "arn:aws:events:us-east-1:123456789012:rule/evr-s3-changes-prod-pl01",
      "target_arns": ["arn:aws:lambda:us-east-1:123456789012:function:fn-replicator-prod-pl01"]},
     {"kind": "pipe", "name": "pipe-config-stream-prod-pl01",
      "arn": "arn:aws:pipes:us-east-1:123456789012:pipe/pipe-config-stream-prod-pl01",
      "target_arns": ["arn:aws:events:us-east-1:123456789012:event-bus/bus-replication-prod-pl01"]}]

A rule on a bus other than the default one carries the bus in its ARN (`rule/<bus>/<name>`), as AWS writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_functions.constants import REPLICATION_PATHS_ENV
from pipeline_functions.exceptions import ConfigurationError

RULE = "rule"
PIPE = "pipe"
KINDS = (RULE, PIPE)
_KEYS = ("kind", "name", "arn", "target_arns")


@dataclass(frozen=True)
class ReplicationPath:
    """One rule or Pipe that must be switched on and still deliver to its targets."""

    kind: str
    name: str
    arn: str
    target_arns: tuple[str, ...]

    @property
    def event_bus(self) -> str | None:
        """The bus of a rule not on the default bus (`rule/<bus>/<name>`), None for the default bus or a Pipe."""
        if self.kind != RULE:
            return None
        parts = self.arn.split(":", 5)[-1].split("/")
        return parts[1] if len(parts) == 3 else None

    @classmethod
    def from_dict(cls, raw: Any, position: int = 0) -> ReplicationPath:
        where = f"{REPLICATION_PATHS_ENV}[{position}]"
        if not isinstance(raw, dict):
            raise ConfigurationError(f"{where} must be an object, got {type(raw).__name__}")
        unknown = set(raw) - set(_KEYS)
        if unknown:
            raise ConfigurationError(f"{where} has unknown keys {sorted(unknown)}; expected {list(_KEYS)}")
        if raw.get("kind") not in KINDS:
            raise ConfigurationError(f"{where}.kind is {raw.get('kind')!r}; expected one of {list(KINDS)}")
        missing = [key for key in ("name", "arn") if not isinstance(raw.get(key), str) or not raw[key]]
        if missing:
            raise ConfigurationError(f"{where} is missing {', '.join(missing)} (non-empty strings expected)")
        service = "events" if raw["kind"] == RULE else "pipes"
        if not raw["arn"].startswith("arn:") or raw["arn"].split(":")[2:3] != [service]:
            raise ConfigurationError(f"{where}.arn is {raw['arn']!r}; expected an arn:aws:{service}:... ARN")
        targets = raw.get("target_arns")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise ConfigurationError(f"{where}.target_arns must be a non-empty JSON list of ARNs, got {targets!r}")
        return cls(kind=raw["kind"], name=raw["name"], arn=raw["arn"], target_arns=tuple(targets))


def parse_paths(raw: Any) -> tuple[ReplicationPath, ...]:
    """Validate the decoded REPLICATION_PATHS value."""
    if not isinstance(raw, list):
        raise ConfigurationError(f"{REPLICATION_PATHS_ENV} must be a JSON list, got {type(raw).__name__}")
    paths = tuple(ReplicationPath.from_dict(item, index) for index, item in enumerate(raw))
    arns = [path.arn for path in paths]
    if len(set(arns)) != len(arns):
        raise ConfigurationError(f"{REPLICATION_PATHS_ENV} names a resource twice: {arns}")
    return paths
