"""The soak's own comparison: does each replica hold what prod's last change to that key says it must?

Replicas are read with the administrator's clients; a missing bucket or table reads as "absent". Objects are
compared as parsed JSON, items by the attributes the harness wrote (the replicator's `_replica_*` bookkeeping
is left out). Dead letters are searched for the keys they name.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from tests.integration.helpers import peek_dead_letters
from tests.soak.workload import ITEM_SORT_KEY, REPLICA_BOOKKEEPING, expected_replica, insist

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tests.soak.workload import Change, Kind, Names

ABSENT = frozenset({"NoSuchKey", "NoSuchBucket", "404", "ResourceNotFoundException"})
READERS = 4
Pair = tuple["Kind", str, str]  # (kind, key, environment)


@dataclass
class Replicas:
    s3: Any
    dynamodb: Any
    names: dict[str, Names]  # every target environment's names

    def matches(self, change: Change, env: str) -> bool:
        names = self.names[env]
        return self._read(change, names) == expected_replica(change, names)

    def mismatched(self, changes: Iterable[Change], envs: Iterable[str] | None = None) -> set[Pair]:
        """Every (kind, key, env) among `changes` and the targets whose replica is not what the change says."""
        return self.check([(change, env) for change in changes for env in envs or self.names])

    def check(self, pairs: list[tuple[Change, str]]) -> set[Pair]:
        """The pairs (as (kind, key, env)) whose replica is not what their change says, read a few at a time."""
        with ThreadPoolExecutor(max_workers=READERS) as readers:
            verdicts = list(readers.map(lambda pair: self.matches(*pair), pairs))
        return {(change.kind, change.key, env) for (change, env), ok in zip(pairs, verdicts, strict=True) if not ok}

    def _read(self, change: Change, names: Names) -> Any:
        try:
            if change.kind == "object":
                return insist(lambda: self._object(names.bucket, change.key), f"read {change.key} in {names.env}")
            return insist(lambda: self._item(names.config_table, change.key), f"read {change.key} in {names.env}")
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in ABSENT:
                return None
            raise

    def _object(self, bucket: str, key: str) -> Any:
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            return json.loads(body)
        except ValueError:
            return {"unparseable": body[:200].decode(errors="replace")}

    def _item(self, table: str, pk: str) -> Any:
        key = {"pk": {"S": pk}, "sk": {"S": ITEM_SORT_KEY}}
        found = self.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if found is None:
            return None
        plain = {name: TypeDeserializer().deserialize(value) for name, value in found.items()}
        return {name: value for name, value in plain.items() if not name.startswith(REPLICA_BOOKKEEPING)}


def dead_lettered_keys(sqs: Any, queue_url: str, keys: Iterable[str]) -> set[str]:
    """The keys some dead letter in the queue names (the queue is left as it was)."""
    texts = [json.dumps(record) for record in peek_dead_letters(sqs, queue_url)]
    return {key for key in keys if any(key in text for text in texts)}


def count_dead_letters(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
