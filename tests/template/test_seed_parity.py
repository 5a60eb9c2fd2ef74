"""Before the deploy = after it: the seed document's snippets assembled into a SAM template give the same findings
as the config rules give on the same distribution deployed to moto's server and read back with boto3."""

from __future__ import annotations

import copy
import itertools

from edgeverify.rules import config as rules
from edgeverify.template import audit, convert, source

from template_fixtures import TEMPLATES
from moto_configs import DOMAIN, SEED_API_DOMAIN, create, fetched_config, seed_config

CALLS = [("POST", "/api/submit")]
_refs = itertools.count()
SEED_RULES = {"config.shadowed_behaviors", "config.compress", "config.api_cache_disabled",
              "config.api_origin_request_policy", "config.api_forwarding", "config.s3_oac", "config.tls_policy",
              "config.alias_certificate", "config.error_responses_swallow_api", "config.response_headers_policy"}


def _deployable(config: dict) -> dict:
    """The template's DistributionConfig as a create_distribution request: the API's id in place of the logical
    one (known only once the stack is deployed)."""
    config = copy.deepcopy(config)
    config["CallerReference"] = f"edgeverify-template-{next(_refs)}"
    for origin in config["Origins"]["Items"]:
        origin["DomainName"] = origin["DomainName"].replace("${MyApi}.execute-api.us-east-1.amazonaws.com",
                                                            SEED_API_DOMAIN)
    return config


def _live(cf, config: dict) -> dict[str, str]:
    distribution_id = create(cf, config)
    fetched = fetched_config(cf, distribution_id, oac=None)
    return {v.rule.id: v.actual for v in rules.audit(fetched, distribution_id, DOMAIN, calls=CALLS)}


def test_seed_template_gives_the_deployed_distributions_findings(cf):
    result = audit.audit_template(str(TEMPLATES / "seed.yaml"), DOMAIN, CALLS)
    assert result.template.kind == "sam"
    (d,) = result.audits
    before = {f.rule: f.violation.actual.replace("${MyApi}", "a1b2c3d4e5") for f in result.findings}
    assert set(before) == SEED_RULES, sorted(before)
    # the template's own configuration, deployed to moto and read back: the same findings, word for word
    assert _live(cf, _deployable(d.distribution.config)) == before
    # and the configuration tests/aws deploys as the seed's (written by hand with AWS's defaults): the same
    assert _live(cf, seed_config()) == before
    # every finding points at a line of the template
    lines = source.read(TEMPLATES / "seed.yaml", lint=False).text.splitlines()
    for f in result.findings:
        for loc in f.locations:
            assert loc.line and 0 < loc.line <= len(lines), loc
    shadowed = next(f for f in result.findings if f.rule == "config.shadowed_behaviors")
    assert lines[shadowed.locations[0].line - 1].strip() == "- PathPattern: /api/submit"


def test_the_converted_seed_is_the_seed_tests_aws_deploys():
    """Property by property, what the rules read: the converted template equals moto_configs.seed_config()."""
    (d,) = convert.distributions(source.read(TEMPLATES / "seed.yaml", lint=False))
    mine, theirs = _deployable(d.config), seed_config()
    for key in ("Aliases", "DefaultRootObject", "CustomErrorResponses", "ViewerCertificate", "Enabled"):
        assert mine[key] == theirs[key], key
    for a, b in zip(mine["Origins"]["Items"], theirs["Origins"]["Items"]):
        assert _within(a, b) == b
    for a, b in zip([mine["DefaultCacheBehavior"], *mine["CacheBehaviors"]["Items"]],
                    [theirs["DefaultCacheBehavior"], *theirs["CacheBehaviors"]["Items"]]):
        assert _within(a, b) == b


def _within(mine, theirs):
    """`mine` cut to the keys `theirs` has, at every level (the template side also fills what no rule reads)."""
    if isinstance(theirs, dict) and isinstance(mine, dict):
        return {k: _within(mine.get(k), v) for k, v in theirs.items()}
    if isinstance(theirs, list) and isinstance(mine, list) and sorted(mine) == sorted(theirs):
        return theirs  # AllowedMethods: CloudFront keeps them as a set (the seed lists them in its own order)
    return mine


def test_config_suite_on_the_deployed_template_reports_what_the_audit_predicted(tmp_path, cf, moto_endpoint, capsys):
    """The config suite itself (pytest session, suites/test_config.py) on the template's distribution deployed to
    moto: its failed checks are the audit's findings, rule for rule and word for word, and `audit --confirm` on
    that run's report confirms each config finding."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from edgeverify.cli import main

    result = audit.audit_template(str(TEMPLATES / "seed.yaml"), DOMAIN, CALLS)
    (d,) = result.audits
    distribution_id = create(cf, _deployable(d.distribution.config))
    target = tmp_path / "site.yaml"
    target.write_text(f"domain: {DOMAIN}\ntemplate: {TEMPLATES / 'seed.yaml'}\naws:\n"
                      f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n  bucket: no-such-bucket\n"
                      "api:\n  calls:\n    - {method: POST, path: /api/submit, expect: {status: 200}}\n")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "pytest", "suites/test_config.py", "--target", str(target),
                          "-p", "no:cacheprovider", "--reports-dir", str(tmp_path / "reports"), "-k", "not parity"],
                         cwd=root, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    report = tmp_path / "reports" / "edgeverify.json"
    checks = json.loads(report.read_text())["checks"]
    failed = {c["rule"]: c["actual"] for c in checks if c["outcome"] == "failed"}
    passed = {c["rule"] for c in checks if c["outcome"] == "passed"}
    before = {f.rule: f.violation.actual.replace("${MyApi}", "a1b2c3d4e5") for f in result.findings}
    assert failed == before
    assert passed == {r for r, o in d.outcomes.items() if o.value == "passed"}
    capsys.readouterr()
    code = main(["audit", "--target", str(target), "--confirm", str(report)])
    out = capsys.readouterr().out
    assert code == 1
    for rule in SEED_RULES:
        assert f"{rule} -> {rule}: confirmed" in out, out
