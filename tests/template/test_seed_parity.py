"""Before the deploy = after it: the seed document's snippets assembled into a SAM template give the same findings
as the config rules give on the same distribution deployed to moto's server and read back with boto3."""

from __future__ import annotations

import copy

from edgeverify.rules import config as rules
from edgeverify.template import audit, convert, source

from template_fixtures import TEMPLATES
from moto_configs import DOMAIN, SEED_API_DOMAIN, create, fetched_config, seed_config

CALLS = [("POST", "/api/submit")]
SEED_RULES = {"config.shadowed_behaviors", "config.compress", "config.api_cache_disabled",
              "config.api_origin_request_policy", "config.api_forwarding", "config.s3_oac", "config.tls_policy",
              "config.alias_certificate", "config.error_responses_swallow_api"}


def _deployable(config: dict) -> dict:
    """The template's DistributionConfig as a create_distribution request: the API's id in place of the logical
    one (known only once the stack is deployed)."""
    config = copy.deepcopy(config)
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
