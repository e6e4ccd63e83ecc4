"""What the Pulumi CLI runs for this policy pack: the guardrails, served as mandatory policies.

The pack's virtualenv holds only pulumi-policy. The rules come from the pipeline_infra_tools this directory
ships in, so the engine runs the very rules `pipeline-infra policy check` does; appended, not prepended, to
the path, so the venv's own packages win over the tool's.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3]))

from pipeline_infra_tools.guardrails.pack import serve

serve()
