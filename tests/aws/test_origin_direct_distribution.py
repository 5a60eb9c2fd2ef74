"""security.origin_direct with origins read from the (moto) distribution: a target naming no origins but a
distribution gets its origin endpoints asked directly, through the lab's origin endpoints (connect_to)."""

from __future__ import annotations

from moto_configs import create, good_config

ORIGINS = [  # the lab's origins by their AWS names (lab.origins), as a distribution names them
    {"Id": "site", "DomainName": "lab-site.s3.us-east-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}},
    {"Id": "api", "DomainName": "lab0api.execute-api.us-east-1.amazonaws.com",
     "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}},
    {"Id": "old-site", "DomainName": "lab-site.s3-website-us-east-1.amazonaws.com",
     "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}},
]


def target_for(tmp_path, cf, moto_endpoint):
    config = good_config()
    config["Origins"] = {"Quantity": 3, "Items": ORIGINS}
    distribution_id = create(cf, config)
    path = tmp_path / "from-distribution.yaml"
    path.write_text("domain: www.example.test\napi:\n  calls:\n    - {path: /api/health}\n"
                    f"aws:\n  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n  wait: false\n")
    return path


def test_origins_from_the_distribution_refuse_on_the_correct_lab(lab, run_edgeverify, cf, moto_endpoint, tmp_path):
    run = run_edgeverify(lab.edge(), "suites/test_security.py", "-k", "origins_refuse",
                         target=target_for(tmp_path, cf, moto_endpoint))
    assert run.returncode == 0, run.output
    [check] = [c for c in run.checks if c["rule"] == "security.origin_direct"]
    assert check["outcome"] == "passed"
    said = dict(check["properties"])
    assert said["S3 REST endpoint"].startswith("entry document: 403 Forbidden (S3 AccessDenied)")
    assert said["S3 website endpoint"].startswith("entry document: 403 Forbidden (S3 website AccessDenied)")
    assert said["execute-api URL"] == "API call GET /api/health: 403 Forbidden (API Gateway Forbidden)"


def test_origins_from_the_distribution_answering_anyone_fail(lab, run_edgeverify, cf, moto_endpoint, tmp_path):
    run = run_edgeverify(lab.edge(faults=["origin-public"]), "suites/test_security.py", "-k", "origins_refuse",
                         target=target_for(tmp_path, cf, moto_endpoint))
    assert run.returncode == 1, run.output
    message = run.failed()["security.origin_direct"]
    assert "5 of 5 direct requests" in message, message
    assert "GET http://lab-site.s3-website-us-east-1.amazonaws.com/ -> 200 OK, the same" in message
    assert "GET https://lab0api.execute-api.us-east-1.amazonaws.com/api/health -> 200 OK" in message
    assert "Block Public Access" in message and "delete-bucket-website" in message
    assert "disableExecuteApiEndpoint" in message and "Traceback" not in run.output
