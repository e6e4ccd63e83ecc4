"""The role-by-resource matrix's layout: its roles, its columns, the expected table and how it is printed.

The test (test_role_matrix.py) fills the same layout with what it observed; parsing EXPECTED against the
printed headers keeps the table and the columns the test tries in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.integration.conftest import ENVIRONMENTS

ALLOW, DENY, ERROR = "allow", "deny", "error"
ROLES = (
    "validator-dev",
    "validator-staging",
    "validator-prod",
    "task-processor-dev",
    "task-processor-staging",
    "task-processor-prod",
    "replicator-prod",
    "drift-checker-prod",
    "writer-dev",
    "writer-staging",
)
# What each policy grants (policies/documents.py), cell by cell; every other cell is a denial:
# - validator: GetObject raw/* and schemas/* of its bucket, PutItem in its metadata table, SendMessage to its task
#   queue and (as Lambda's on-failure destination, with the function's role) its task DLQ, Publish to its topics;
# - task processor: ReceiveMessage from its task queue, GetItem (and UpdateItem) in its metadata table, Publish;
# - replicator: GetObject config/* and schemas/* of prod, GetItem (and Scan) in prod's config table, GetItem and
#   PutItem in the idempotency table, SendMessage to prod's replication DLQ, Publish to prod's topics;
# - drift checker: GetObject config/* and schemas/* of prod, Scan (not GetItem) of the config table, SendMessage to
#   the replication DLQ (its on-failure destination), Publish to prod's topics;
# - writer (dev, staging): GetObject and PutObject config/* and schemas/* of its own bucket, GetObject config/* and
#   schemas/* of prod's (a server-side copy reads the source as the writer), GetItem and PutItem in its config table.
EXPECTED = """
dev storage            bucket                                                 config      metadata
                       get config/ get schemas/ get raw/ put config/ put raw/ get   put   get   put
validator-dev          deny        allow        allow    deny        deny     deny  deny  deny  allow
validator-staging      deny        deny         deny     deny        deny     deny  deny  deny  deny
validator-prod         deny        deny         deny     deny        deny     deny  deny  deny  deny
task-processor-dev     deny        deny         deny     deny        deny     deny  deny  allow deny
task-processor-staging deny        deny         deny     deny        deny     deny  deny  deny  deny
task-processor-prod    deny        deny         deny     deny        deny     deny  deny  deny  deny
replicator-prod        deny        deny         deny     deny        deny     deny  deny  deny  deny
drift-checker-prod     deny        deny         deny     deny        deny     deny  deny  deny  deny
writer-dev             allow       allow        deny     allow       deny     allow allow deny  deny
writer-staging         deny        deny         deny     deny        deny     deny  deny  deny  deny

dev messaging          task queue  task DLQ    repl DLQ    success failure
                       recv  send  recv  send  recv  send  publish publish
validator-dev          deny  allow deny  allow deny  deny  allow   allow
validator-staging      deny  deny  deny  deny  deny  deny  deny    deny
validator-prod         deny  deny  deny  deny  deny  deny  deny    deny
task-processor-dev     allow deny  deny  deny  deny  deny  allow   allow
task-processor-staging deny  deny  deny  deny  deny  deny  deny    deny
task-processor-prod    deny  deny  deny  deny  deny  deny  deny    deny
replicator-prod        deny  deny  deny  deny  deny  deny  deny    deny
drift-checker-prod     deny  deny  deny  deny  deny  deny  deny    deny
writer-dev             deny  deny  deny  deny  deny  deny  deny    deny
writer-staging         deny  deny  deny  deny  deny  deny  deny    deny

staging storage        bucket                                                 config      metadata
                       get config/ get schemas/ get raw/ put config/ put raw/ get   put   get   put
validator-dev          deny        deny         deny     deny        deny     deny  deny  deny  deny
validator-staging      deny        allow        allow    deny        deny     deny  deny  deny  allow
validator-prod         deny        deny         deny     deny        deny     deny  deny  deny  deny
task-processor-dev     deny        deny         deny     deny        deny     deny  deny  deny  deny
task-processor-staging deny        deny         deny     deny        deny     deny  deny  allow deny
task-processor-prod    deny        deny         deny     deny        deny     deny  deny  deny  deny
replicator-prod        deny        deny         deny     deny        deny     deny  deny  deny  deny
drift-checker-prod     deny        deny         deny     deny        deny     deny  deny  deny  deny
writer-dev             deny        deny         deny     deny        deny     deny  deny  deny  deny
writer-staging         allow       allow        deny     allow       deny     allow allow deny  deny

staging messaging      task queue  task DLQ    repl DLQ    success failure
                       recv  send  recv  send  recv  send  publish publish
validator-dev          deny  deny  deny  deny  deny  deny  deny    deny
validator-staging      deny  allow deny  allow deny  deny  allow   allow
validator-prod         deny  deny  deny  deny  deny  deny  deny    deny
task-processor-dev     deny  deny  deny  deny  deny  deny  deny    deny
task-processor-staging allow deny  deny  deny  deny  deny  allow   allow
task-processor-prod    deny  deny  deny  deny  deny  deny  deny    deny
replicator-prod        deny  deny  deny  deny  deny  deny  deny    deny
drift-checker-prod     deny  deny  deny  deny  deny  deny  deny    deny
writer-dev             deny  deny  deny  deny  deny  deny  deny    deny
writer-staging         deny  deny  deny  deny  deny  deny  deny    deny

prod storage           bucket                                                 config      metadata    idempotency
                       get config/ get schemas/ get raw/ put config/ put raw/ get   put   get   put   get   put
validator-dev          deny        deny         deny     deny        deny     deny  deny  deny  deny  deny  deny
validator-staging      deny        deny         deny     deny        deny     deny  deny  deny  deny  deny  deny
validator-prod         deny        allow        allow    deny        deny     deny  deny  deny  allow deny  deny
task-processor-dev     deny        deny         deny     deny        deny     deny  deny  deny  deny  deny  deny
task-processor-staging deny        deny         deny     deny        deny     deny  deny  deny  deny  deny  deny
task-processor-prod    deny        deny         deny     deny        deny     deny  deny  allow deny  deny  deny
replicator-prod        allow       allow        deny     deny        deny     allow deny  deny  deny  allow allow
drift-checker-prod     allow       allow        deny     deny        deny     deny  deny  deny  deny  deny  deny
writer-dev             allow       allow        deny     deny        deny     deny  deny  deny  deny  deny  deny
writer-staging         allow       allow        deny     deny        deny     deny  deny  deny  deny  deny  deny

prod messaging         task queue  task DLQ    repl DLQ    success failure
                       recv  send  recv  send  recv  send  publish publish
validator-dev          deny  deny  deny  deny  deny  deny  deny    deny
validator-staging      deny  deny  deny  deny  deny  deny  deny    deny
validator-prod         deny  allow deny  allow deny  deny  allow   allow
task-processor-dev     deny  deny  deny  deny  deny  deny  deny    deny
task-processor-staging deny  deny  deny  deny  deny  deny  deny    deny
task-processor-prod    allow deny  deny  deny  deny  deny  allow   allow
replicator-prod        deny  deny  deny  deny  deny  allow allow   allow
drift-checker-prod     deny  deny  deny  deny  deny  allow allow   allow
writer-dev             deny  deny  deny  deny  deny  deny  deny    deny
writer-staging         deny  deny  deny  deny  deny  deny  deny    deny
"""


@dataclass(frozen=True)
class Column:
    """One resource of an environment and one operation on it."""

    resource: str
    operation: str

    @property
    def width(self) -> int:
        return max(len(self.operation), len(ALLOW))


Cell = tuple[str, str, Column]  # role, environment, column

# The resources' labels in the matrix's first header line.
BUCKET, CONFIG, METADATA, IDEMPOTENCY = "bucket", "config", "metadata", "idempotency"
TASKS, TASK_DLQ, REPLICATION_DLQ, SUCCESS, FAILURE = "task queue", "task DLQ", "repl DLQ", "success", "failure"
TABLE_KEYS = {CONFIG: ("pk", "sk"), METADATA: ("pk",), IDEMPOTENCY: ("id",)}


def columns(env: str, block: str) -> list[Column]:
    """The columns of one printed block: `storage` (the bucket and tables) or `messaging` (queues and topics)."""
    if block == "storage":
        bucket = [Column(BUCKET, f"get {p}") for p in ("config/", "schemas/", "raw/")]
        bucket += [Column(BUCKET, f"put {p}") for p in ("config/", "raw/")]
        tables = [CONFIG, METADATA, IDEMPOTENCY] if env == "prod" else [CONFIG, METADATA]
        return bucket + [Column(table, op) for table in tables for op in ("get", "put")]
    queues = [Column(queue, op) for queue in (TASKS, TASK_DLQ, REPLICATION_DLQ) for op in ("recv", "send")]
    return queues + [Column(topic, "publish") for topic in (SUCCESS, FAILURE)]


BLOCKS = [(env, block) for env in ENVIRONMENTS for block in ("storage", "messaging")]
LABEL_WIDTH = max(len(role) for role in ROLES) + 1


def header(env: str, block: str) -> list[str]:
    """The two header lines of a block: resources spanning their operations, then the operations."""
    cols, groups = columns(env, block), []
    for resource in dict.fromkeys(c.resource for c in cols):
        mine = [c for c in cols if c.resource == resource]
        span = sum(c.width for c in mine) + len(mine) - 1
        groups.append(resource[:span].ljust(span))
    first = f"{env} {block}".ljust(LABEL_WIDTH) + " ".join(groups)
    second = " " * LABEL_WIDTH + " ".join(c.operation.ljust(c.width) for c in cols)
    return [first.rstrip(), second.rstrip()]


def render(values: dict[Cell, str]) -> str:
    """The matrix as blocks of `allow`/`deny` (or `error`) cells, roles as rows."""
    lines: list[str] = []
    for env, block in BLOCKS:
        cols = columns(env, block)
        lines += header(env, block)
        for role in ROLES:
            cells = " ".join(values.get((role, env, c), "?").ljust(c.width) for c in cols)
            lines.append((role.ljust(LABEL_WIDTH) + cells).rstrip())
        lines.append("")
    return "\n".join(lines)


def parse_expected(text: str) -> dict[Cell, str]:
    """Every cell of the literal table; its headers must be exactly what `render` prints, so they cannot lie."""
    expected: dict[Cell, str] = {}
    blocks = [chunk.splitlines() for chunk in text.strip().split("\n\n")]
    assert [tuple(lines[0].split()[:2]) for lines in blocks] == BLOCKS, "EXPECTED: one block per environment and kind"
    for lines in blocks:
        env, block = lines[0].split()[:2]
        assert lines[:2] == header(env, block), f"EXPECTED {env} {block}: headers differ from the printed ones"
        rows = [line.split() for line in lines[2:]]
        assert [row[0] for row in rows] == list(ROLES), f"EXPECTED {env} {block}: rows must be {ROLES}"
        for role, *cells in rows:
            cols = columns(env, block)
            assert len(cells) == len(cols), f"EXPECTED {env} {block} {role}: {len(cells)} cells for {len(cols)}"
            assert set(cells) <= {ALLOW, DENY}, f"EXPECTED {env} {block} {role}: cells are allow or deny"
            expected.update({(role, env, c): cell for c, cell in zip(cols, cells, strict=True)})
    return expected
