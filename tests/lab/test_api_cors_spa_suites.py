"""The api, cors and spa suites against the real lab edge: pass when correct, fail with a diagnosis on each fault."""

from pathlib import Path

import pytest

from edgeverify.lab import nginx

from catches_api import CATCHES as API
from catches_cors import CATCHES as CORS
from catches_spa import CATCHES as SPA

SUITES = ("suites/test_api.py", "suites/test_cors.py", "suites/test_spa.py")
CATCHES: dict[str, dict[str, str]] = {}
for _group in (API, CORS, SPA):
    for _fault, _rules in _group.items():
        CATCHES.setdefault(_fault, {}).update(_rules)


def test_api_cors_spa_suites_pass_on_the_correct_edge(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(), *SUITES, "--strict-advisories")
    assert run.returncode == 0, run.output
    assert run.failed() == {}
    assert {c["rule"] for c in run.checks} >= {rule for catches in CATCHES.values() for rule in catches}
    assert not [c for c in run.checks if c["status"] == "skipped"], run.output


@pytest.mark.parametrize("fault", sorted(CATCHES))
def test_api_cors_spa_suites_catch(lab, run_edgeverify, fault):
    if fault == "api-cached" and "Set-Cookie Vary;" not in Path(nginx.__file__).read_text():
        pytest.xfail("lab change pending: nginx honours Vary: Origin where CloudFront does not "
                     "(api-cached needs 'proxy_ignore_headers ... Vary')")
    run = run_edgeverify(lab.edge(faults=[fault]), *SUITES, "--strict-advisories")
    assert run.returncode == 1, run.output
    failed = run.failed()
    for rule, text in CATCHES[fault].items():
        assert rule in failed, f"{fault}: {rule} did not fail\n{run.output}"
        message = failed[rule]
        assert text in message, f"{fault}: {rule} message lacks {text!r}:\n{message}"
        for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce:"):
            assert part in message, f"{fault}: {rule} message lacks {part}\n{message}"
    assert "Traceback" not in run.output
