"""A VPC in some environments and not in others is a structural difference: it must be approved.

Every environment with a `network` runs its functions in a VPC behind endpoints; one without runs them on
the public AWS endpoints. That difference is allowed only when approved_differences.yaml approves the
`network` setting itself (`{path: network, reason: ...}`), as any other difference between environments is.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from pipeline_infra.exceptions import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pipeline_infra.settings.models import ApprovedDifferences, EnvironmentSettings

NETWORK_PATH = "network"
APPROVED_FILE = "approved_differences.yaml"


def network_presence_approved(approved: ApprovedDifferences) -> bool:
    """Whether a settings approval covers the `network` key as a whole (`network`, `*`, `net*`...).

    A path approves everything below it, so only a one-segment pattern approves the key itself; one naming a
    key inside it (`network.vpc_id`) approves differing ids, not a VPC that only some environments have.
    """
    return any("." not in entry.path and fnmatchcase(NETWORK_PATH, entry.path) for entry in approved.settings)


def check_network_presence(
    environments: Mapping[str, EnvironmentSettings], approved: ApprovedDifferences, directory: Path
) -> None:
    with_network = sorted(name for name, env in environments.items() if env.network is not None)
    without = sorted(name for name, env in environments.items() if env.network is None)
    if not with_network or not without or network_presence_approved(approved):
        return
    raise SettingsError(
        f"{directory / (with_network[0] + '.yaml')}: network: set for {with_network} but not for {without}, "
        f"and {directory / APPROVED_FILE} does not approve that difference; expected `network` in every "
        f"environment or in none, or an entry `{{path: {NETWORK_PATH}, reason: ...}}` under `settings`"
    )
