"""CloudWatch metric alarms and dashboards: created and read. (The runtime evaluates the alarms: see
`lambda_runtime/alarms.py`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    drop_none,
    ignore_missing,
    integer,
    tag_list,
)
from pipeline_infra_tools.sandbox.resources.reading import Inputs, ReadSpec, fixed_defaults, tag_state, tags_from_list

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

MISSING = ("ResourceNotFound", "ResourceNotFoundException")
# pulumi-aws input -> PutMetricAlarm parameter, for the plain values.
ALARM_FIELDS = {
    "alarmDescription": "AlarmDescription",
    "namespace": "Namespace",
    "metricName": "MetricName",
    "statistic": "Statistic",
    "extendedStatistic": "ExtendedStatistic",
    "comparisonOperator": "ComparisonOperator",
    "threshold": "Threshold",
    "treatMissingData": "TreatMissingData",
    "unit": "Unit",
    "actionsEnabled": "ActionsEnabled",
    "alarmActions": "AlarmActions",
    "okActions": "OKActions",
    "insufficientDataActions": "InsufficientDataActions",
}
INTEGER_FIELDS = {
    "period": "Period",
    "evaluationPeriods": "EvaluationPeriods",
    "datapointsToAlarm": "DatapointsToAlarm",
}
# What AWS holds for an input the code leaves out.
ALARM_DEFAULTS = {"actionsEnabled": True, "insufficientDataActions": [], "treatMissingData": "missing"}


def alarm_arn(ctx: ResourceContext, name: str) -> str:
    return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"


def create_alarm(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    cloudwatch, inputs = ctx.clients.cloudwatch, request.inputs
    name = str(inputs.get("name") or request.name)
    parameters: dict[str, Any] = {api: inputs.get(key) for key, api in ALARM_FIELDS.items()}
    parameters.update({api: integer(inputs[key]) for key, api in INTEGER_FIELDS.items() if inputs.get(key) is not None})
    dimensions = inputs.get("dimensions") or {}
    # PutMetricAlarm replaces an alarm of the same name: create and update are one call.
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Dimensions=[{"Name": key, "Value": str(value)} for key, value in sorted(dimensions.items())],
        **drop_none(parameters),
    )
    arn = alarm_arn(ctx, name)
    if ctx.tags:
        cloudwatch.tag_resource(ResourceARN=arn, Tags=tag_list(ctx.tags))
    return name, {"arn": arn}


def delete_alarm(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.cloudwatch.delete_alarms, *MISSING, AlarmNames=[id_])


def create_dashboard(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    cloudwatch, inputs = ctx.clients.cloudwatch, request.inputs
    name = str(inputs["dashboardName"])
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=str(inputs["dashboardBody"]))
    arn = cloudwatch.get_dashboard(DashboardName=name)["DashboardArn"]
    return name, {"dashboardArn": arn}


def delete_dashboard(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.cloudwatch.delete_dashboards, *MISSING, DashboardNames=[id_])


HANDLERS = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": ResourceHandler(create_alarm, delete_alarm),
    "aws:cloudwatch/dashboard:Dashboard": ResourceHandler(create_dashboard, delete_dashboard),
}


def read_alarm(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    cloudwatch = ctx.clients.cloudwatch
    found = cloudwatch.describe_alarms(AlarmNames=[id_], AlarmTypes=["MetricAlarm"]).get("MetricAlarms", [])
    if not found:
        return None
    alarm = found[0]
    read: Inputs = {"name": alarm["AlarmName"]}
    read.update({key: alarm.get(api) for key, api in {**ALARM_FIELDS, **INTEGER_FIELDS}.items()})
    read["dimensions"] = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags")
    return {**read, **tag_state(tags_from_list(tags), inputs, outputs)}


def read_dashboard(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.cloudwatch.get_dashboard, *MISSING, DashboardName=id_)
    if found is None:
        return None
    return {"dashboardName": found["DashboardName"], "dashboardBody": found["DashboardBody"]}


READERS = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": ReadSpec(
        read_alarm,
        sets={"alarmActions": "", "okActions": "", "insufficientDataActions": ""},
        # An alarm whose actions someone switches off is a change, though the code leaves them on by default.
        defaults=fixed_defaults(ALARM_DEFAULTS),
    ),
    "aws:cloudwatch/dashboard:Dashboard": ReadSpec(read_dashboard, documents={"dashboardBody": "json"}),
}
