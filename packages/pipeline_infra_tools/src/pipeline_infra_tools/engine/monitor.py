"""The mock monitor a program runs against: it records every resource and the stack's exports.

`pulumi.runtime.set_mocks` finishes the root stack at once, so stack exports are captured by a monitor that
keeps the outputs registered for the `pulumi:pulumi:Stack` URN; parents and providers come from the request.
This is the only engine module that imports the Pulumi SDK at import time: the tool's own process reads
results and saved outputs through `harness` without paying for the SDK, and the program runner's worker
imports it once for every program it forks.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from pipeline_infra_tools.engine.backend import (
    PROVIDER_TYPE_PREFIX,
    STACK_REFERENCE_TYPE,
    STACK_TYPE,
    RecordedResource,
    ResourceBackend,
    ResourceRequest,
)
from pipeline_infra_tools.exceptions import ProgramError

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.harness import StackOutputsStore


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
    """A mock monitor that keeps parents, providers, component outputs and the stack's exports.

    The SDK registers resources from several threads as their inputs resolve, so the order registrations
    arrive in changes from run to run. `ordered_resources()` gives them in the order the program constructed them
    (seen by `note_construction`, a stack transformation that changes nothing): a resource is constructed
    after everything it reads, so dependencies still come first, and a rendering is the same every time.
    """

    def __init__(self, backend: ResourceBackend, references: StackOutputsStore) -> None:
        super().__init__(RecordingMocks(backend))
        self.backend = backend
        self.references = references
        self.recorded: list[RecordedResource] = []
        self.stack_outputs: dict[str, Any] = {}
        self._provider_inputs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # (qualified type, name), which is what makes a URN unique, in construction order.
        self._constructed: dict[tuple[str, str], int] = {}
        self._types: dict[int, tuple[Any, str]] = {}  # id(resource) -> (resource, its type), kept alive

    def note_construction(self, args: pulumi.ResourceTransformationArgs) -> None:
        """A stack transformation: called synchronously as each resource is constructed, in program order."""
        parent = args.opts.parent if args.opts is not None else None
        parent_type = self._types[id(parent)][1] if parent is not None and id(parent) in self._types else STACK_TYPE
        with self._lock:
            self._types[id(args.resource)] = (args.resource, args.type_)
            self._constructed.setdefault((f"{parent_type}${args.type_}", args.name), len(self._constructed))

    def ordered_resources(self) -> list[RecordedResource]:
        """Every recorded resource in construction order (any the program did not construct, last)."""
        with self._lock:
            recorded, constructed = list(self.recorded), dict(self._constructed)
        unknown = len(constructed)

        def position(resource: RecordedResource) -> int:
            _, _, qualified_type, name = resource.urn.split("::", 3)
            return constructed.get((qualified_type, name), unknown)

        return sorted(recorded, key=position)

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
        dependencies = set(request.dependencies)
        for property_dependencies in request.propertyDependencies.values():
            dependencies.update(property_dependencies.urns)
        self._record(request, urn, id_, inputs, _plain(outputs), sorted(dependencies))
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

    def _record(
        self,
        request: Any,
        urn: str,
        id_: str,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        dependencies: list[str] | None = None,
    ) -> None:
        resource = RecordedResource(
            urn=urn,
            id=id_,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            provider=request.provider or None,
            inputs=inputs,
            outputs=outputs,
            dependencies=dependencies or [],
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
