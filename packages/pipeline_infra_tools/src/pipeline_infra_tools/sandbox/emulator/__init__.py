"""The emulator process: moto's server, with the sandbox's corrections of its IAM and events behaviour applied first.

Run as `python -m pipeline_infra_tools.sandbox.emulator -H 127.0.0.1 -p PORT` (server.py does this).
"""

from __future__ import annotations

import sys

from pipeline_infra_tools.sandbox.emulator.accounts import serve_account_setup
from pipeline_infra_tools.sandbox.emulator.deliveries import (
    event_invoke_configs_are_replaced,
    permission_ids_are_unique,
    queue_attributes_keep_the_policy,
    route_events_as_aws_does,
    services_deliver_only_where_allowed,
    stream_records_ring_a_doorbell,
)
from pipeline_infra_tools.sandbox.emulator.iam import (
    get_requests_sign_no_body,
    requests_name_their_resource,
    role_sessions_match_their_role,
    unknown_conditions_do_not_deny,
    unknown_resources_are_checked_by_action,
)
from pipeline_infra_tools.sandbox.emulator.metric_statistics import metric_statistics_answer_percentiles
from pipeline_infra_tools.sandbox.emulator.request_counts import count_every_request
from pipeline_infra_tools.sandbox.emulator.s3 import (
    copies_need_read_on_their_source,
    delete_markers_can_be_disposed,
    delete_markers_send_their_event,
    object_versions_need_their_own_actions,
    object_writes_are_atomic,
    s3_events_as_aws_sends_them,
    version_listings_share_bodies,
)


def main(argv: list[str] | None = None) -> None:
    unknown_conditions_do_not_deny()
    route_events_as_aws_does()
    services_deliver_only_where_allowed()
    delete_markers_send_their_event()
    s3_events_as_aws_sends_them()
    object_writes_are_atomic()
    get_requests_sign_no_body()
    role_sessions_match_their_role()
    unknown_resources_are_checked_by_action()
    requests_name_their_resource()
    object_versions_need_their_own_actions()
    copies_need_read_on_their_source()
    delete_markers_can_be_disposed()
    version_listings_share_bodies()
    stream_records_ring_a_doorbell()
    event_invoke_configs_are_replaced()
    queue_attributes_keep_the_policy()
    permission_ids_are_unique()
    metric_statistics_answer_percentiles()
    from moto.server import main as moto_main

    from pipeline_infra_tools.sandbox import faults

    faults.install()
    serve_account_setup()
    # Installed last so it sees every request first, the ones a fault rule answers included.
    count_every_request(faults.describe_request)
    moto_main(argv if argv is not None else sys.argv[1:])
