"""After the deploy: a run whose target names its template (`template:`) says, in its report, which of the
template audit's predictions the edge confirmed (the predicted check failed) and which it did not."""

from __future__ import annotations

from pathlib import Path

from edgeverify.html import render_run
from edgeverify.reports import from_json, markdown, predictions_line

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "data" / "templates" / "seed.yaml"  # the seed's SAM template: its /api/* behavior caches
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"
CACHE = str(ROOT / "suites" / "test_cache.py")
PREDICTION = ("config.api_cache_disabled", "cache.api_never_hit")


def _target(tmp_path: Path, template: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(LAB_TARGET.read_text() + f"\ntemplate: {template}\n")
    return path


def test_the_edge_confirms_a_prediction_only_when_it_shows_the_fault(lab, run_edgeverify, tmp_path):
    target = _target(tmp_path, str(SEED))
    good = run_edgeverify(lab.edge(), CACHE, target=target)  # the lab's /api/* is not cached: not confirmed
    found = {(p["finding"], p["check"]): p["status"] for p in good.doc["predictions"]}
    assert found[PREDICTION] == "not confirmed", good.doc["predictions"]
    assert found[("config.api_cache_disabled", "config.api_cache_disabled")] in ("not judged", "not run")

    bad = run_edgeverify(lab.edge(["api-cached"]), CACHE, target=target)  # the fault the template predicts
    found = {(p["finding"], p["check"]): p["status"] for p in bad.doc["predictions"]}
    assert bad.returncode == 1 and found[PREDICTION] == "confirmed"
    result = from_json(bad.doc)
    assert f"edgeverify: {predictions_line(result)}" in bad.output and " confirmed" in predictions_line(result)
    text = markdown(result)
    assert text.count("## Template predictions") == 1  # said once
    assert "| `config.api_cache_disabled` | `cache.api_never_hit` | confirmed |" in text
    page = render_run(bad.doc)
    assert '<tr data-status="confirmed"><td><code>config.api_cache_disabled</code></td><td><code>cache.api_never_hit</code>' in page


def test_a_template_that_cannot_be_read_is_a_warning_not_a_verdict(lab, run_edgeverify, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  MyDistribution:\n    Type: AWS::CloudFront::Distribution\n    Properties:\n"
                      "      DistributionConfig: [not, a, mapping\n")
    run = run_edgeverify(lab.edge(), CACHE, target=_target(tmp_path, str(broken)))
    assert run.returncode == 0, run.output
    assert run.doc["predictions"] == []
    assert any(w.startswith("template predictions not made: ") for w in run.doc["warnings"]), run.doc["warnings"]
