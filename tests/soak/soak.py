"""The reliability soak on a deployed sandbox: prod changes at a steady rate through clean and faulted phases, then
the project's own repairs (redrive, resync), with every replica checked by the harness's own comparison.

Phases: clean (prod write → both replicas latency); throttling (S3 SlowDown, DynamoDB
ProvisionedThroughputExceededException, SQS/SNS/EventBridge ThrottlingException); 5xx errors; duplicate and
reordered deliveries on the runtime's rule taps; the faults end and the replicas are given time to converge on
their own; optionally a target's bucket and table are deleted for a stretch, then redeployed. Then every final
state is accounted for (in its replica, in the DLQ, or wiped with the storage), `pipeline-infra redrive --env
prod` runs, then `pipeline-infra resync --from prod --to ENV` for each target.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from pipeline_infra_tools.sandbox.faults import FaultRuleError, clear_faults, fault_rules, set_faults
from tests.integration.helpers import cli
from tests.soak.figures import Figures
from tests.soak.latency import LatencyProbe
from tests.soak.probes import MemorySampler, idle_cpu, runtime_pid
from tests.soak.replicas import Replicas, count_dead_letters, dead_lettered_keys
from tests.soak.storage_loss import delete_storage, redeploy_storage
from tests.soak.workload import Names, Workload

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import DeployedSandbox
    from tests.soak.replicas import Pair
    from tests.soak.workload import Change, Kind

# The runtime's sandbox-only queues that carry rule events to the functions (lambda_runtime/sources.py).
TAP_PREFIX = "sandbox-tap-"
THROTTLING = (
    ("s3", "SlowDown"),
    ("dynamodb", "ProvisionedThroughputExceededException"),
    ("sqs", "ThrottlingException"),
    ("sns", "ThrottlingException"),
    ("events", "ThrottlingException"),
)
SERVER_ERRORS = (
    ("s3", "InternalError"),
    ("dynamodb", "InternalServerError"),
    ("sqs", "ServiceUnavailable"),
    ("sns", "InternalError"),
    ("events", "ServiceUnavailable"),
)
# The harness waits out faults itself (tests.soak.workload.insist), so its clients do not retry.
HARNESS_CLIENT = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60)
RECHECK_SECONDS = 1.0
# Each phase's share of the changes.
WITH_STORAGE_LOSS = {
    "clean": 0.30,
    "throttling": 0.20,
    "server-errors": 0.15,
    "deliveries": 0.15,
    "storage-loss": 0.15,
    "after-redeploy": 0.05,
}
WITHOUT_STORAGE_LOSS = {"clean": 0.35, "throttling": 0.25, "server-errors": 0.15, "deliveries": 0.25}


@dataclass(frozen=True)
class SoakOptions:
    changes: int = 500
    rate: float = 10.0  # prod changes a second
    idle_seconds: float = 60.0
    storage_loss: bool = True
    fault_rate: float = 0.2  # share of requests failed while a throttling or 5xx phase runs
    delivery_rate: float = 0.3  # share of tap messages duplicated, and (separately) held back
    max_delay_seconds: float = 2.0
    min_fault_seconds: float = 15.0  # each fault phase lasts at least this long, however few its changes
    converge_timeout: float = 600.0
    settle_timeout: float = 60.0  # how long the harness waits while nothing changes before it counts
    loss_env: str = "dev"
    seed: int = 11

    def shares(self) -> dict[str, int]:
        """How many changes each phase makes: every change goes to some phase."""
        split = WITH_STORAGE_LOSS if self.storage_loss else WITHOUT_STORAGE_LOSS
        counts = {phase: int(self.changes * share) for phase, share in split.items()}
        counts["clean"] += self.changes - sum(counts.values())
        return counts


class Soak:
    def __init__(self, sandbox: DeployedSandbox, options: SoakOptions) -> None:
        self.sandbox, self.options = sandbox, options
        state = sandbox.state
        self.endpoint = state.endpoint
        session = boto3.Session(state.access_key_id, state.secret_access_key, region_name=state.region)
        self.s3, self.dynamodb, self.sqs = (
            session.client(service, endpoint_url=state.endpoint, config=HARNESS_CLIENT)
            for service in ("s3", "dynamodb", "sqs")
        )
        self.targets = list(sandbox.settings.source.replication.targets)
        names = {env: self._names(env) for env in ("prod", *self.targets)}
        self.dlq_url = sandbox.outputs("notifications", "prod")["replication_dlq_url"]
        self.workload = Workload(self.s3, self.dynamodb, names["prod"], uuid.uuid4().hex[:8], options.seed)
        self.replicas = Replicas(self.s3, self.dynamodb, {env: names[env] for env in self.targets})
        self.figures = Figures()
        self.wiped: set[tuple[Kind, str]] = set()  # delivered to the lost target, then destroyed with it

    def _names(self, env: str) -> Names:
        storage = self.sandbox.outputs("storage", env)
        overlay = dict(self.sandbox.settings.env(env).replication.overlay) if env != "prod" else {}
        return Names(env, storage["bucket_name"], storage["config_table_name"], storage["metadata_table_name"], overlay)

    def run(self) -> Figures:
        counts = self.options.shares()
        emulator = MemorySampler(self.sandbox.state.pid).start()
        runtime = runtime_pid(self.sandbox.workspace.state_dir)
        runtime_memory = MemorySampler(runtime).start() if runtime else None
        try:
            self._clean(counts["clean"])
            self._faulted(counts)
            self._converge()
            if self.options.storage_loss:
                self._lose_storage(counts["storage-loss"], counts["after-redeploy"])
            self._account()
            self._redrive()
            self._resync()
            time.sleep(2)  # the last notifications of the resync drain before the idle stretch
            self.figures.idle = asdict(idle_cpu(self.sandbox.state.pid, runtime, self.options.idle_seconds))
        finally:
            # An emulator that is gone has no faults left, and must not hide why the soak stopped.
            with contextlib.suppress(OSError, FaultRuleError):
                clear_faults(self.endpoint)
            emulator.stop()
            self.figures.emulator_rss_mb = emulator.figures()
            if runtime_memory is not None:
                runtime_memory.stop()
                self.figures.runtime_rss_mb = runtime_memory.figures()
        return self.figures

    # -- the changes, at a steady rate -----------------------------------------------------------------------------

    def _issue(self, count: int, phase: str, probe: LatencyProbe | None = None) -> None:
        started = time.monotonic()
        for n in range(count):
            pause = started + n / self.options.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            change = self.workload.next_change(phase)
            if probe is not None:
                probe.watch(change)
        self.figures.phase_seconds[phase] = round(time.monotonic() - started, 1)
        self.figures.changes_by_phase[phase] = count
        self.figures.changes_issued = len(self.workload.issued)
        operations: dict[str, int] = {}
        for change in self.workload.issued:
            name = f"{change.kind} {change.operation}"
            operations[name] = operations.get(name, 0) + 1
        self.figures.changes_by_operation = operations

    def _clean(self, count: int) -> None:
        probe = LatencyProbe(self.replicas, self.workload).start()
        self._issue(count, "clean", probe)
        probe.finish(stall_seconds=self.options.settle_timeout)
        self.figures.latency_seconds = probe.figures()

    def _faulted(self, counts: dict[str, int]) -> None:
        rate = self.options.fault_rate
        with self._faults("throttling", [{"service": s, "error": e, "rate": rate} for s, e in THROTTLING]):
            self._issue(counts["throttling"], "throttling")
        with self._faults("server-errors", [{"service": s, "error": e, "rate": rate / 2} for s, e in SERVER_ERRORS]):
            self._issue(counts["server-errors"], "server-errors")
        deliveries = [
            {"kind": "duplicate", "queue_prefix": TAP_PREFIX, "rate": self.options.delivery_rate},
            {
                "kind": "reorder",
                "queue_prefix": TAP_PREFIX,
                "rate": self.options.delivery_rate,
                "max_delay_seconds": self.options.max_delay_seconds,
            },
        ]
        with self._faults("deliveries", deliveries):
            self._issue(counts["deliveries"], "deliveries")

    @contextmanager
    def _faults(self, phase: str, rules: list[dict[str, Any]]) -> Iterator[None]:
        # Rules expire on their own as well, so a harness that dies leaves no faults behind for long.
        expiry = self.options.changes / self.options.rate + self.options.min_fault_seconds + 60
        set_faults(self.endpoint, *({**rule, "seconds": expiry} for rule in rules))
        started = time.monotonic()
        try:
            yield
            # A backlog means the changes being replicated now are older ones: the faults stay on long enough
            # to meet whatever the functions are doing, not only this phase's own changes.
            time.sleep(max(0.0, started + self.options.min_fault_seconds - time.monotonic()))
        finally:
            self.figures.phase_seconds[f"{phase} faults on"] = round(time.monotonic() - started, 1)
            for rule in fault_rules(self.endpoint):
                name = f"{rule.get('service') or rule['queue_prefix']} {rule.get('error') or rule['kind']}"
                self.figures.faults_injected[name] = self.figures.faults_injected.get(name, 0) + rule["injected"]
            clear_faults(self.endpoint)

    # -- convergence and accounting --------------------------------------------------------------------------------

    def _finals(self) -> list[Change]:
        return list(self.workload.final.values())

    def _recheck(self, pending: set[Pair]) -> set[Pair]:
        final = self.workload.final
        return self.replicas.check([(final[(kind, key)], env) for kind, key, env in pending])

    def _converge(self) -> None:
        """Time from the faults' end until every replica equals prod, with no help."""
        ended = time.monotonic()
        deadline = ended + self.options.converge_timeout
        pending = self.replicas.mismatched(self._finals())
        while time.monotonic() < deadline:
            if not pending:
                pending = self.replicas.mismatched(self._finals())  # confirmed by a full sweep
                if not pending:
                    self.figures.converged = True
                    break
            time.sleep(RECHECK_SECONDS)
            pending = self._recheck(pending)
        self.figures.converge_seconds = round(time.monotonic() - ended, 1)
        if not self.figures.converged:
            self.figures.converge_seconds = self.options.converge_timeout
        self.figures.states_at_convergence = self._states()
        self.figures.matching_after_convergence = self._states() - len(pending)
        self.figures.phase_seconds["convergence"] = round(time.monotonic() - ended, 1)

    def _states(self) -> int:
        return len(self.workload.final) * len(self.targets)

    def _lose_storage(self, during: int, after: int) -> None:
        env = self.options.loss_env
        names = self.replicas.names[env]
        # Nothing in flight when the storage goes: what is not in a replica now is in the DLQ.
        undelivered, _ = self._settled()
        at_loss = dict(self.workload.final)
        delete_storage(self.s3, self.dynamodb, names)
        self._issue(during, "storage-loss")
        self.figures.storage_redeploy_seconds = round(redeploy_storage(self.sandbox.workspace.root, env), 1)
        self._issue(after, "after-redeploy")
        # Delivered before the loss and not changed since: only a resync can bring these back.
        self.wiped = {
            identity
            for identity, change in at_loss.items()
            if (identity[0], identity[1], env) not in undelivered and self.workload.final[identity] is change
        }

    def _settled(self) -> tuple[set[Pair], set[str]]:
        """Wait until every final state is in its replica, named in the DLQ or wiped, for as long as that keeps
        getting closer (a backlog still draining is not lost); the states not in their replicas, and the keys
        the DLQ names."""
        pending = self.replicas.mismatched(self._finals())
        fewest, progress_at = len(pending) + 1, time.monotonic()
        while True:
            named = dead_lettered_keys(self.sqs, self.dlq_url, {key for _, key, _ in pending})
            unexplained = [p for p in pending if p[1] not in named and not self._wiped(p)]
            if len(unexplained) < fewest:
                fewest, progress_at = len(unexplained), time.monotonic()
            if not unexplained or time.monotonic() - progress_at > self.options.settle_timeout:
                return pending, named
            time.sleep(2)
            pending = self._recheck(pending)

    def _wiped(self, pair: Pair) -> bool:
        return pair[2] == self.options.loss_env and (pair[0], pair[1]) in self.wiped

    def _account(self) -> None:
        pending, named = self._settled()
        figures = self.figures
        figures.keys, figures.replica_states = len(self.workload.final), self._states()
        figures.matching_before_redrive = self._states() - len(pending)
        figures.dead_lettered_before_redrive = sum(1 for p in pending if p[1] in named)
        figures.wiped_with_storage = sum(1 for p in pending if p[1] not in named and self._wiped(p))
        lost = sorted(p for p in pending if p[1] not in named and not self._wiped(p))
        figures.lost, figures.lost_examples = len(lost), [f"{env}: {kind} {key}" for kind, key, env in lost[:20]]
        figures.dead_letter_messages_before_redrive = count_dead_letters(self.sqs, self.dlq_url)

    # -- the project's repairs -------------------------------------------------------------------------------------

    def _redrive(self) -> None:
        started = time.monotonic()
        completed = cli(self.sandbox.workspace.root, "redrive", "--env", "prod", "--format", "json")
        report = _json(completed.stdout)
        self.figures.redrive = {
            "exit": completed.returncode,
            "replayed": report.get("replayed"),
            "succeeded": report.get("succeeded"),
            "failed": len(report.get("failed") or []),
        }
        self.figures.matching_after_redrive = self._states() - len(self.replicas.mismatched(self._finals()))
        self.figures.phase_seconds["redrive"] = round(time.monotonic() - started, 1)

    def _resync(self) -> None:
        started = time.monotonic()
        for env in self.targets:
            completed = cli(self.sandbox.workspace.root, "resync", "--from", "prod", "--to", env, "--format", "json")
            report = _json(completed.stdout)
            self.figures.resync[env] = {
                "exit": completed.returncode,
                **{name: report.get(name) for name in ("differences", "copied", "deleted", "remaining")},
                "failed": len(report.get("failed") or []),
            }
        self.figures.matching_after_resync = self._states() - len(self.replicas.mismatched(self._finals()))
        self.figures.phase_seconds["resync"] = round(time.monotonic() - started, 1)


def _json(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"unparseable_output": text[-500:]}
    return parsed if isinstance(parsed, dict) else {"output": parsed}


def run_soak(sandbox: DeployedSandbox, options: SoakOptions) -> Figures:
    return Soak(sandbox, options).run()
