"""State-changing requests reach the edge only as declared and at most once per run: across suites, retry
rounds and xdist workers, counted at the edge itself (its access log)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TARGET = """\
domain: www.example.test
api:
  calls:
    - {name: submit, method: POST, path: /api/echo, json: {order: 1}, expect: {status: 201}}
    - {name: health, method: GET, path: /api/health}
cors:
  allowed_origins: [https://app.example.test, https://www.example.test]
  paths: [/api/echo, /api/only-cors]
  methods: [POST, DELETE]
propagation: {timeout: 6, interval: 0.5, max_interval: 1, release_marker: build-2026.11.25-new}
"""
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def test_each_unsafe_request_goes_out_at_most_once_under_four_workers_and_retries(lab, tmp_path):
    target = tmp_path / "unsafe.yaml"
    target.write_text(TARGET)
    edge = lab.edge(faults=["hsts-short"], old_release_for=0.0)  # its own edge: its own access log
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "4",
                           f"--target={target}", f"--reports-dir={tmp_path / 'r'}", str(ROOT / "suites")],
                          cwd=tmp_path, env={**os.environ, **edge.env()}, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout[-3000:]
    log = (edge.root / "access.log").read_text()
    sent = Counter(m.groups() for m in re.finditer(r'"(\w+) (\S+) HTTP/[\d.]+"', log) if m.group(1) in UNSAFE)
    assert sent[("POST", "/api/echo")] == 1, sent  # api.call, api.reaches_origin, cors: one shared POST
    assert not any(p == "/api/only-cors" for _, p in sent), sent  # never invented for a cors-only path
    assert sent[("POST", "/")] <= 1, sent  # spa.post_root's probe
    probes = [k for k in sent if "/__edgeverify/probe" in k[1]]
    assert len(probes) <= 1 and all(sent[k] == 1 for k in probes), sent  # the HTTP->HTTPS POST probe
    assert set(m for m, _ in sent) <= {"POST"}, sent
    # ... while the failing safe checks were retried (the run did retry, so "once" is not for lack of rounds).
    hsts = len(re.findall(r'"GET / HTTP', log))
    assert hsts >= 3, hsts
