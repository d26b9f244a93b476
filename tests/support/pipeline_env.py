"""The environment a platform function has once its stack is deployed: the template's variables with
every Ref and GetAtt replaced by a value of the form AWS gives (ARNs, generated bucket and queue
names), so that what is derived from it can be checked against the templates' own patterns."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"


class Deployed:
    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str],
                 stack: str = "battleshiper", account: str = ACCOUNT, region: str = REGION) -> None:
        self.resources: Mapping[str, Any] = template["Resources"]
        self.parameters = parameters
        self.stack, self.account, self.region = stack, account, region

    def physical_id(self, logical_id: str) -> str:
        """What Ref gives (the CloudFormation fake names buckets and others the same way)."""
        resource = self.resources[logical_id]
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Batch::JobQueue":
            return f"arn:aws:batch:{self.region}:{self.account}:job-queue/{props['JobQueueName']}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{self.account}:policy/{props['ManagedPolicyName']}"
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.stack}-{logical_id}"
        for name in ("Name", "FunctionName", "TableName", "BucketName", "LogGroupName"):
            if isinstance(props.get(name), str):
                return str(props[name])
        return f"{self.stack}-{logical_id.lower()}"

    def attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if attribute != "Arn":
            return self.physical_id(logical_id)
        service, resource = {
            "AWS::SQS::Queue": ("sqs", f"{self.stack}-{logical_id}"),
            "AWS::IAM::Role": ("iam", f"role/{self.stack}-{logical_id}"),
            "AWS::CloudFront::KeyValueStore": ("cloudfront", f"key-value-store/{logical_id.lower()}"),
            "AWS::KMS::Key": ("kms", f"key/{uuid.uuid5(uuid.NAMESPACE_URL, logical_id)}"),
        }.get(kind, (kind.split("::")[1].lower(), self.physical_id(logical_id)))
        region = "" if service in ("iam", "cloudfront") else self.region
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"

    def ref(self, name: str) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack}
        if name in pseudo:
            return pseudo[name]
        return self.parameters[name] if name in self.parameters else self.physical_id(name)

    def value(self, node: Any) -> str:
        if isinstance(node, str):
            return node
        ((key, arg),) = node.items()
        if key == "Ref":
            return self.ref(arg)
        if key == "Fn::GetAtt":
            return self.attribute(*(arg if isinstance(arg, list) else arg.split(".", 1)))
        if key == "Fn::Join":
            return str(arg[0]).join(self.value(v) for v in arg[1])
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else arg
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1), extra), text)
        raise ValueError(f"not resolved here: {key}")

    def _sub(self, name: str, extra: Mapping[str, Any]) -> str:
        if name in extra:
            return self.value(extra[name])
        return self.attribute(*name.split(".", 1)) if "." in name else self.ref(name)

    def environment(self, function_id: str) -> dict[str, str]:
        props = self.resources[function_id]["Properties"]
        return {k: self.value(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
