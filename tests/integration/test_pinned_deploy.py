"""A project deploys the components of the library version it pins, with the one tool installed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT
from tests.unit.test_library_pinning import CURRENT, NEXT, NEXT_TAG, pin, release_next

if TYPE_CHECKING:
    from pathlib import Path

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
LAYER, ENV = "notifications", "dev"


def queue_managed_by(sandbox: DeployedSandbox) -> str:
    url = sandbox.outputs(LAYER, ENV)["task_queue_url"]
    return str(sandbox.client("sqs").list_queue_tags(QueueUrl=url)["Tags"]["ManagedBy"])


def test_each_pin_deploys_its_own_release_of_the_components(sandbox: DeployedSandbox, tmp_path: Path) -> None:
    # GIVEN the next library release built beside the current one, and dev's notifications deployed from CURRENT
    release_next(ROOT / "packages" / "pipeline_infra", tmp_path / "library-next", sandbox.workspace.dist_dir)
    assert sandbox.workspace.pinned_version(LAYER) == CURRENT
    assert queue_managed_by(sandbox) == "pulumi"
    try:
        # WHEN the project moves its pin to the next release and is deployed with the same tool
        pin(sandbox.workspace, LAYER, NEXT)
        sandbox.run("deploy", ENV, [LAYER])
        # THEN the queue carries what the next release's components give it
        assert queue_managed_by(sandbox) == NEXT_TAG
    finally:
        # AND moving the pin back deploys the current release's components again
        pin(sandbox.workspace, LAYER, CURRENT)
        sandbox.run("deploy", ENV, [LAYER])
    assert queue_managed_by(sandbox) == "pulumi"
