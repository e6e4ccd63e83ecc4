"""The engine's event stream, as the aws target reports it: progress lines, guardrail violations and error
diagnostics for a failure's message, and (for a refresh) every event kept for the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi import automation as auto

from pipeline_infra_tools.deploy.aws_refresh import changed_step, logical_name, progress_line
from pipeline_infra_tools.deploy.base import ProgressEvent

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.deploy.aws_target import StackSpec

SHOWN_SEVERITIES = ("info", "info#err", "warning", "error")


class EventRelay:
    """Turns the engine's event stream into ProgressEvents and keeps its error diagnostics for the failure message."""

    def __init__(self, layer: str, env: str, progress: Callable[[ProgressEvent], None], errors: list[str]) -> None:
        self.layer, self.env, self.progress, self.errors = layer, env, progress, errors

    def __call__(self, event: auto.EngineEvent) -> None:
        self._step(event)
        violation = event.policy_event
        if violation is not None:
            # A guardrail the engine enforced: the rule and the resource, so the failure names what to fix.
            where = (violation.resource_urn or "the stack").rsplit("::", 1)[-1]
            text = f"guardrail {violation.policy_name} ({violation.enforcement_level}) on {where}: {violation.message}"
            if violation.enforcement_level == "mandatory":
                self.errors.append(text)
            self.progress(ProgressEvent(self.layer, self.env, "message", text.strip()))
        diagnostic = event.diagnostic_event
        if diagnostic is not None and not diagnostic.ephemeral and diagnostic.severity in SHOWN_SEVERITIES:
            text = diagnostic.message.strip()
            if diagnostic.severity == "error":
                self.errors.append(text)
            self.progress(ProgressEvent(self.layer, self.env, "message", f"{diagnostic.severity}: {text}"))

    def _step(self, event: auto.EngineEvent) -> None:
        step = event.res_outputs_event or event.res_op_failed_event
        if step is not None:
            meta = step.metadata
            op = "failed" if event.res_op_failed_event is not None else str(getattr(meta.op, "value", meta.op))
            name = meta.urn.rsplit("::", 1)[-1]
            message = f"{op} {meta.type} {name}"
            self.progress(ProgressEvent(self.layer, self.env, "resource", message, meta.type, name))


class RefreshRelay(EventRelay):
    """Keeps every engine event for the result and tells the operator of each changed or gone resource, once."""

    def __init__(self, layer: str, env: str, progress: Callable[[ProgressEvent], None], errors: list[str]) -> None:
        super().__init__(layer, env, progress, errors)
        self.events: list[auto.EngineEvent] = []
        self._announced: set[str] = set()

    def _step(self, event: auto.EngineEvent) -> None:
        self.events.append(event)
        meta = changed_step(event)
        if meta is not None and meta.urn not in self._announced:
            self._announced.add(meta.urn)
            name = logical_name(meta.urn)
            self.progress(ProgressEvent(self.layer, self.env, "resource", progress_line(meta), meta.type, name))


def failure_message(what: str, spec: StackSpec, exc: auto.CommandError, errors: list[str]) -> str:
    if isinstance(exc, auto.ConcurrentUpdateError):
        return (
            f"{what}: stack {spec.stack_name} is locked by another update; wait for it to finish, or if it died "
            "clear the lock (`pulumi cancel` on Pulumi Cloud, the stack's file under .pulumi/locks/ on a file backend)."
        )
    # The engine's own error diagnostics say more than the CLI's exit report; fall back to its last lines.
    detail = "\n".join(errors) or "\n".join(str(exc).strip().splitlines()[-15:])
    return f"{what} failed (stack {spec.stack_name}):\n{detail}"
