"""What runs inside a program's process: one program under the mock runtime, its result as JSON.

Two ways in, one code path: `python -m pipeline_infra_tools.programs.child REQUEST.json` (the process launcher,
which writes the result to the request's `result` path) and `execute` in a child forked by the program
server (which sends the same JSON back over a pipe). The request names the project directory, stack, backend
and where saved stack outputs live; the result is the stack's outputs and every resource, or
{"error", "kind"} when the program failed in a way the tool recognises.
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


def execute(request: dict[str, Any]) -> tuple[int, str]:
    """Run the requested program: (exit code, result JSON). Errors other than the tool's propagate."""
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
        return 1, json.dumps({"error": str(err), "kind": type(err).__name__})
    return 0, json.dumps(result.to_json(), default=str)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    request = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    code, document = execute(request)
    Path(request["result"]).write_text(document, encoding="utf-8")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
