"""Secrets never reach any output: distinct secrets in every place a target allows, greped for in every form."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

ROOT = Path(__file__).resolve().parents[2]

# Distinct values whose raw, URL-encoded and JSON-escaped forms all differ (space, +, /, =, a non-ASCII letter).
SECRETS = {
    "EV_S_AUTH": "auth Tok/en+1=é9",
    "EV_S_KEY": "key Tok/en+2=é8",
    "EV_S_QUERY": "qryTok/en+3=é7",  # no white space: a target refuses it in a path
    "EV_S_BODY": "bdy Tok/en+4=é6",
    "EV_S_DEEP": "deepTok/en+5=é5",
    "EV_S_TRAIL": "trailing-Tok/en+6\n",  # a trailing newline once crashed the run and printed the raw value
}

TARGET = """\
domain: www.example.test
headers:
  Authorization: Bearer ${EV_S_AUTH}
api:
  calls:
    - name: health
      method: GET
      path: /api/health?t=${EV_S_QUERY}
      headers: {X-Api-Key: "${EV_S_KEY}"}
    - name: echo
      method: POST
      path: /api/echo
      json: {token: "${EV_S_BODY}", note: "${EV_S_TRAIL}"}
      expect: {status: 201}
  never_cached: [/api/nonce]
spa:
  deep_links: ["/account/${EV_S_DEEP}"]
propagation: {timeout: 0}
"""


def forms(value: str) -> set[str]:
    out = set()
    for raw in {value, value.strip()}:
        out |= {raw, quote(raw, safe=""), quote(raw), quote_plus(raw), quote(raw, safe="!#$%&'()*+,/:;=?@[]~"),
                json.dumps(raw)[1:-1], json.dumps(raw, ensure_ascii=False)[1:-1],
                base64.b64encode(raw.encode()).decode().rstrip("=")}
    return {f for f in out if len(f) >= 6}


def test_no_secret_in_any_output_in_any_form(lab, tmp_path):
    target = tmp_path / "secret.yaml"
    target.write_text(TARGET)
    reports = tmp_path / "reports"
    env = {**os.environ, **lab.edge(faults=["no-spa-fallback", "hsts-short"]).env(), **SECRETS}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-v",
                           f"--target={target}", f"--reports-dir={reports}", str(ROOT / "suites")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # failing checks print everything
    outputs = {"terminal": proc.stdout + proc.stderr}
    for path in reports.rglob("*"):
        if path.is_file():
            outputs[path.name] = path.read_text(errors="replace")
    assert {"junit.xml", "edgeverify.json", "summary.md", "report.html"} <= set(outputs)
    hits = [(name, where) for name, value in SECRETS.items() for form in forms(value)
            for where, text in outputs.items() if form in text]
    assert hits == [], hits
    # ... while the failures are still reproducible: the placeholders expand in the shell.
    assert '"Authorization: Bearer ${EV_S_AUTH}"' in outputs["terminal"]
    assert "${EV_S_DEEP}" in outputs["edgeverify.json"] and "FAILED [spa.deep_link]" in outputs["terminal"]
    assert "FAILED [api.call]" in outputs["terminal"]
