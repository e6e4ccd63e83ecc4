"""Drift between environments: settings, rendered structure and (--live) deployed state and replicated data.

With --live, resources that look like the project's but that no stack records are reported as unmanaged.
Every difference is reported as approved (declared in shared_config/approved_differences.yaml, its rule
holding) or as drift, with the command or edit that repairs it.
"""

from __future__ import annotations

from pipeline_infra_tools.drift.approvals import check_rule, find_approval, judge, path_matches
from pipeline_infra_tools.drift.exceptions import DriftError, DriftUsageError, LiveStateError
from pipeline_infra_tools.drift.graph_diff import compare_structure
from pipeline_infra_tools.drift.live import compare_data, compare_deployed, read_sandbox
from pipeline_infra_tools.drift.models import Approval, Category, Difference, DriftReport, FailOn, Kind, Status
from pipeline_infra_tools.drift.normalise import EnvTokens, Normaliser
from pipeline_infra_tools.drift.render_cache import rendered_documents
from pipeline_infra_tools.drift.report import SCHEMA, render_report, to_json
from pipeline_infra_tools.drift.runner import DriftRequest, run_drift, select_environments
from pipeline_infra_tools.drift.settings_diff import compare_settings
from pipeline_infra_tools.drift.unmanaged import find_unmanaged

__all__ = [
    "SCHEMA",
    "Approval",
    "Category",
    "Difference",
    "DriftError",
    "DriftReport",
    "DriftRequest",
    "DriftUsageError",
    "EnvTokens",
    "FailOn",
    "Kind",
    "LiveStateError",
    "Normaliser",
    "Status",
    "check_rule",
    "compare_data",
    "compare_deployed",
    "compare_settings",
    "compare_structure",
    "find_approval",
    "find_unmanaged",
    "judge",
    "path_matches",
    "read_sandbox",
    "render_report",
    "rendered_documents",
    "run_drift",
    "select_environments",
    "to_json",
]
