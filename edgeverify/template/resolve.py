"""Intrinsic functions, resolved as far as a template alone allows.

`Ref`/`Fn::GetAtt`/`Fn::Sub` naming a resource become that resource's logical id (`${MyApi}`), or the value
CloudFormation would give when the template fixes it (a bucket's domain names from its BucketName); `Fn::Join`,
`Fn::Select`, `Fn::Split` and `Fn::FindInMap` are evaluated over what resolved; parameters take their Default.
What cannot be known before the deploy (a parameter without a Default, `Fn::ImportValue`, `Fn::If`) is kept as a
`${...}` placeholder and listed in `unresolved`. A reference to a name the template does not define is bad input
(TemplateError): CloudFormation would refuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .source import Template, TemplateError, line_of

PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
PLACEHOLDER_PSEUDO = {"AWS::AccountId", "AWS::StackName", "AWS::StackId", "AWS::NotificationARNs"}
NO_VALUE = object()
# What SAM's transform appends to a Serverless resource's id for the resources it generates (MyApiStage,
# MyApiDeployment1a2b3c, MyFunctionRole, MyFunctionAliaslive, MyFunctionApiEventPermissionprod, ...).
SAM_SUFFIX = re.compile(r"Role|Stage|Deployment[0-9a-fA-F]*|Version[0-9a-fA-F]*|Alias\w+|\w*Permission\w*|"
                        r"DomainName\w*|BasePathMapping\w*|ApiKey\w*|UsagePlan\w*|Policy")  # AWS::NoValue: the property is removed


@dataclass(slots=True)
class Unresolved:
    path: str  # property path in the template
    line: int | None
    what: str  # e.g. "Fn::ImportValue SharedCertArn"


@dataclass(slots=True)
class Resolver:
    template: Template
    region: str = "us-east-1"
    unresolved: list[Unresolved] = field(default_factory=list)
    references: set[str] = field(default_factory=set)  # logical ids the resolved values refer to

    @property
    def resources(self) -> dict[str, Any]:
        return self.template.resources

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.template.data.get("Parameters") or {})

    def _bad(self, node: Any, path: str, message: str) -> TemplateError:
        line = line_of(node)
        where = f", line {line}" if line else ""
        return TemplateError(f"Template {self.template.path}{where}, property {path}: {message}")

    def _unknown(self, node: Any, path: str, name: str, how: str) -> TemplateError:
        import difflib

        known = list(self.resources) + list(self.parameters)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return self._bad(node, path, f"{how} '{name}' names no resource or parameter of the template (CloudFormation "
                                     f"refuses an unresolvable reference).{hint}")

    def value(self, node: Any, path: str) -> Any:
        """The node with every intrinsic function resolved (or a placeholder); mappings and lists rebuilt plain."""
        if isinstance(node, dict):
            if len(node) == 1:
                (key, arg), = node.items()
                if key == "Ref" or str(key).startswith("Fn::"):
                    return self._function(str(key), arg, node, path)
            out = {}
            for k, v in node.items():
                resolved = self.value(v, f"{path}.{k}")
                if resolved is not NO_VALUE:
                    out[str(k)] = resolved
            return out
        if isinstance(node, list):
            return [r for i, v in enumerate(node) if (r := self.value(v, f"{path}[{i}]")) is not NO_VALUE]
        if isinstance(node, str):
            return str(node)
        return node

    def condition(self, name: str, node: Any, path: str, depth: int = 0) -> bool | None:
        """A condition's value when the template decides it (parameters' defaults), else None."""
        conditions = self.template.data.get("Conditions") or {}
        if name not in conditions:
            raise self._bad(node, path, f"Fn::If names the condition '{name}', which the template does not define.")
        if depth > 20:
            return None
        return self._truth(conditions[name], node, path, depth + 1)

    def _truth(self, expr: Any, node: Any, path: str, depth: int) -> bool | None:
        if isinstance(expr, dict) and len(expr) == 1:
            (key, arg), = expr.items()
            if key == "Condition":
                return self.condition(str(arg), node, path, depth)
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                noted = len(self.unresolved)
                left, right = (self.value(a, path) for a in arg)
                del self.unresolved[noted:]
                if any(isinstance(v, str) and "${" in v for v in (left, right)):
                    return None
                return str(left) == str(right)
            if key in ("Fn::Not", "Fn::And", "Fn::Or") and isinstance(arg, list):
                values = [self._truth(a, node, path, depth) for a in arg]
                if key == "Fn::Not":
                    return None if values[0] is None else not values[0]
                if key == "Fn::And":
                    return False if False in values else None if None in values else True
                return True if True in values else None if None in values else False
        return None

    def _placeholder(self, node: Any, path: str, what: str, shown: str) -> str:
        self.unresolved.append(Unresolved(path, line_of(node), what))
        return "${" + shown + "}"

    def ref(self, name: str, node: Any, path: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name == "AWS::Region":
            return self.region
        if name in PSEUDO:
            return PSEUDO[name]
        if name in PLACEHOLDER_PSEUDO:
            return "${" + name + "}"  # known only at deploy, and never what a rule judges
        if name in self.parameters:
            param = self.parameters[name] or {}
            if "Default" in param:
                return self.value(param["Default"], f"Parameters.{name}.Default")
            return self._placeholder(node, path, f"Ref {name} (a parameter without a Default)", name)
        if name in self.resources or self._sam_implicit(name):
            self.references.add(name)
            return self._resource_name(name)
        raise self._unknown(node, path, name, "Ref")

    def _sam_implicit(self, name: str) -> bool:
        """A resource SAM's transform adds (ServerlessRestApi, MyApiStage, MyFunctionRole...): a valid name there."""
        if self.template.kind != "sam":
            return False
        if name in ("ServerlessRestApi", "ServerlessHttpApi"):
            return True
        return any(name.startswith(k) and SAM_SUFFIX.fullmatch(name[len(k):]) for k, r in self.resources.items()
                   if str((r or {}).get("Type", "")).startswith("AWS::Serverless::"))

    def _resource_name(self, name: str) -> str:
        resource = self.resources.get(name) or {}
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::S3::Bucket" and isinstance(props.get("BucketName"), str):
            return str(props["BucketName"])
        return "${" + name + "}"

    def get_att(self, name: str, attribute: str, node: Any, path: str) -> Any:
        if name not in self.resources and not self._sam_implicit(name):
            raise self._unknown(node, path, name, "Fn::GetAtt")
        self.references.add(name)
        resource = self.resources[name] or {}
        if resource.get("Type") == "AWS::S3::Bucket":
            bucket = self._resource_name(name)
            known = {"DomainName": f"{bucket}.s3.amazonaws.com",
                     "RegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
                     "DualStackDomainName": f"{bucket}.s3.dualstack.{self.region}.amazonaws.com",
                     "WebsiteURL": f"http://{bucket}.s3-website-{self.region}.amazonaws.com",
                     "Arn": f"arn:aws:s3:::{bucket}"}
            if attribute in known:
                return known[attribute]
        return "${" + f"{name}.{attribute}" + "}"

    def _sub(self, text: str, variables: dict[str, Any], node: Any, path: str) -> str:
        def one(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(variables[inner])
            if "." in inner and (inner.split(".", 1)[0] in self.resources or self._sam_implicit(inner.split(".")[0])):
                resource, attribute = inner.split(".", 1)
                return str(self.get_att(resource, attribute, node, path))
            if "." in inner and not inner.startswith("AWS::"):
                raise self._unknown(node, path, inner.split(".", 1)[0], "Fn::Sub variable")
            return str(self.ref(inner, node, path))

        return re.sub(r"\$\{([^}]*)\}", one, text)

    def _function(self, key: str, arg: Any, node: Any, path: str) -> Any:
        here = f"{path}.{key}"
        if key == "Ref":
            return self.ref(str(arg), node, path)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg or [])
            if len(parts) != 2:
                raise self._bad(node, path, f"Fn::GetAtt needs a resource and an attribute, got {arg!r}.")
            return self.get_att(str(parts[0]), str(self.value(parts[1], here)), node, path)
        if key == "Fn::Sub":
            if isinstance(arg, list) and len(arg) == 2:
                variables = {str(k): self.value(v, f"{here}[1].{k}") for k, v in (arg[1] or {}).items()}
                return self._sub(str(arg[0]), variables, node, path)
            return self._sub(str(arg), {}, node, path)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            items = self.value(arg[1], f"{here}[1]")
            if isinstance(items, list):
                return str(arg[0]).join(str(i) for i in items)
        if key == "Fn::Split" and isinstance(arg, list) and len(arg) == 2:
            text = self.value(arg[1], f"{here}[1]")
            if isinstance(text, str):
                return text.split(str(arg[0]))
        if key == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            index, items = self.value(arg[0], f"{here}[0]"), self.value(arg[1], f"{here}[1]")
            if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
                return items[int(index)]
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            decided = self.condition(str(arg[0]), node, path)
            if decided is None:
                self.unresolved.append(Unresolved(path, line_of(node), f"Fn::If {arg[0]} (the condition depends on "
                                                                        "what is known only at deploy: judged with "
                                                                        "its first value)"))
            return self.value(arg[1] if decided is not False else arg[2], f"{here}[{1 if decided is not False else 2}]")
        if key == "Fn::FindInMap" and isinstance(arg, list) and len(arg) >= 3:
            keys = [self.value(a, f"{here}[{i}]") for i, a in enumerate(arg[:3])]
            table = (self.template.data.get("Mappings") or {}).get(keys[0])
            if table is None and isinstance(keys[0], str) and "${" not in keys[0]:
                raise self._bad(node, path, f"Fn::FindInMap names the mapping '{keys[0]}', which the template "
                                            "does not define.")
            found = ((table or {}).get(keys[1]) or {}).get(keys[2]) if all(isinstance(k, str) for k in keys) else None
            if found is not None:
                return self.value(found, here)
        return self._placeholder(node, path, f"{key} (its value is known only at deploy)", key)
