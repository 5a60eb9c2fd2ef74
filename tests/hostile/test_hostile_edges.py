"""Hostile edges: each run ends within its bound, with no traceback, never a pass it did not earn, and reports.

Each server misbehaves in one way (nothing listens, SYNs vanish, a TLS handshake never answered, headers or
a body dripping a byte at a time, a body without end, a gzip bomb, a connection closed mid-body, a status
line that is not HTTP, a redirect to itself). Peak memory of each run is printed (run with -s).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from servers import BEHAVIOURS, hostile

ROOT = Path(__file__).resolve().parents[2]
TARGET = """\
domain: www.example.test
connect_to: {connect_to}
ca_bundle: {ca}
timeouts: {{connect: 1, read: 1, total: 2}}
max_body_bytes: 200000
api:
  calls:
    - {{name: health, method: GET, path: /api/health}}
spa:
  deep_links: [/account]
propagation: {{timeout: 0}}
"""
# A hang guard, not a timing assert: a run that waited on any of its ~100 requests without a bound would go
# past it. That each request ended on its own bound is read from the reports (BOUNDED below), not from a clock.
BOUND_S = 120
# Servers that hold the connection silent or drip: every unjudged check must say which bound ended it.
BOUNDED = {"blackhole", "tls-hang", "header-drip", "body-drip"}
BOUND_WORDS = ("bound", "did not finish within", "timed out", "stalled")
# Servers that never give one whole HTTP answer: no check can pass against them, except the certificate's own
# checks where the TLS handshake itself works (their servers have a valid certificate).
NOTHING_WHOLE = {"refused", "blackhole", "tls-hang", "header-drip", "body-drip", "close-mid-body", "garbage-status"}
NO_TLS = {"refused", "blackhole", "tls-hang"}
TLS_CHECKS = ("test_https.py::test_certificate", "test_https.py::test_legacy_tls")


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1-only", "http2-offered"])
@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_a_hostile_edge_ends_in_bound_with_the_right_verdict_and_reports(name, http2, tmp_path):
    reports = tmp_path / "reports"
    with hostile(name, tmp_path) as (connect_to, ca):
        target = tmp_path / "hostile.yaml"
        target.write_text(TARGET.format(connect_to=json.dumps(connect_to), ca=ca))
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--target={target}",
                               f"--reports-dir={reports}", str(ROOT / "suites"), *([] if http2 else ["--http1.1"])],
                              cwd=tmp_path,
                              capture_output=True, text=True, timeout=BOUND_S)
        took = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = proc.stdout + proc.stderr
    print(f"\nhostile {name}: {took:.1f} s, exit {proc.returncode}, peak RSS {max(peak, before) / 1024:.0f} MB")
    assert "Traceback" not in out and "INTERNALERROR" not in out, out[-4000:]
    assert proc.returncode == 1, out[-3000:]
    doc = json.loads((reports / "edgeverify.json").read_text())
    statuses = {c["id"]: c["outcome"] for c in doc["checks"]}
    assert (reports / "summary.md").exists() and (reports / "junit.xml").exists()
    assert {"static", "api", "cache", "https", "spa"} <= set(doc["suites"])  # one row per suite, whatever happened
    passed = [i for i, s in statuses.items() if s == "passed"]
    if name in NO_TLS:
        assert passed == [], passed
    if name in NOTHING_WHOLE:
        assert [i for i in passed if not i.startswith(TLS_CHECKS)] == [], passed
        errors = [c for c in doc["checks"] if c["outcome"] == "could_not_judge"]
        assert errors and all("could not judge" in (c["message"] or "").lower() or "no whole answer" in
                              (c["message"] or "") for c in errors), errors[:2]
    if name in BOUNDED:
        unbounded = [c["message"] for c in errors if not any(w in (c["message"] or "") for w in BOUND_WORDS)]
        assert unbounded == [], unbounded[:2]
    deep = next(c for c in doc["checks"] if c["id"].startswith("test_spa.py::test_declared_deep_link"))
    if name == "redirect-loop":  # whole answers, all wrong: failures, with the redirect shown
        assert deep["outcome"] == "failed" and "301" in deep["message"], deep["message"]
    elif name not in NOTHING_WHOLE:  # an answer came, but no body whole enough to judge a page by: it says so
        assert deep["outcome"] == "could_not_judge" and "could not judge" in deep["message"], deep["message"]
