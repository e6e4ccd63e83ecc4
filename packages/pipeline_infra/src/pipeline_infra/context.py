"""What every layer program needs: its environment's settings, names, tagged provider and stack references.

It also takes out of settings the values components are given (components never see settings objects).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components import (
    AlarmPublishers,
    AlarmRule,
    DashboardContent,
    DriftCheckWatch,
    FunctionSpec,
    ReplicationSource,
    ReplicationTarget,
    Retries,
    TableBilling,
    TopicSubscription,
    VpcPlacement,
)
from pipeline_infra.exceptions import StackConfigError
from pipeline_infra.layers import (
    FUNCTION_SECURITY_GROUP_OUTPUT,
    NAME_SUFFIX_OUTPUT,
    REPLICA_WRITER_ROLE_ARN_OUTPUT,
    STORAGE,
    stack_reference_name,
)
from pipeline_infra.naming import ENVIRONMENT_TAG, LAYER_TAG, MANAGED_BY_TAG, PROJECT_TAG, Names, name_token
from pipeline_infra.settings import AlarmSettings, FunctionSettings, load_settings
from pipeline_infra.stack_config import (
    ENVIRONMENT_KEY,
    FUNCTION_ARTIFACT_ENV,
    FUNCTION_ARTIFACT_KEY,
    SUFFIX_KEY,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pipeline_infra.settings import EnvironmentSettings, Settings, TableSettings


def default_tags(settings: Settings, env: EnvironmentSettings, layer: str) -> dict[str, str]:
    return {ENVIRONMENT_TAG: env.name, PROJECT_TAG: settings.project.name, MANAGED_BY_TAG: "pulumi", LAYER_TAG: layer}


def deployment_credentials(env: EnvironmentSettings) -> dict[str, Any]:
    """The provider's credential inputs: the environment's deployment role (and the profile that assumes it),
    so one set of credentials deploys every account; nothing when settings name no role."""
    deployment = env.deployment
    if deployment is None:
        return {}
    role = aws.ProviderAssumeRoleArgs(
        role_arn=deployment.role_arn, session_name=deployment.session_name, external_id=deployment.external_id
    )
    credentials: dict[str, Any] = {"assume_roles": [role]}
    if deployment.profile is not None:
        credentials["profile"] = deployment.profile
    return credentials


@dataclass(frozen=True)
class LayerContext:
    layer: str
    settings: Settings
    env: EnvironmentSettings
    names: Names
    provider: aws.Provider
    # One StackReference per stack read: a second one of the same name would be a duplicate resource.
    _references: dict[str, pulumi.StackReference] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_stack_config(cls, layer: str) -> LayerContext:
        """Read the stack's `environment` (and optional `environmentSuffix`) and everything else from settings."""
        config = pulumi.Config()
        settings = load_settings()
        env = settings.env(config.require(ENVIRONMENT_KEY))
        names = Names(settings.project, env, suffix_override=config.get(SUFFIX_KEY))
        provider = aws.Provider(
            f"aws-{env.name}",
            region=env.region,
            allowed_account_ids=[env.account_id],
            default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(settings, env, layer)),
            **deployment_credentials(env),
        )
        return cls(layer=layer, settings=settings, env=env, names=names, provider=provider)

    def options(self) -> pulumi.ResourceOptions:
        """Options for the layer's top components: every child uses the tagged provider."""
        return pulumi.ResourceOptions(providers={"aws": self.provider})

    def stack_reference(self, layer: str, env: str | None = None) -> pulumi.StackReference:
        target = env or self.env.name
        name = stack_reference_name(self.settings, layer, target)
        if name not in self._references:
            self._references[name] = pulumi.StackReference(f"{layer}-{target}", stack_name=name)
        return self._references[name]

    @property
    def source_names(self) -> Names:
        """Names of the source environment's stacks (see `names_of`)."""
        return self.names_of(self.settings.project.source_environment)

    def names_of(self, env: str) -> Names:
        """Names another environment's stacks use when they set no `environmentSuffix` of their own.

        Only for what must be known before that environment is deployed (the source's role ARNs, which the
        targets trust); anything a target exported is read from its stack instead.
        """
        return Names(self.settings.project, self.settings.env(env))

    def function_spec(self, purpose: str) -> FunctionSpec:
        """Names, runtime, size, tracing and logging of one function: `validator`, `task-processor`, ..."""
        functions = self.env.functions
        function = getattr(functions, purpose.replace("-", "_"), None)
        if not isinstance(function, FunctionSettings):
            raise ValueError(f"no function {purpose!r} in settings' `functions`")
        return FunctionSpec(
            function_name=self.names.function(purpose),
            role_name=self.names.role(purpose),
            runtime=functions.runtime,
            architecture=functions.architecture,
            memory_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
            reserved_concurrency=function.reserved_concurrency,
            tracing=functions.tracing,
            log_retention_days=functions.log_retention_days,
            log_level=functions.log_level,
            extra_environment=dict(functions.environment),
            vpc=self.vpc_placement(),
        )

    def vpc_placement(self) -> VpcPlacement | None:
        """The environment's subnets and its functions' security groups (storage creates the project's); None
        when settings give no `network`."""
        network = self.env.network
        if network is None:
            return None
        group = self.stack_reference(STORAGE).require_output(FUNCTION_SECURITY_GROUP_OUTPUT)
        return VpcPlacement(
            region=self.env.region,
            account_id=self.env.account_id,
            subnet_ids=tuple(network.subnet_ids),
            security_group_ids=(group, *network.security_group_ids),
        )

    def rule_retries(self) -> Retries:
        """EventBridge's delivery retries to a rule's target, before the target's DLQ."""
        replication = self.env.replication
        return Retries(
            attempts=replication.rule_retry_attempts,
            maximum_event_age_seconds=replication.rule_maximum_event_age_seconds,
        )

    def async_retries(self) -> Retries:
        """Lambda's retries of an asynchronous invocation, before its on-failure destination."""
        replication = self.env.replication
        return Retries(
            attempts=replication.async_retry_attempts, maximum_event_age_seconds=replication.maximum_event_age_seconds
        )

    @staticmethod
    def table_billing(table: TableSettings) -> TableBilling:
        """A table's billing mode and capacity, from its settings."""
        billing = table.billing
        return TableBilling(
            mode=billing.mode, read_capacity=billing.read_capacity, write_capacity=billing.write_capacity
        )

    def topic_subscriptions(self) -> list[TopicSubscription]:
        """The subscriptions to this environment's success and failure topics."""
        return [
            TopicSubscription(
                topic=s.topic,
                protocol=s.protocol,
                endpoint=s.endpoint,
                filter_policy=s.filter_policy,
                raw_message_delivery=s.raw_message_delivery,
            )
            for s in self.env.notifications.subscriptions
        ]

    def alarm_rule(self, kind: str) -> AlarmRule:
        """Threshold and timing of one kind of alarm in settings' `monitoring` (`function_errors`, ...)."""
        rule = getattr(self.env.monitoring, kind, None)
        if not isinstance(rule, AlarmSettings):
            raise ValueError(f"no alarm {kind!r} in settings' `monitoring`")
        return AlarmRule(
            threshold=rule.threshold, period_seconds=rule.period_seconds, evaluation_periods=rule.evaluation_periods
        )

    def dead_letter_queue_rule(self) -> AlarmRule:
        """Any message in a dead-letter queue: threshold 1, timing from settings."""
        queues = self.env.monitoring.dead_letter_queues
        return AlarmRule(
            threshold=1, period_seconds=queues.period_seconds, evaluation_periods=queues.evaluation_periods
        )

    def drift_check_watch(self) -> DriftCheckWatch:
        """How the scheduled drift check is watched: its findings, and a run missing for its interval + margin."""
        period, periods = self.env.drift_check_window()
        return DriftCheckWatch(
            environment=self.env.name,
            targets=tuple(self.env.replication.targets),
            failure_threshold=self.env.monitoring.drift_check.failure_threshold,
            period_seconds=period,
            missing_periods=periods,
        )

    def alarm_publishers(self) -> AlarmPublishers:
        """This environment's alarms, which publish to its failure topic."""
        return AlarmPublishers(
            failure_topic_arn=self.names.topic_arn("failure"),
            account_id=self.env.account_id,
            region=self.env.region,
            alarm_arns=self.names.alarm_arns,
        )

    def dashboard_content(
        self, title: str, functions: Sequence[str], dead_letter_queues: Sequence[str], replication: bool = False
    ) -> DashboardContent:
        """A dashboard of these functions and dead-letter queues (by purpose), and of replication to this
        environment's targets when `replication`."""
        names = self.names
        return DashboardContent(
            title=f"{title}: {self.env.name} ({self.env.region})",
            region=self.env.region,
            dead_letter_queues=[names.queue(purpose) for purpose in dead_letter_queues],
            functions=[names.function(purpose) for purpose in functions],
            replicator_function=names.function("replicator") if replication else None,
            replication_targets=tuple(self.env.replication.targets) if replication else (),
        )

    def replica_reader_arns(self) -> list[pulumi.Output[Any]]:
        """The writer role of each replication target of this environment, as that target's storage exported it."""
        return [
            self.stack_reference(STORAGE, target).require_output(REPLICA_WRITER_ROLE_ARN_OUTPUT)
            for target in self.env.replication.targets
        ]

    def replication_source(
        self, storage: pulumi.StackReference, notifications: pulumi.StackReference
    ) -> ReplicationSource:
        """This (source) environment as the replicator and drift checker see it, with its stacks' outputs."""
        return ReplicationSource(
            environment=self.env.name,
            account_id=self.env.account_id,
            region=self.env.region,
            name_token=self.names.name_token,
            code_path=self.function_code(),
            prefixes=tuple(self.env.replication.prefixes),
            async_retries=self.async_retries(),
            bucket_name=storage.require_output("bucket_name"),
            bucket_arn=storage.require_output("bucket_arn"),
            config_table_name=storage.require_output("config_table_name"),
            config_table_arn=storage.require_output("config_table_arn"),
            success_topic_arn=notifications.require_output("success_topic_arn"),
            failure_topic_arn=notifications.require_output("failure_topic_arn"),
            dlq_arn=notifications.require_output("replication_dlq_arn"),
            dlq_url=notifications.require_output("replication_dlq_url"),
        )

    def replication_targets(self) -> list[ReplicationTarget]:
        """Each target environment of this (source) environment, from the target's storage stack outputs."""
        targets = []
        for env in self.env.replication.targets:
            storage, settings = self.stack_reference(STORAGE, env), self.settings.env(env)
            targets.append(
                ReplicationTarget(
                    environment=env,
                    bucket_name=storage.require_output("bucket_name"),
                    bucket_arn=storage.require_output("bucket_arn"),
                    config_table_name=storage.require_output("config_table_name"),
                    writer_role_arn=storage.require_output(REPLICA_WRITER_ROLE_ARN_OUTPUT),
                    region=settings.region,
                    account_id=settings.account_id,
                    name_token=storage.require_output(NAME_SUFFIX_OUTPUT).apply(partial(name_token, env)),
                    overlay=settings.replication.overlay,
                    external_id=self.env.replication.external_id,
                )
            )
        return targets

    @staticmethod
    def function_code() -> str:
        """Path of the function artifact: stack config `functionArtifact`, else $PIPELINE_FUNCTION_ARTIFACT.

        The tool builds the artifact and sets the variable; a plain `pulumi up` needs one of the two.
        """
        path = pulumi.Config().get(FUNCTION_ARTIFACT_KEY) or os.environ.get(FUNCTION_ARTIFACT_ENV, "").strip()
        if not path:
            raise StackConfigError(
                f"no function artifact: set `{FUNCTION_ARTIFACT_KEY}` in the stack's config or "
                f"{FUNCTION_ARTIFACT_ENV} to the zip that `pipeline-infra artifact` builds and prints"
            )
        if not Path(path).is_file():
            raise StackConfigError(f"function artifact {path!r} (from {FUNCTION_ARTIFACT_KEY}): no such file")
        return path

    @staticmethod
    def export(outputs: Mapping[str, Any]) -> None:
        for key, value in outputs.items():
            pulumi.export(key, value)
