"""`edgeverify discover`: write a target file from a live distribution (or the stack holding it).

Every derived value carries a comment saying where in the configuration it came from, and the text is
loaded with `load_target` before it is returned, so what is printed is always a valid target.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..errors import AwsError, EdgeverifyError
from ..rules import Violation
from ..rules.config import allowed_methods, api_behaviors, audit, origin_of
from ..rules.origin_direct import distribution_endpoints
from ..target import Aws, load_target
from .resources import cache_policies, certificate_names, get_distribution, read_stack, static_origin
from .session import client, region as chain_region

_REGION_IN_S3 = re.compile(r"\.s3[.-]([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com")


def _scalar(value: Any) -> str:
    """One YAML value on one line (quoted only when YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip()
    return text.removesuffix("...").strip()


def _line(indent: int, key: str, value: Any, comment: str) -> str:
    return f"{' ' * indent}{key}: {_scalar(value)}  # {' '.join(comment.split())}"


# Which value a finding is noted beside: the rule id's suffix -> the key whose line it follows.
_BESIDE = {"aliases": "domain", "alias_certificate": "domain", "tls_policy": "domain",
           "api_methods": "api", "api_cache_disabled": "api", "api_origin_request_policy": "api",
           "api_forwarding": "api", "error_responses_swallow_api": "spa", "s3_oac": "bucket",
           "static_cache_policy": "bucket"}


def _notes(violation: Violation, indent: int) -> list[str]:
    """A finding as YAML comment lines: the rule and what it expects, then each problem on its own line."""
    pad = " " * indent
    head = "ADVISORY" if violation.advisory else "FAIL"
    lines = [f"{pad}# {head} [{violation.rule.id}] expected {' '.join(violation.expected.split())}"]
    for problem in violation.actual.replace("\n", "; ").split("; "):
        problem = " ".join(problem.split()).removeprefix("- ")
        if problem:
            lines.append(f"{pad}#   {problem}")
    return lines


def _annotate(out: list[str], findings: list[Violation]) -> list[str]:
    """`out` with every finding's comment lines after the value it concerns (else after distribution_id)."""
    anchors: dict[str, int] = {}
    for i, line in enumerate(out):
        key = line.strip().split(":", 1)[0]
        if line and not line.lstrip().startswith("#") and key in ("domain", "prefix", "calls", "fallback",
                                                                   "bucket", "distribution_id"):
            name = {"prefix": "api", "calls": "api", "fallback": "spa"}.get(key, key)
            anchors.setdefault(name, i)
    after: dict[int, list[str]] = {}
    for violation in findings:
        place = _BESIDE.get(violation.rule.id.split(".", 1)[1], "distribution_id")
        index = anchors.get(place, anchors["distribution_id"])
        indent = len(out[index]) - len(out[index].lstrip())
        after.setdefault(index, []).extend(_notes(violation, indent))
    annotated = []
    for i, line in enumerate(out):
        annotated.append(line)
        annotated.extend(after.get(i, []))
    return annotated


def _api_prefix(patterns: list[str]) -> str:
    """The path prefix the API patterns share, cut at a '/': '/api/*' -> '/api/'."""
    heads = []
    for pattern in patterns:
        head = re.split(r"[*?]", "/" + pattern.lstrip("/"))[0]
        heads.append(head[: head.rfind("/") + 1])
    prefix = heads[0]
    for head in heads[1:]:
        while not head.startswith(prefix):
            prefix = prefix[: prefix.rstrip("/").rfind("/") + 1]
    return prefix if prefix != "/" else heads[0]


def render(dist_id: str, config: dict[str, Any], domain_name: str, found: str, *, stack: str | None = None,
           region: str | None = None, endpoint_url: str | None = None,
           bucket_hint: tuple[str, str] | None = None, cache_policies: dict[str, Any] | None = None,
           certificate_names: list[str] | None = None) -> str:
    """The target YAML for a DistributionConfig (pure: no AWS calls); `cache_policies` and `certificate_names`
    are what the caller could read of custom cache policies and the ACM certificate, for the audit notes."""
    aliases = [str(a) for a in (config.get("Aliases") or {}).get("Items") or []]
    names = [a for a in aliases if not a.startswith("*")]
    domain = names[0] if names else domain_name
    findings = audit(config, dist_id, domain, domain_name, cache_policies=cache_policies,
                     certificate_names=certificate_names)
    failing = sum(not f.advisory for f in findings)
    summary = (f"# The configuration audit found {failing} failing and {len(findings) - failing} advisory finding(s), "
               "noted beside the values they concern (`pytest -m config` re-checks them)." if findings else
               "# The configuration audit found nothing wrong in the distribution's own settings.")
    out = [f"# edgeverify target discovered from CloudFront distribution {dist_id} ({found}).",
           "# Each derived value says where it came from. Review them, then declare api.calls and static.pages.",
           summary, ""]

    if names:
        others = f" (all aliases: {', '.join(aliases)})" if len(aliases) > 1 else ""
        out.append(_line(0, "domain", domain, f"Aliases[{aliases.index(domain)}]{others}"))
    else:
        out.append(_line(0, "domain", domain, "the distribution's DomainName: Aliases has no plain host name"
                         + (f" (only {', '.join(aliases)})" if aliases else "")))

    root = str(config.get("DefaultRootObject") or "")
    out += ["", "static:", _line(2, "pages", ["/"], f"DefaultRootObject {root} answers /" if root else
                                 "no DefaultRootObject: / reaches the origin as-is (S3 answers 403 unless a "
                                 "function rewrites it)")]

    apis = api_behaviors(config)
    out += ["", "api:"]
    if apis:
        prefix = _api_prefix([n for n, _ in apis])
        routes = "; ".join(f"behavior {n} -> origin {o.get('Id')} ({o.get('DomainName')}{o.get('OriginPath') or ''})"
                           for n, b in apis for o in [origin_of(config, b)])
        out.append(_line(2, "prefix", prefix, routes))
        out += [f"  # AllowedMethods of {n}: {', '.join(allowed_methods(b))}" for n, b in apis]
        out.append(_line(2, "calls", [], "declare the calls your app makes (method, path, expect); each becomes "
                                         "a check and is cross-checked against the AllowedMethods above"))
    else:
        out.append(_line(2, "calls", [], "no behavior routes to an execute-api origin"))

    swallow = [r for r in (config.get("CustomErrorResponses") or {}).get("Items") or []
               if int(r.get("ErrorCode") or 0) in (403, 404) and r.get("ResponsePagePath")]
    spa = ", ".join(f"{r['ErrorCode']} -> {r['ResponsePagePath']} ({r.get('ResponseCode') or 'same code'})"
                    for r in swallow)
    default = config.get("DefaultCacheBehavior") or {}
    rewriters = [a.get("FunctionARN") or a.get("LambdaFunctionARN") or "?"
                 for key in ("FunctionAssociations", "LambdaFunctionAssociations")
                 for a in (default.get(key) or {}).get("Items") or [] if a.get("EventType") in ("viewer-request", "origin-request")]
    out += ["", "spa:", _line(2, "fallback", bool(swallow or rewriters),
                              f"CustomErrorResponses {spa}" if swallow else
                              f"the default behavior's request function {rewriters[0].rsplit(':', 1)[-1]} (assumed to "
                              "rewrite deep links to /index.html)" if rewriters else
                              "no 403/404 custom error response and no viewer-request function on the default behavior")]

    out += ["", "aws:", _line(2, "distribution_id", dist_id, found)]
    if stack:
        out.append(_line(2, "stack", stack, "given with --stack"))
    s3 = static_origin(config)
    if s3:
        bucket, origin_path, _ = s3
        out.append(_line(2, "bucket", bucket, "the S3 origin of the default behavior"))
        out.append(_line(2, "bucket_prefix", origin_path.strip("/") + "/" if origin_path.strip("/") else "",
                         f"its OriginPath {origin_path}" if origin_path else "its OriginPath is empty"))
    elif bucket_hint:
        out.append(_line(2, "bucket", bucket_hint[0], f"{bucket_hint[1]} (no S3 origin in the distribution)"))
    if region:
        out.append(_line(2, "region", region, "given with --region, else the boto3 chain's region"))
    elif s3 and (match := _REGION_IN_S3.search(s3[2].lower())):
        out.append(_line(2, "region", match.group(1), "the region in the S3 origin's domain name"))
    if endpoint_url:
        out.append(_line(2, "endpoint_url", endpoint_url, "given with --endpoint-url"))
    endpoints = distribution_endpoints(config)
    if endpoints:  # security.origin_direct asks them directly: each must refuse
        out += ["", "origins:"] + [_line(2, kind, url, f"origin {origin_id}, asked directly (around CloudFront): it "
                                                       "must refuse") for kind, url, origin_id in endpoints]
    return "\n".join(_annotate(out, findings)) + "\n"


def discover(distribution_id: str | None = None, stack: str | None = None, *, region: str | None = None,
             endpoint_url: str | None = None, cf: Any | None = None, cfn: Any | None = None) -> str:
    """The target YAML for a distribution, given by id or as the one distribution in a stack."""
    if bool(distribution_id) == bool(stack):
        raise AwsError("give exactly one of --distribution-id and --stack.")
    aws = Aws(distribution_id=distribution_id, stack=stack, region=region, endpoint_url=endpoint_url)
    cf = cf or client("cloudfront", aws)
    bucket_hint = None
    if stack:
        held = read_stack(cfn or client("cloudformation", aws), cf, stack)
        distribution_id, where = held.only_distribution()
        bucket_hint = held.buckets[0] if len(held.buckets) == 1 else None
        region = region or chain_region(aws)
    else:
        where = "given with --distribution-id"
    assert distribution_id is not None
    dist = get_distribution(cf, distribution_id)
    text = render(dist.id, dist.config, dist.domain_name, where, stack=stack, region=region,
                  endpoint_url=endpoint_url, bucket_hint=bucket_hint, cache_policies=cache_policies(cf, dist.config),
                  certificate_names=_certificate_names(aws, dist.config))
    _validate(text)
    return text


def _certificate_names(aws: Aws, config: dict[str, Any]) -> list[str] | None:
    arn = (config.get("ViewerCertificate") or {}).get("ACMCertificateArn") or ""
    try:
        return certificate_names(aws, arn) if arn else None
    except AwsError:
        return None  # unreadable: the alias-certificate note is left out


def _validate(text: str) -> None:
    """Load the text as a target: discover never prints a file that `--target` would reject."""
    with tempfile.TemporaryDirectory(prefix="edgeverify-discover-") as tmp:
        path = Path(tmp) / "discovered.yaml"
        path.write_text(text, encoding="utf-8")
        load_target(path)


def main(argv: list[str] | None = None) -> int:
    """`edgeverify discover (--distribution-id ID | --stack NAME) [-o FILE]`: 0, or 4 with a one-line error."""
    parser = argparse.ArgumentParser(prog="edgeverify discover",
                                     description="Print a target file built from a live CloudFront distribution.")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--distribution-id", metavar="ID", help="the distribution id, e.g. E1ABCDEF2GHIJK")
    which.add_argument("--stack", metavar="NAME", help="a CloudFormation stack holding one distribution")
    parser.add_argument("--region", help="region of the stack (default: the boto3 chain, else us-east-1)")
    parser.add_argument("--endpoint-url", help="a non-AWS endpoint, e.g. moto (default: AWS_ENDPOINT_URL)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the target here instead of stdout")
    args = parser.parse_args(argv)
    try:
        text = discover(args.distribution_id, args.stack, region=args.region, endpoint_url=args.endpoint_url)
    except EdgeverifyError as exc:
        print(f"edgeverify discover: {exc}", file=sys.stderr)
        return 4
    from ..target_schema import SCHEMA_LINE, write_schema_beside

    text = f"{SCHEMA_LINE}\n{text}"  # editors complete and check the keys (edgeverify schema target)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        write_schema_beside(Path(args.output))
        print(f"edgeverify discover: wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
