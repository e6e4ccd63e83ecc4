"""Entry point of one program run in its own process: `python -m pipeline_infra_tools.programs.child REQUEST.json`.

The request names the project directory, stack, backend and where saved stack outputs live; the result (the
stack's outputs and every resource) is written as JSON to the request's `result` path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.engine.harness import PulumiProject, StackOutputsStore, run_program
from pipeline_infra_tools.engine.render_backend import RenderBackend
from pipeline_infra_tools.exceptions import ToolError

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceBackend


def make_backend(kind: str, options: dict[str, Any]) -> ResourceBackend:
    if kind == "render":
        return RenderBackend(account_id=options["account_id"], region=options["region"])
    if kind == "sandbox":
        from pipeline_infra_tools.sandbox.backend import EmulatorBackend

        return EmulatorBackend.from_options(options)
    raise ToolError(f"unknown backend {kind!r}; expected 'render' or 'sandbox'")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    request = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    result_path = Path(request["result"])
    try:
        backend = make_backend(request["backend"], request.get("backend_options", {}))
        result = run_program(
            PulumiProject(Path(request["project_dir"])),
            request["stack"],
            backend,
            StackOutputsStore(Path(request["references_dir"])),
            extra_config=request.get("config", {}),
        )
        close = getattr(backend, "close", None)
        if callable(close):
            close()
    except ToolError as err:
        result_path.write_text(json.dumps({"error": str(err), "kind": type(err).__name__}), encoding="utf-8")
        return 1
    result_path.write_text(json.dumps(result.to_json(), default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
