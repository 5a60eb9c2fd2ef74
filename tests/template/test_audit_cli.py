"""`edgeverify audit`: exit 0/1/4 as for runs; bad templates (YAML error, unknown property, unresolvable reference)
named with file and line, never a traceback; the target's `template` key; predictions confirmed on a run's report."""

from __future__ import annotations

import json
import time

import pytest

from edgeverify.cli import main
from edgeverify.model import CheckResult, Outcome, RunResult
from edgeverify.reports import to_json

from template_fixtures import TEMPLATES


def run(capsys, *argv):
    code = main(["audit", *map(str, argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_exit_codes_0_and_1(capsys):
    code, out, _ = run(capsys, TEMPLATES / "good.yaml", "--domain", "www.example.test")
    assert code == 0 and "15 rules, 15 passed" in out and out.rstrip().endswith("passed (exit 0)")
    code, out, _ = run(capsys, TEMPLATES / "seed.yaml", "--domain", "www.example.test")
    assert code == 1 and "FAILED [config.compress]" in out and out.rstrip().endswith("failed (exit 1)")
    assert "At:       " in out and "seed.yaml:57 Resources.MyDistribution.Properties.DistributionConfig." \
                                  "CacheBehaviors[1].PathPattern" in out


@pytest.mark.parametrize("old, new, said", [
    ("            Id: S3Origin\n", "            Id: S3Origin\n  bad: [\n", "line 25: cannot be parsed"),
    ("DefaultRootObject: index.html", "DefaultRootObjekt: index.html",
     "line 17, property Resources.MyDistribution.Properties.DistributionConfig.DefaultRootObjekt: cfn-lint E3002"),
    # cfn-lint lets 'MyApiX' pass in a SAM template (it could be a resource SAM generates from MyApi): the resolver
    # does not, since SAM generates no such name
    ("!Sub ${MyApi}.execute-api", "!Sub ${MyApiX}.execute-api",
     "line 24, property Resources.MyDistribution.Properties.DistributionConfig.Origins[1].DomainName: Ref 'MyApiX' "
     "names no resource or parameter of the template (CloudFormation refuses an unresolvable reference). Did you "
     "mean 'MyApi'?"),
    ("FunctionName: !Ref SubmitFunction", "FunctionName: !Ref SubmitFunctio", "line 96"),
    ("!Sub ${MyApi}.execute-api", "!Sub ${MyApy}.execute-api", "line 24, property Resources.MyDistribution."
     "Properties.DistributionConfig.Origins[1].DomainName.Fn::Sub: cfn-lint E1019"),
], ids=["yaml_error", "unknown_property", "unresolvable_sub", "unresolvable_ref_cfn_lint", "unresolvable_sub_cfn_lint"])
def test_bad_template_is_bad_input(capsys, broken, old, new, said):
    path = broken("seed.yaml", old, new)
    code, out, err = run(capsys, path)
    assert code == 4 and out == "", out
    assert err.startswith(f"edgeverify audit: Template {path}") and said in err, err
    assert len(err.strip().splitlines()) == 1  # one paragraph


def test_unresolvable_getatt_in_json_is_bad_input(capsys, broken):
    path = broken("cdk-synth.template.json", '"Fn::GetAtt": [\n         "Bucket83908E77",\n         "RegionalDomainName"',
                  '"Fn::GetAtt": [\n         "Bucket83908E78",\n         "RegionalDomainName"')
    code, _, err = run(capsys, path)
    assert code == 4 and "Bucket83908E78" in err and ", line " in err, err


@pytest.mark.parametrize("content, said", [
    ("just: text\n", "not a CloudFormation template (no 'Resources' mapping at the top)"),
    ("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n", "no AWS::CloudFront::Distribution in"),
])
def test_not_a_distribution_template(capsys, tmp_path, content, said):
    path = tmp_path / "t.yaml"
    path.write_text(content)
    code, _, err = run(capsys, path)
    assert code == 4 and said in err, err


def test_missing_template_and_no_template(capsys, tmp_path):
    code, _, err = run(capsys, tmp_path / "nope.yaml")
    assert code == 4 and "not found" in err
    code, _, err = run(capsys)
    assert code == 4 and "no template" in err


def test_target_template_key(capsys, tmp_path):
    import shutil

    shutil.copy(TEMPLATES / "seed.yaml", tmp_path / "stack.yaml")
    target = tmp_path / "site.yaml"
    target.write_text("domain: www.example.test\ntemplate: stack.yaml\napi:\n  calls:\n"
                      "    - {method: POST, path: /api/submit, expect: {status: 200}}\n")
    code, out, _ = run(capsys, "--target", target)  # relative to the target file, whatever the working directory
    assert code == 1 and "declared calls POST /api/submit" in out
    target.write_text("domain: www.example.test\n\ntemplate: stak.yaml\n")
    code, _, err = run(capsys, "--target", target)
    assert code == 4 and f"Target file {target}, line 3, key 'template': stak.yaml: no such file" in err, err
    from edgeverify.target import load_target

    (tmp_path / "notes.txt").write_text("x")
    target.write_text("domain: www.example.test\ntemplate: notes.txt\n")
    with pytest.raises(Exception, match="line 2, key 'template': notes.txt: not a .yaml"):
        load_target(target)


def test_json_and_github_formats(capsys):
    code, out, _ = run(capsys, TEMPLATES / "seed.yaml", "--domain", "www.example.test", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["exit_status"] == 1
    (dist,) = doc["templates"][0]["distributions"]
    rules_found = {f["rule"]: f for f in dist["findings"]}
    assert rules_found["config.api_cache_disabled"]["predicts"] == ["cache.api_never_hit"]
    assert rules_found["config.compress"]["locations"][0]["line"] == 42
    code, out, _ = run(capsys, TEMPLATES / "seed.yaml", "--format", "github")
    first = out.splitlines()[0]
    assert first.startswith("::error file=") and ",line=42,title=config.compress::" in first


def _report(tmp_path, outcomes: dict[str, Outcome]):
    now = time.time()
    checks = tuple(CheckResult(id=f"suites/x.py::{rule}", outcome=o, rule=rule, suite=rule.split(".")[0])
                   for rule, o in outcomes.items())
    path = tmp_path / "edgeverify.json"
    path.write_text(json.dumps(to_json(RunResult("www.example.test", "t.yaml", "t", "edgeverify", now, now, checks))))
    return path


def test_predictions_confirmed_on_the_deployed_runs_report(capsys, tmp_path):
    report = _report(tmp_path, {"static.compressed": Outcome.FAILED, "config.compress": Outcome.FAILED,
                                "cache.api_never_hit": Outcome.PASSED, "https.tls_legacy": Outcome.SKIPPED})
    code, out, _ = run(capsys, TEMPLATES / "seed.yaml", "--domain", "www.example.test", "--confirm", report)
    assert code == 1
    assert "config.compress -> static.compressed: confirmed" in out
    assert "config.compress -> config.compress: confirmed" in out
    assert "config.api_cache_disabled -> cache.api_never_hit: not confirmed" in out
    assert "config.tls_policy -> https.tls_legacy: not judged" in out
    assert "config.error_responses_swallow_api -> api.unknown_route: not run" in out
    code, out, _ = run(capsys, TEMPLATES / "seed.yaml", "--confirm", report, "--format", "markdown")
    assert code == 1 and out.startswith("## edgeverify audit: failed")
    assert "| `config.compress` | `static.compressed` | confirmed |" in out
    assert "| `config.api_cache_disabled` | `cache.api_never_hit` | not confirmed |" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = run(capsys, TEMPLATES / "seed.yaml", "--confirm", bad)
    assert code == 4 and "not JSON" in err


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_origin_secret_headers_never_shown(capsys, broken, fmt):
    """A secret the template gives the origin (a shared header API Gateway checks) is not part of any finding."""
    secret = "s3cr3t-origin-verify-7f1c"
    path = broken("seed.yaml", "            Id: ApiGatewayOrigin\n",
                  "            Id: ApiGatewayOrigin\n            OriginCustomHeaders:\n"
                  f"              - HeaderName: X-Origin-Verify\n                HeaderValue: {secret}\n")
    code, out, err = run(capsys, path, "--format", fmt)
    assert code == 1 and secret not in out + err
