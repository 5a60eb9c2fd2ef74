"""Each config rule on a template: passes on the correct template (YAML and cdk synth JSON) and fails on one broken
the way the rule exists to catch, pointing at the template's line and property path with the change to make."""

from __future__ import annotations

import pytest

from edgeverify.rules import config as rules
from edgeverify.template import audit, convert, source

from template_fixtures import TEMPLATES

DOMAIN = "www.example.test"
CALLS = [("GET", "/api/health"), ("POST", "/api/submit")]
APISUB = ("        ViewerCertificate:\n", "          - PathPattern: /api/submit\n            TargetOriginId: api\n"
          "            ViewerProtocolPolicy: https-only\n            Compress: true\n"
          "            CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad\n        ViewerCertificate:\n")


@pytest.mark.parametrize("name", ["good.yaml", "cdk-synth.template.json"])
def test_correct_template_passes_every_rule(name):
    result = audit.audit_template(str(TEMPLATES / name), DOMAIN, CALLS)
    (d,) = result.audits
    assert rules.api_behaviors(d.distribution.config) and rules.static_behaviors(d.distribution.config)  # not vacuous
    assert set(d.outcomes) == set(audit.JUDGED) and {o.value for o in d.outcomes.values()} == {"passed"}
    assert result.findings == [] and int(result.exit_status) == 0
    assert not d.distribution.resolver.unresolved


# (id, fixture, [(old, new)...], rule, part of the finding, where it must point: None = the first replaced line,
#  else text whose first line in the broken file it is; written: the property is in the template)
BAD = [
    ("viewer_protocol", "good.yaml", [("ViewerProtocolPolicy: https-only", "ViewerProtocolPolicy: allow-all")],
     "config.viewer_protocol", "behavior '/api/*' ViewerProtocolPolicy allow-all", None, True),
    ("compress_false", "good.yaml", [("Compress: true\n          CachePolicyId", "Compress: false\n          CachePolicyId")],
     "config.compress", "behavior 'Default (*)' Compress false", None, True),
    ("compress_omitted", "good.yaml", [("          Compress: true\n          CachePolicyId", "          CachePolicyId")],
     "config.compress", "behavior 'Default (*)' Compress false", "DefaultCacheBehavior:", False),
    ("api_methods", "good.yaml", [("[GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE]", "[GET, HEAD, OPTIONS]")],
     "config.api_methods", "POST /api/submit is routed to behavior '/api/*', whose AllowedMethods are GET, HEAD, "
     "OPTIONS", None, True),
    ("api_cache_disabled", "good.yaml", [("CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                                          "CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6")],
     "config.api_cache_disabled", f"behavior '/api/*' cache policy CachingOptimized ({rules.CACHING_OPTIMIZED})",
     None, True),
    ("api_cache_custom_policy", "good.yaml", [
        ("CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "CachePolicyId: !Ref ApiCachePolicy"),
        ("  Distribution:\n", "  ApiCachePolicy:\n    Type: AWS::CloudFront::CachePolicy\n    Properties:\n"
         "      CachePolicyConfig:\n        Name: api-cache\n        MinTTL: 1\n        DefaultTTL: 60\n"
         "        MaxTTL: 300\n        ParametersInCacheKeyAndForwardedToOrigin:\n"
         "          EnableAcceptEncodingGzip: true\n          CookiesConfig:\n            CookieBehavior: none\n"
         "          HeadersConfig:\n            HeaderBehavior: none\n          QueryStringsConfig:\n"
         "            QueryStringBehavior: none\n  Distribution:\n")],
     "config.api_cache_disabled", "behavior '/api/*' cache policy custom policy ${ApiCachePolicy} with TTLs "
     "min/default/max 1/60/300", "            CachePolicyId: !Ref ApiCachePolicy", True),
    ("api_origin_request_policy", "good.yaml", [("OriginRequestPolicyId: b689b0a8-53d0-40ab-baf2-68738e2966ac",
                                                 "OriginRequestPolicyId: 216adef6-5c7f-47e4-b989-5492eafa07d3")],
     "config.api_origin_request_policy", "behavior '/api/*' origin request policy AllViewer", None, True),
    ("api_forwarding", "good.yaml", [
        ("            CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad\n"
         "            OriginRequestPolicyId: b689b0a8-53d0-40ab-baf2-68738e2966ac\n",
         "            ForwardedValues:\n              QueryString: true\n              Cookies:\n"
         "                Forward: all\n")],
     "config.api_forwarding", "behavior '/api/*' puts cookies (all) in the cache key (legacy ForwardedValues) while "
     "caching with TTLs min/default/max 0/86400/31536000", None, True),
    ("static_cache_policy", "good.yaml", [("CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6",
                                           "CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad")],
     "config.static_cache_policy", "behavior 'Default (*)' cache policy CachingDisabled", None, True),
    ("s3_no_oac", "good.yaml", [("            OriginAccessControlId: !GetAtt SiteOac.Id\n", "")],
     "config.s3_oac", "origin 'site' (site-bucket) has no OriginAccessControlId", "            S3OriginConfig:", True),
    ("s3_website", "good.yaml", [
        ("DomainName: !GetAtt SiteBucket.RegionalDomainName\n            OriginAccessControlId: !GetAtt SiteOac.Id\n"
         "            S3OriginConfig:\n              OriginAccessIdentity: \"\"\n",
         "DomainName: !Select [2, !Split [\"/\", !GetAtt SiteBucket.WebsiteURL]]\n            CustomOriginConfig:\n"
         "              OriginProtocolPolicy: http-only\n")],
     "config.s3_oac", "origin 'site' is the public website endpoint site-bucket.s3-website-us-east-1.amazonaws.com",
     None, True),
    ("tls_policy", "good.yaml", [("MinimumProtocolVersion: TLSv1.2_2021", "MinimumProtocolVersion: TLSv1.2_2019")],
     "config.tls_policy", "MinimumProtocolVersion TLSv1.2_2019", None, True),
    ("tls_default_certificate", "good.yaml", [
        ("          AcmCertificateArn: !Ref Certificate\n          SslSupportMethod: sni-only\n"
         "          MinimumProtocolVersion: TLSv1.2_2021\n", "          CloudFrontDefaultCertificate: true\n")],
     "config.tls_policy", "the default *.cloudfront.net certificate", "        ViewerCertificate:", True),
    ("aliases", "good.yaml", [("          - www.example.test\n          - example.test\n", "          - example.test\n")],
     "config.aliases", "Aliases: example.test", "        Aliases:", True),
    ("alias_certificate", "good.yaml", [("        - example.test\n      ValidationMethod",
                                         "        - other.example.test\n      ValidationMethod")],
     "config.alias_certificate", "alias example.test is not named by the certificate (names: www.example.test, "
     "other.example.test)", "        ViewerCertificate:", True),
    ("shadowed_behaviors", "good.yaml", [APISUB], "config.shadowed_behaviors",
     "behavior '/api/submit' (position 2) can never match: the earlier '/api/*' covers every path it matches",
     "          - PathPattern: /api/submit", True),
    ("error_responses", "good.yaml", [("        ViewerCertificate:\n", "        CustomErrorResponses:\n"
                                       "          - ErrorCode: 403\n            ResponseCode: 200\n"
                                       "            ResponsePagePath: /index.html\n        ViewerCertificate:\n")],
     "config.error_responses_swallow_api", "CustomErrorResponses 403 -> /index.html (200) also apply to API behavior "
     "'/api/*'", None, True),
    # cdk synth output: CloudFront's construct writes allow-all unless told otherwise (aws-cdk integ snapshots)
    ("cdk_viewer_protocol", "cdk-synth.template.json", [
        ('"TargetOriginId": "sitestackDistributionOrigin12695E2FC",\n      "ViewerProtocolPolicy": "redirect-to-https"',
         '"TargetOriginId": "sitestackDistributionOrigin12695E2FC",\n      "ViewerProtocolPolicy": "allow-all"')],
     "config.viewer_protocol", "behavior 'Default (*)' ViewerProtocolPolicy allow-all",
     '      "ViewerProtocolPolicy": "allow-all"', True),
    ("cdk_api_cache", "cdk-synth.template.json", [('"CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"',
                                                   '"CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"')],
     "config.api_cache_disabled", "behavior '/api/*' cache policy CachingOptimized", None, True),
    ("cdk_methods", "cdk-synth.template.json", [('"OPTIONS",\n', '')], "config.api_methods",
     "behavior '/api/*' AllowedMethods GET, HEAD, PUT, PATCH, POST, DELETE: no OPTIONS", '      "AllowedMethods": [',
     True),
]


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("fixture, edits, rule, actual, at, written", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_broken_template_fails_its_rule(tmp_path, fixture, edits, rule, actual, at, written):
    text = (TEMPLATES / fixture).read_text(encoding="utf-8")
    replaced_at = text[:text.index(edits[0][0])].count("\n") + 1  # where the first edit starts
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / fixture
    path.write_text(text, encoding="utf-8")
    result = audit.audit_template(str(path), DOMAIN, CALLS)
    found = {f.rule: f for f in result.findings}
    assert rule in found, sorted(found)
    finding = found[rule]
    assert actual in finding.violation.actual, finding.violation.actual
    expected_line = replaced_at if at is None else _line_of(text, at)
    assert [loc.line for loc in finding.locations] == [expected_line], (finding.locations, expected_line)
    loc = finding.locations[0]
    assert loc.file == str(path) and loc.path.startswith(f"Resources.{finding.distribution}.Properties.")
    assert loc.written is written
    assert finding.predicts == audit.PREDICTS[rule] and int(result.exit_status) == 1
    rendered = finding.render()
    assert f"At:       {path}:{expected_line} {loc.path}" in rendered and "Change:" in rendered
    assert "After the deploy:" in rendered and "Traceback" not in rendered
    if fixture.endswith(".json"):  # the change in JSON, and where it goes in the CDK app
        assert finding.change.lstrip().startswith('"') and finding.cdk


def test_changes_are_written_in_the_templates_syntax(broken):
    yaml_path = broken("good.yaml", "          Compress: true\n          CachePolicyId", "          CachePolicyId")
    (finding,) = audit.audit_template(str(yaml_path), DOMAIN, CALLS).findings
    assert finding.change.startswith("Compress: true")
    json_path = broken("cdk-synth.template.json", '"Compress": true,\n      "ResponseHeadersPolicyId"',
                       '"ResponseHeadersPolicyId"')
    (finding,) = audit.audit_template(str(json_path), DOMAIN, CALLS).findings
    assert finding.change.startswith('"Compress": true') and "compress: true" in (finding.cdk or "")
    applied = broken("good.yaml", "Compress: true\n          CachePolicyId: 658327ea",
                     finding.change.split("\n")[0].replace('"', "") + "\n          CachePolicyId: 658327ea",
                     filename="applied.yaml")
    assert audit.audit_template(str(applied), DOMAIN, CALLS).findings == []


def test_a_managed_policy_written_by_name_is_resolved_and_said(broken):
    path = broken("good.yaml", "CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                  "CachePolicyId: Managed-CachingDisabled")
    result = audit.audit_template(str(path), DOMAIN, CALLS)
    (d,) = result.audits
    assert d.outcomes["config.api_cache_disabled"].value == "passed"
    assert any("'Managed-CachingDisabled' is the managed policy 4135ea2d" in n for n in d.distribution.names)


def test_what_cannot_be_resolved_is_listed(broken):
    path = broken("good.yaml", "          - example.test\n        Origins:",
                  "          - !ImportValue shared-alias\n        Origins:")
    result = audit.audit_template(str(path), DOMAIN, CALLS)
    (d,) = result.audits
    (unresolved,) = d.distribution.resolver.unresolved
    assert unresolved.what.startswith("Fn::ImportValue") and unresolved.path.endswith("Aliases[1]")
    assert unresolved.line == _line_of(path.read_text(), "          - !ImportValue")


def test_defaults_filled_are_the_config_suites():
    """The defaults the template side fills are the AWS defaults tests/aws writes out for moto."""
    import moto_configs

    assert convert.LEGACY_TTLS == moto_configs.LEGACY_TTLS
    assert convert.DEFAULT_CERTIFICATE == moto_configs.DEFAULT_CERTIFICATE


def test_kinds_are_told_apart():
    assert source.read(TEMPLATES / "seed.yaml", lint=False).kind == "sam"
    assert source.read(TEMPLATES / "good.yaml", lint=False).kind == "cloudformation"
    cdk = source.read(TEMPLATES / "cdk-synth.template.json", lint=False)
    assert cdk.kind == "cdk" and cdk.syntax == "json"


def test_every_prediction_names_a_registered_check():
    assert audit.predicted_rules_exist() == []
    assert set(audit.PREDICTS) == set(audit.WHERE)


def test_conditions_decided_by_defaults_or_listed():
    path = TEMPLATES / "conditions.yaml"
    (d,) = audit.audit_template(str(path)).audits
    assert d.distribution.config["Aliases"] == {"Quantity": 0}  # HasDomain is false: AWS::NoValue removes them
    assert d.distribution.config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    (unresolved,) = d.distribution.resolver.unresolved
    assert unresolved.what.startswith("Fn::If IsProd") and unresolved.line == _line_of(
        path.read_text(), "          ViewerProtocolPolicy: !If")


def test_sam_generated_names_resolve_and_others_do_not(broken):
    """A name SAM's transform generates (MyApiStage, from MyApi) is a valid reference; a name SAM would never
    generate is bad input, even where cfn-lint lets it pass (it cannot tell MyApiTypo from a generated name)."""
    path = broken("seed.yaml", "            Id: ApiGatewayOrigin\n",
                  "            Id: ApiGatewayOrigin\n            OriginPath: !Sub /${MyApiStage}\n")
    (d,) = audit.audit_template(str(path), DOMAIN, CALLS).audits
    assert d.distribution.config["Origins"]["Items"][1]["OriginPath"] == "/${MyApiStage}"
    assert rules.api_behaviors(d.distribution.config)
    path = broken("seed.yaml", "!Sub ${MyApi}.execute-api", "!Sub ${MyApiTypo}.execute-api", filename="typo.yaml")
    with pytest.raises(source.TemplateError, match=r"line 24, .*Ref 'MyApiTypo' names no resource"):
        audit.audit_template(str(path), DOMAIN, CALLS)


def test_a_certificate_outside_the_template_is_not_judged(broken):
    """Its names are known only to ACM: the alias check is said not judged, never passed."""
    path = broken("good.yaml", "AcmCertificateArn: !Ref Certificate",
                  "AcmCertificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc")
    (d,) = audit.audit_template(str(path), DOMAIN, CALLS).audits
    assert "config.alias_certificate" not in d.outcomes
    assert "known only to ACM" in d.not_judged["config.alias_certificate"]
    assert d.outcomes["config.tls_policy"].value == "passed"
