"""The config rules on a template, before the deploy: the same rule functions, the same ids, the same messages as the
config suite gives on the deployed distribution; each finding located in the template (file, line, property path),
with the change in the template's own syntax, and the outside check predicted to show it after the deploy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..model import ExitCode, Outcome, RunResult, Verdict, ending_of, outcome
from ..rules import RULES, Violation
from ..rules import config as rules
from . import convert
from .source import Template, read

# The checks that will show each configuration fault from the outside once deployed (the prediction), besides the
# config suite itself. api_cache_disabled predicts cache.api_never_hit rather than cache.api_not_cached: a caching
# behavior shows as edge Hits on repeated API GETs, while Cache-Control on API answers is the API's own doing.
PREDICTS: dict[str, tuple[str, ...]] = {
    "config.viewer_protocol": ("https.redirect_status",),
    "config.compress": ("static.compressed",),
    "config.api_methods": ("api.call", "cors.preflight"),
    "config.api_cache_disabled": ("cache.api_never_hit",),
    "config.api_origin_request_policy": ("api.call",),
    "config.api_forwarding": ("cache.api_never_hit", "api.call"),
    "config.static_cache_policy": ("cache.asset_edge_hit",),
    "config.s3_oac": (),  # a public bucket answers the same through the CDN: only the config suite shows it
    "config.tls_policy": ("https.tls_legacy",),
    "config.aliases": ("static.served",),
    "config.alias_certificate": ("https.cert_valid",),
    "config.shadowed_behaviors": (),  # dead settings: what they were meant to change never happens
    "config.error_responses_swallow_api": ("api.unknown_route", "spa.api_errors_kept"),
    "config.response_headers_policy": ("security.csp_present", "security.framing", "security.nosniff"),
    "config.error_caching_ttl": (),  # how long a deploy's early 403/404 lasts: only the config suite shows it
}
JUDGED = tuple(PREDICTS)  # every config rule judged on a template (bucket parity needs the bucket and the edge)

# Where each rule's fault is written: in a behavior ('behavior'), an origin ('origin') or the DistributionConfig
# ('distribution'), and the properties to point at, the first one written wins.
WHERE: dict[str, tuple[str, tuple[str, ...]]] = {
    "config.viewer_protocol": ("behavior", ("ViewerProtocolPolicy",)),
    "config.compress": ("behavior", ("Compress",)),
    "config.api_methods": ("behavior", ("AllowedMethods",)),
    "config.api_cache_disabled": ("behavior", ("CachePolicyId", "MinTTL", "DefaultTTL", "MaxTTL", "ForwardedValues")),
    "config.api_origin_request_policy": ("behavior", ("OriginRequestPolicyId", "ForwardedValues")),
    "config.api_forwarding": ("behavior", ("ForwardedValues", "CachePolicyId")),
    "config.static_cache_policy": ("behavior", ("CachePolicyId", "DefaultTTL", "MaxTTL", "ForwardedValues")),
    "config.shadowed_behaviors": ("behavior", ("PathPattern",)),
    "config.s3_oac": ("origin", ("OriginAccessControlId", "S3OriginConfig", "DomainName")),
    "config.tls_policy": ("distribution", ("ViewerCertificate",)),
    "config.aliases": ("distribution", ("Aliases", "CNAMEs")),
    "config.alias_certificate": ("distribution", ("ViewerCertificate", "Aliases")),
    "config.error_responses_swallow_api": ("distribution", ("CustomErrorResponses",)),
    "config.response_headers_policy": ("behavior", ("ResponseHeadersPolicyId",)),
    "config.error_caching_ttl": ("distribution", ("CustomErrorResponses",)),
}
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
LEGACY_KEYS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")
# The same change in CDK source, for `cdk synth` output (the template is generated: the fix goes in the app).
CDK_HINTS = {
    "config.viewer_protocol": "viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS",
    "config.compress": "compress: true on the behavior's BehaviorOptions",
    "config.api_methods": "allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL",
    "config.api_cache_disabled": "cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED",
    "config.api_origin_request_policy":
        "originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER",
    "config.api_forwarding": "cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED, originRequestPolicy: "
                             "cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER",
    "config.static_cache_policy": "cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED",
    "config.s3_oac": "origin: origins.S3BucketOrigin.withOriginAccessControl(bucket)",
    "config.tls_policy": "certificate: <an ACM certificate in us-east-1>, minimumProtocolVersion: "
                         "cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021",
    "config.aliases": "domainNames: [<the domain>]",
    "config.alias_certificate": "certificate: an acm.Certificate in us-east-1 naming every one of domainNames",
    "config.shadowed_behaviors": "add the specific path's additionalBehaviors entry before the broader one",
    "config.error_responses_swallow_api": "remove errorResponses; route deep links with a cloudfront.Function "
                                          "(viewer-request) on the default behavior",
    "config.response_headers_policy": "responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS "
                                      "(or a custom policy with a contentSecurityPolicy) on every behavior",
    "config.error_caching_ttl": "ttl: Duration.seconds(10) on each 403/404 errorResponses entry",
}
_BEHAVIOR = re.compile(r"behavior '([^']*)'")
_ORIGIN = re.compile(r"origin '([^']*)'")


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int | None
    path: str  # property path in the template
    written: bool  # False: the property is omitted and CloudFront's default applies

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}" + ("" if self.written else " (omitted: CloudFront's default applies)")


@dataclass(slots=True)
class TemplateFinding:
    violation: Violation
    distribution: str  # logical id
    locations: list[Location]
    change: str  # the suggested change, in the template's syntax
    predicts: tuple[str, ...]  # outside checks that will show it after the deploy
    cdk: str | None = None

    @property
    def rule(self) -> str:
        return self.violation.rule.id

    def render(self) -> str:
        v = self.violation
        lines = [f"{'ADVISORY' if v.advisory else 'FAILED'} [{v.rule.id}] {v.rule.summary}",
                 f"  Distribution: {self.distribution}"]
        lines += [f"  At:       {loc}" for loc in self.locations]
        lines += [f"  Expected: {v.expected}", f"  Actual:   {v.actual}"]
        if v.cause:
            lines.append(f"  Likely cause: {v.cause}")
        lines.append(f"  Why it matters: {v.rule.why}")
        lines.append("  Change:   " + self.change.replace("\n", "\n            "))
        if self.cdk:
            lines.append(f"  In the CDK app: {self.cdk}")
        lines.append(f"  After the deploy: {prediction_text(self)}")
        return "\n".join(lines)


def prediction_text(finding: TemplateFinding) -> str:
    outside = ", ".join(finding.predicts)
    return (f"{outside} will show it from the outside; {finding.rule} in the config suite" if outside else
            f"{finding.rule} in the config suite shows it (no outside check sees it)")


@dataclass(slots=True)
class DistributionAudit:
    distribution: convert.Distribution
    outcomes: dict[str, Outcome]  # rule id -> outcome on this template
    findings: list[TemplateFinding]
    not_judged: dict[str, str] = field(default_factory=dict)  # rule id -> why


@dataclass(slots=True)
class TemplateAudit:
    template: Template
    audits: list[DistributionAudit]

    @property
    def findings(self) -> list[TemplateFinding]:
        return [f for a in self.audits for f in a.findings]

    @property
    def exit_status(self) -> ExitCode:
        """1 when a rule failed on the template (model.outcome decides each rule's outcome), else 0."""
        bad = any(o.bad for a in self.audits for o in a.outcomes.values())
        return ExitCode.FAILED if bad else ExitCode.OK


# ---- locating a finding ----------------------------------------------------------------------------------------


def _place_of(d: convert.Distribution, kind: str, name: str) -> convert.Place | None:
    if kind == "behavior":
        return d.behaviors.get(name)
    if kind == "origin":
        return d.origins.get(name)
    return d.root


def locate(template: Template, d: convert.Distribution, violation: Violation) -> list[Location]:
    kind, keys = WHERE[violation.rule.id]
    if kind == "distribution":
        names = [""]
    else:
        names = list(dict.fromkeys((_BEHAVIOR if kind == "behavior" else _ORIGIN).findall(violation.actual)))
    if violation.rule.id == "config.s3_oac" and "website endpoint" in violation.actual:
        keys = ("DomainName",)
    found = []
    for name in names:
        place = _place_of(d, kind, name)
        if place is None:
            continue
        key = next((k for k in keys if isinstance(place.node, dict) and k in place.node), None)
        if key == "ViewerCertificate" and violation.rule.id == "config.tls_policy":
            cert = place.node.get("ViewerCertificate")
            if isinstance(cert, dict) and "MinimumProtocolVersion" in cert:
                found.append(Location(template.path, convert.Place("", cert).line("MinimumProtocolVersion"),
                                      f"{place.path}.ViewerCertificate.MinimumProtocolVersion", True))
                continue
        found.append(Location(template.path, place.line(key), f"{place.path}.{key or keys[0]}", key is not None))
    return found or [Location(template.path, d.root.line(), d.root.path, True)]


# ---- the change, in the template's syntax -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fn:
    """An intrinsic function, written as the template writes them."""

    yaml: str  # short form: !GetAtt Bucket.RegionalDomainName
    json: Any  # {"Fn::GetAtt": ["Bucket", "RegionalDomainName"]}


def _yaml(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out += [f"{pad}{k}:"] + _yaml(v, indent + 2)
            else:
                out.append(f"{pad}{k}: {_yaml_scalar(v)}")
        return out
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return [f"{pad}[{', '.join(_yaml_scalar(v) for v in value)}]"]
        out = []
        for v in value:
            inner = _yaml(v, indent + 2)
            out.append(f"{pad}- {inner[0].lstrip()}")
            out += inner[1:]
        return out
    return [pad + _yaml_scalar(value)]


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, Fn):
        return value.yaml
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    text = str(value)
    note = rules.MANAGED_POLICIES.get(text)
    if note:
        return f"{text}  # Managed-{note}"
    return text if re.fullmatch(r"[A-Za-z0-9_./:*@-]+", text) and not text.startswith("*") else json.dumps(text)


def _json(value: Any) -> Any:
    if isinstance(value, Fn):
        return value.json
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def written(template: Template, properties: dict[str, Any]) -> str:
    """Properties as the template writes them: YAML (short-form intrinsics) or JSON members."""
    if template.syntax == "json":
        text = json.dumps(_json(properties), indent=2)
        body = text[1:-1].strip("\n")
        lines = [line[2:] if line.startswith("  ") else line for line in body.splitlines()]
        out = "\n".join(lines)
        for pid, name in rules.MANAGED_POLICIES.items():
            out = out.replace(f'"{pid}"', f'"{pid}" (Managed-{name})')  # shown, not to paste: JSON has no comments
        return out
    return "\n".join(_yaml(properties))


def _remove(place: convert.Place | None, keys: Iterable[str]) -> str:
    node = place.node if place is not None and isinstance(place.node, dict) else {}
    present = [k for k in keys if k in node]
    return f"\nand remove {', '.join(present)}" if present else ""


def _bucket_for(template: Template, d: convert.Distribution, origin_id: str) -> str:
    for ref in d.origin_refs.get(origin_id, []):
        if (template.resources.get(ref) or {}).get("Type") == "AWS::S3::Bucket":
            return ref
    return "SiteBucket"


def _of_type(template: Template, type_: str) -> str | None:
    return next((k for k, r in template.resources.items() if (r or {}).get("Type") == type_), None)


def change(template: Template, d: convert.Distribution, violation: Violation, domain: str | None) -> str:
    rule = violation.rule.id
    names = list(dict.fromkeys(_BEHAVIOR.findall(violation.actual)))
    place = d.behaviors.get(names[0]) if names else None
    cfg = d.config
    if rule == "config.viewer_protocol":
        return written(template, {"ViewerProtocolPolicy": "redirect-to-https"})
    if rule == "config.compress":
        return written(template, {"Compress": True}) + f"\non {', '.join(names)}"
    if rule == "config.api_methods":
        return written(template, {"AllowedMethods": ALL_METHODS, "CachedMethods": ["GET", "HEAD"]})
    if rule in ("config.api_cache_disabled", "config.api_origin_request_policy", "config.api_forwarding"):
        return written(template, {"CachePolicyId": rules.CACHING_DISABLED,
                                  "OriginRequestPolicyId": rules.ALL_VIEWER_EXCEPT_HOST}) + _remove(place, LEGACY_KEYS)
    if rule == "config.static_cache_policy":
        return written(template, {"CachePolicyId": rules.CACHING_OPTIMIZED}) + _remove(place, LEGACY_KEYS)
    if rule == "config.s3_oac":
        origin_id = next(iter(_ORIGIN.findall(violation.actual)), "")
        bucket = _bucket_for(template, d, origin_id)
        oac = _of_type(template, "AWS::CloudFront::OriginAccessControl")
        out = written(template, {
            "DomainName": Fn(f"!GetAtt {bucket}.RegionalDomainName", {"Fn::GetAtt": [bucket, "RegionalDomainName"]}),
            "OriginAccessControlId": Fn(f"!GetAtt {oac or 'OriginAccessControl'}.Id",
                                        {"Fn::GetAtt": [oac or "OriginAccessControl", "Id"]}),
            "S3OriginConfig": {"OriginAccessIdentity": ""}})
        if not oac:
            out += ("\nwith an AWS::CloudFront::OriginAccessControl resource OriginAccessControl (OriginAccessControlConfig:"
                    " Name, OriginAccessControlOriginType s3, SigningBehavior always, SigningProtocol sigv4)")
        return out + "\nand a bucket policy allowing s3:GetObject to cloudfront.amazonaws.com with AWS:SourceArn " \
                     "this distribution"
    if rule in ("config.tls_policy", "config.alias_certificate"):
        arn = (cfg.get("ViewerCertificate") or {}).get("ACMCertificateArn")
        source = dict((d.root.node or {}).get("ViewerCertificate") or {}) if isinstance(d.root.node, dict) else {}
        cert_res = _of_type(template, "AWS::CertificateManager::Certificate")
        value: Any = source.get("AcmCertificateArn") if arn else None
        if value is None or rule == "config.alias_certificate":
            value = Fn(f"!Ref {cert_res or 'Certificate'}", {"Ref": cert_res or "Certificate"})
        out = written(template, {"ViewerCertificate": {"AcmCertificateArn": _fn_of(value), "SslSupportMethod":
                                                       "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}})
        aliases = ", ".join(_aliases(cfg)) or "the domain"
        return out + f"\nwith {cert_res or 'an AWS::CertificateManager::Certificate'} in us-east-1 naming {aliases}"
    if rule == "config.aliases":
        wanted = _aliases(cfg) + [domain or "<the domain>"]
        return written(template, {"Aliases": wanted}) + "\n(and the domain in the certificate's names)"
    if rule == "config.shadowed_behaviors":
        pairs = re.findall(r"behavior '([^']*)' \(position \d+\) can never match: the earlier '([^']*)'",
                           violation.actual)
        moves = "; ".join(f"move the CacheBehaviors item with PathPattern {p} above {e}" for p, e in pairs)
        return moves + " (CloudFront uses the first pattern that matches), or delete it"
    if rule == "config.error_responses_swallow_api":
        return ("remove the 403/404 items of CustomErrorResponses, and route deep links with a viewer-request "
                "CloudFront Function on the default behavior:\n" + written(template, {"DefaultCacheBehavior": {
                    "FunctionAssociations": [{"EventType": "viewer-request", "FunctionARN": Fn(
                        "!GetAtt SpaRouting.FunctionARN", {"Fn::GetAtt": ["SpaRouting", "FunctionARN"]})}]}}))
    if rule == "config.response_headers_policy":
        return written(template, {"ResponseHeadersPolicyId": rules.SECURITY_HEADERS_POLICY}) + \
            f"\non {', '.join(names)} (SecurityHeadersPolicy; a custom policy adds a ContentSecurityPolicy too)"
    if rule == "config.error_caching_ttl":
        return "ErrorCachingMinTTL: 10 (or less) on each 403/404 item of CustomErrorResponses"
    return violation.rule.why


def _aliases(config: dict[str, Any]) -> list[str]:
    return [str(a) for a in (config.get("Aliases") or {}).get("Items") or []]


def _fn_of(value: Any) -> Any:
    """A template value shown back as written (a decoded intrinsic in its short form)."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        short = "!" + str(key).removeprefix("Fn::")
        shown = ".".join(arg) if key == "Fn::GetAtt" and isinstance(arg, list) else arg
        return Fn(f"{short} {shown}", {str(key): arg})
    return value


# ---- the audit ---------------------------------------------------------------------------------------------------


def certificate_names(template: Template, config: dict[str, Any]) -> list[str] | None:
    """The names of the template's own ACM certificate the distribution uses (DomainName and SANs), else None."""
    arn = str((config.get("ViewerCertificate") or {}).get("ACMCertificateArn") or "")
    match = re.fullmatch(r"\$\{([^}.]+)\}", arn)
    resource = template.resources.get(match.group(1)) if match else None
    if not resource or resource.get("Type") != "AWS::CertificateManager::Certificate":
        return None
    props = resource.get("Properties") or {}
    names = [props.get("DomainName"), *(props.get("SubjectAlternativeNames") or [])]
    return [str(n) for n in names if isinstance(n, str)]


def audit_distribution(template: Template, d: convert.Distribution, domain: str | None,
                       calls: Iterable[tuple[str, str]] = ()) -> DistributionAudit:
    calls = list(calls)
    found = {v.rule.id: v for v in rules.audit(d.config, d.logical_id, domain or "", calls=calls,
                                               cache_policies=d.cache_policies,
                                               certificate_names=certificate_names(template, d.config))}

    result = DistributionAudit(d, {}, [])
    if certificate_names(template, d.config) is None and not rules.uses_default_certificate(d.config) and _aliases(d.config) \
            and "config.alias_certificate" not in found:
        arn = (d.config.get("ViewerCertificate") or {}).get("ACMCertificateArn") or "an IAM certificate"
        result.not_judged["config.alias_certificate"] = (f"the certificate ({arn}) is not a resource of the template: "
                                                         "its names are known only to ACM (the config suite reads them)")
    if not domain:
        found.pop("config.aliases", None)
        result.not_judged["config.aliases"] = "no domain given (--domain, or a target's domain)"
    for rule_id in JUDGED:
        if rule_id in result.not_judged:
            continue
        violation = found.get(rule_id)
        result.outcomes[rule_id] = outcome(Verdict(ending_of(violation)), advisory=bool(violation and violation.advisory),
                                           strict_advisories=False, acceptance=None)
        if violation is not None:
            result.findings.append(TemplateFinding(
                violation, d.logical_id, locate(template, d, violation), change(template, d, violation, domain),
                PREDICTS[rule_id], CDK_HINTS.get(rule_id) if template.kind == "cdk" else None))
    return result


def audit_template(path: str, domain: str | None = None, calls: Iterable[tuple[str, str]] = (),
                   region: str = "us-east-1", lint: bool = True) -> TemplateAudit:
    """Read, validate and judge one template: TemplateError when it is bad input."""
    template = read(path, lint=lint)
    calls = list(calls)
    return TemplateAudit(template, [audit_distribution(template, d, domain, calls)
                                    for d in convert.distributions(template, region)])


# ---- after the deploy: were the predictions right? ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confirmation:
    finding: str  # the template finding's rule id
    check: str  # the predicted check's rule id
    status: str  # confirmed | not confirmed | not judged | not run


def confirm(findings: Iterable[TemplateFinding], run: RunResult) -> list[Confirmation]:
    """For each prediction (and the config rule itself), what the deployed run found: 'confirmed' when that check
    failed (or was advisory/accepted), 'not confirmed' when it passed, 'not judged' when skipped or unjudged,
    'not run' when the run has no such check."""
    by_rule: dict[str, list[Outcome]] = {}
    for c in run.checks:
        if c.rule:
            by_rule.setdefault(c.rule, []).append(c.outcome)
    found = []
    for f in findings:
        for check in (f.rule, *f.predicts):
            outcomes = by_rule.get(check, [])
            if any(o in (Outcome.FAILED, Outcome.ADVISORY, Outcome.ACCEPTED) for o in outcomes):
                status = "confirmed"
            elif outcomes and all(o == Outcome.PASSED for o in outcomes):
                status = "not confirmed"
            elif outcomes:
                status = "not judged"
            else:
                status = "not run"
            found.append(Confirmation(f.rule, check, status))
    return found


def run_predictions(template: str, domain: str, calls: Iterable[tuple[str, str]], run: RunResult
                    ) -> tuple[dict[str, str], ...]:
    """The template's findings' predictions, confirmed or not by a run of the deployed domain (its report says).
    cfn-lint is not run here (`edgeverify audit` validates); bad input raises TemplateError/EdgeverifyError."""
    audit = audit_template(template, domain, calls, lint=False)
    return tuple({"finding": c.finding, "check": c.check, "status": c.status} for c in confirm(audit.findings, run))


def predicted_rules_exist() -> list[str]:
    """Predicted check ids that are not registered rules (tests keep this empty)."""
    from ..rules import load_all

    load_all()
    return [r for checks in PREDICTS.values() for r in checks if r not in RULES]
