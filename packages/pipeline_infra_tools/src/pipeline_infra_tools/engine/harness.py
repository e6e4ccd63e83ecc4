"""Run a Pulumi program unchanged under the SDK's mock runtime and record its whole resource graph.

`pulumi.runtime.set_mocks` finishes the root stack at once, so stack exports are captured by a monitor that
keeps the outputs registered for the `pulumi:pulumi:Stack` URN; parents and providers come from the request.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi.runtime
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from pipeline_infra_tools.engine.backend import (
    PROVIDER_TYPE_PREFIX,
    STACK_REFERENCE_TYPE,
    STACK_TYPE,
    RecordedResource,
    ResourceBackend,
    ResourceRequest,
)
from pipeline_infra_tools.exceptions import ProgramError, ProjectError

if TYPE_CHECKING:
    from collections.abc import Callable


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
        path = self.path(result.project, result.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True, default=str), encoding="utf-8")
        return path

    def delete(self, project: str, stack: str) -> None:
        self.path(project, stack).unlink(missing_ok=True)


def _plain(value: Any) -> Any:
    """JSON-ready copy of mock inputs: assets and archives become their paths, floats that are integers become ints."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The mock monitor hands integers over as floats.
        return int(value)
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"path": str(value.path)}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {k: _plain(v) for k, v in value.assets.items()}}
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, backend: ResourceBackend) -> None:
        self.backend = backend

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        raise AssertionError("RecordingMonitor handles registrations itself")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self.backend.invoke(args.token, _plain(args.args)), None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps parents, providers, component outputs and the stack's exports."""

    def __init__(self, backend: ResourceBackend, references: StackOutputsStore) -> None:
        super().__init__(RecordingMocks(backend))
        self.backend = backend
        self.references = references
        self.recorded: list[RecordedResource] = []
        self.stack_outputs: dict[str, Any] = {}
        self._provider_inputs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return pulumi_mocks.resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()
        raw_inputs = rpc.deserialize_properties(request.object)
        inputs = _plain(raw_inputs)
        provider_ref = request.provider or None
        with self._lock:
            provider_inputs = self._provider_inputs.get(provider_ref or "", {})
        resource_request = ResourceRequest(
            type=request.type,
            name=request.name,
            urn=urn,
            inputs=inputs,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=provider_ref,
            provider_inputs=provider_inputs,
        )
        id_, outputs = self._create(resource_request)
        # Assets and archives go back to the SDK as the objects it sent, not their JSON form.
        engine_outputs = {
            **outputs,
            **{k: v for k, v in raw_inputs.items() if isinstance(v, pulumi.Asset | pulumi.Archive) and k in outputs},
        }
        obj_proto = _sync_await(rpc.serialize_properties(engine_outputs, {}))
        with self._lock:
            if request.type.startswith(PROVIDER_TYPE_PREFIX):
                self._provider_inputs[f"{urn}::{id_}"] = inputs
        self._record(request, urn, id_, inputs, _plain(outputs))
        return pulumi_mocks.resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

    def ReadResource(self, request: Any) -> Any:
        """Reads are how the SDK registers StackReferences; they resolve from saved stack outputs."""
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != STACK_REFERENCE_TYPE:
            raise ProgramError(f"{request.type} {request.name!r}: reading existing resources is not supported here")
        pulumi_mocks._ensure_event_loop()
        inputs = _plain(rpc.deserialize_properties(request.properties))
        name = str(inputs.get("name") or request.id)
        id_, outputs = self._stack_reference(name)
        self._record(request, urn, id_, {"name": name}, outputs)
        props = _sync_await(rpc.serialize_properties(outputs, {}))
        return pulumi_mocks.resource_pb2.ReadResourceResponse(urn=urn, properties=props)

    def _record(self, request: Any, urn: str, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        resource = RecordedResource(
            urn=urn,
            id=id_,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            provider=request.provider or None,
            inputs=inputs,
            outputs=outputs,
        )
        with self._lock:
            self.recorded.append(resource)

    def _create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        if request.type == STACK_REFERENCE_TYPE:
            return self._stack_reference(str(request.inputs["name"]))
        if not request.custom:
            return "", {}
        if request.type.startswith(PROVIDER_TYPE_PREFIX):
            return f"{request.name}-provider-id", dict(request.inputs)
        return self.backend.create(request)

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        parts = name.split("/")
        if len(parts) != 3:
            raise ProgramError(f"StackReference {name!r}: expected 'organization/project/stack'")
        _, project, stack = parts
        saved = self.references.load(project, stack)
        if saved is None:
            raise ProgramError(
                f"StackReference {name!r}: stack {project}/{stack} has no saved outputs at "
                f"{self.references.path(project, stack)}; deploy it first"
            )
        return name, {"name": name, "outputs": saved.get("outputs", {}), "secretOutputNames": []}

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = _plain(rpc.deserialize_properties(request.outputs))
        with self._lock:
            if request.urn.split("::")[2] == STACK_TYPE:
                self.stack_outputs = outputs
            else:
                for resource in self.recorded:
                    if resource.urn == request.urn:
                        resource.outputs = outputs
        return pulumi_mocks.empty_pb2.Empty()


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
    return StackResult(project=name, stack=stack, outputs=monitor.stack_outputs, resources=list(monitor.recorded))
