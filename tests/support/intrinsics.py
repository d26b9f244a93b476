"""What CloudFormation would create from a template for given parameter values: conditions evaluated,
conditional resources dropped, the list and condition functions resolved. Enough of the intrinsic
functions for the templates' conditional parts; a Ref to a resource stays its logical id."""

from __future__ import annotations

from typing import Any

NO_VALUE = object()


class Evaluator:
    def __init__(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        self.template = template
        self.parameters = parameters
        self.conditions = {name: bool(self.value(c)) for name, c in template.get("Conditions", {}).items()}

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict) or len(node) != 1:
            return {k: self.value(v) for k, v in node.items()} if isinstance(node, dict) else node
        ((key, arg),) = node.items()
        if key == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else self.parameters.get(arg, arg)
        if key == "Fn::Join":
            return str(arg[0]).join(str(v) for v in self._list(arg[1]))
        if key == "Fn::Split":
            return str(self.value(arg[1])).split(arg[0])
        if key == "Fn::Select":
            return self._list(arg[1])[int(arg[0])]  # IndexError where CloudFormation fails the stack
        if key == "Fn::Equals":
            return self.value(arg[0]) == self.value(arg[1])
        if key == "Fn::Not":
            return not self.value(arg[0])
        if key == "Fn::If":
            return self.value(arg[1] if self.conditions[arg[0]] else arg[2])
        if key == "Condition":
            return self.conditions[arg]
        return {key: self.value(arg)}

    def _list(self, node: Any) -> list[Any]:
        value = self.value(node)
        assert isinstance(value, list), node
        return value

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resolved properties of every resource of this type that would exist."""
        return {
            logical_id: self.value(r.get("Properties", {}))
            for logical_id, r in self.template["Resources"].items()
            if r["Type"] == kind and ("Condition" not in r or self.conditions[r["Condition"]])
        }
