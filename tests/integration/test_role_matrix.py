"""Every role against every data resource of every environment, with IAM enforced: the role-by-resource matrix.

EXPECTED below is what each role's policy is meant to grant (`pipeline_infra.policies.documents` and the
components that fill it in), written as AWS decides: per resource. Each cell is tried once with the role's own
credentials: the functions' execution roles assumed as Lambda assumes them, the writer roles through prod's
replicator role as the replicator assumes them. Every mismatch is collected and the test fails once, with all.

Columns: bucket `get`/`put` is GetObject/PutObject under the prefix; table `get`/`put` is GetItem/PutItem;
queue `recv`/`send` is ReceiveMessage/SendMessage; topic `publish` is Publish.

A denial is tried on a resource that exists and that the administrator reads (its object, item, queue or
topic), so AccessDenied can only mean the policy. An allowed read must return the administrator's data and an
allowed write must land: objects and items are read back, messages are taken from the queue (a task is seen
by the task processor turning its metadata item PROCESSED) and notifications reach a subscribed queue.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import LAMBDA_SERVICE, is_denied
from tests.integration.conftest import ENVIRONMENTS
from tests.integration.helpers import (
    assumed_clients,
    poll_until,
    read_item,
    read_object,
    subscribed,
    take_dead_letters,
    targets,
    unique,
)
from tests.integration.role_matrix_table import (
    ALLOW,
    BLOCKS,
    BUCKET,
    CONFIG,
    DENY,
    ERROR,
    EXPECTED,
    FAILURE,
    IDEMPOTENCY,
    METADATA,
    REPLICATION_DLQ,
    ROLES,
    SUCCESS,
    TABLE_KEYS,
    TASK_DLQ,
    TASKS,
    Cell,
    Column,
    columns,
    parse_expected,
    render,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.integration.conftest import DeployedSandbox
    from tests.integration.helpers import Inbox

pytestmark = pytest.mark.integration

SERVICES = ("s3", "dynamodb", "sqs", "sns")
# Every read is tried before any write: a receive from the task queue would otherwise count against (and briefly
# hold) a task the validator just queued.
READS = ("get config/", "get schemas/", "get raw/", "get", "recv")
# Requests in flight at once; boto3 clients are thread-safe and the emulator serves requests in threads.
WORKERS = 8
# Long enough for the local runtime to run the task processor and for SNS to deliver; all waits share it.
LANDING_SECONDS = 30.0
# The replicated prefixes and table: what an object or item put in prod brings to dev and staging.
REPLICATED_PREFIXES = ("config/", "schemas/")


# -- The environments' resources, and the administrator's data every read and every denial is tried on ----------


@dataclass
class Environment:
    name: str
    bucket: str
    tables: dict[str, str]
    queues: dict[str, str]
    topics: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)  # prefix -> key of the administrator's object
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> key of the administrator's item


def item_key(table: str, name: str) -> dict[str, Any]:
    return {attribute: {"S": name if attribute != "sk" else "role-matrix"} for attribute in TABLE_KEYS[table]}


def describe(sandbox: DeployedSandbox, env: str) -> Environment:
    storage, notifications = sandbox.outputs("storage", env), sandbox.outputs("notifications", env)
    tables = {CONFIG: storage["config_table_name"], METADATA: storage["metadata_table_name"]}
    if env == "prod":
        tables[IDEMPOTENCY] = sandbox.outputs("replication", "prod")["idempotency_table_name"]
    queues = {
        TASKS: notifications["task_queue_url"],
        TASK_DLQ: notifications["task_dlq_url"],
        REPLICATION_DLQ: notifications["replication_dlq_url"],
    }
    topics = {SUCCESS: notifications["success_topic_arn"], FAILURE: notifications["failure_topic_arn"]}
    return Environment(env, storage["bucket_name"], tables, queues, topics)


def body(marker: str) -> bytes:
    return json.dumps({"role-matrix": marker}).encode()


def seed(sandbox: DeployedSandbox, environment: Environment, run: str) -> None:
    """The administrator's object under every prefix and item in every table, each read back by it.

    In prod those under config/ and schemas/ and the config item replicate to dev and staging (cleaned up after);
    the raw/ object has a dataset with no schema, so each environment's validator only records it INVALID.
    """
    s3, dynamodb, sqs, sns = (sandbox.client(s) for s in SERVICES)
    for prefix in ("config/", "schemas/", "raw/"):
        key = f"{prefix}role-matrix-{run}/{environment.name}.json"
        s3.put_object(Bucket=environment.bucket, Key=key, Body=body(key))
        assert read_object(s3, environment.bucket, key) is not None, f"the administrator cannot read {key}"
        environment.objects[prefix] = key
    for table, name in environment.tables.items():
        item = item_key(table, f"role-matrix#{run}#{environment.name}")
        dynamodb.put_item(TableName=name, Item={**item, "role_matrix": {"S": run}})
        assert read_item(dynamodb, name, item) is not None, f"the administrator cannot read {item} in {name}"
        environment.items[table] = item
    for url in environment.queues.values():
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    for arn in environment.topics.values():
        sns.get_topic_attributes(TopicArn=arn)


def role_arns(sandbox: DeployedSandbox) -> dict[str, str]:
    """Each row's role, read where the deployment recorded it (a function's configuration or a stack output)."""
    lambda_ = sandbox.client("lambda")

    def function_role(name: str) -> str:
        return str(lambda_.get_function_configuration(FunctionName=name)["Role"])

    arns: dict[str, str] = {}
    for env in ENVIRONMENTS:
        processing = sandbox.outputs("processing", env)
        arns[f"validator-{env}"] = function_role(processing["validator_function_name"])
        arns[f"task-processor-{env}"] = function_role(processing["task_processor_function_name"])
    replication = sandbox.outputs("replication", "prod")
    arns["replicator-prod"] = str(replication["replicator_role_arn"])
    arns["drift-checker-prod"] = function_role(replication["drift_checker_function_name"])
    for env in targets(sandbox):
        arns[f"writer-{env}"] = str(sandbox.outputs("storage", env)["replica_writer_role_arn"])
    assert sorted(arns) == sorted(ROLES), f"the deployment's roles {sorted(arns)} are not the matrix's rows"
    return arns


@pytest.fixture(scope="module")
def role_clients(sandbox: DeployedSandbox) -> dict[str, dict[str, Any]]:
    """Per row, clients on the role's own credentials, assumed once for the whole matrix."""
    arns = role_arns(sandbox)
    clients = {
        role: assumed_clients(sandbox, arn, (*SERVICES, "sts"), session_name=LAMBDA_SERVICE)
        for role, arn in arns.items()
        if not role.startswith("writer-")
    }
    # The writer roles trust prod's replicator (and drift checker) only: assumed as the replicator does.
    replicator_sts = clients["replicator-prod"]["sts"]
    for role, arn in arns.items():
        if role.startswith("writer-"):
            clients[role] = assumed_clients(sandbox, arn, SERVICES, assumed_by=replicator_sts)
    return clients


# -- Trying the cells ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    outcome: str  # allow, deny or error
    detail: str = ""


@dataclass
class Matrix:
    """Tries cells, checks what allowed ones did, and remembers every write so that it can be undone."""

    sandbox: DeployedSandbox
    environments: dict[str, Environment]
    clients: dict[str, dict[str, Any]]
    inboxes: dict[str, Inbox]
    run: str
    observed: dict[Cell, Observation] = field(default_factory=dict)
    landings: dict[Cell, Callable[[], bool]] = field(default_factory=dict)
    objects_written: set[tuple[str, str]] = field(default_factory=set)
    items_written: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notified: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)

    def admin(self, service: str) -> Any:
        return self.sandbox.client(service)

    def marker(self, role: str, env: str, column: Column) -> str:
        return f"{self.run}|{role}|{env}|{column.resource}|{column.operation}"

    def attempt(self, call: Callable[[], Any]) -> tuple[Observation, Any]:
        try:
            return Observation(ALLOW), call()
        except ClientError as exc:
            if is_denied(exc):
                return Observation(DENY), None
            error = exc.response.get("Error", {})
            return Observation(ERROR, f"{error.get('Code')}: {error.get('Message')}"), None

    def try_cell(self, role: str, env: str, column: Column) -> None:
        environment, clients = self.environments[env], self.clients[role]
        if column.resource == BUCKET:
            verb, prefix = column.operation.split()
            if verb == "get":
                observation = self._get_object(clients["s3"], environment, prefix)
            else:
                observation = self._put_object(
                    clients["s3"], environment, f"{prefix}role-matrix-{self.run}/{role}.json"
                )
        elif column.resource in TABLE_KEYS:
            name = environment.tables[column.resource]
            if column.operation == "get":
                observation = self._get_item(clients["dynamodb"], name, environment.items[column.resource])
            else:
                key = item_key(column.resource, f"role-matrix#{self.run}#{role}")
                observation = self._put_item(clients["dynamodb"], name, key)
        elif column.resource in environment.queues:
            observation = self._queue(role, environment, column)
        else:
            observation = self._publish(role, environment, column)
        self.observed[(role, env, column)] = observation

    def _get_object(self, s3: Any, environment: Environment, prefix: str) -> Observation:
        key = environment.objects[prefix]
        observation, response = self.attempt(lambda: s3.get_object(Bucket=environment.bucket, Key=key))
        if observation.outcome == ALLOW and response["Body"].read() != body(key):
            return Observation(ERROR, f"GetObject {key} returned another body")
        return observation

    def _put_object(self, s3: Any, environment: Environment, key: str) -> Observation:
        self.objects_written.add((environment.bucket, key))
        observation, _ = self.attempt(lambda: s3.put_object(Bucket=environment.bucket, Key=key, Body=body(key)))
        stored = read_object(self.admin("s3"), environment.bucket, key)
        if observation.outcome == ALLOW and (stored is None or stored.body != body(key)):
            return Observation(ERROR, f"PutObject {key} succeeded but the object is not there")
        if observation.outcome == DENY and stored is not None:
            return Observation(ERROR, f"PutObject {key} was denied but the object is there")
        return observation

    def _get_item(self, dynamodb: Any, table: str, key: dict[str, Any]) -> Observation:
        observation, response = self.attempt(lambda: dynamodb.get_item(TableName=table, Key=key))
        if observation.outcome == ALLOW and response.get("Item", {}).get("role_matrix") != {"S": self.run}:
            return Observation(ERROR, f"GetItem {key} in {table} returned {response.get('Item')}")
        return observation

    def _put_item(self, dynamodb: Any, table: str, key: dict[str, Any]) -> Observation:
        self.items_written.append((table, key))
        item = {**key, "role_matrix": {"S": self.run}, "expiration": {"N": str(int(time.time()) + 3600)}}
        observation, _ = self.attempt(lambda: dynamodb.put_item(TableName=table, Item=item))
        stored = read_item(self.admin("dynamodb"), table, key)
        if observation.outcome == ALLOW and stored is None:
            return Observation(ERROR, f"PutItem {key} in {table} succeeded but the item is not there")
        if observation.outcome == DENY and stored is not None:
            return Observation(ERROR, f"PutItem {key} in {table} was denied but the item is there")
        return observation

    def _queue(self, role: str, environment: Environment, column: Column) -> Observation:
        sqs, url = self.clients[role]["sqs"], environment.queues[column.resource]
        cell = (role, environment.name, column)
        if column.operation == "recv":
            # Visible again at once: a message another test left is neither hidden nor taken from it.
            receive = {"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 0, "VisibilityTimeout": 0}
            return self.attempt(lambda: sqs.receive_message(**receive))[0]
        if column.resource == TASKS:
            # The task processor consumes this queue: a task for a VALID item of our own is processed cleanly,
            # and the item turning PROCESSED is the proof that the message arrived.
            metadata, key = environment.tables[METADATA], {"pk": {"S": f"role-matrix-{self.run}/task/{role}"}}
            self.admin("dynamodb").put_item(TableName=metadata, Item={**key, "status": {"S": "VALID"}})
            self.items_written.append((metadata, key))
            message = json.dumps({"key": key["pk"]["S"], "role-matrix": self.marker(*cell)})

            def landed() -> bool:
                found = read_item(self.admin("dynamodb"), metadata, key)
                return found is not None and found.get("status") == "PROCESSED"

        else:
            message = json.dumps({"role-matrix": self.marker(*cell)})

            def landed() -> bool:
                mine = take_dead_letters(self.admin("sqs"), url, lambda r: r.get("role-matrix") == self.marker(*cell))
                return bool(mine)

        observation, _ = self.attempt(lambda: sqs.send_message(QueueUrl=url, MessageBody=message))
        if observation.outcome == ALLOW:
            self.landings[cell] = landed
        return observation

    def _publish(self, role: str, environment: Environment, column: Column) -> Observation:
        cell, arn = (role, environment.name, column), environment.topics[column.resource]
        message = json.dumps({"role-matrix": self.marker(*cell)})
        observation, _ = self.attempt(lambda: self.clients[role]["sns"].publish(TopicArn=arn, Message=message))
        if observation.outcome == ALLOW:
            self.landings[cell] = lambda: self._notified(arn, self.marker(*cell))
        return observation

    def _notified(self, topic_arn: str, marker: str) -> bool:
        """Whether the topic's subscribed queue got the notification (the others it gets are read and dropped)."""
        inbox = self.inboxes[topic_arn]
        while messages := inbox.sqs.receive_message(QueueUrl=inbox.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                notification = json.loads(json.loads(message["Body"])["Message"])
                self.notified.add(str(notification.get("role-matrix")))
                inbox.sqs.delete_message(QueueUrl=inbox.url, ReceiptHandle=message["ReceiptHandle"])
        return marker in self.notified

    def wait_for_landings(self) -> None:
        """Every allowed message and notification seen where it goes; one shared deadline for all of them."""
        pending = dict(self.landings)
        deadline = time.monotonic() + LANDING_SECONDS
        while pending and time.monotonic() < deadline:
            pending = {cell: landed for cell, landed in pending.items() if not landed()}
            if pending:
                time.sleep(0.1)
        for cell in pending:
            self.observed[cell] = Observation(ERROR, f"allowed, but not seen within {LANDING_SECONDS:.0f} s")


# -- Undoing every write ------------------------------------------------------------------------------------------


def clean_up(matrix: Matrix) -> None:
    """Deletes every object and item the matrix wrote or caused, and lets replication and validation settle.

    An object under prod's config/ or schemas/ and an item of prod's config table have replicas in dev and staging:
    they are awaited, so that prod's delete is the last change each target sees, and then awaited gone. Every raw/
    object is recorded (INVALID) by its environment's validator: that item is awaited and deleted too.
    """
    s3, dynamodb = matrix.admin("s3"), matrix.admin("dynamodb")
    environments = list(matrix.environments.values())
    prod, replicas = matrix.environments["prod"], [matrix.environments[t] for t in targets(matrix.sandbox)]
    objects = matrix.objects_written | {(e.bucket, key) for e in environments for key in e.objects.values()}
    objects = {(bucket, key) for bucket, key in objects if read_object(s3, bucket, key) is not None}
    items = matrix.items_written + [(e.tables[table], key) for e in environments for table, key in e.items.items()]
    # The validator's record of each raw/ object, in that object's environment.
    by_bucket = {e.bucket: e for e in environments}
    validated = [(by_bucket[b].tables[METADATA], {"pk": {"S": k}}) for b, k in objects if k.startswith("raw/")]
    replicated_keys = [k for b, k in objects if b == prod.bucket and k.startswith(REPLICATED_PREFIXES)]
    replicated_items = [k for t, k in items if t == prod.tables[CONFIG] and read_item(dynamodb, t, k) is not None]

    def settled(present: bool) -> bool | None:
        objects_there = [read_object(s3, e.bucket, k) is not None for e in replicas for k in replicated_keys]
        items_there = [read_item(dynamodb, e.tables[CONFIG], k) is not None for e in replicas for k in replicated_items]
        # Awaited only before the deletes: nothing writes a validator's record again after them.
        records = [read_item(dynamodb, t, k) is not None for t, k in validated] if present else []
        return True if all(x == present for x in objects_there + items_there + records) else None

    poll_until(lambda: settled(present=True), LANDING_SECONDS)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        deletes = [partial(s3.delete_object, Bucket=bucket, Key=key) for bucket, key in objects]
        deletes += [partial(dynamodb.delete_item, TableName=table, Key=key) for table, key in items + validated]
        list(pool.map(lambda delete: delete(), deletes))
    if poll_until(lambda: settled(present=False), LANDING_SECONDS) is None:
        print(f"role matrix: replicas of {replicated_keys} / {replicated_items} still in a target after cleanup")


# -- The tests ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix(sandbox: DeployedSandbox, role_clients: dict[str, dict[str, Any]]) -> Iterator[Matrix]:
    """Every cell tried once (reads first) and every allowed write seen landing; undone after the module."""
    run = unique("rm")
    environments = {env: describe(sandbox, env) for env in ENVIRONMENTS}
    with ExitStack() as stack:
        inboxes = {
            arn: stack.enter_context(subscribed(sandbox, arn))
            for environment in environments.values()
            for arn in environment.topics.values()
        }
        matrix = Matrix(sandbox, environments, role_clients, inboxes, run)
        try:
            for environment in environments.values():
                seed(sandbox, environment, run)
            cells = [(role, env, c) for env, block in BLOCKS for c in columns(env, block) for role in ROLES]
            reads = [cell for cell in cells if cell[2].operation in READS]
            # Tasks first among the writes, so that the task processor's runs overlap the other writes.
            writes = sorted((cell for cell in cells if cell not in reads), key=lambda cell: cell[2].resource != TASKS)
            started = time.perf_counter()
            # Cells are independent requests: tried side by side, every read before any write.
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                for phase in (reads, writes):
                    list(pool.map(lambda cell: matrix.try_cell(*cell), phase))
            matrix.seconds["cells"] = time.perf_counter() - started
            matrix.wait_for_landings()
            matrix.seconds["landings"] = time.perf_counter() - started - matrix.seconds["cells"]
            yield matrix
        finally:
            clean_up(matrix)


def test_expected_table_is_laid_out_as_printed() -> None:
    assert len(parse_expected(EXPECTED)) == len(ROLES) * sum(len(columns(env, block)) for env, block in BLOCKS)


def test_print_role_matrix(matrix: Matrix) -> None:
    operations = sum(len(columns(env, block)) for env, block in BLOCKS)
    print(
        f"\nObserved: {len(ROLES)} roles x {operations} resource operations = {len(matrix.observed)} cells, "
        f"tried in {matrix.seconds['cells']:.1f} s, allowed writes seen landing in {matrix.seconds['landings']:.1f} s"
    )
    print(render({cell: observation.outcome for cell, observation in matrix.observed.items()}))


def test_every_role_has_exactly_the_access_its_policy_intends(matrix: Matrix) -> None:
    expected = parse_expected(EXPECTED)
    assert set(matrix.observed) == set(expected), "the matrix did not try every cell of the table"
    mismatches = [
        f"{role} -> {env} {column.resource} {column.operation}: expected {want}, observed {seen.outcome}"
        + (f" ({seen.detail})" if seen.detail else "")
        for (role, env, column), want in expected.items()
        if (seen := matrix.observed[(role, env, column)]).outcome != want or seen.detail
    ]
    assert not mismatches, f"{len(mismatches)} of {len(expected)} cells differ from the intended grants:\n" + (
        "\n".join(mismatches)
    )
