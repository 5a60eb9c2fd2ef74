"""discover: the printed target loads unchanged with load_target and carries the distribution's values."""

from __future__ import annotations

import json

import pytest

from edgeverify.aws import discover
from edgeverify.target import load_target
from moto_configs import API_DOMAIN, BUCKET, DOMAIN, create, good_config


def typical_config() -> dict:
    """The seed document's shape: /api/* with an OriginPath, SPA fallback by custom error responses."""
    config = good_config()
    config["Origins"]["Items"][0]["OriginPath"] = "/site"
    config["Origins"]["Items"][1]["OriginPath"] = "/prod"
    config["CustomErrorResponses"] = {"Quantity": 2, "Items": [
        {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]}
    return config


def load(tmp_path, text: str):
    path = tmp_path / "discovered.yaml"
    path.write_text(text)
    return load_target(path)


def test_discover_by_distribution_id(cf, aws, tmp_path, capsys):
    distribution_id = create(cf, typical_config())
    assert discover.main(["--distribution-id", distribution_id, "--endpoint-url", aws.endpoint_url]) == 0
    text = capsys.readouterr().out
    target = load(tmp_path, text)
    assert target.domain == DOMAIN
    assert text.startswith("# yaml-language-server: $schema=edgeverify-target.schema.json\n")  # editor completion
    assert target.api.prefix == "/api/"
    assert target.spa.fallback is True
    assert target.static.pages == ["/"]
    assert (target.aws.distribution_id, target.aws.bucket, target.aws.bucket_prefix) == (distribution_id, BUCKET, "site/")
    assert target.aws.region == "eu-west-1" and target.aws.endpoint_url == aws.endpoint_url
    # Each derived value says where it came from.
    assert f"domain: {DOMAIN}  # Aliases[0] (all aliases: {DOMAIN}, example.test)" in text
    assert f"prefix: /api/  # behavior /api/* -> origin api ({API_DOMAIN}/prod)" in text
    assert "# AllowedMethods of /api/*: GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE" in text
    assert "fallback: true  # CustomErrorResponses 403 -> /index.html (200), 404 -> /index.html (200)" in text
    assert "DefaultRootObject index.html answers /" in text
    assert "bucket_prefix: site/  # its OriginPath /site" in text
    # the origin endpoints security.origin_direct asks directly, from the origins (REST endpoint, stage as OriginPath)
    assert target.origins.named() == [("bucket", f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/site"),
                                      ("api", f"https://{API_DOMAIN}/prod")]
    assert f"  api: https://{API_DOMAIN}/prod  # origin api, asked directly (around CloudFront): it must refuse" in text


def test_discover_by_stack(cf, cfn, aws, tmp_path):
    # moto's CloudFormation has no AWS::CloudFront::Distribution: the stack names it in an output.
    distribution_id = create(cf, good_config())
    template = {"Parameters": {"DistributionId": {"Type": "String"}},
                "Resources": {"Logs": {"Type": "AWS::S3::Bucket"}},
                "Outputs": {"DistributionId": {"Value": {"Ref": "DistributionId"}}}}
    cfn.create_stack(StackName="web", TemplateBody=json.dumps(template),
                     Parameters=[{"ParameterKey": "DistributionId", "ParameterValue": distribution_id}])
    text = discover.discover(stack="web", endpoint_url=aws.endpoint_url)
    target = load(tmp_path, text)
    assert (target.aws.distribution_id, target.aws.stack, target.aws.bucket) == (distribution_id, "web", BUCKET)
    assert target.aws.region == "us-east-1"
    assert f"distribution_id: {distribution_id}  # output DistributionId of stack web" in text
    assert target.spa.fallback is False and "no 403/404 custom error response" in text


def test_no_aliases_and_no_api(cf, aws, tmp_path):
    config = good_config()
    config["Aliases"] = {"Quantity": 0}
    config["CacheBehaviors"] = {"Quantity": 0}
    config["Origins"]["Items"].pop()
    config["DefaultRootObject"] = ""
    distribution_id = create(cf, config)
    text = discover.discover(distribution_id, endpoint_url=aws.endpoint_url)
    target = load(tmp_path, text)
    assert target.domain.endswith(".cloudfront.net")
    assert "no behavior routes to an execute-api origin" in text
    assert "no DefaultRootObject" in text


@pytest.mark.parametrize("argv, message", [
    (["--distribution-id", "ENOSUCHDIST00"], "reading CloudFront distribution ENOSUCHDIST00: NoSuchDistribution"),
    (["--stack", "nosuchstack"], "reading CloudFormation stack nosuchstack: ValidationError"),
])
def test_errors_are_one_line(aws, argv, message, capsys):
    assert discover.main([*argv, "--endpoint-url", aws.endpoint_url]) == 4
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_stack_without_a_distribution(cfn, aws, capsys):
    cfn.create_stack(StackName="empty", TemplateBody=json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}))
    assert discover.main(["--stack", "empty", "--endpoint-url", aws.endpoint_url]) == 4
    assert "stack empty holds 0 CloudFront distributions (none); name one with" in capsys.readouterr().err


def test_unreachable_endpoint(aws, capsys):
    assert discover.main(["--distribution-id", "E1", "--endpoint-url", "http://127.0.0.1:9"]) == 4
    assert "could not connect to http://127.0.0.1:9" in capsys.readouterr().err


def test_a_viewer_request_function_means_the_app_routes_deep_links(tmp_path):
    config = good_config()
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"EventType": "viewer-request", "FunctionARN": "arn:aws:cloudfront::123456789012:function/spa-rewrite"}]}
    text = discover.render("E1", config, "d1.cloudfront.net", "given")
    assert load(tmp_path, text).spa.fallback is True
    assert "the default behavior's request function function/spa-rewrite" in text


def test_discover_notes_every_audit_finding_beside_its_value(cf, aws, tmp_path):
    """The seed document's distribution: the written target says what is wrong before anything runs."""
    from edgeverify.rules import config as rules
    from moto_configs import seed_config

    distribution_id = create(cf, seed_config())
    text = discover.discover(distribution_id, endpoint_url=aws.endpoint_url)
    load(tmp_path, text)  # still a valid target
    lines = text.splitlines()
    fetched = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    expected = rules.audit(fetched, distribution_id, DOMAIN)
    assert len(expected) >= 8
    assert f"# The configuration audit found {len(expected)} failing and 0 advisory finding(s)" in text
    for violation in expected:
        assert f"# FAIL [{violation.rule.id}] expected " in text, violation.rule.id

    def block_after(key: str) -> str:
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"{key}:"))
        block = []
        for line in lines[start + 1:]:
            if not line.lstrip().startswith("#"):
                break
            block.append(line)
        return "\n".join(block)

    assert "[config.alias_certificate]" in block_after("domain") and "[config.tls_policy]" in block_after("domain")
    assert "[config.api_forwarding]" in block_after("prefix") and "does not forward Authorization" in text
    assert "[config.error_responses_swallow_api]" in block_after("fallback")
    assert "[config.s3_oac]" in block_after("bucket")
    assert "behavior '/api/submit' (position 2) can never match" in block_after("distribution_id")


def test_a_clean_distribution_is_said_to_be_clean(tmp_path):
    from moto_configs import good_config as clean

    config = clean()
    config["Origins"]["Items"][0]["OriginAccessControlId"] = "E2OACID"
    text = discover.render("E1", config, "d1.cloudfront.net", "given")
    assert "# The configuration audit found nothing wrong" in text and "# FAIL" not in text


def test_discover_reads_the_certificate_to_judge_the_aliases(cf, aws, tmp_path):
    from edgeverify.aws import session

    acm = session.client("acm", aws, region_name="us-east-1")
    arn = acm.request_certificate(DomainName=DOMAIN, SubjectAlternativeNames=[DOMAIN])["CertificateArn"]
    config = good_config()
    config["ViewerCertificate"]["ACMCertificateArn"] = arn  # names www.example.test, not example.test
    text = discover.discover(create(cf, config), endpoint_url=aws.endpoint_url)
    load(tmp_path, text)
    assert "# FAIL [config.alias_certificate]" in text
    assert f"#   alias example.test is not named by the certificate (names: {DOMAIN})" in text
    covering = acm.request_certificate(DomainName=DOMAIN, SubjectAlternativeNames=[DOMAIN, "example.test"])
    config = good_config()
    config["ViewerCertificate"]["ACMCertificateArn"] = covering["CertificateArn"]
    assert "[config.alias_certificate]" not in discover.discover(create(cf, config), endpoint_url=aws.endpoint_url)
