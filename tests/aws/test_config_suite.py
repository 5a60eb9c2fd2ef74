"""suites/test_config.py in real pytest sessions (subprocesses) against the moto server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


from moto_configs import DOMAIN, NEVER, create, good_config, seed_config

ROOT = Path(__file__).resolve().parents[2]


def run_suite(tmp_path: Path, aws_lines: str, env: dict[str, str], extra: str = "",
              *args: str) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "target.yaml"
    target.write_text("domain: www.example.test\n" + extra + (f"aws:\n{aws_lines}" if aws_lines else ""))
    return subprocess.run([sys.executable, "-m", "pytest", "suites/test_config.py", "--target", str(target),
                           "-p", "no:cacheprovider", "-rs", "--reports-dir", str(tmp_path / "reports"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def no_credentials_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
               AWS_EC2_METADATA_DISABLED="true")
    return env


def test_skipped_with_the_reason_without_credentials(tmp_path, moto_endpoint):
    result = run_suite(tmp_path, f"  distribution_id: E1ABCDEF2GHIJK\n  endpoint_url: {moto_endpoint}\n",
                       no_credentials_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config audit needs AWS credentials (the boto3 chain" in result.stdout
    assert "18 skipped" in result.stdout and "error" not in result.stdout.lower()


def test_skipped_with_the_reason_without_a_distribution(tmp_path):
    result = run_suite(tmp_path, "", no_credentials_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no aws.distribution_id or aws.stack in the target" in result.stdout


def test_good_distribution_passes(tmp_path, cf, s3, moto_endpoint):
    config = good_config()
    config["Origins"]["Items"][0]["DomainName"] = "empty-bucket.s3.us-east-1.amazonaws.com"
    s3.create_bucket(Bucket="empty-bucket")
    distribution_id = create(cf, config)
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n",
                       dict(os.environ))
    assert result.returncode == 0 and "17 passed" in result.stdout and "failed" not in result.stdout, result.stdout
    assert "s3://empty-bucket/ holds no objects" in result.stdout  # bucket parity has nothing to compare


def test_bad_distribution_fails_with_the_rule_message(tmp_path, cf, aws, moto_endpoint):
    from edgeverify.aws import session

    acm = session.client("acm", aws, region_name="us-east-1")
    arn = acm.request_certificate(DomainName=DOMAIN)["CertificateArn"]  # not example.test, the other alias
    config = good_config()
    config["ViewerCertificate"].update(MinimumProtocolVersion="TLSv1_2016", ACMCertificateArn=arn)
    distribution_id = create(cf, config)
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                                 "  bucket: no-such-bucket\n", dict(os.environ))
    out = result.stdout
    assert result.returncode == 1
    assert "FAILED [config.tls_policy]" in out and "Actual:   MinimumProtocolVersion TLSv1_2016" in out
    assert (f"Reproduce: aws cloudfront get-distribution-config --id {distribution_id} "
            "--query 'DistributionConfig.ViewerCertificate'") in out
    assert "FAILED [config.alias_certificate]" in out
    assert f"alias example.test is not named by the certificate (names: {DOMAIN})" in out
    assert "COULD NOT JUDGE: could not judge: listing s3://no-such-bucket/: NoSuchBucket" in out  # one line
    assert "Traceback" not in out and "testing" not in out  # no traceback, no credential


def test_error_responses_fail_when_the_target_declares_an_api(tmp_path, cf, s3, moto_endpoint):
    config = good_config()
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]}
    distribution_id = create(cf, config)
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                                 "  bucket: site-bucket\n  bucket_prefix: nothing-here/\n", dict(os.environ))
    assert "FAILED [config.error_responses_swallow_api]" in result.stdout, result.stdout
    assert "1 failed" in result.stdout, result.stdout  # that one only


def test_advisory_when_no_api_is_declared_or_found(tmp_path, cf, s3, moto_endpoint):
    config = good_config()
    config["Origins"]["Items"][1]["DomainName"] = "backend.example.test"  # not API Gateway
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]}
    distribution_id = create(cf, config)
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                                 "  bucket: site-bucket\n  bucket_prefix: nothing-here/\n", dict(os.environ),
                       "", "-k", "error_responses_swallow_api")
    assert "ADVISORY [config.error_responses_swallow_api]" in result.stdout, result.stdout
    assert "1 passed" in result.stdout and "failed" not in result.stdout, result.stdout


def test_seed_distribution_reports_every_fault(tmp_path, cf, s3, moto_endpoint):
    """The seed document's snippets deployed with AWS's defaults: every fault the issue lists, no traceback."""
    s3.create_bucket(Bucket="seed-empty-bucket")  # parity has nothing to compare: skipped, not judged here
    distribution_id = create(cf, seed_config())
    calls = "api:\n  calls:\n    - {method: POST, path: /api/submit, expect: {status: 200}}\n"
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                                 "  bucket: seed-empty-bucket\n", dict(os.environ), calls)
    out = result.stdout
    assert result.returncode == 1 and "Traceback" not in out + result.stderr
    for rule in ("shadowed_behaviors", "compress", "api_cache_disabled", "api_origin_request_policy",
                 "api_forwarding", "s3_oac", "tls_policy", "alias_certificate", "error_responses_swallow_api",
                 "response_headers_policy"):
        assert f"FAILED [config.{rule}]" in out, (rule, out)
    assert "behavior '/api/submit' (position 2) can never match: the earlier '/api/*' covers" in out
    assert "puts cookies (all) in the cache key" in out and "does not forward Authorization" in out
    assert f"Aliases {DOMAIN} are served with the default *.cloudfront.net certificate" in out
    assert "--query 'DistributionConfig.CacheBehaviors.Items[].PathPattern'" in out
    for passing in ("viewer_protocol", "api_methods", "static_cache_policy", "aliases"):
        assert f"[config.{passing}]" not in out, passing
    # the seed's API origin gets no secret header: config.api_origin_secret is advisory (counted as passed by pytest)
    assert "ADVISORY [config.api_origin_secret]" in out and "[config.bucket_private]" not in out
    assert "10 failed, 7 passed, 1 skipped" in out, out


def test_every_rule_is_selected_by_its_suffix(tmp_path, moto_endpoint):
    """`-k <the rule id's last part>` selects that rule's check: exactly one test name holds each suffix (what -k
    matches here: neither 'suites' nor 'test_config.py' holds one), and a real -k run selects the parity check."""
    from edgeverify.rules import RULES, load_all

    load_all()
    result = run_suite(tmp_path, "", no_credentials_env(), "", "--collect-only", "-q")
    names = [line.split("::", 1)[1] for line in result.stdout.splitlines() if "::" in line]
    suffixes = [r.split(".", 1)[1] for r in RULES if r.startswith("config.")]
    assert len(names) == len(suffixes)
    for suffix in suffixes:
        assert len([n for n in names if suffix in n]) == 1, (suffix, names)
    result = run_suite(tmp_path, "", no_credentials_env(), "", "--collect-only", "-q", "-k", "parity")
    assert [line for line in result.stdout.splitlines() if "::" in line] == [
        "suites/test_config.py::test_bucket_parity_edge_serves_every_object"]


def test_run_waits_for_the_deploy_first(tmp_path, cf, moto_endpoint, distribution_state):
    # A distribution still deploying, propagation.timeout 0: no time to wait, so the run stops before any
    # check (not ready: exit 1), saying what is still pending.
    distribution_state(NEVER)
    distribution_id = create(cf, good_config())
    aws_lines = f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n  wait: true\n"
    result = run_suite(tmp_path, aws_lines, dict(os.environ))
    assert result.returncode == 1 and f"distribution {distribution_id} InProgress after waiting" in result.stdout + result.stderr
    # One deploying for two reads of it and 30 s to wait: it waits (counted in reads: the machine's load changes
    # nothing).
    distribution_state(3)
    distribution_id = create(cf, good_config())
    aws_lines = f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n  wait: true\n"
    result = run_suite(tmp_path, aws_lines, dict(os.environ), "propagation:\n  timeout: 30\n", "-k", "aliases")
    assert f"edgeverify: waiting: distribution {distribution_id} InProgress" in result.stdout, result.stdout
    assert f"edgeverify: distribution {distribution_id} Deployed: ready after" in result.stdout
    assert "1 passed" in result.stdout
