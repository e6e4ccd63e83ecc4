"""What every layer program needs: its environment's settings, names, tagged provider and stack references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.naming import Names
from pipeline_infra.settings import load_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pipeline_infra.components.replicator import ReplicationTarget
    from pipeline_infra.settings import EnvironmentSettings, Settings

ENVIRONMENT_KEY = "environment"
SUFFIX_KEY = "environmentSuffix"
LAYERS = ("storage", "notifications", "processing", "replication")


def project_name(settings: Settings, layer: str) -> str:
    """The Pulumi project name of a layer, as written in projects/<layer>/Pulumi.yaml."""
    return f"{settings.project.name}-{layer}"


def stack_reference_name(settings: Settings, layer: str, env: str) -> str:
    return settings.project.stack_reference_format.format(
        organization=settings.project.organization, project=project_name(settings, layer), stack=env
    )


def default_tags(settings: Settings, env: EnvironmentSettings, layer: str) -> dict[str, str]:
    return {"Environment": env.name, "Project": settings.project.name, "ManagedBy": "pulumi", "Layer": layer}


@dataclass(frozen=True)
class LayerContext:
    layer: str
    settings: Settings
    env: EnvironmentSettings
    names: Names
    provider: aws.Provider

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
        )
        return cls(layer=layer, settings=settings, env=env, names=names, provider=provider)

    def options(self) -> pulumi.ResourceOptions:
        """Options for the layer's top components: every child uses the tagged provider."""
        return pulumi.ResourceOptions(providers={"aws": self.provider})

    def stack_reference(self, layer: str, env: str | None = None) -> pulumi.StackReference:
        target = env or self.env.name
        name = stack_reference_name(self.settings, layer, target)
        return pulumi.StackReference(f"{layer}-{target}", stack_name=name)

    def names_of(self, env: str) -> Names:
        return Names(self.settings.project, self.settings.env(env))

    def replication_targets(self) -> list[ReplicationTarget]:
        """Each target environment of this (source) environment, from the target's storage stack outputs."""
        from pipeline_infra.components.replicator import ReplicationTarget

        targets = []
        for env in self.env.replication.targets:
            storage, settings = self.stack_reference("storage", env), self.settings.env(env)
            targets.append(
                ReplicationTarget(
                    environment=env,
                    bucket_name=storage.require_output("bucket_name"),
                    bucket_arn=storage.require_output("bucket_arn"),
                    config_table_name=storage.require_output("config_table_name"),
                    writer_role_arn=storage.require_output("replica_writer_role_arn"),
                    region=settings.region,
                    account_id=settings.account_id,
                    name_token=f"-{env}-{self.names_of(env).suffix}",
                    overlay=settings.replication.overlay,
                )
            )
        return targets

    @staticmethod
    def function_code() -> str:
        """Path of the deterministic function artifact (built once, shared by every function)."""
        from pipeline_infra.artifact import function_artifact_path

        return str(function_artifact_path())

    @staticmethod
    def export(outputs: Mapping[str, Any]) -> None:
        for key, value in outputs.items():
            pulumi.export(key, value)
