"""The soak's prod changes: what each one writes, what prod holds afterwards, and what each replica must hold.

The harness is its own oracle: every document and item is built from one environment's names, so the replica
expected in dev or staging is the same content built from that environment's names, with that environment's
replication overlay merged in. Nothing of the project's rewrite or drift code is used for this.
"""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Kind = Literal["object", "item"]
Operation = Literal["put", "delete"]
# Codes a throttled or failing service answers with; the harness's own writes and reads wait them out.
RETRYABLE = frozenset(
    {
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "500",
        "503",
    }
)
INSIST_SECONDS = 120.0
ITEM_SORT_KEY = "settings"
REPLICA_BOOKKEEPING = "_replica_"


@dataclass(frozen=True)
class Names:
    """One environment's identifiers, as its storage stack exported them, and its replication overlay."""

    env: str
    bucket: str
    config_table: str
    metadata_table: str
    overlay: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    index: int
    kind: Kind
    operation: Operation
    key: str  # the object key, or the item's partition key
    phase: str
    issued_at: float  # time.monotonic() when the write was sent

    @property
    def identity(self) -> tuple[Kind, str]:
        return self.kind, self.key


def document(change: Change, names: Names) -> dict[str, Any]:
    """A config document as `names`' environment holds it: it names that environment's bucket and tables."""
    return {
        "change": change.index,
        "pipeline": change.key,
        "input": f"s3://{names.bucket}/raw/soak/",
        "tables": {"config": names.config_table, "metadata": names.metadata_table},
        "logging": {"level": "WARN"},
    }


def item(change: Change, names: Names) -> dict[str, Any]:
    """A config table item (plain values) as `names`' environment holds it."""
    return {
        "pk": change.key,
        "sk": ITEM_SORT_KEY,
        "change": change.index,
        "bucket": names.bucket,
        "table": names.config_table,
        "logging": {"level": "WARN"},
    }


def expected_replica(change: Change, names: Names) -> dict[str, Any] | None:
    """What a replica must hold after `change` (None: absent). Documents get the whole overlay merged in; items
    only in the attributes they already have, as the README's replication section says."""
    if change.operation == "delete":
        return None
    if change.kind == "object":
        return _merged(document(change, names), names.overlay)
    built = item(change, names)
    for name, patch in names.overlay.items():
        if name in built:
            built[name] = _merged(built[name], patch) if isinstance(patch, dict) else copy.deepcopy(patch)
    return built


def _merged(base: Any, overlay: Mapping[str, Any]) -> Any:
    if not isinstance(base, dict):
        return copy.deepcopy(overlay)
    merged = dict(base)
    for name, value in overlay.items():
        merged[name] = _merged(merged.get(name), value) if isinstance(value, dict) else copy.deepcopy(value)
    return merged


def insist(call: Callable[[], Any], what: str) -> Any:
    """`call`'s result, waiting out throttling, 5xx errors and dropped connections for up to two minutes."""
    deadline, pause = time.monotonic() + INSIST_SECONDS, 0.05
    while True:
        try:
            return call()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code not in RETRYABLE or time.monotonic() > deadline:
                raise
        except (ConnectionError, ReadTimeoutError):
            if time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: still failing after {INSIST_SECONDS:.0f} s")


@dataclass
class Workload:
    """Makes prod changes, mixed: new objects and items, overwrites (of live and deleted keys) and deletes.

    `busy` keys are left alone while a latency probe waits for their replicas, so an overwrite never hides the
    change being timed.
    """

    s3: Any
    dynamodb: Any
    prod: Names
    run: str
    seed: int
    final: dict[tuple[Kind, str], Change] = field(default_factory=dict)
    issued: list[Change] = field(default_factory=list)
    busy: set[tuple[Kind, str]] = field(default_factory=set)
    _random: random.Random = field(init=False)

    # (kind, what) -> weight: a new key, an overwrite of a known key, a delete of a live one
    MIX: ClassVar[dict[tuple[Kind, str], int]] = {
        ("object", "new"): 28,
        ("object", "overwrite"): 14,
        ("object", "delete"): 8,
        ("item", "new"): 28,
        ("item", "overwrite"): 14,
        ("item", "delete"): 8,
    }

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def next_change(self, phase: str) -> Change:
        """Choose, make and record the next change."""
        (kind, what) = self._random.choices(list(self.MIX), weights=list(self.MIX.values()))[0]
        known = [c for c in self.final.values() if c.kind == kind and c.identity not in self.busy]
        if what == "delete":
            known = [c for c in known if c.operation == "put"]
        index = len(self.issued)
        if what == "new" or not known:
            key = self._new_key(kind, index)
            operation: Operation = "put"
        else:
            key = self._random.choice(known).key
            operation = "delete" if what == "delete" else "put"
        change = Change(index, kind, operation, key, phase, time.monotonic())
        self._write(change)
        self.issued.append(change)
        self.final[change.identity] = change
        return change

    def _new_key(self, kind: Kind, index: int) -> str:
        # Fixed width, so no key is a substring of another when dead letters are searched for it.
        if kind == "object":
            return f"config/soak/{self.run}/pipeline-{index:06d}.json"
        return f"soak#{self.run}#pipeline-{index:06d}"

    def _write(self, change: Change) -> None:
        bucket, table = self.prod.bucket, self.prod.config_table
        what = f"change {change.index} ({change.operation} {change.kind} {change.key})"
        if change.kind == "object" and change.operation == "put":
            body = json.dumps(document(change, self.prod)).encode()
            insist(lambda: self.s3.put_object(Bucket=bucket, Key=change.key, Body=body), what)
        elif change.kind == "object":
            insist(lambda: self.s3.delete_object(Bucket=bucket, Key=change.key), what)
        elif change.operation == "put":
            attributes = _to_dynamodb(item(change, self.prod))
            insist(lambda: self.dynamodb.put_item(TableName=table, Item=attributes), what)
        else:
            key = {"pk": {"S": change.key}, "sk": {"S": ITEM_SORT_KEY}}
            insist(lambda: self.dynamodb.delete_item(TableName=table, Key=key), what)


def _to_dynamodb(value: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {name: serializer.serialize(attribute) for name, attribute in value.items()}
