"""A failing edge check's diagnosis cross-checked with the config suite in the same run.

The lab edge refuses POST on /api/* (fault post-not-allowed: CloudFront's own 403 for a method the behavior does
not allow); the diagnosis names config.api_methods, the rule that reads that setting. With the distribution in
moto missing POST too, the run says the configuration confirms the cause; with a distribution that allows POST
(config.api_methods passes), the run says the configuration does not show it — every output the same.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from moto_configs import api_behavior, create, good_config

ROOT = Path(__file__).resolve().parents[2]


def target_with(tmp_path: Path, distribution_id: str, endpoint: str) -> Path:
    text = (ROOT / "targets" / "local-lab.yaml").read_text()
    path = tmp_path / "target.yaml"
    path.write_text(text + f"\naws:\n  distribution_id: {distribution_id}\n  endpoint_url: {endpoint}\n")
    return path


@pytest.fixture(scope="module")
def refusing_edge(lab: Any) -> Any:
    return lab.edge(["post-not-allowed"])


def echo_call(run: Any) -> dict[str, Any]:
    return next(c for c in run.checks if c["rule"] == "api.call" and c["outcome"] == "failed"
                and "does not allow POST" in (c["cause"] or ""))


@pytest.mark.parametrize("methods, verdict, said", [
    (["GET", "HEAD", "OPTIONS"], "found",
     "config.api_methods found the same in the distribution's configuration: cause confirmed"),
    (None, "clear", "config.api_methods passed: the configuration does not show this cause"),
])
def test_the_config_suite_confirms_or_rules_out_the_cause(tmp_path, cf, moto_endpoint, run_edgeverify,
                                                          refusing_edge, methods, verdict, said):
    config = copy.deepcopy(good_config())
    if methods:
        api_behavior(config)["AllowedMethods"] = {"Quantity": len(methods), "Items": methods,
                                                  "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}
    target = target_with(tmp_path, create(cf, config), moto_endpoint)
    run = run_edgeverify(refusing_edge, str(ROOT / "suites" / "test_api.py"), str(ROOT / "suites" / "test_config.py"),
                         target=target)
    check = echo_call(run)
    assert check["confirm"] == ["config.api_methods"]
    assert check["config"] == [{"rule": "config.api_methods", "verdict": verdict}]
    assert said in check["cross_check"]
    # one place: the message every text output prints carries the same line
    assert f"Config:   {check['cross_check']}" in check["message"]
    # the terminal printed the failure as it ended (before the config rules ran), and the cross-check at the end
    assert f"config cross-check of {check['key']}: {check['cross_check']}" in run.output
    reports = Path(re.search(r"edgeverify report: (\S+)report\.html", run.output).group(1))
    assert check["cross_check"] in (reports / "summary.md").read_text()
    assert str(escape(check["cross_check"])) in (reports / "report.html").read_text()
    assert 'name="check[' + check["id"] + '].config" value="' in (reports / "junit.xml").read_text()
    config_check = next(c for c in run.checks if c["rule"] == "config.api_methods")
    assert config_check["outcome"] == ("failed" if verdict == "found" else "passed")


def test_without_the_config_suite_the_diagnosis_only_names_the_rule(run_edgeverify, refusing_edge):
    run = run_edgeverify(refusing_edge, str(ROOT / "suites" / "test_api.py"))
    check = echo_call(run)
    assert check["confirm"] == ["config.api_methods"] and check["config"] == [] and check["cross_check"] is None
    assert "Config:" not in check["message"]
    assert "to confirm or rule out from the configuration: the config suite's config.api_methods" in check["cause"]
