"""Unmanaged resources on the local target: the sandbox's saved stack records and its administrator's clients.

`run_drift --live` calls `unmanaged_in_sandbox`; `unmanaged.find_unmanaged` does the finding and judging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import LAYERS, project_name
from pipeline_infra_tools.drift.exceptions import LiveStateError
from pipeline_infra_tools.drift.models import Category
from pipeline_infra_tools.drift.unmanaged import find_unmanaged
from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.sandbox.admin_clients import AdminClients
from pipeline_infra_tools.sandbox.doorbell import STREAM_DOORBELL_QUEUE
from pipeline_infra_tools.sandbox.lambda_runtime.sources import TAP_PREFIX
from pipeline_infra_tools.sandbox.state import SandboxStateFile

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.drift.inventory import ClientFor
    from pipeline_infra_tools.drift.models import Difference
    from pipeline_infra_tools.sandbox.state import SandboxState


# Names the sandbox gives what it keeps for itself (queues that play AWS's part in deliveries): never the project's.
SANDBOX_OWN_PREFIXES = (TAP_PREFIX, STREAM_DOORBELL_QUEUE)


def saved_records(state_dir: Path, settings: Settings) -> list[dict[str, Any]]:
    """Every stack record the local target saved, of every layer and every declared environment."""
    store = StackOutputsStore(SandboxStateFile(state_dir).stacks_dir)
    records = []
    for layer in LAYERS:
        for env in settings.project.environments:
            project = project_name(settings, layer)
            try:
                record = store.load(project, env)
            except ValueError as err:
                raise LiveStateError(f"{store.path(project, env)}: not valid JSON ({err}); redeploy the stack") from err
            if record is not None:
                records.append(record)
    return records


def unmanaged_in_sandbox(
    state_dir: Path,
    settings: Settings,
    envs: Sequence[str],
    sandbox: SandboxState,
    suffixes: Mapping[str, Iterable[str]],
    reported: Iterable[Difference] = (),
) -> tuple[list[Difference], int]:
    """`find_unmanaged` on the sandbox, read with its administrator's keys. A child already in `reported` (the
    live comparison's own rows for something attached to a managed resource) is not reported again."""
    admin = AdminClients(sandbox)

    def clients_in(account: str) -> ClientFor:
        """Each environment's account is read with that account's administrator."""
        return lambda service, region: admin.client(service, account, region)

    records = saved_records(state_dir, settings)
    found, looked_at = find_unmanaged(
        settings,
        envs,
        records,
        clients_in(sandbox.admin_account),
        suffixes=suffixes,
        ignore_prefixes=SANDBOX_OWN_PREFIXES,
        clients_in=clients_in,
    )
    already = {(d.environment, d.physical) for d in reported if d.category is Category.LIVE and d.physical}
    return [d for d in found if (d.environment, d.physical) not in already], looked_at
