"""The platform stack: parameters (`templates.parameters`), the shared dependency layer, the three
subsystems, outputs."""

from __future__ import annotations

from troposphere import Output, Ref, Template
from troposphere.awslambda import Content, LayerVersion

from templates import edge, ids, internal, pipeline
from templates.config import PlatformConfig
from templates.parameters import PARAM_ARTIFACTS_BUCKET, add_parameters


def add_dependency_layer(t: Template, config: PlatformConfig) -> None:
    t.add_resource(
        LayerVersion(
            ids.DEPENDENCY_LAYER,
            LayerName=f"{config.stack_name}-dependencies",
            Description="Python dependencies of the platform functions",
            CompatibleRuntimes=[config.python_runtime],
            CompatibleArchitectures=[config.architecture],
            Content=Content(S3Bucket=Ref(PARAM_ARTIFACTS_BUCKET), S3Key=config.artifact("layer").key),
        )
    )


def build_platform_template(config: PlatformConfig) -> Template:
    t = Template(Description=f"Battleshiper platform ({config.stack_name})")
    t.set_version("2010-09-09")
    add_parameters(t)
    add_dependency_layer(t, config)
    internal.add(t, config)
    edge.add(t, config)
    pipeline.add(t, config)
    t.add_output(Output(ids.OUTPUT_ARTIFACTS_BUCKET, Value=Ref(PARAM_ARTIFACTS_BUCKET)))
    t.add_output(Output(ids.OUTPUT_PROJECT_TEMPLATE_KEY, Value=config.artifact("project-template").key))
    t.add_output(Output(ids.OUTPUT_PROJECT_TEMPLATE_HASH, Value=config.artifact("project-template").sha256))
    return t
