"""`edgeverify run --metrics SINK`: the run's figures for dashboards and alarms, from its RunResults.

One set of figures (`figures()`), three renderings, each named by its ecosystem's conventions:

- Prometheus (node_exporter's textfile collector, `FILE.prom`, written atomically; or a Pushgateway,
  `pushgateway+http://HOST:PORT`): snake_case with the `edgeverify_` prefix and the base unit as suffix
  (`edgeverify_run_duration_seconds`), labels `domain`, `rule`, `edge`.
- CloudWatch (`cloudwatch:NAMESPACE` through boto3's put_metric_data, or `emf:FILE`, the embedded metric
  format a Lambda or the CloudWatch agent ships): PascalCase names with CloudWatch units, dimensions
  `Domain`, `Rule`, `Edge`.
- OpenTelemetry (`otlp+http://HOST:PORT`, OTLP/HTTP with the JSON encoding to /v1/metrics): dotted names
  with UCUM units and semantic-convention attributes (`server.address` for the domain).

Every call is bounded in time; a sink that fails is reported by the caller and changes no verdict.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import OUTCOMES, Outcome, RunResult

TIMEOUT_S = 10
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True, slots=True)
class Kind:
    """One figure and its name in each ecosystem."""

    prometheus: str
    otel: str
    cloudwatch: str
    unit: str  # UCUM, for OpenTelemetry
    cw_unit: str  # CloudWatch's unit name
    help: str


KINDS = {
    "run_passed": Kind("edgeverify_run_passed", "edgeverify.run.passed", "RunPassed", "1", "None",
                       "1 when the run passed (exit 0), else 0"),
    "run_exit": Kind("edgeverify_run_exit_status", "edgeverify.run.exit_status", "RunExitStatus", "1", "None",
                     "the run's exit status: 0 passed, 1 failed, 2 interrupted, 4 bad input"),
    "run_duration": Kind("edgeverify_run_duration_seconds", "edgeverify.run.duration", "RunDuration", "s", "Seconds",
                         "wall time of the run"),
    "run_time": Kind("edgeverify_run_timestamp_seconds", "edgeverify.run.timestamp", "RunTimestamp", "s", "Seconds",
                     "when the run finished (Unix time): alert when it is old"),
    "checks": Kind("edgeverify_checks", "edgeverify.checks", "Checks", "{check}", "Count",
                   "checks by outcome"),
    "rule_passed": Kind("edgeverify_rule_passed", "edgeverify.rule.passed", "RulePassed", "1", "None",
                        "1 when no check of the rule failed, could not be judged or was interrupted, else 0"),
    "rule_failed": Kind("edgeverify_rule_failed_checks", "edgeverify.rule.failed_checks", "RuleFailedChecks",
                        "{check}", "Count", "checks of the rule that fail the run"),
    "convergence": Kind("edgeverify_rule_convergence_seconds", "edgeverify.rule.convergence", "RuleConvergence", "s",
                        "Seconds", "seconds after the run started until the rule's slowest check passed"),
    "release": Kind("edgeverify_release_served_after_seconds", "edgeverify.release.served_after",
                    "ReleaseServedAfter", "s", "Seconds", "seconds until the edge served the release marker"),
    "cert_days": Kind("edgeverify_certificate_days_left", "edgeverify.certificate.days_left", "CertificateDaysLeft",
                      "d", "None", "days until the edge's certificate expires"),
    "security_score": Kind("edgeverify_security_score", "edgeverify.security.score", "SecurityScore", "1", "None",
                           "the MDN HTTP Observatory score computed from the edge's answers (grade as a label)"),
    "requests": Kind("edgeverify_requests", "edgeverify.requests", "Requests", "{request}", "Count",
                     "requests on the wire"),
    "ttfb": Kind("edgeverify_edge_ttfb_seconds", "edgeverify.edge.ttfb", "EdgeTtfb", "s", "Seconds",
                 "time to first byte per edge (POP), as quantiles over the run's exchanges"),
}


@dataclass(frozen=True, slots=True)
class Figure:
    kind: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)  # domain, rule, outcome, edge, quantile
    at: float = 0.0  # Unix time
    summary: tuple[int, float] | None = None  # a quantile's count and sum of observations (TTFB)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def figures(runs: Iterable[RunResult]) -> list[Figure]:
    """Every figure of the runs (one per target)."""
    out: list[Figure] = []
    for run in runs:
        d, at = {"domain": run.domain}, run.finished_at
        status = run.exit_status
        out += [Figure("run_passed", float(status == 0), d, at), Figure("run_exit", float(int(status)), d, at),
                Figure("run_duration", round(run.finished_at - run.started_at, 3), d, at),
                Figure("run_time", run.finished_at, d, at)]
        counts = run.counts()
        out += [Figure("checks", float(counts[o.value]), {**d, "outcome": o.value}, at) for o in OUTCOMES]
        by_rule: dict[str, list[Any]] = {}
        for c in run.checks:
            if c.rule:
                by_rule.setdefault(c.rule, []).append(c)
        for rule, checks in sorted(by_rule.items()):
            bad = sum(c.outcome.bad for c in checks)
            labels = {**d, "rule": rule}
            out += [Figure("rule_passed", float(bad == 0), labels, at), Figure("rule_failed", float(bad), labels, at)]
            converged = [c.converged_after_s for c in checks if c.converged_after_s and c.outcome is Outcome.PASSED]
            if converged:
                out.append(Figure("convergence", max(converged), labels, at))
        days = [float(v) for c in run.checks for k, v in c.properties if k == "certificate_days_left"]
        if days:
            out.append(Figure("cert_days", min(days), d, at))
        if run.release.served_after_s is not None:
            out.append(Figure("release", run.release.served_after_s, d, at))
        if run.network is not None:
            out.append(Figure("requests", float(run.network.requests), d, at))
        if run.security and isinstance(run.security.get("score"), (int, float)):
            out.append(Figure("security_score", float(run.security["score"]),
                              {**d, "grade": str(run.security.get("grade") or "?")}, at))
        ttfb: dict[str, list[float]] = {}
        for ex in run.exchanges.values():
            if ex.get("status") is not None and ex.get("ttfb_ms") is not None:
                ttfb.setdefault(str(ex.get("pop") or "unknown"), []).append(float(ex["ttfb_ms"]) / 1000)
        for edge, values in sorted(ttfb.items()):
            observed = (len(values), round(sum(values), 4))
            out += [Figure("ttfb", round(_quantile(values, q), 4), {**d, "edge": edge, "quantile": str(q)}, at,
                           observed) for q in QUANTILES]
    return out


# -- Prometheus ------------------------------------------------------------------------------------------

def prometheus_registry(found: list[Figure]) -> Any:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily, Metric

    class _Collector:
        def collect(self) -> Iterable[Any]:
            for key, kind in KINDS.items():
                mine = [f for f in found if f.kind == key]
                if not mine:
                    continue
                if key == "ttfb":  # a summary: quantiles, then _count and _sum per edge
                    summary = Metric(kind.prometheus, kind.help, "summary")
                    done: set[tuple[tuple[str, str], ...]] = set()
                    for f in mine:
                        summary.add_sample(kind.prometheus, f.labels, f.value)
                        base = tuple(sorted((k, v) for k, v in f.labels.items() if k != "quantile"))
                        if f.summary and base not in done:
                            done.add(base)
                            summary.add_sample(kind.prometheus + "_count", dict(base), float(f.summary[0]))
                            summary.add_sample(kind.prometheus + "_sum", dict(base), f.summary[1])
                    yield summary
                    continue
                names = sorted({k for f in mine for k in f.labels})
                family = GaugeMetricFamily(kind.prometheus, kind.help, labels=names)
                for f in mine:
                    family.add_metric([f.labels.get(n, "") for n in names], f.value)
                yield family

    registry = CollectorRegistry()
    registry.register(_Collector())
    return registry


def write_textfile(found: list[Figure], path: str) -> None:
    """node_exporter's textfile collector format, written to a temporary file and renamed (never half-read)."""
    from prometheus_client import write_to_textfile

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(path, prometheus_registry(found))


def push(found: list[Figure], url: str) -> None:
    from prometheus_client import push_to_gateway

    push_to_gateway(url, job="edgeverify", registry=prometheus_registry(found), timeout=TIMEOUT_S)


# -- CloudWatch ------------------------------------------------------------------------------------------

_DIMENSIONS = {"domain": "Domain", "rule": "Rule", "edge": "Edge", "outcome": "Outcome", "quantile": "Quantile"}


def _dimensions(f: Figure) -> list[dict[str, str]]:
    return [{"Name": _DIMENSIONS[k], "Value": v} for k, v in sorted(f.labels.items())]


def put_metric_data(found: list[Figure], namespace: str, client: Any | None = None) -> int:
    """Send the figures with boto3 (AWS_ENDPOINT_URL, the region and credentials from the usual chain)."""
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.client("cloudwatch", region_name=os.environ.get("AWS_REGION")
                              or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
                              config=Config(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S,
                                            retries={"max_attempts": 3}))
    data = [{"MetricName": KINDS[f.kind].cloudwatch, "Dimensions": _dimensions(f), "Value": f.value,
             "Unit": KINDS[f.kind].cw_unit, "Timestamp": f.at} for f in found if f.kind != "run_time"]
    for start in range(0, len(data), 1000):  # PutMetricData takes at most 1,000 values per call
        client.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])
    return len(data)


def emf_lines(found: list[Figure], namespace: str = "edgeverify") -> list[str]:
    """CloudWatch embedded metric format: one JSON document per set of labels."""
    groups: dict[tuple[tuple[str, str], ...], list[Figure]] = {}
    for f in found:
        if f.kind != "run_time":
            groups.setdefault(tuple(sorted(f.labels.items())), []).append(f)
    lines = []
    for labels, mine in groups.items():
        doc: dict[str, Any] = {_DIMENSIONS[k]: v for k, v in labels}
        doc["_aws"] = {"Timestamp": int(mine[0].at * 1000), "CloudWatchMetrics": [{
            "Namespace": namespace, "Dimensions": [[_DIMENSIONS[k] for k, _ in labels]],
            "Metrics": [{"Name": KINDS[f.kind].cloudwatch, "Unit": KINDS[f.kind].cw_unit} for f in mine]}]}
        doc.update({KINDS[f.kind].cloudwatch: f.value for f in mine})
        lines.append(json.dumps(doc, separators=(",", ":")))
    return lines


# -- OpenTelemetry ---------------------------------------------------------------------------------------

_ATTRIBUTES = {"domain": "server.address", "rule": "edgeverify.rule.id", "outcome": "edgeverify.check.outcome",
               "edge": "edgeverify.edge.pop"}


def otlp_request(found: list[Figure], version: str = "") -> dict[str, Any]:
    """An ExportMetricsServiceRequest in OTLP's JSON encoding: gauges, and a summary for TTFB quantiles."""
    metrics = []
    for key, kind in KINDS.items():
        mine = [f for f in found if f.kind == key]
        if not mine:
            continue
        metric: dict[str, Any] = {"name": kind.otel, "unit": kind.unit, "description": kind.help}
        if key == "ttfb":
            points: dict[tuple[tuple[str, str], ...], list[Figure]] = {}
            for f in mine:
                points.setdefault(tuple(sorted((k, v) for k, v in f.labels.items() if k != "quantile")), []).append(f)
            metric["summary"] = {"dataPoints": [{
                "attributes": _attrs(dict(labels)), "timeUnixNano": str(int(fs[0].at * 1e9)),
                "count": str(fs[0].summary[0] if fs[0].summary else 0),
                "sum": fs[0].summary[1] if fs[0].summary else 0,
                "quantileValues": [{"quantile": float(f.labels["quantile"]), "value": f.value} for f in fs]}
                for labels, fs in points.items()]}
        else:
            metric["gauge"] = {"dataPoints": [{"attributes": _attrs(f.labels), "timeUnixNano": str(int(f.at * 1e9)),
                                               "asDouble": f.value} for f in mine]}
        metrics.append(metric)
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edgeverify"}}]},
        "scopeMetrics": [{"scope": {"name": "edgeverify", "version": version}, "metrics": metrics}]}]}


def _attrs(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": _ATTRIBUTES.get(k, f"edgeverify.{k}"), "value": {"stringValue": v}}
            for k, v in sorted(labels.items())]


def send_otlp(found: list[Figure], endpoint: str) -> None:
    import requests

    from .reports import tool_version

    url = endpoint.rstrip("/") + ("" if endpoint.rstrip("/").endswith("/v1/metrics") else "/v1/metrics")
    answer = requests.post(url, json=otlp_request(found, tool_version().split()[-1]), timeout=TIMEOUT_S,
                           headers={"Content-Type": "application/json"})
    if not 200 <= answer.status_code < 300:
        raise RuntimeError(f"the OTLP receiver answered {answer.status_code}")


# -- the option ------------------------------------------------------------------------------------------

def emit(runs: list[RunResult], sinks: list[str]) -> list[str]:
    """Send the runs' figures to every sink; the problems, one line each (never a credential)."""
    found = figures(runs)
    problems = []
    for sink in sinks:
        try:
            if sink.startswith("pushgateway+"):
                push(found, sink.removeprefix("pushgateway+"))
            elif sink.startswith("otlp+"):
                send_otlp(found, sink.removeprefix("otlp+"))
            elif sink.startswith("cloudwatch:"):
                put_metric_data(found, sink.split(":", 1)[1] or "edgeverify")
            elif sink.startswith("emf:"):
                target = sink.split(":", 1)[1]
                text = "\n".join(emf_lines(found)) + "\n"
                if target in ("", "-"):
                    print(text, end="")
                else:
                    with open(target, "a", encoding="utf-8") as fh:
                        fh.write(text)
            elif sink.endswith(".prom"):
                write_textfile(found, sink)
            else:
                problems.append(f"{sink.split('://')[0][:40]!r}: not a sink; give FILE.prom, pushgateway+http://..., "
                                "cloudwatch:NAMESPACE, emf:FILE or otlp+http://...")
        except Exception as exc:  # a sink down must not change the run's verdict: said, not raised
            kind = sink.split(":", 1)[0]
            problems.append(f"{kind}: {type(exc).__name__}: {str(exc)[:300]}")
    return problems


