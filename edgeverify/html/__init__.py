"""The HTML reports: one self-contained page per target run, and a combined page for many targets.

Everything in a report is text that came from an edge, so the templates autoescape; pictures are
inline SVG drawn from geometry computed here; nothing is fetched when the page is opened.
"""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined

from ..fleet import BAD, COUNT_KEYS, REPORT_HTML, problems, report_link, totals, worst
from ..model import Acceptance, Outcome
from .latency import latency_view
CSS = {"passed": "passed", "failed": "failed", "could_not_judge": "error", "interrupted": "error",
       "accepted": "advisory", "advisory": "advisory", "skipped": "skipped"}

SUITE_COLOURS = ("#0969da", "#8250df", "#bf3989", "#1b7c83", "#e16f24", "#6639ba", "#57606a", "#0550ae",
                 "#b35900", "#3192aa")
STRIP_CLASSES = {"P": "passed", "F": "failed", "E": "error", "S": "skipped", "I": "error"}
MAX_ROWS = 40


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("edgeverify.html", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      bytecode_cache=_bytecode_cache())
    env.filters["secs"] = _secs
    env.filters["clip"] = _clip
    return env


def _bytecode_cache() -> BytecodeCache | None:
    """The templates compiled once per installed version, not at every run (a tenth of a second); none where the
    user's cache folder cannot be written."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        tag = version("edgeverify")
    except PackageNotFoundError:
        tag = "source"
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeverify" / f"jinja-{tag}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder)) if os.access(folder, os.W_OK) else None


def _secs(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 100:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value >= 600 else f"{value:.0f} s"


def _clip(value: Any, limit: int = 60) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _lines(value: Any) -> str | None:
    """A message part without the indentation its continuation lines carry in the terminal."""
    return None if value is None else "\n".join(line.strip() for line in str(value).splitlines())


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _nice_max(top: float) -> tuple[float, float]:
    """A round axis end and tick step covering `top`, with at most about six ticks."""
    if top <= 0:
        return 1.0, 0.25
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return math.ceil(top / step - 1e-9) * step, step


def _tick_text(value: float, step: float) -> str:
    return f"{value:.0f}" if step >= 1 else f"{value:g}"


def hbars(rows: list[dict[str, Any]], *, label_w: int = 300, plot_w: int = 520, row_h: int = 22) -> dict[str, Any]:
    """Geometry of a horizontal bar chart in seconds; rows: label, value (or None: no bar), cls, note, title."""
    values = [v for r in rows if (v := _num(r.get("value"))) is not None]
    end, step = _nice_max(max(values, default=0.0))
    top = 24
    bars = []
    for i, row in enumerate(rows):
        value = _num(row.get("value"))
        full = bool(row.get("full"))
        width = plot_w if full else (0.0 if value is None else max(2.0, plot_w * value / end))
        y = top + i * row_h
        bars.append({"y": y, "ty": y + row_h * 0.68, "h": row_h - 6, "w": round(width, 1),
                     "label": _clip(row.get("label"), 48), "title": str(row.get("title") or row.get("label") or ""),
                     "cls": row.get("cls") or "bar", "note": row.get("note") or "",
                     "nx": round(label_w + width + 6, 1)})
    ticks = []
    n = 0
    while n * step <= end + 1e-9:
        ticks.append({"x": round(label_w + plot_w * n * step / end, 1), "text": _tick_text(n * step, step)})
        n += 1
    height = top + len(rows) * row_h + 8
    return {"width": label_w + plot_w + 300, "height": height, "x0": label_w, "plot_w": plot_w, "top": top,
            "bottom": height - 8, "bars": bars, "ticks": ticks}


def columns(runs: list[dict[str, Any]], *, unit: str = "s", plot_h: int = 160, col_w: int = 26,
            gap: int = 10) -> dict[str, Any]:
    """Geometry of a (stacked) column chart, a column per run; each run: label, title, stack [(value, colour)]."""
    sums = [sum(v for v, _ in r["stack"]) for r in runs]
    end, step = _nice_max(max(sums, default=0.0))
    left, top = 52, 12
    cols = []
    for i, run in enumerate(runs):
        x = left + gap + i * (col_w + gap)
        y = top + plot_h
        parts = []
        for value, colour in run["stack"]:
            h = plot_h * value / end
            y -= h
            parts.append({"y": round(y, 1), "h": round(h, 1), "fill": colour, "value": value})
        cols.append({"x": x, "parts": parts, "label": _clip(run["label"], 10), "title": run["title"],
                     "missing": run.get("missing", False), "lx": x + col_w / 2})
    ticks = []
    n = 0
    while n * step <= end + 1e-9:
        ticks.append({"y": round(top + plot_h - plot_h * n * step / end, 1), "text": _tick_text(n * step, step) + unit})
        n += 1
    width = left + gap + len(runs) * (col_w + gap) + 10
    return {"width": max(width, 240), "height": top + plot_h + 44, "left": left, "top": top, "base": top + plot_h,
            "col_w": col_w, "cols": cols, "ticks": ticks, "right": max(width, 240) - 6}


def _exchange_view(xid: str, ex: Any) -> dict[str, Any]:
    ex = ex if isinstance(ex, dict) else {}
    req = _mapping(ex.get("request"))
    status = ex.get("status")
    if status is None:
        phase = f" ({ex.get('error_phase')})" if ex.get("error_phase") else ""
        outcome = f"no response{phase}: {ex.get('error') or 'unknown error'}"
    else:
        outcome = str(status)
    return {"id": xid, "method": req.get("method") or "?", "url": req.get("url") or "?", "outcome": outcome,
            "ok": isinstance(status, int) and status < 400,
            "request_headers": [h for h in req.get("headers") or [] if isinstance(h, (list, tuple)) and len(h) == 2],
            "headers": [h for h in ex.get("headers") or [] if isinstance(h, (list, tuple)) and len(h) == 2],
            "body": ex.get("body_excerpt"), "body_bytes": ex.get("body_bytes"),
            "elapsed_s": (_num(ex.get("elapsed_ms")) or 0) / 1000 if _num(ex.get("elapsed_ms")) is not None else None,
            "x_cache": ex.get("x_cache"), "pop": ex.get("pop"), "http": ex.get("http"), "curl": ex.get("curl"),
            "retried": ex.get("retried")}


def _check_view(check: dict[str, Any], exchanges: dict[str, Any], anchor: str, marks: dict[str, list[str]]
                ) -> dict[str, Any]:
    cid = str(check.get("id") or check.get("nodeid") or "?")
    refs = [x for x in check.get("exchanges") or [] if isinstance(x, str)]
    return {"anchor": anchor, "id": cid, "rule": check.get("rule") or "", "suite": check.get("suite") or "",
            "summary": check.get("summary") or "", "status": _label(check.get("outcome")),
            "outcome": str(check.get("outcome") or "?"), "cls": CSS.get(str(check.get("outcome")), "error"),
            "nodeid": check.get("nodeid") or "", "message": check.get("message") or "",
            "expected": _lines(check.get("expected")), "actual": _lines(check.get("actual")),
            "cause": _lines(check.get("cause")), "cross_check": _lines(check.get("cross_check")),
            "consequence_of": check.get("consequence_of"),
            "reproduce": check.get("reproduce"), "advisory": check.get("advisory"),
            "attempts": check.get("attempts"), "elapsed_s": check.get("elapsed_s"),
            "converged_after_s": check.get("converged_after_s"), "duration_s": check.get("duration_s"),
            "pops": [str(p) for p in check.get("pops") or []], "marks": marks.get(cid, []),
            "known_issue": _known_issue(check.get("acceptance")),
            "properties": [(str(p[0]), str(p[1])) for p in check.get("properties") or []
                           if isinstance(p, (list, tuple)) and len(p) == 2 and p[0] != "screenshot"],
            "screenshot": next((str(p[1]) for p in check.get("properties") or []
                                if isinstance(p, (list, tuple)) and len(p) == 2 and p[0] == "screenshot"), None),
            "har": _har_view(check.get("har")) if check.get("outcome") not in ("passed", "skipped") else None,
            # the page shows the exchanges of failures and advisories only (a passing check's can be thousands)
            "exchanges": [_exchange_view(x, exchanges.get(x)) for x in refs if x in exchanges]
            if check.get("outcome") not in ("passed", "skipped") else []}


def _har_view(har: Any) -> dict[str, Any] | None:
    """A browser check's HAR excerpt (already redacted and bounded when the result was formed): a line per request,
    and the excerpt itself to copy into a HAR viewer."""
    log = har.get("log") if isinstance(har, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        return None
    entries = []
    for e in log["entries"]:
        e = e if isinstance(e, dict) else {}
        req, resp = _mapping(e.get("request")), _mapping(e.get("response"))
        status = resp.get("status")
        shown = f"no response: {resp.get('_error')}" if not status else str(status)
        entries.append({"method": str(req.get("method") or "?"), "url": str(req.get("url") or "?"), "status": shown,
                        "ok": isinstance(status, int) and 0 < status < 400, "comment": str(e.get("comment") or "")})
    return {"entries": entries, "json": json.dumps(har, indent=1, ensure_ascii=False)}


def _known_issue(acceptance: Any) -> str | None:
    """The known issue covering a check, in the words every output uses (model.Acceptance.note)."""
    if not isinstance(acceptance, dict):
        return None
    try:
        return Acceptance(**{k: acceptance[k] for k in ("reason", "owner", "expires", "expired")}).note()
    except (KeyError, TypeError):
        return None


def _convergence(doc: dict[str, Any], checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = []
    release = _mapping(doc.get("release"))
    served = _num(release.get("served_after_s"))
    if served is not None:
        rows.append({"label": f"release {release.get('marker') or ''} served".replace("  ", " "), "value": served,
                     "cls": "bar-release", "note": _secs(served)})
    elif release.get("gate") == "failed":
        rows.append({"label": f"release {release.get('marker') or ''}", "full": True, "cls": "bar-failed",
                     "note": f"not served: {_clip(release.get('reason') or 'the release gate failed', 60)}"})
    late = [c for c in checks if _num(c.get("converged_after_s"))]
    gave_up = [c for c in checks if c.get("outcome") in BAD and (c.get("attempts") or 0) > 1]
    for c in sorted(late, key=lambda c: -c["converged_after_s"]):
        rows.append({"label": c.get("id") or c.get("nodeid"), "value": c["converged_after_s"], "cls": "bar-converged",
                     "note": f"{_secs(c['converged_after_s'])} · {c.get('attempts') or '?'} attempts"})
    for c in sorted(gave_up, key=lambda c: -(_num(c.get("elapsed_s")) or 0)):
        rows.append({"label": c.get("id") or c.get("nodeid"), "value": _num(c.get("elapsed_s")) or 0,
                     "cls": "bar-failed", "note": f"still failing after {_secs(c.get('elapsed_s'))}, "
                                                  f"{c.get('attempts')} attempts"})
    if not rows:
        return None
    extra = max(0, len(rows) - MAX_ROWS)
    chart = hbars(rows[:MAX_ROWS])
    chart["more"] = extra
    return chart


def _history(doc: dict[str, Any], known: set[str]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    hist = doc.get("history")
    marks: dict[str, list[str]] = {}
    if not isinstance(hist, dict):
        return None, marks

    def ids(key: str) -> list[str]:
        return [str(x) for x in hist.get(key) or [] if isinstance(x, (str, int))]

    for key, mark in (("new_since_last", "new since last run"), ("new_since_last_pass", "new since last pass")):
        for cid in ids(key):
            marks.setdefault(cid, []).append(mark)
    ongoing = [{"id": str(o.get("id")), "first_seen": o.get("first_seen") or "?"}
               for o in hist.get("ongoing") or [] if isinstance(o, dict)]
    for o in ongoing:
        marks.setdefault(str(o.get("id")), []).append(f"ongoing since {o.get('first_seen') or '?'}")
    flaky = []
    for f in hist.get("flaky") or []:
        if not isinstance(f, dict):
            continue
        strip = str(f.get("strip") or "")[-60:]
        flaky.append({"id": str(f.get("id")), "strip": strip, "known": str(f.get("id")) in known,
                      "cells": [{"x": 2 + i * 16, "cls": STRIP_CLASSES.get(ch, "unknown"), "ch": ch}
                                for i, ch in enumerate(strip)],
                      "width": 4 + 16 * len(strip),
                      "changes": sum(a != b for a, b in zip(strip, strip[1:]))})
        marks.setdefault(str(f.get("id")), []).append("flaky")
    accepted = [{"id": str(a.get("id")), "rule": a.get("rule") or "", "reason": a.get("reason") or "",
                 "owner": a.get("owner") or "", "expires": a.get("expires") or "?", "expired": bool(a.get("expired"))}
                for a in hist.get("accepted") or [] if isinstance(a, dict)]
    for a in accepted:
        marks.setdefault(str(a.get("id")), []).append(
            f"accepted until {a.get('expires')}" + (", expired" if a.get("expired") else ""))
    trend = [t for t in hist.get("trend") or [] if isinstance(t, dict)]
    return {"first_run": bool(hist.get("first_run")),
            "new_since_last": ids("new_since_last"), "new_since_last_pass": ids("new_since_last_pass"),
            "recovered": ids("recovered"), "ongoing": ongoing, "flaky": flaky, "accepted": accepted,
            "known": known, "convergence_trend": _convergence_trend(trend), "failure_trend": _failure_trend(trend)
            }, marks


def _run_label(run: dict[str, Any]) -> tuple[str, str]:
    when = str(run.get("started_at") or "")
    short = when[5:10] if len(when) >= 10 else when
    release = run.get("release")
    return short, f"{when} {release or ''}".strip()


def _convergence_trend(trend: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not trend:
        return None
    runs = []
    for run in trend[-40:]:
        label, title = _run_label(run)
        value = _num(run.get("convergence_s"))
        runs.append({"label": label, "title": f"{title}: " + (_secs(value) if value is not None else "no convergence "
                                                                "measured"),
                     "stack": [(value or 0.0, "#0969da")], "missing": value is None})
    return columns(runs)


def _failure_trend(trend: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not trend:
        return None
    suites = sorted({str(s) for run in trend for s in (run.get("failures") or {})})
    colour = {s: SUITE_COLOURS[i % len(SUITE_COLOURS)] for i, s in enumerate(suites)}
    runs = []
    for run in trend[-40:]:
        label, title = _run_label(run)
        failures = _mapping(run.get("failures"))
        stack = [(float(failures.get(s) or 0), colour[s]) for s in suites if _num(failures.get(s))]
        detail = ", ".join(f"{s} {failures[s]}" for s in suites if _num(failures.get(s)))
        runs.append({"label": label, "title": f"{title}: " + (detail or "no failures"), "stack": stack})
    chart = columns(runs, unit="")
    chart["legend"] = [{"name": s, "colour": colour[s]} for s in suites]
    return chart


def _security(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The Observatory grade block, if the security suite computed one."""
    block = doc.get("security")
    if not isinstance(block, dict) or "grade" not in block:
        return None
    tests = [t for t in block.get("tests") or [] if isinstance(t, dict)]
    return {"grade": str(block.get("grade")), "score": block.get("score"), "source": block.get("source") or "",
            "tests": tests}


def _edges(doc: dict[str, Any]) -> dict[str, Any] | None:
    block = doc.get("edges")
    if not isinstance(block, dict):
        return None
    rows = []
    items = [{k: e.get(k) for k in ("address", "pop", "region", "release", "converged_after_s", "status", "detail")}
             for e in block.get("edges") or [] if isinstance(e, dict)]
    for e in items:
        label = " · ".join(str(e[k]) for k in ("address", "pop", "region") if e.get(k))
        value = _num(e.get("converged_after_s"))
        status = str(e.get("status") or "?")
        if value is not None:
            note = f"{e.get('release') or 'release'} after {_secs(value)}"
            if status != "passed":
                note += f" · {status}: {_clip(e.get('detail'), 60)}"
            rows.append({"label": label, "value": value, "cls": f"bar-{_status_cls(status)}", "note": note,
                         "title": f"{label}: {e.get('detail') or status}"})
        else:
            rows.append({"label": label, "full": True, "cls": f"bar-{_status_cls(status)} bar-open",
                         "note": f"{status}: {_clip(e.get('detail') or 'never converged', 70)}",
                         "title": f"{label}: {e.get('detail') or status}"})
    return {"mode": block.get("mode") or "", "items": items, "chart": hbars(rows) if rows else None}


def _status_cls(status: str) -> str:
    return status if status in ("passed", "failed", "error", "skipped", "advisory") else "error"


def _label(outcome: Any) -> str:
    try:
        return Outcome(outcome).label
    except ValueError:
        return "?"


def _suites(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, counts in (doc.get("suites") or {}).items():
        if not isinstance(counts, dict):
            continue
        c = {k: _count(counts.get(k)) for k in COUNT_KEYS}
        v = ("failed" if c["failed"] else "error" if c["could_not_judge"] or c["interrupted"]
             else "passed" if c["passed"] else "advisory" if c["advisory"] or c["accepted"] else "skipped")
        total = sum(c.values()) or 1
        x = 0.0
        parts = []
        for key in ("passed", "advisory", "accepted", "failed", "could_not_judge", "interrupted", "skipped"):
            if c[key]:
                w = 160 * c[key] / total
                parts.append({"x": round(x, 1), "w": round(w, 1), "cls": CSS[key], "n": c[key]})
                x += w
        rows.append({"name": str(name), "verdict": v, "counts": c, "parts": parts})
    return sorted(rows, key=lambda r: (r["verdict"] == "passed", r["verdict"] == "skipped", r["name"]))


def _run_view(doc: dict[str, Any]) -> dict[str, Any]:
    checks = [c for c in doc.get("checks") or [] if isinstance(c, dict)]
    exchanges = _mapping(doc.get("exchanges"))
    known = {str(c.get("id")) for c in checks}
    history, marks = _history(doc, known)
    anchors = {str(c.get("id") or c.get("nodeid")): f"check-{i}" for i, c in enumerate(checks)}
    views = [_check_view(c, exchanges, anchors[str(c.get("id") or c.get("nodeid"))], marks) for c in checks]
    by_status: dict[str, list[dict[str, Any]]] = {}
    for v in views:
        by_status.setdefault(v["outcome"], []).append(v)
    counts = {k: (doc.get("counts") or {}).get(k, 0) for k in COUNT_KEYS}
    release = _mapping(doc.get("release"))
    network = _mapping(doc.get("network"))
    return {"doc": doc, "domain": str(doc.get("domain") or "?"), "verdict": str(doc.get("verdict") or "?"),
            "counts": counts,
            "target": doc.get("target") or "", "target_name": doc.get("target_name") or "",
            "tool": doc.get("tool") or "edgeverify", "started_at": doc.get("started_at") or "",
            "finished_at": doc.get("finished_at") or "", "wall_s": doc.get("wall_s"),
            "exit_status": doc.get("exit_status"), "note": doc.get("note"), "tls_off": doc.get("tls_verification") is False,
            "release": {"marker": release.get("marker"), "served_after_s": release.get("served_after_s"),
                        "gate": release.get("gate"), "reason": release.get("reason")},
            "network": network, "suites": _suites(doc),
            "failures": [v for k in BAD for v in by_status.get(k, [])],
            "advisories": by_status.get("accepted", []) + by_status.get("advisory", []),
            "skipped": by_status.get("skipped", []),
            "passed": by_status.get("passed", []), "anchors": anchors, "history": history,
            "convergence": _convergence(doc, checks), "edges": _edges(doc), "security": _security(doc),
            "latency": latency_view(doc), "warnings": [str(w) for w in doc.get("warnings") or [] if isinstance(w, str)],
            "predictions": [{k: str(p.get(k) or "") for k in ("finding", "check", "status")}
                            for p in doc.get("predictions") or [] if isinstance(p, dict)]}


def render_run(doc: dict[str, Any], folder: Path | None = None) -> str:
    """One target run's schema-2 report as a self-contained HTML page (`folder`: where it is written, so that a
    browser check's screenshot is linked relative to it)."""
    view = _run_view(doc)
    if folder is not None:
        for check in view["failures"] + view["advisories"]:
            if check.get("screenshot"):
                check["screenshot"] = os.path.relpath(Path(check["screenshot"]).resolve(), Path(folder).resolve())
    return _env().get_template("run.html.j2").render(v=view)


def render_fleet(docs: list[dict[str, Any]]) -> str:
    """The combined page for many targets: a row per target, linking to `<domain>/report.html`."""
    rows = []
    for doc in docs:
        rows.append({"domain": str(doc.get("domain") or "?"), "target_name": doc.get("target_name") or "",
                     "verdict": str(doc.get("verdict") or "?"),
                     "counts": {k: (doc.get("counts") or {}).get(k, 0) for k in COUNT_KEYS},
                     "worst": worst(doc), "more": max(0, len(problems(doc)) - 3), "link": report_link(doc),
                     "wall_s": doc.get("wall_s"), "tls_off": doc.get("tls_verification") is False,
                     "release": (doc.get("release") or {}).get("marker") if isinstance(doc.get("release"), dict)
                     else None})
    rows.sort(key=lambda r: (r["verdict"] == "passed", r["domain"]))
    bad = sum(r["verdict"] != "passed" for r in rows)
    return _env().get_template("fleet.html.j2").render(rows=rows, bad=bad, totals=totals(docs),
                                                       verdict="passed" if not bad else "failed")


def write_run_html(doc: dict[str, Any], folder: Path | str) -> Path:
    """Write `report.html` for one target run into folder; returns its path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_HTML
    path.write_text(render_run(doc, out), encoding="utf-8")
    return path
