"""The local Lambda runtime: a poller per event source delivers to the handlers; reloads when stacks change."""

from __future__ import annotations

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.admin_clients import AdminClients, arn_place
from pipeline_infra_tools.sandbox.clients import RUNTIME_CLIENT_CONFIG
from pipeline_infra_tools.sandbox.doorbell import STREAM_DOORBELL_QUEUE
from pipeline_infra_tools.sandbox.lambda_runtime.alarms import AlarmEvaluator, AlarmPoller, PlacedAlarms
from pipeline_infra_tools.sandbox.lambda_runtime.async_invoke import AsyncInvoker
from pipeline_infra_tools.sandbox.lambda_runtime.deployment import Deployment, FunctionSpec, RuleSpec, TargetSpec
from pipeline_infra_tools.sandbox.lambda_runtime.files import INFLIGHT_FILE, PIPE_POSITIONS_FILE
from pipeline_infra_tools.sandbox.lambda_runtime.functions import FunctionPool, Invocation, RoleCredentials
from pipeline_infra_tools.sandbox.lambda_runtime.inflight import InFlight
from pipeline_infra_tools.sandbox.lambda_runtime.metric_publisher import MetricPublisher
from pipeline_infra_tools.sandbox.lambda_runtime.pollers import (
    VISIBILITY_MARGIN_SECONDS,
    DoorbellPoller,
    MappingPoller,
    PipePoller,
    Poller,
    TapPoller,
)
from pipeline_infra_tools.sandbox.lambda_runtime.resource_policies import ResourcePolicies
from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import LAMBDA_SERVICE, ServiceRoles
from pipeline_infra_tools.sandbox.lambda_runtime.sources import PipeReader, RuleTaps
from pipeline_infra_tools.sandbox.state import SandboxStateFile

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from pipeline_infra_tools.sandbox.state import SandboxState

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
# How often the runtime looks for redeployed stacks (a stat of each saved stack file).
RELOAD_SECONDS = 1.0
# SQS's longest visibility timeout.
MAX_VISIBILITY_SECONDS = 43200
DELIVERY_THREADS = 8


def scheduled_event(rule: RuleSpec, region: str) -> dict[str, Any]:
    """What EventBridge sends a target when a schedule fires."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.arn.split(":")[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }


class LambdaRuntime:
    def __init__(self, state: SandboxState, state_dir: Path) -> None:
        self.endpoint, self.region, self.state_dir = state.endpoint, state.region, state_dir
        self.stacks_dir = SandboxStateFile(state_dir).stacks_dir
        # AWS's machinery acts in each resource's own account and region: the administrator's clients of each.
        self.admin = AdminClients(state, RUNTIME_CLIENT_CONFIG)
        self.sqs, self.sts = self.admin.client("sqs"), self.admin.client("sts")
        self.roles = ServiceRoles(self.sts, self.endpoint, self.region)
        # CloudWatch is played too, in every account and region with deployed stacks: the emulator stores alarms
        # but never evaluates them.
        self.alarms = PlacedAlarms(self._alarm_evaluator)
        self._alarm_poller: AlarmPoller | None = None
        self.taps = RuleTaps(self.admin)
        self.pipes = PipeReader(
            self.roles, lambda arn: self.admin.for_arn("pipes", arn), checkpoints=state_dir / PIPE_POSITIONS_FILE
        )
        self.inflight = InFlight(state_dir / INFLIGHT_FILE)
        # The functions' EMF lines become CloudWatch metrics, published in each function's account and region.
        self.metrics = MetricPublisher(lambda place: self.admin.client("cloudwatch", *arn_place(place)))
        self.pool = FunctionPool(self.endpoint, state_dir, self.role_credentials, metrics=self.metrics.submit)
        self.deployment = Deployment()
        self.invoker = AsyncInvoker(self.deployment, self.pool, self.roles, ResourcePolicies(self.admin, self.endpoint))
        self._stamp: tuple[tuple[str, float], ...] | None = None
        self._pollers: dict[str, Poller] = {}
        # Rule events being delivered, every rule's together; a function's own environments cap its share.
        self.deliveries = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="delivery")

    def _alarm_evaluator(self, account: str | None, region: str | None) -> AlarmEvaluator:
        return AlarmEvaluator(
            self.admin.client("cloudwatch", account, region),
            self.admin.client("sqs", account, region),
            self.admin.client("sns", account, region),
            self.admin.client("kms", account, region),
            self.endpoint,
            refused=self.roles.refused,
            succeeded=self.roles.succeeded,
        )

    def role_credentials(self, role_arn: str) -> RoleCredentials:
        """The function's role, assumed as the Lambda service would; cached while the sandbox runs."""
        return self.roles.credentials(role_arn, LAMBDA_SERVICE)

    def reload(self) -> bool:
        """Read the saved stacks again when any of them changed since the last look."""
        stamp = tuple(sorted((str(p), p.stat().st_mtime) for p in self.stacks_dir.glob("*/*.json")))
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        self.deployment = Deployment.load(self.stacks_dir)
        self.invoker.deployment = self.deployment
        places = self.deployment.places() | {(self.admin.state.admin_account, self.region)}
        self.taps.ensure(self.deployment.lambda_rules(), places)
        self.alarms.set_places(places)
        log.info(
            "loaded %d functions, %d rules, %d pipes",
            len(self.deployment.functions),
            len(self.deployment.rules),
            len(self.deployment.pipes),
        )
        return True

    def delivery_visibility(self, targets: list[TargetSpec]) -> int:
        """How long a tap message stays hidden while its event is delivered: every attempt's full timeout."""
        longest = VISIBILITY_MARGIN_SECONDS
        for target in targets:
            spec = self.deployment.function_by_arn(target.arn)
            if spec is not None:
                attempts = self.deployment.async_config(spec.name).retries + 1
                longest = max(longest, attempts * spec.timeout_seconds + VISIBILITY_MARGIN_SECONDS)
        return min(longest, MAX_VISIBILITY_SECONDS)

    def pipe_pollers(self) -> list[PipePoller]:
        return [p for p in list(self._pollers.values()) if isinstance(p, PipePoller)]

    def _sync_pollers(self) -> None:
        """A poller for every source now deployed; pollers of sources that are gone are stopped."""
        wanted: dict[str, Any] = {}
        for rule_arn, (_, url) in self.taps.queues.items():
            wanted[f"tap {rule_arn} {url}"] = lambda arn=rule_arn, u=url: TapPoller(self, arn, u)
        for mapping in self.deployment.mappings:
            wanted[f"mapping {mapping}"] = lambda m=mapping: MappingPoller(self, m)
        for pipe in self.deployment.pipes:
            wanted[f"pipe {pipe}"] = lambda p=pipe: PipePoller(self, p)
        home = (self.admin.state.admin_account, self.region)
        for place in {arn_place(pipe.stream_arn) for pipe in self.deployment.pipes} - {home}:
            wanted[f"doorbell {place}"] = lambda p=place: self._doorbell(p)
        for key in set(self._pollers) - set(wanted) - {"doorbell"}:
            self._pollers.pop(key).stop()
        for key, make in wanted.items():
            if key not in self._pollers or not self._pollers[key].is_alive():
                self._pollers[key] = make()
                self._pollers[key].start()

    def _doorbell(self, place: tuple[str | None, str | None]) -> DoorbellPoller:
        """The stream doorbell of a place other than the administrator's own (tables in other accounts)."""
        sqs = self.admin.client("sqs", *place)
        return DoorbellPoller(self, sqs.create_queue(QueueName=STREAM_DOORBELL_QUEUE)["QueueUrl"], sqs)

    def invoke(self, function: str, event: Any) -> Invocation:
        """A synchronous invocation (RequestResponse), as `sandbox invoke` and redrive use."""
        self.reload()
        spec = self._function(function)
        return self.pool.invoke(spec, event)

    def tick(self, rule_name: str | None = None) -> list[str]:
        """Fire schedule rules now (the emulator never fires them); returns the functions invoked."""
        self.reload()
        fired = []
        for rule in self.deployment.rules:
            if rule.schedule and rule_name in (None, rule.name):
                for target in rule.targets:
                    region = arn_place(rule.arn)[1] or self.region
                    outcome = self.invoker.deliver_rule_event(target, scheduled_event(rule, region))
                    if outcome is not None:
                        fired.append(outcome.function)
        return fired

    def _function(self, name: str) -> FunctionSpec:
        spec = self.deployment.functions.get(name)
        if spec is None:
            from pipeline_infra_tools.sandbox.exceptions import SandboxError

            raise SandboxError(f"no deployed function {name!r}; deployed: {sorted(self.deployment.functions)}")
        return spec

    def run(self, stop: threading.Event) -> None:
        try:
            self.reload()  # the taps first: what was in flight is released through its own queue's client
        except Exception:
            log.exception("runtime reload failed")
        by_url = {url: rule.arn for rule, url in self.taps.queues.values()}
        released = self.inflight.release_all(
            lambda url: self.taps.sqs_for_rule(by_url[url]) if url in by_url else self.sqs
        )
        self._stamp = None  # the loop's first reload starts the pollers
        if released:
            log.info("replaying %d events that were in flight when the runtime last stopped", released)
        doorbell = self.sqs.create_queue(QueueName=STREAM_DOORBELL_QUEUE)["QueueUrl"]
        self._pollers["doorbell"] = DoorbellPoller(self, doorbell)
        self._pollers["doorbell"].start()
        self._alarm_poller = AlarmPoller(self.alarms)
        self._alarm_poller.start()
        while True:
            try:
                if self.reload():
                    self._sync_pollers()
            except Exception:  # a broken reload must not stop delivery to what is already deployed
                log.exception("runtime reload failed")
            if stop.wait(RELOAD_SECONDS):
                break
        for poller in self._pollers.values():
            poller.stop()
        if self._alarm_poller is not None:
            self._alarm_poller.stop()
        self.close()

    def close(self) -> None:
        self.deliveries.shutdown(wait=False, cancel_futures=True)
        self.pool.stop()
        self.metrics.close()
        self.admin.close()

    def describe(self) -> dict[str, Any]:
        return {
            "functions": sorted(self.deployment.functions),
            "taps": sorted(self.taps.queues),
            "pollers": sorted(p.name for p in self._pollers.values() if p.is_alive()),
            "in_flight": len(self.inflight),
        }


def load_event(text: str | None) -> Any:
    return json.loads(text) if text else {}
