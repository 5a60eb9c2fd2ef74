"""suites/test_config.py in real pytest sessions (subprocesses) against the moto server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


from moto_configs import create, good_config

ROOT = Path(__file__).resolve().parents[2]


def run_suite(tmp_path: Path, aws_lines: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "target.yaml"
    target.write_text("domain: www.example.test\n" + (f"aws:\n{aws_lines}" if aws_lines else ""))
    return subprocess.run([sys.executable, "-m", "pytest", "suites/test_config.py", "--target", str(target),
                           "-p", "no:cacheprovider", "-rs", "--reports-dir", str(tmp_path / "reports")],
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
    assert "11 skipped" in result.stdout and "error" not in result.stdout.lower()


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
    # moto drops OriginAccessControlId, so config.s3_oac is the one failure a real distribution would not have.
    assert "FAILED [config.s3_oac]" in result.stdout, result.stdout
    assert "9 passed" in result.stdout and "1 failed" in result.stdout
    assert "s3://empty-bucket/ holds no objects" in result.stdout  # bucket parity has nothing to compare


def test_bad_distribution_fails_with_the_rule_message(tmp_path, cf, moto_endpoint):
    config = good_config()
    config["ViewerCertificate"]["MinimumProtocolVersion"] = "TLSv1_2016"
    distribution_id = create(cf, config)
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                                 "  bucket: no-such-bucket\n", dict(os.environ))
    out = result.stdout
    assert result.returncode == 1
    assert "FAILED [config.tls_policy]" in out and "Actual:   MinimumProtocolVersion TLSv1_2016" in out
    assert f"Reproduce: aws cloudfront get-distribution-config --id {distribution_id} --query 'ViewerCertificate'" in out
    assert "AwsError: listing s3://no-such-bucket/: NoSuchBucket" in out  # an AWS error is one line
    assert "Traceback" not in out and "testing" not in out  # no traceback, no credential


def test_advisory_is_reported_not_failed(tmp_path, cf, s3, moto_endpoint):
    config = good_config()
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]}
    distribution_id = create(cf, config)
    result = run_suite(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                                 "  bucket: site-bucket\n  bucket_prefix: nothing-here/\n", dict(os.environ))
    assert "ADVISORY [config.error_responses_swallow_api]" in result.stdout
    assert "1 failed" in result.stdout  # config.s3_oac only (moto drops OriginAccessControlId)


def test_run_waits_for_the_deploy_first(tmp_path, cf, moto_endpoint, distribution_state):
    distribution_state(1.5)
    distribution_id = create(cf, good_config())
    aws_lines = f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n  bucket: site-bucket\n"
    result = run_suite(tmp_path, aws_lines.replace("  bucket", "  wait: true\n  bucket"), dict(os.environ))
    # propagation.timeout 0: no time to wait, so the run stops before any check (not ready: exit 1), saying why.
    assert result.returncode == 1 and f"distribution {distribution_id} InProgress after waiting" in result.stdout + result.stderr
    target = tmp_path / "target.yaml"
    target.write_text(target.read_text() + "propagation:\n  timeout: 20\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "suites/test_config.py", "--target", str(target),
                             "-p", "no:cacheprovider", "-k", "aliases", "--reports-dir", str(tmp_path / "r")],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert f"edgeverify: waiting: distribution {distribution_id} InProgress" in result.stdout, result.stdout
    assert f"edgeverify: distribution {distribution_id} Deployed: ready after" in result.stdout
    assert "1 passed" in result.stdout
