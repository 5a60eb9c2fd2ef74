"""`edgeverify run --metrics`: one lab run (one check broken) sends its figures to a Prometheus textfile (parsed back
with prometheus_client's parser), CloudWatch (put_metric_data to moto's server, read back with
get_metric_statistics; and the embedded metric format) and an OTLP/HTTP receiver the test starts (decoded with
OpenTelemetry's own protobuf messages)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from edgeverify.metrics import KINDS, emit, figures  # noqa: E402
from edgeverify.reports import read_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


def lab_target(lab, folder: Path, faults: list[str], name: str = "site.yaml") -> Path:
    edge = lab.edge(faults=faults)
    path = folder / name
    path.write_text(LAB_TARGET.read_text() + f"\nconnect_to: {json.dumps(edge.connect_to)}\nca_bundle: {edge.ca_bundle}\n")
    return path


def test_one_run_feeds_prometheus_cloudwatch_and_otlp(lab, tmp_path, receiver, aws_env):
    target = lab_target(lab, tmp_path, ["hsts-short"])
    prom, emf = tmp_path / "textfile" / "edgeverify.prom", tmp_path / "emf.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEVERIFY_", "GITHUB_"))}
    run = subprocess.run([sys.executable, "-m", "edgeverify.cli", "run", str(target), "--suite", "https",
                          "--history", "off", "--propagation-timeout", "0", "--reports-dir", str(tmp_path / "r"),
                          "--metrics", str(prom), "--metrics", f"emf:{emf}", "--metrics", "cloudwatch:EdgeverifyTest",
                          "--metrics", f"otlp+http://127.0.0.1:{receiver.port}"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "WARNING" not in run.stderr, run.stdout + run.stderr
    result = read_report(tmp_path / "r" / "edgeverify.json")
    failing_rules = {c.rule for c in result.bad()}
    assert "https.hsts" in failing_rules

    # Prometheus: the textfile parses; per-rule pass/fail, the run's figures, TTFB quantiles per edge
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    assert {"edgeverify_run_passed", "edgeverify_run_duration_seconds", "edgeverify_rule_passed",
            "edgeverify_checks", "edgeverify_requests", "edgeverify_edge_ttfb_seconds"} <= set(families)
    rules = {s.labels["rule"]: s.value for s in families["edgeverify_rule_passed"].samples}
    assert rules["https.hsts"] == 0 and all(v == (r not in failing_rules) for r, v in rules.items())
    assert families["edgeverify_run_passed"].samples[0].value == 0
    assert families["edgeverify_run_passed"].samples[0].labels == {"domain": "www.example.test"}
    (days,) = families["edgeverify_certificate_days_left"].samples  # as the https.cert_expiry check recorded it
    recorded = [float(v) for c in result.checks if c.rule == "https.cert_expiry" for k, v in c.properties
                if k == "certificate_days_left"]
    assert recorded and days.value == min(recorded) > 14
    ttfb = families["edgeverify_edge_ttfb_seconds"]
    assert ttfb.type == "summary"
    assert {s.labels["quantile"] for s in ttfb.samples if s.name == ttfb.name} == {"0.5", "0.9", "0.99"}
    answered = [ex for ex in result.exchanges.values() if ex.get("status") is not None]
    assert sum(s.value for s in ttfb.samples if s.name.endswith("_count")) == len(answered)
    assert all(re.fullmatch(r"edgeverify_[a-z_]+", name) for name in families)

    # CloudWatch: read back from moto's server
    cw = boto3.client("cloudwatch", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    listed = cw.list_metrics(Namespace="EdgeverifyTest")["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert {"RunPassed", "RunDuration", "RulePassed", "Checks", "EdgeTtfb"} <= names
    stats = cw.get_metric_statistics(
        Namespace="EdgeverifyTest", MetricName="RulePassed", Statistics=["Maximum"], Period=60,
        Dimensions=[{"Name": "Domain", "Value": "www.example.test"}, {"Name": "Rule", "Value": "https.hsts"}],
        StartTime=result.started_at - 120, EndTime=result.finished_at + 120)
    assert [p["Maximum"] for p in stats["Datapoints"]] == [0.0]
    # ... and the embedded metric format, one document per set of dimensions
    docs = [json.loads(line) for line in emf.read_text().splitlines()]
    run_doc = next(d for d in docs if set(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == {"Domain"})
    assert run_doc["RunPassed"] == 0 and run_doc["Domain"] == "www.example.test"
    assert {m["Name"] for m in run_doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]} <= set(run_doc)

    # OpenTelemetry: the receiver got one OTLP/HTTP export, valid for OpenTelemetry's own messages
    (path, headers, body), = receiver.got
    assert path == "/v1/metrics" and headers["Content-Type"] == "application/json"
    otlp = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")
    from google.protobuf.json_format import Parse

    request = Parse(body.decode(), otlp.ExportMetricsServiceRequest())
    metrics = {m.name: m for m in request.resource_metrics[0].scope_metrics[0].metrics}
    assert {k.otel for k in KINDS.values() if k.otel in metrics} >= {"edgeverify.run.passed", "edgeverify.rule.passed",
                                                                     "edgeverify.run.duration", "edgeverify.edge.ttfb"}
    assert metrics["edgeverify.run.duration"].unit == "s"
    hsts = [p for p in metrics["edgeverify.rule.passed"].gauge.data_points
            if {a.key: a.value.string_value for a in p.attributes}.get("edgeverify.rule.id") == "https.hsts"]
    assert len(hsts) == 1 and hsts[0].as_double == 0
    assert {a.key for a in hsts[0].attributes} == {"server.address", "edgeverify.rule.id"}
    point = metrics["edgeverify.edge.ttfb"].summary.data_points[0]
    assert len(point.quantile_values) == 3 and point.count > 0 and point.sum > 0


def test_a_sink_that_fails_is_said_and_changes_nothing(tmp_path):
    from edgeverify.model import CheckResult, Outcome, RunResult

    run = RunResult(domain="www.example.com", target="t.yaml", target_name="t", tool="edgeverify", started_at=0,
                    finished_at=2, checks=(CheckResult(id="a", outcome=Outcome.PASSED, rule="https.hsts"),))
    problems = emit([run], ["otlp+http://127.0.0.1:9", "nowhere", str(tmp_path / "ok.prom")])
    assert len(problems) == 2 and problems[0].startswith("otlp+http: ") and "not a sink" in problems[1]
    assert (tmp_path / "ok.prom").exists()
    assert [f.value for f in figures([run]) if f.kind == "rule_passed"] == [1.0]


def test_a_pushgateway_gets_the_same_families(receiver):
    from edgeverify.model import CheckResult, Outcome, RunResult

    run = RunResult(domain="www.example.com", target="t.yaml", target_name="t", tool="edgeverify", started_at=0,
                    finished_at=2, checks=(CheckResult(id="a", outcome=Outcome.FAILED, rule="https.hsts"),))
    assert emit([run], [f"pushgateway+http://127.0.0.1:{receiver.port}"]) == []
    (path, _, body), = receiver.got
    assert path == "/metrics/job/edgeverify"
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert families["edgeverify_rule_passed"].samples[0].labels == {"domain": "www.example.com", "rule": "https.hsts"}
    assert families["edgeverify_rule_passed"].samples[0].value == 0


def test_the_security_grade_is_a_figure_with_its_grade_as_a_label(tmp_path):
    from edgeverify.model import CheckResult, Outcome, RunResult

    run = RunResult(domain="www.example.com", target="t.yaml", target_name="t", tool="edgeverify", started_at=0,
                    finished_at=2, checks=(CheckResult(id="a", outcome=Outcome.PASSED, rule="security.grade"),),
                    security={"score": 135, "grade": "A+"})
    assert emit([run], [str(tmp_path / "g.prom")]) == []
    families = {f.name: f for f in text_string_to_metric_families((tmp_path / "g.prom").read_text())}
    (sample,) = families["edgeverify_security_score"].samples
    assert sample.value == 135 and sample.labels == {"domain": "www.example.com", "grade": "A+"}
    bare = RunResult(domain="www.example.com", target="t.yaml", target_name="t", tool="edgeverify", started_at=0,
                     finished_at=2, checks=())
    assert not [f for f in figures([bare]) if f.kind == "security_score"]  # no security suite run: no figure
