"""Run a Pulumi program unchanged under the SDK's mock runtime and record its whole resource graph.

The results (`StackResult`), saved stack outputs and project files are read here without the Pulumi SDK:
the tool's own process (render, drift, deploy) only reads them, and importing the SDK costs about as much
as running a program. `run_program`, which runs inside a program's process, imports it when it is called;
the recording monitor lives in `engine.monitor`.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipeline_infra_tools.exceptions import ProgramError, ProjectError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.engine.backend import RecordedResource, ResourceBackend


@dataclass
class StackResult:
    project: str
    stack: str
    outputs: dict[str, Any]
    resources: list[RecordedResource] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "outputs": self.outputs,
            "resources": [resource.to_json() for resource in self.resources],
        }


class StackOutputsStore:
    """Saved stack exports, one JSON file per stack: `<root>/<project>/<stack>.json` holding {"outputs": {...}}."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, project: str, stack: str) -> Path:
        return self.root / project / f"{stack}.json"

    def load(self, project: str, stack: str) -> dict[str, Any] | None:
        path = self.path(project, stack)
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def save(self, result: StackResult) -> Path:
        return self.save_document(result.project, result.stack, result.to_json())

    def save_document(self, project: str, stack: str, document: dict[str, Any]) -> Path:
        """Write a stack document (a result's JSON, or a refreshed record) whole: written aside, then renamed."""
        path = self.path(project, stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(document, indent=2, sort_keys=True, default=str), encoding="utf-8")
        partial.replace(path)
        return path

    def delete(self, project: str, stack: str) -> None:
        self.path(project, stack).unlink(missing_ok=True)


@dataclass(frozen=True)
class PulumiProject:
    """A project directory: Pulumi.yaml, Pulumi.<stack>.yaml files and a __main__.py program."""

    directory: Path

    @property
    def name(self) -> str:
        spec = self._read(self.directory / "Pulumi.yaml")
        name = spec.get("name")
        if not isinstance(name, str):
            raise ProjectError(f"{self.directory / 'Pulumi.yaml'}: name: expected a string")
        return name

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.directory.glob("Pulumi.*.yaml"))

    def stack_config(self, stack: str) -> dict[str, str]:
        path = self.directory / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            raise ProjectError(f"{path}: missing; project {self.name} has stacks {self.stacks()}")
        config = self._read(path).get("config") or {}
        if not isinstance(config, dict):
            raise ProjectError(f"{path}: config: expected a mapping")
        # Keys without a namespace belong to the project, as the Pulumi CLI reads them.
        return {(k if ":" in k else f"{self.name}:{k}"): str(v) for k, v in config.items()}

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        if not path.is_file():
            raise ProjectError(f"{path}: missing")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ProjectError(f"{path}: expected a YAML mapping")
        return data


def run_program(
    project: PulumiProject,
    stack: str,
    backend: ResourceBackend,
    references: StackOutputsStore,
    extra_config: dict[str, str] | None = None,
    program: Callable[[], None] | None = None,
) -> StackResult:
    """Run `project`'s __main__.py (or `program`) as stack `stack`; every resource goes through `backend`."""
    import pulumi.runtime
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    from pipeline_infra_tools.engine.monitor import RecordingMonitor

    name = project.name
    config = {**project.stack_config(stack), **(extra_config or {})}
    monitor = RecordingMonitor(backend, references)
    pulumi.runtime.set_mocks(monitor.mocks, project=name, stack=stack, preview=False, monitor=monitor)
    # set_mocks made and finished a root stack of its own; start clean so run_in_stack registers ours.
    pulumi_settings.ROOT.set(None)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config(config)

    main = project.directory / "__main__.py"

    def _program() -> None:
        pulumi.runtime.register_stack_transformation(monitor.note_construction)
        if program is not None:
            program()
        else:
            runpy.run_path(str(main), run_name="__main__")

    previous_cwd = Path.cwd()
    sys.path.insert(0, str(project.directory))
    os.chdir(project.directory)
    try:
        _sync_await(run_in_stack(_program))
    except ProgramError:
        raise
    except Exception as err:
        raise ProgramError(f"{name}/{stack}: the program failed: {type(err).__name__}: {err}") from err
    finally:
        os.chdir(previous_cwd)
        sys.path.remove(str(project.directory))
    return StackResult(project=name, stack=stack, outputs=monitor.stack_outputs, resources=monitor.ordered_resources())
