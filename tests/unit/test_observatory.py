"""The Observatory port (edgeverify/observatory.py) on the scanner's own test cases and scoring rules; the live
comparison with MDN's scanner is tests/security/test_observatory_oracle.py."""

import json
from pathlib import Path

import pytest

from edgeverify.observatory import Answer, Scan, csp_verdict, grade_for, hsts_max_age, referrer_verdict, score

CASES = json.loads((Path(__file__).resolve().parents[1] / "data" / "observatory" / "csp-cases.json").read_text())
HOST = "www.example.test"
# The headers of CloudFront's managed SecurityHeadersPolicy (Developer Guide, "Use managed response headers
# policies"): no Content-Security-Policy.
MANAGED = (("strict-transport-security", "max-age=31536000"), ("x-content-type-options", "nosniff"),
           ("x-frame-options", "SAMEORIGIN"), ("referrer-policy", "strict-origin-when-cross-origin"),
           ("x-xss-protection", "1; mode=block"), ("content-type", "text/html"))
REDIRECT = (Answer(f"http://{HOST}/", 301, (("location", f"https://{HOST}/"),)), Answer(f"https://{HOST}/", 200))


@pytest.mark.parametrize("case", [(c["expected"], v) for c in CASES["cases"] for v in c["values"]],
                         ids=lambda c: f"{c[0]}:{c[1][:40]!r}")
def test_csp_results_equal_the_scanners_own_cases(case):
    expected, value = case
    assert csp_verdict([value], []).result == expected


@pytest.mark.parametrize(("score", "grade"), [(135, "A+"), (100, "A+"), (99, "A"), (90, "A"), (89, "A-"), (84, "B+"),
                                              (55, "C"), (25, "D-"), (24, "F"), (0, "F")])
def test_grade_chart(score, grade):
    assert grade_for(score) == grade


def page(*headers, body=""):
    return Answer(f"https://{HOST}/", 200, tuple(headers), body)


def test_managed_security_headers_policy_alone_grades_b():
    grade = score(Scan(HOST, page(*MANAGED), REDIRECT))
    assert (grade.grade, grade.score) == ("B", 75)  # no CSP -25; the referrer bonus does not count below 90
    assert [t.name for t in grade.tests if t.modifier < 0] == ["content-security-policy"]


def test_bonuses_count_only_from_90():
    csp = ("content-security-policy", "default-src 'none'; frame-ancestors 'self'")
    assert score(Scan(HOST, page(*MANAGED, csp), REDIRECT)).score == 100 + 10 + 5 + 5
    no_hsts = [h for h in MANAGED if h[0] != "strict-transport-security"]
    assert score(Scan(HOST, page(*no_hsts, csp), REDIRECT)).score == 80  # -20, bonuses dropped


def test_meta_csp_and_referrer_count_but_meta_frame_ancestors_only_for_framing():
    body = ('<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            'frame-ancestors \'none\'"><meta name="referrer" content="no-referrer"></head></html>')
    tests = {t.name: t.result for t in score(Scan(HOST, page(("content-type", "text/html"), body=body), REDIRECT)).tests}
    assert tests["content-security-policy"] == "csp-implemented-with-no-unsafe-default-src-none"
    assert tests["referrer-policy"] == "referrer-policy-private"
    assert tests["x-frame-options"] == "x-frame-options-implemented-via-csp"  # the scanner's quirk (see its xfo test)


def test_cookies_worst_result_wins():
    cookies = ("SESSIONID=a; Path=/", "csrftoken=b; Secure; HttpOnly")
    grade = score(Scan(HOST, page(*MANAGED), REDIRECT, cookies=cookies))
    assert {t.name: t.result for t in grade.tests}["cookies"] == "cookies-session-without-httponly-flag"


def test_redirection_and_cors_and_sri():
    missing = score(Scan(HOST, page(*MANAGED), (Answer(f"http://{HOST}/", 200),)))
    assert {t.name: t.result for t in missing.tests}["redirection"] == "redirection-missing"
    universal = Answer(f"https://{HOST}/", 200, (("access-control-allow-origin", "https://x.test"),
                                                 ("access-control-allow-credentials", "true")))
    tests = {t.name: t.result for t in score(Scan(HOST, page(*MANAGED), REDIRECT, cors=universal,
                                                  cors_origin="https://x.test")).tests}
    assert tests["cross-origin-resource-sharing"] == "cross-origin-resource-sharing-implemented-with-universal-access"
    cdn = page(*MANAGED, body='<script src="http://cdn.example.org/a.js"></script>')
    tests = {t.name: t.result for t in score(Scan(HOST, cdn, REDIRECT)).tests}
    assert tests["subresource-integrity"] == "sri-not-implemented-and-external-scripts-not-loaded-securely"


def test_hsts_and_referrer_parsing():
    assert hsts_max_age("max-age=15768000; includeSubDomains") == 15768000
    with pytest.raises(ValueError):
        hsts_max_age("max-age=1, max-age=2")
    assert referrer_verdict(["no-referrer, unsafe-url"]) == "referrer-policy-unsafe"  # the last valid token decides
    assert referrer_verdict(["bogus"]) == "referrer-policy-header-invalid"

