"""The layer graph: which stacks each stack reads, and an order in which every stack follows what it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipeline_infra.layers import LAYERS, stack_closure, upstream_stacks

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings


def test_source_storage_reads_each_targets_storage(settings: Settings) -> None:
    source = settings.source.name
    assert upstream_stacks(settings, "storage", source) == [("storage", t) for t in settings.source.replication.targets]
    assert upstream_stacks(settings, "storage", "dev") == []


def test_replication_reads_its_own_storage_and_notifications_and_the_targets_storage(settings: Settings) -> None:
    assert upstream_stacks(settings, "replication", "prod") == [
        ("storage", "prod"),
        ("notifications", "prod"),
        ("storage", "dev"),
        ("storage", "staging"),
    ]


def test_closure_puts_every_stack_after_what_it_reads(settings: Settings) -> None:
    order = stack_closure(settings, [("replication", "prod")])
    assert set(order) == {
        ("storage", "dev"),
        ("storage", "staging"),
        ("storage", "prod"),
        ("notifications", "prod"),
        ("replication", "prod"),
    }
    for position, stack in enumerate(order):
        for upstream in upstream_stacks(settings, *stack):
            assert order.index(upstream) < position, f"{stack} comes before {upstream}, which it reads"


def test_closure_of_every_stack_is_a_dependency_order(settings: Settings) -> None:
    everything = [(layer, env) for layer in LAYERS for env in settings.project.environments]
    order = stack_closure(settings, everything)
    assert sorted(order) == sorted(everything)
    placed: set[tuple[str, str]] = set()
    for stack in order:
        assert set(upstream_stacks(settings, *stack)) <= placed, f"{stack} comes before a stack it reads"
        placed.add(stack)
    # The first stacks are those that read nothing, in layer then environment order.
    assert order[:2] == [("storage", "dev"), ("storage", "staging")]


def test_unknown_layer_is_named(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown layer 'network'"):
        upstream_stacks(settings, "network", "dev")
