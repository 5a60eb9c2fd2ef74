"""The oracle: MDN's own scanner (npm @mdn/mdn-http-observatory 1.4.8) and the security suite grade the same lab
variants, F to A+, and must agree on the grade, the score and every one of the ten tests' results.

The suite's per-answer rules differ from the scanner on purpose where the scanner looks at `/` only: a behavior
without the response headers policy (nosniff-missing-assets) keeps the scanner's A+, while security.nosniff fails
it; the row says so. The table is written to reports/observatory-agreement.md (printed at the end of the run)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import mdn_scanner

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "reports" / "observatory-agreement.md"
SUITE = str(ROOT / "suites" / "test_security.py")

# variant -> (faults, why the suite's own rules differ from the scanner's verdict, if they do)
VARIANTS: dict[str, tuple[tuple[str, ...], str]] = {
    "(correct lab)": ((), ""),
    "nosniff-missing-assets": (("nosniff-missing-assets",),
                               "the scanner judges / only; security.nosniff fails the assets' answers"),
    "hsts-short + referrer-unsafe": (("hsts-short", "referrer-unsafe"), ""),
    "csp-unsafe-inline": (("csp-unsafe-inline",), ""),
    "csp-missing": (("csp-missing",), ""),
    "csp-missing + framing-allowed": (("csp-missing", "framing-allowed"), ""),
    "csp-missing + framing-allowed + hsts-missing": (("csp-missing", "framing-allowed", "hsts-missing"), ""),
    "csp-missing + framing-allowed + hsts-missing + cookie-insecure":
        (("csp-missing", "framing-allowed", "hsts-missing", "cookie-insecure"), ""),
}


def _ours(run_edgeverify, edge) -> dict:
    run = run_edgeverify(edge, SUITE, "-k", "test_observatory_grade")
    assert "Traceback" not in run.output, run.output[-3000:]
    block = run.doc.get("security")
    assert block, f"the suite computed no grade:\n{run.output[-3000:]}"
    return block


def test_grade_agrees_with_mdn_scanner(lab, run_edgeverify):
    why = mdn_scanner.unavailable()
    if why:
        pytest.skip(f"MDN's scanner cannot run here: {why}")
    edges = {name: lab.edge(faults) for name, (faults, _) in VARIANTS.items()}

    def both(name: str) -> tuple[dict, dict]:
        edge = edges[name]
        return mdn_scanner.scan(edge, "www.example.test"), _ours(run_edgeverify, edge)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(VARIANTS, pool.map(both, VARIANTS)))
    rows, disagreements, grades = [], [], set()
    for name, (theirs, ours) in results.items():
        mine = {t["name"]: t for t in ours["tests"]}
        differing = [f"{test}: scanner {t['result']} ({'pass' if t['pass'] else 'fail'}), ours "
                     f"{mine.get(test, {}).get('result')} ({'pass' if mine.get(test, {}).get('pass') else 'fail'})"
                     for test, t in theirs["tests"].items()
                     if mine.get(test, {}).get("result") != t["result"] or mine.get(test, {}).get("pass") != t["pass"]]
        agree = theirs["grade"] == ours["grade"] and theirs["score"] == ours["score"] and not differing
        grades.add(theirs["grade"])
        lost = ", ".join(f"{k} {t['modifier']:+d}" for k, t in theirs["tests"].items() if t["modifier"])
        rows.append(f"| {name} | {theirs['grade']} ({theirs['score']}) | {ours['grade']} ({ours['score']}) | "
                    f"{'yes' if agree else 'NO'} | {lost} | {VARIANTS[name][1]} |")
        if not agree:
            disagreements.append(f"{name}: scanner {theirs['grade']} {theirs['score']}, suite {ours['grade']} "
                                 f"{ours['score']}; {'; '.join(differing)}")
    table = ("| lab variant | MDN scanner | security suite | agree | scanner's modifiers | differs on purpose |\n"
             "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(table)
    print("\n" + table)
    assert disagreements == [], "\n".join(disagreements)
    assert {"A+", "F"} <= grades and len(VARIANTS) >= 8, grades  # the variants span F to A+
