"""Lambda's GetFunctionConfiguration for the functions of stacks in the CloudFormation fake: the
environment as the deployed template gives it (tests/support/pipeline_env.py)."""

from __future__ import annotations

from typing import Any

from tests.cli.fakes import FakeCloudFormation, client_error
from tests.support.pipeline_env import Deployed


class FakeLambda:
    def __init__(self, cfn: FakeCloudFormation) -> None:
        self.cfn = cfn

    def get_function_configuration(self, FunctionName: str, **_: Any) -> dict[str, Any]:
        for stack in list(self.cfn.stacks.values()):
            if stack.status in ("DELETE_COMPLETE", "REVIEW_IN_PROGRESS"):
                continue
            deployed = Deployed(stack.template, stack.parameters, stack.name)
            for logical_id, resource in stack.template.get("Resources", {}).items():
                props = resource.get("Properties", {})
                if resource["Type"] == "AWS::Lambda::Function" and props.get("FunctionName") == FunctionName:
                    return {"FunctionName": FunctionName,
                            "Environment": {"Variables": deployed.environment(logical_id)}}
        raise client_error("GetFunctionConfiguration", "ResourceNotFoundException",
                           f"Function not found: {FunctionName}")
