"""The HTML report in a real headless Chromium (Debian's `chromium`), opened from file:// with every host
name unresolvable: the failures, suite rows and pictures are there, nothing was fetched, it prints, and a
screenshot is saved to reports/report-screenshot.png for a person to look at."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report_dom import Element, external_references, parse

from edgeverify.html import render_run

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "reports" / "report-screenshot.png"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]
# Added to the page by the test only: measures each picture as laid out, and lists what the page fetched.
MEASURE = """<script>
window.addEventListener("load", function () {
  document.querySelectorAll("svg").forEach(function (s) {
    var r = s.getBoundingClientRect(); s.setAttribute("data-w", r.width); s.setAttribute("data-h", r.height);
  });
  var got = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  document.body.setAttribute("data-fetched", got.join(" ") || "nothing");
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail("chromium is missing in CI: .ci/install installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed (bash .ci/install installs it); not in CI, so skipped")


def browse(chromium: str, tmp: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=90)


def dump_dom(chromium: str, tmp: Path, html: str, name: str = "report.html") -> Element:
    page = tmp / name
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    run = browse(chromium, tmp, page, "--dump-dom")
    assert run.returncode == 0 and "<body" in run.stdout, run.stderr[-2000:]
    return parse(run.stdout)


def assert_failures_shown(dom: Element, doc: dict[str, Any]) -> None:
    shown = {a.attrs["data-check"]: a for a in dom.find("article", "check") if "failed" in a.classes}
    failed = [c for c in doc["checks"] if c["outcome"] == "failed"]
    assert failed and set(shown) == {c["id"] for c in failed}
    for check in failed:
        article = shown[check["id"]]
        assert article.attrs["data-rule"] == check["rule"] and check["rule"] in article.find("code", "rule")[0].text
        assert article.find("dd", "expected")[0].text == " ".join(check["expected"].split())
        assert article.find("dd", "actual")[0].text == " ".join(check["actual"].split())
        assert "curl " in article.find("pre", "curl")[0].text


def test_failing_report_in_chromium(chromium, tmp_path, failing_doc):
    html = render_run(failing_doc)
    assert external_references(html) == []
    dom = dump_dom(chromium, tmp_path, html)
    assert_failures_shown(dom, failing_doc)
    rows = {r.attrs["data-suite"]: r.attrs["data-verdict"] for r in dom.find("tr", "suite-row")}
    assert set(rows) == set(failing_doc["suites"]) and rows["https"] == "failed" and rows["api"] == "passed"
    charts = dom.find("svg", "chart")
    labels = [c.attrs["aria-label"] for c in charts]
    assert labels == ["propagation convergence, seconds", "convergence per edge, seconds",
                      "convergence time per run", "failures per suite per run"]
    for svg in charts + dom.find("svg", "strip") + dom.find("svg", "mini"):
        assert float(svg.attrs["data-w"]) > 0 and float(svg.attrs["data-h"]) > 0, svg.attrs
    assert len(dom.find("svg", "strip")) == len(failing_doc["history"]["flaky"])
    assert dom.find("body")[0].attrs["data-fetched"] == "nothing"


def test_the_fetch_detector_sees_a_fetch(chromium, tmp_path, failing_doc):
    html = render_run(failing_doc).replace("</main>", '<img src="https://cdn.example.invalid/pixel.png"></main>')
    dom = dump_dom(chromium, tmp_path, html)
    assert dom.find("body")[0].attrs["data-fetched"] == "https://cdn.example.invalid/pixel.png"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_screenshot_for_a_person(chromium, tmp_path, failing_doc):
    page = tmp_path / "report.html"
    page.write_text(render_run(failing_doc), encoding="utf-8")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    run = browse(chromium, tmp_path, page, f"--screenshot={SCREENSHOT}", "--window-size=1280,2400")
    assert run.returncode == 0 and SCREENSHOT.exists(), run.stderr[-2000:]
    assert _png_size(SCREENSHOT) == (1280, 2400)
    assert SCREENSHOT.stat().st_size > 50_000, "a blank page compresses to a few kB"


def test_the_report_prints(chromium, tmp_path, failing_doc):
    page, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    page.write_text(render_run(failing_doc), encoding="utf-8")
    run = browse(chromium, tmp_path, page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert run.returncode == 0 and pdf.exists(), run.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 3


def test_report_of_a_failing_lab_run(chromium, tmp_path, lab):
    """The report of a real run against the lab with a fault (hsts-short), as the JSON writer wrote it."""
    edge = lab.edge(faults={"hsts-short"})
    reports = tmp_path / "reports"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-W", "ignore",
                    "--target", str(ROOT / "targets" / "local-lab.yaml"), "--reports-dir", str(reports),
                    "--propagation-timeout=0", str(ROOT / "suites" / "test_https.py")],
                   cwd=ROOT, env={**os.environ, **edge.env()}, capture_output=True, text=True, timeout=120)
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert doc["schema"] == 3 and doc["exit_status"] == 1, doc.get("schema")
    html = (reports / "report.html").read_text()  # the page the run itself wrote
    dom = dump_dom(chromium, tmp_path, html)
    assert_failures_shown(dom, doc)
    assert {a.attrs["data-rule"] for a in dom.find("article", "check") if "failed" in a.classes} >= {"https.hsts"}
    assert dom.find("body")[0].attrs["data-fetched"] == "nothing"
