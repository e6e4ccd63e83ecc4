"""What every read shares: a type's registry entry, what a read finds beyond the record, and the conversions
from the AWS API's shapes back to the engine's input shapes.

A read is a provider's Read: given a recorded resource (its id, inputs and outputs), it returns the resource's
current state from the cloud in the shape of its inputs (camelCase, the same nesting), or None when it is gone.
Each service module registers one `ReadSpec` per type token in `READERS`, beside its create/delete `HANDLERS`;
`reads.py` dispatches and shapes the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pipeline_infra_tools.sandbox.resources.base import Outputs, ResourceContext
    from pipeline_infra_tools.sandbox.resources.documents import DocumentKind

Inputs = dict[str, Any]


@dataclass(frozen=True)
class Extra:
    """Something attached to a managed resource that no stack records, which the code must nevertheless own
    (an inline policy added by hand, a rule target, a subscription). `owner` is the owning resource's logical
    name; `aws_name` names the thing in AWS; `detail` says what it is or does."""

    kind: str
    aws_name: str
    detail: str
    owner: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "owner": self.owner, "aws_name": self.aws_name, "detail": self.detail}


@dataclass(frozen=True)
class Owned:
    """The children the stacks record, each as a key its owner's `extras` looks up: ("inline-policy", role,
    name), ("rule-target", bus, rule, target id), ("subscription", topic, protocol, endpoint), ("permission",
    function, statement id). Built from every stack's record by `reads.owned_children`."""

    keys: frozenset[tuple[str, ...]] = frozenset()

    def __contains__(self, key: object) -> bool:
        return key in self.keys


class ReadHandler(Protocol):
    def __call__(self, id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
        """The live state in the inputs' shape (any superset of the recorded keys), or None when it is gone."""
        ...


class ExtrasHandler(Protocol):
    def __call__(self, id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext, owned: Owned) -> list[Extra]:
        """What is attached to this resource in the cloud and is not in `owned`."""
        ...


class OwnsHandler(Protocol):
    def __call__(self, id_: str, inputs: Inputs, outputs: Outputs) -> tuple[str, ...]:
        """The `Owned` key of a recorded child (a role policy, a rule target, a subscription, a permission)."""
        ...


def no_defaults(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ReadSpec:
    """How one resource type is read back.

    - `read`, and `extras` for types that own children the code may not have written;
    - `owns`: for a child type, the key under which its owner's `extras` finds it recorded;
    - `documents`: input keys holding JSON text (policies compared by meaning, other JSON parsed);
    - `sets`: list inputs AWS keeps as sets, with the field that identifies an element ("" for scalars);
    - `defaults`: what AWS holds for an input the code leaves out, so an out-of-band change to it is seen;
    - `unreadable`: input keys the cloud cannot report, each with the reason; the recorded value stands in.
    """

    read: ReadHandler
    extras: ExtrasHandler | None = None
    owns: OwnsHandler | None = None
    documents: Mapping[str, DocumentKind] = field(default_factory=dict)
    sets: Mapping[str, str] = field(default_factory=dict)
    defaults: Callable[[Mapping[str, Any]], dict[str, Any]] = no_defaults
    unreadable: Mapping[str, str] = field(default_factory=dict)


def fixed_defaults(values: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Defaults that do not depend on the other inputs."""
    return lambda _inputs: dict(values)


def pascal_to_camel(value: Any, renames: Mapping[str, str] | None = None) -> Any:
    """The AWS API's PascalCase shapes to pulumi-aws's camelCase inputs; `renames` covers irregular names."""
    renames = renames or {}
    if isinstance(value, dict):
        return {
            renames.get(key, key[:1].lower() + key[1:]): pascal_to_camel(item, renames) for key, item in value.items()
        }
    if isinstance(value, list):
        return [pascal_to_camel(item, renames) for item in value]
    return value


def tags_from_list(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags or []}


def tag_state(live: Mapping[str, str], inputs: Inputs, outputs: Outputs) -> dict[str, Any]:
    """`tagsAll` (every tag, as the provider reports it) and, when the code sets its own, `tags`: the live tags
    less those that came only from the provider's default tags, as pulumi-aws's Read splits them."""
    state: dict[str, Any] = {"tagsAll": dict(live)}
    if "tags" in inputs:
        own = set((inputs.get("tags") or {}).keys())
        from_defaults = set((outputs.get("tagsAll") or {}).keys()) - own
        state["tags"] = {key: value for key, value in live.items() if key not in from_defaults}
    return state


def function_name(name_or_arn: str) -> str:
    """A Lambda function's name from its name or (qualified) ARN."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn


__all__ = [
    "Extra",
    "ExtrasHandler",
    "Inputs",
    "Owned",
    "OwnsHandler",
    "ReadHandler",
    "ReadSpec",
    "fixed_defaults",
    "function_name",
    "no_defaults",
    "pascal_to_camel",
    "tag_state",
    "tags_from_list",
]
