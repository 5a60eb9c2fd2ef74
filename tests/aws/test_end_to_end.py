"""discover -> target -> run: a target built from a (moto) distribution verifies the lab edge, config suite included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edgeverify.target import load_target
from moto_configs import create, good_config
from test_bucket_parity import BUCKET, site_files

ROOT = Path(__file__).resolve().parents[2]


def test_discover_then_run_every_suite(lab, run_edgeverify, s3, cf, moto_endpoint, tmp_path):
    s3.create_bucket(Bucket="e2e-bucket")
    for key, body in site_files(lab.root / "site").items():
        s3.put_object(Bucket="e2e-bucket", Key=f"site/{key}", Body=body)
    config = good_config()
    config["Origins"]["Items"][0].update(DomainName="e2e-bucket.s3.us-east-1.amazonaws.com", OriginPath="/site")
    distribution_id = create(cf, config)

    target = tmp_path / "discovered.yaml"
    discover = subprocess.run([sys.executable, "-m", "edgeverify.cli", "discover", "--distribution-id", distribution_id,
                               "--endpoint-url", moto_endpoint, "-o", str(target)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert discover.returncode == 0, discover.stderr
    discovered = load_target(target)
    assert discovered.domain == "www.example.test" and discovered.aws.distribution_id == distribution_id
    assert discovered.aws.bucket == "e2e-bucket" and discovered.api.prefix == "/api/"

    # security.origin_direct asks the distribution's origins directly (the target names none): their names go to the
    # lab's origin endpoints, never to AWS
    edge = lab.edge()
    https_port = edge.connect_to[0].rsplit(":", 1)[1]
    mapped = f"{edge.env()['EDGEVERIFY_CONNECT_TO']} e2e-bucket.s3.us-east-1.amazonaws.com:443:127.0.0.1:{https_port}"
    run = run_edgeverify(edge, target=target, env={"EDGEVERIFY_CONNECT_TO": mapped})
    assert run.returncode == 0, run.output
    statuses = {c["rule"]: c["outcome"] for c in run.checks}
    assert statuses["config.tls_policy"] == "passed" and statuses["config.bucket_parity"] == "passed", statuses
    assert statuses["config.s3_oac"] == "passed", statuses  # moto keeps OriginAccessControlId since 5.2.6
    assert statuses["https.redirect_status"] == "passed" and statuses["static.served"] == "passed", statuses
    assert statuses["security.origin_direct"] == "passed", statuses
    [origins] = [c for c in run.checks if c["rule"] == "security.origin_direct"]
    (bucket, said), (api, api_said) = origins["properties"]
    assert bucket == "S3 REST endpoint" and said.startswith("entry document: 403 Forbidden (S3 AccessDenied); asset ")
    assert (api, api_said) == ("execute-api URL", "API route /api/__edgeverify_no_such_route: 403 Forbidden "
                                                  "(API Gateway Forbidden)")  # the discovered target declares no call
    assert BUCKET != "e2e-bucket"  # its own bucket: the parity module's objects do not leak in
