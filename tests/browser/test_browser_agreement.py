"""What a browser refuses is a failure: for each lab fault a browser reacts to, headless Chromium (Debian's
package) loads the lab page or runs the CORS fetch, and its verdict must equal the suites' verdict on the
same fault. The correct lab is the control row: nothing refused by either.

Chromium reaches only the lab on 127.0.0.1 (--host-resolver-rules; every other name resolves nowhere)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_cdp import CHROMIUM, Chromium, Verdict, spki_hash

TABLE = Path(__file__).resolve().parents[2] / "reports" / "browser-agreement.md"  # printed by tests/conftest.py

PAGE_RULES = {"static.mixed_content", "static.media_type"}
CORS_RULES = {"cors.preflight", "cors.actual_request", "cors.wildcard_credentials"}
# fault -> what the browser does with it: "page" (load the entry page) or "cors" (fetch the API from app.example.test)
ROWS = {
    "(correct lab)": "both",
    "mixed-content": "page",
    "script-wrong-type": "page",
    "css-wrong-type": "page",
    "cors-wildcard-credentials": "cors",
    "cors-double-acao": "cors",
    "cors-missing-header": "cors",
    "cors-missing-method": "cors",
}
# The calls a browser app makes to the lab API: the declared POST, and a PUT (the target's CORS methods).
FETCHES = (("POST", '{"hello": "edge"}'), ("PUT", '{"hello": "edge"}'))
API = "https://www.example.test/api/echo"


def _browser_or_skip() -> None:
    if os.access(CHROMIUM, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/install installs Debian's chromium")
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


def browser_verdict(lab, edge, kind: str) -> tuple[Verdict, str]:
    rules = (f"MAP www.example.test:443 127.0.0.1:{edge.https_port}, MAP app.example.test:443 127.0.0.1:{edge.https_port}, "
             f"MAP www.example.test:80 127.0.0.1:{edge.http_port}, MAP * ~NOTFOUND")
    browser = Chromium(rules, spki_hash(lab.certificate(frozenset())[0]))
    try:
        verdicts, what = [], []
        if kind in ("page", "both"):
            verdicts.append(browser.load("https://www.example.test/"))
            what.append("page https://www.example.test/")
        if kind in ("cors", "both"):
            verdicts.append(browser.load("https://app.example.test/"))
            for method, body in FETCHES:
                verdict = browser.fetch(API, method, credentials=True, body=body)
                verdicts.append(verdict)
                what.append(f"{method} {API} from https://app.example.test: {verdict.result}")
        return Verdict([r for v in verdicts for r in v.refusals]), "; ".join(what)
    finally:
        browser.close()


def suite_verdict(run_edgeverify, edge, kind: str) -> list[str]:
    suites = Path(__file__).resolve().parents[2] / "suites"
    files = {"page": ["test_static.py"], "cors": ["test_cors.py"], "both": ["test_static.py", "test_cors.py"]}[kind]
    run = run_edgeverify(edge, *[str(suites / f) for f in files])
    assert "Traceback" not in run.output, run.output[-3000:]
    watched = {"page": PAGE_RULES, "cors": CORS_RULES, "both": PAGE_RULES | CORS_RULES}[kind]
    return sorted(rule for rule in run.failed() if rule in watched)


def test_browser_and_suites_agree(lab, run_edgeverify):
    _browser_or_skip()
    pytest.importorskip("websocket", reason="websocket-client (the test extra) drives Chromium's DevTools")
    rows, disagreements = [], []
    for fault, kind in ROWS.items():
        edge = lab.edge([] if fault.startswith("(") else [fault])
        browser, what = browser_verdict(lab, edge, kind)
        failed = suite_verdict(run_edgeverify, edge, kind)
        agree = browser.refused == bool(failed)
        rows.append(f"| {fault} | {'refuses' if browser.refused else 'accepts'} | "
                    f"{', '.join(failed) or 'passes'} | {'yes' if agree else 'NO'} | "
                    f"{(browser.refusals[0] if browser.refusals else what)[:160].replace('|', '/')} |")
        if not agree:
            disagreements.append(f"{fault}: browser {'refused' if browser.refused else 'accepted'} "
                                 f"({browser.refusals or what}), suites failed {failed or 'nothing'}")
    table = ("| fault | Chromium | suites (failing rules) | agree | what the browser said |\n"
             "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(table)
    print("\n" + table)
    assert disagreements == [], "\n".join(disagreements)
