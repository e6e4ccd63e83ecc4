"""The soak's figures: printed as a table, written as JSON, and checked against the issue's goals."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

# The goals of issue 11 (reported, never asserted on time: a loaded machine must not fail a test run).
IDLE_CPU_PERCENT_GOAL = 2.0
EMULATOR_RSS_MB_GOAL = 300.0
LATENCY_P50_GOAL = 0.5
LATENCY_P95_GOAL = 1.0
SANDBOX_CPU = ("runtime_with_workers_percent", "emulator_percent")  # the idle sandbox: runtime, workers, emulator


@dataclass
class Figures:
    changes_issued: int = 0
    changes_by_phase: dict[str, int] = field(default_factory=dict)
    changes_by_operation: dict[str, int] = field(default_factory=dict)
    keys: int = 0
    replica_states: int = 0  # keys x target environments: the final states the replicas must reach
    lost: int = 0
    lost_examples: list[str] = field(default_factory=list)
    dead_lettered_before_redrive: int = 0  # final states not in their replica but named in the DLQ
    dead_letter_messages_before_redrive: int = 0
    wiped_with_storage: int = 0  # delivered, then destroyed with the target's bucket or table
    matching_after_convergence: int = 0
    states_at_convergence: int = 0  # the final states there were when the faults ended
    matching_before_redrive: int = 0
    matching_after_redrive: int = 0
    matching_after_resync: int = 0
    converged: bool = False
    converge_seconds: float | None = None
    latency_seconds: dict[str, Any] = field(default_factory=dict)
    emulator_rss_mb: dict[str, Any] = field(default_factory=dict)
    runtime_rss_mb: dict[str, Any] = field(default_factory=dict)
    idle: dict[str, Any] = field(default_factory=dict)
    faults_injected: dict[str, int] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    redrive: dict[str, Any] = field(default_factory=dict)
    resync: dict[str, Any] = field(default_factory=dict)
    storage_redeploy_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "goals": self.goals()}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def goals(self) -> dict[str, bool | None]:
        latency, idle = self.latency_seconds, self.idle
        peak = self.emulator_rss_mb.get("peak")
        return {
            "zero_lost": self.lost == 0,
            "replicas_equal_prod_after_redrive_and_resync": self.matching_after_resync == self.replica_states,
            "idle_sandbox_below_2pct_of_a_core": _below(_sum(idle, SANDBOX_CPU), IDLE_CPU_PERCENT_GOAL),
            "emulator_rss_below_300mb": _below(peak, EMULATOR_RSS_MB_GOAL),
            "latency_p50_below_0_5s": _below(latency.get("p50"), LATENCY_P50_GOAL),
            "latency_p95_below_1s": _below(latency.get("p95"), LATENCY_P95_GOAL),
        }

    def table(self) -> str:
        latency, idle, rss = self.latency_seconds, self.idle, self.emulator_rss_mb
        of = f"of {self.replica_states}"
        rows = [
            ("changes issued", f"{self.changes_issued} {_inline(self.changes_by_operation)}"),
            ("  by phase", _inline(self.changes_by_phase)),
            ("final replica states (keys x targets)", f"{self.replica_states} ({self.keys} keys)"),
            ("changes lost (in neither replica nor DLQ)", f"{self.lost} {self.lost_examples[:3] or ''}".strip()),
            (
                "matching after convergence wait",
                f"{self.matching_after_convergence} of {self.states_at_convergence}",
            ),
            ("time to converge after the faults end", _seconds(self.converge_seconds, self.converged)),
            ("matching before redrive", f"{self.matching_before_redrive} {of}"),
            ("  in the DLQ / wiped with storage", f"{self.dead_lettered_before_redrive} / {self.wiped_with_storage}"),
            ("  DLQ messages", str(self.dead_letter_messages_before_redrive)),
            ("matching after redrive alone", f"{self.matching_after_redrive} {of} {_inline(self.redrive)}"),
            ("matching after resync", f"{self.matching_after_resync} {of}"),
            ("  resync", _inline(self.resync)),
            (
                "prod write -> both replicas (no fault)",
                f"p50 {_s(latency.get('p50'))}  p95 {_s(latency.get('p95'))}  max {_s(latency.get('max'))}"
                f"  (n={latency.get('n')}, timed out {latency.get('timed_out')},"
                f" {latency.get('delivered_per_second')} delivered/s)",
            ),
            ("emulator RSS MiB start / peak / end", f"{rss.get('start')} / {rss.get('peak')} / {rss.get('end')}"),
            ("runtime RSS MiB start / peak / end", " / ".join(str(v) for v in self.runtime_rss_mb.values())),
            (
                f"idle CPU over {idle.get('seconds')} s (% of a core)",
                f"runtime {idle.get('runtime_percent')}  with workers {idle.get('runtime_with_workers_percent')}"
                f"  emulator {idle.get('emulator_percent')}",
            ),
            ("faults injected", _inline(self.faults_injected)),
            ("storage redeploy", _seconds(self.storage_redeploy_seconds, True)),
            ("phase seconds", _inline(self.phase_seconds)),
        ]
        goals = [
            (f"goal: {name}", {True: "met", False: "MISSED", None: "n/a"}[ok]) for name, ok in self.goals().items()
        ]
        width = max(len(label) for label, _ in rows + goals)
        return "\n".join(f"{label:<{width}}  {value}" for label, value in rows + goals)


def _below(value: Any, goal: float) -> bool | None:
    return None if value is None else float(value) < goal


def _sum(values: dict[str, Any], names: tuple[str, ...]) -> float | None:
    found = [values.get(name) for name in names]
    return sum(float(v) for v in found if v is not None) if all(v is not None for v in found) else None


def _s(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f} s"


def _seconds(value: float | None, reached: bool) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if reached else f"not within {value:.0f} s"


def _inline(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())
