"""`edgeverify run --notify URL`: tell people what changed since the last run (apprise: one URL per service).

A notification goes out only on a change: checks failing that did not fail in the last run (with no run
history, or on the first run, every failing check is new), known issues whose acceptance expired, and
checks that recovered. A night that fails like the one before sends nothing. The text comes from the
RunResults, whose text is redacted when formed (model.py); the notification URLs themselves (which hold
webhook tokens) are never printed: only their scheme is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import CheckResult, Outcome, RunResult

EVENTS = ("new", "expired", "recovered")
MAX_LINES = 20  # per target and kind: a message stays readable in a chat window
TIMEOUT_S = 15


def parse_events(raw: str | None) -> tuple[str, ...]:
    """--notify-on: a comma-separated subset of EVENTS (None: all); ValueError naming the bad word."""
    if raw is None or not raw.strip():
        return EVENTS
    words = [w.strip() for w in raw.split(",") if w.strip()]
    for word in words:
        if word not in EVENTS:
            raise ValueError(f"{word!r} is not one of {', '.join(EVENTS)}")
    return tuple(dict.fromkeys(words))


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in one target's run since its last run."""

    domain: str
    verdict: str
    new: tuple[CheckResult, ...]
    expired: tuple[CheckResult, ...]
    recovered: tuple[str, ...]

    def of(self, events: Iterable[str]) -> bool:
        return any(getattr(self, e) for e in events)


def changes(run: RunResult) -> Changes:
    """New failures, expired known issues and recoveries of one run, from its regression view."""
    history = run.history
    bad = [c for c in run.bad() if c.outcome is not Outcome.INTERRUPTED]
    if history is None or history.get("first_run"):
        new = bad
        recovered: tuple[str, ...] = ()
    else:
        since = set(history.get("new_since_last") or ())
        new = [c for c in bad if c.id in since]
        recovered = tuple(history.get("recovered") or ())
    expired = tuple(c for c in run.checks if c.acceptance is not None and c.acceptance.expired
                    and c.outcome is Outcome.FAILED)
    new = [c for c in new if c not in expired]
    return Changes(run.domain, run.exit_status.verdict, tuple(new), expired, recovered)


def message(found: list[Changes], events: tuple[str, ...], report_url: str | None) -> tuple[str, str]:
    """The notification's title and body (Markdown) for the targets that changed."""
    counts = {e: sum(len(getattr(c, e)) for c in found) if e in events else 0 for e in EVENTS}
    parts = [f"{counts['new']} new failure{'s' * (counts['new'] != 1)}" if counts["new"] else "",
             f"{counts['expired']} expired known issue{'s' * (counts['expired'] != 1)}" if counts["expired"] else "",
             f"{counts['recovered']} recovered" if counts["recovered"] else ""]
    domains = ", ".join(c.domain for c in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    title = f"edgeverify {domains}: " + ", ".join(p for p in parts if p)
    lines: list[str] = []
    for c in found:
        lines.append(f"## {c.domain}: {c.verdict}")
        if "new" in events:
            lines += [_line("New failure", check) for check in c.new[:MAX_LINES]]
            lines += [f"- … and {len(c.new) - MAX_LINES} more new failures"] if len(c.new) > MAX_LINES else []
        if "expired" in events:
            lines += [_line(f"Known issue expired {check.acceptance.expires}" if check.acceptance else "Expired",
                            check) for check in c.expired[:MAX_LINES]]
        if "recovered" in events:
            lines += [f"- Recovered: `{cid}`" for cid in c.recovered[:MAX_LINES]]
        lines.append("")
    if report_url:
        lines.append(f"Report: {report_url}")
    return title, "\n".join(lines).strip() + "\n"


def _line(kind: str, c: CheckResult) -> str:
    cause = c.finding.cause if c.finding and c.finding.cause else (c.message or "").strip().splitlines()[0:1]
    text = cause if isinstance(cause, str) else (cause[0] if cause else c.outcome.label)
    return f"- {kind}: `{c.key or c.rule or c.id}` ({c.rule or c.id}): {' '.join(text.split())[:300]}"


def notify(results: list[RunResult], urls: list[str], *, events: tuple[str, ...] = EVENTS,
           report_url: str | None = None) -> list[str]:
    """Send one message to every URL when a run changed; the lines to print (never a URL, which holds tokens)."""
    found = [c for c in (changes(r) for r in results) if c.of(events)]
    if not found:
        return ["--notify: nothing changed since the last run; no notification sent"]
    import apprise

    title, body = message(found, events, report_url)
    out = []
    for url in urls:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        box = apprise.Apprise()
        if not box.add(url):
            out.append(f"WARNING: --notify: a {scheme}:// URL apprise does not understand; nothing sent there")
            continue
        for server in box:  # bounded: one slow webhook must not hold the run
            server.socket_connect_timeout = server.socket_read_timeout = TIMEOUT_S
        ok = box.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN)
        out.append(f"--notify: {scheme}:// " + ("notified" if ok else "WARNING: the notification was not accepted"))
    return out
