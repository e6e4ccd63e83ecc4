"""What every layer program needs: its environment's settings, names, tagged provider and stack references."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.exceptions import StackConfigError
from pipeline_infra.layers import NAME_SUFFIX_OUTPUT, STORAGE, stack_reference_name
from pipeline_infra.naming import Names, name_token
from pipeline_infra.settings import load_settings
from pipeline_infra.stack_config import (
    ENVIRONMENT_KEY,
    FUNCTION_ARTIFACT_ENV,
    FUNCTION_ARTIFACT_KEY,
    SUFFIX_KEY,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pipeline_infra.components.replicator import ReplicationTarget
    from pipeline_infra.settings import EnvironmentSettings, Settings


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
        """Names another environment's stacks use when they set no `environmentSuffix` of their own.

        Only for what must be known before that environment is deployed (the source's role ARNs, which the
        targets trust); anything a target exported is read from its stack instead.
        """
        return Names(self.settings.project, self.settings.env(env))

    def replication_targets(self) -> list[ReplicationTarget]:
        """Each target environment of this (source) environment, from the target's storage stack outputs."""
        from pipeline_infra.components.replicator import ReplicationTarget

        targets = []
        for env in self.env.replication.targets:
            storage, settings = self.stack_reference(STORAGE, env), self.settings.env(env)
            targets.append(
                ReplicationTarget(
                    environment=env,
                    bucket_name=storage.require_output("bucket_name"),
                    bucket_arn=storage.require_output("bucket_arn"),
                    config_table_name=storage.require_output("config_table_name"),
                    writer_role_arn=storage.require_output("replica_writer_role_arn"),
                    region=settings.region,
                    account_id=settings.account_id,
                    name_token=storage.require_output(NAME_SUFFIX_OUTPUT).apply(
                        lambda suffix, e=env: name_token(e, suffix)
                    ),
                    overlay=settings.replication.overlay,
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
