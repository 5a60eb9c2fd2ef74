"""The https suite against the real lab edge: passes when correct, fails with its diagnosis on each fault."""

import pytest

SUITE = "suites/test_https.py"

# fault -> {rule that must fail: text its message must contain}
CATCHES = {
    "http-no-redirect": {"https.redirect_status": "ViewerProtocolPolicy is allow-all",
                         "https.redirect_target": "without a Location header"},
    "redirect-302": {"https.redirect_status": "Actual:   302"},
    "redirect-drops-query": {"https.redirect_target": "query '' instead of"},
    "redirect-drops-path": {"https.redirect_target": "path / instead of"},
    "redirect-wrong-host": {"https.redirect_target": "host d111111abcdef8.cloudfront.net instead of www.example.test"},
    "hsts-missing": {"https.hsts": "without Strict-Transport-Security"},
    "hsts-short": {"https.hsts": "max-age=300"},
    "hsts-missing-on-errors": {"https.hsts_on_errors": "403 Forbidden without Strict-Transport-Security"},
    "cert-wrong-name": {"https.cert_valid": "names other.example.test, not www.example.test"},
    "cert-expiring": {"https.cert_expiry": "days left"},
    "cert-untrusted": {"https.cert_valid": "does not lead to a trusted CA"},
    "tls-legacy": {"https.tls_legacy": "handshake accepted"},
}


def test_https_suite_passes_on_the_correct_edge(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(), SUITE)
    assert run.returncode == 0, run.output
    assert run.failed() == {}
    assert {c["rule"] for c in run.checks} >= {rule for catches in CATCHES.values() for rule in catches}


@pytest.mark.parametrize("fault", sorted(CATCHES))
def test_https_suite_catches(lab, run_edgeverify, fault):
    run = run_edgeverify(lab.edge(faults=[fault]), SUITE, "--strict-advisories")
    assert run.returncode == 1, run.output
    failed = run.failed()
    for rule, text in CATCHES[fault].items():
        assert rule in failed, f"{fault}: {rule} did not fail\n{run.output}"
        message = failed[rule]
        assert text in message, f"{fault}: {rule} message lacks {text!r}:\n{message}"
        for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce:"):
            assert part in message, f"{fault}: {rule} message lacks {part}\n{message}"
    assert "Traceback" not in run.output
