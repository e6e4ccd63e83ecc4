"""The reliability soak (`nox -s soak`): faults injected at the emulator while prod changes flow, then redrive and
resync, every replica checked by the harness's own comparison. Prints figures, never fails on a timing.

Starts its own sandbox on a temporary copy of the workspace (all three environments deployed, IAM enforced) and
stops it at the end. Exit 1 when a change was lost or a replica still differs from prod after redrive and
resync; the figures (table and JSON) are written either way.
Usage: python tests/soak/run_soak.py [--changes 500] [--rate 10] [--idle-seconds 60] [--no-storage-loss]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.conftest import copy_workspace, deployed_sandbox  # noqa: E402
from tests.soak.soak import SoakOptions, run_soak  # noqa: E402

DEFAULT_OUTPUT = ROOT / ".pipeline" / "soak" / "figures.json"


def options(argv: list[str] | None = None) -> tuple[SoakOptions, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--changes", type=int, default=500, help="prod changes to make (default 500)")
    parser.add_argument("--rate", type=float, default=10.0, help="prod changes a second (default 10)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="the idle stretch CPU is measured over")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of requests failed while faulted")
    parser.add_argument("--no-storage-loss", action="store_true", help="skip deleting and redeploying dev's storage")
    parser.add_argument("--seed", type=int, default=11, help="the change mix's random seed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"figures JSON (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    if args.changes < 20 or args.rate <= 0 or args.idle_seconds < 0 or not 0 <= args.fault_rate <= 1:
        parser.error("--changes must be at least 20, --rate above 0, --idle-seconds 0 or more, --fault-rate 0 to 1")
    chosen = SoakOptions(
        changes=args.changes,
        rate=args.rate,
        idle_seconds=args.idle_seconds,
        fault_rate=args.fault_rate,
        storage_loss=not args.no_storage_loss,
        seed=args.seed,
    )
    return chosen, args.output


def keep_logs(state_dir: Path, destination: Path) -> None:
    """The emulator's, the runtime's and the functions' logs, kept beside the figures (the sandbox's go with it)."""
    shutil.rmtree(destination, ignore_errors=True)
    for log in [state_dir / "sandbox.log", *state_dir.glob("runtime/*.log"), *state_dir.glob("runtime/logs/*")]:
        if log.is_file():
            target = destination / log.relative_to(state_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(log, target)


def main(argv: list[str] | None = None) -> int:
    chosen, output = options(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        began = time.perf_counter()
        with deployed_sandbox(copy_workspace(Path(tmp))) as sandbox:
            print(f"sandbox at {sandbox.state.endpoint}; deployed in {time.perf_counter() - began:.1f} s", flush=True)
            try:
                figures = run_soak(sandbox, chosen)
            finally:
                keep_logs(sandbox.workspace.state_dir, output.parent / "logs")
    figures.write(output)
    print(f"\nreliability soak: {chosen.changes} changes at {chosen.rate:g}/s\n{figures.table()}\n\nfigures: {output}")
    goals = figures.goals()
    return 0 if goals["zero_lost"] and goals["replicas_equal_prod_after_redrive_and_resync"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
