"""The reliability soak, short (`nox -s soak` runs the long one): about 40 prod changes, objects and items, with
overwrites and deletes, through throttling, 5xx errors and duplicate and reordered deliveries, on the session's
sandbox with IAM enforced (its faults are cleared when it ends). Afterwards nothing is lost and, after `redrive`
and `resync`, every replica equals prod by the harness's own comparison. The figures are printed; no timing is
asserted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.soak.soak import SoakOptions, run_soak

if TYPE_CHECKING:
    from pathlib import Path

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
# Losing and redeploying a target's storage costs a deploy; the long soak does it.
SHORT = SoakOptions(
    changes=40,
    rate=10.0,
    idle_seconds=5.0,
    storage_loss=False,
    min_fault_seconds=4.0,
    converge_timeout=60.0,
    settle_timeout=30.0,
)


def test_faults_lose_no_change_and_the_repairs_bring_every_replica_to_prod(
    sandbox: DeployedSandbox, tmp_path: Path
) -> None:
    # GIVEN the session's sandbox, every environment deployed
    # WHEN prod changes flow while the emulator throttles, fails and duplicates and reorders deliveries,
    # and redrive and resync run once the faults end
    figures = run_soak(sandbox, SHORT)
    figures.write(tmp_path / "figures.json")
    print(f"\n{figures.table()}")
    # THEN faults were injected, no change is lost, and every replica equals prod
    assert sum(figures.faults_injected.values()) > 0, figures.faults_injected
    assert figures.changes_issued == SHORT.changes
    assert figures.lost == 0, figures.lost_examples
    assert figures.matching_after_resync == figures.replica_states, figures.to_json()
