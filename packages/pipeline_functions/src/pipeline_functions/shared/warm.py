"""One service per Lambda execution environment: built on first use, reused while the environment stays warm.

Each handler module holds one ``WarmInstance``; the service (clients, settings) is built by the first
invocation rather than at import, so a cold start pays only for what it uses, and a test can put its own
service in place with ``override`` and go back to the environment's with ``reset``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class WarmInstance(Generic[T]):
    """Holds the value ``factory`` builds, building it at most once until ``reset``; safe across threads."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._instance: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        """The instance, built by the factory on the first call (a failed build is retried on the next)."""
        instance = self._instance
        if instance is None:
            with self._lock:
                instance = self._instance
                if instance is None:
                    instance = self._factory()
                    self._instance = instance
        return instance

    def override(self, instance: T) -> None:
        """Use ``instance`` from now on instead of building one (e.g. a service with injected clients)."""
        with self._lock:
            self._instance = instance

    def reset(self) -> None:
        """Forget the instance: the next ``get`` builds a new one from the factory (the environment)."""
        with self._lock:
            self._instance = None

    @property
    def built(self) -> bool:
        """Whether an instance is held (built or overridden) right now."""
        return self._instance is not None
