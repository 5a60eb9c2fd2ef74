"""edges: every edge location serves the same release, the same entry document and the same verdicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import CouldNotJudge
from ..exchange import Exchange
from . import Violation, rule
from .propagation import _marker_like

CONSISTENT = rule(
    "edges.consistent",
    "Every edge location answers, serves the deployed release and passes every check, not just the nearest",
    "After a deploy CloudFront's locations converge one by one; until they all have, viewers in some regions get "
    "the old index.html, an old behavior or a cached error while a check from one machine is green. An edge that "
    "still differs after the propagation deadline needs an invalidation of /index.html (or its cached error to "
    "expire); one that differs on a rule's verdict serves a different configuration or a cached answer there.",
    "CloudFront Developer Guide, 'Updating a distribution' and 'Invalidating files'; RFC 7871 (EDNS Client Subnet)",
    threshold="after the propagation deadline, per edge",
)


@dataclass(slots=True)
class EdgeResult:
    """What one edge served in its last attempt: the facts `check_consistent` compares."""

    address: str
    regions: list[str] = field(default_factory=list)  # regions whose clients DNS sent here ("" when not asked)
    pops: list[str] = field(default_factory=list)  # X-Amz-Cf-Pop values seen, first seen first
    release: str | None = None  # the release marker it served (or the marker-like text of another build)
    entry: str | None = None  # a digest of the entry document it served last, None without a 200
    entry_status: str = ""  # the entry document's status line
    verdicts: dict[str, str] = field(default_factory=dict)  # check -> "passed" or "failed: <actual>"
    converged_after_s: float | None = None  # seconds from the start until it served the release and passed
    attempts: int = 0
    requests: int = 0
    error: str | None = None  # no usable answer at all (connect, TLS)
    entry_exchange: Exchange | None = None  # the last entry document exchange (for the curl line)
    exchanges: list[Exchange] = field(default_factory=list)  # the last attempt's exchanges
    violations: dict[str, Violation] = field(default_factory=dict)  # check -> how it failed in the last attempt

    @property
    def pop(self) -> str | None:
        return self.pops[-1] if self.pops else None

    @property
    def status(self) -> str:
        if self.error or self.entry is None:
            return "error"
        return "failed" if any(v != "passed" for v in self.verdicts.values()) else "passed"

    def label(self) -> str:
        where = f"region {', '.join(self.regions)}" if self.regions else "no region"
        return f"{self.address} (POP {self.pop or 'unknown'}, {where})"

    def served(self) -> str:
        """What it served, in words: release, entry document, verdicts."""
        if self.error:
            return f"no answer: {self.error}"
        failed = [f"{check} {verdict}" for check, verdict in self.verdicts.items() if verdict != "passed"]
        parts = [f"release {self.release or '(no marker)'}",
                 f"entry document {self.entry or '-'} ({self.entry_status})"]
        parts.append("; ".join(failed) if failed else f"all {len(self.verdicts)} checks passed")
        return ", ".join(parts)


def marker_served(text: str, marker: str | None) -> str | None:
    """The target's marker when the document has it; else the marker-like text of another build, if any."""
    if not marker:
        return None
    return marker if marker in text else _marker_like(text, marker)


def _signature(r: EdgeResult) -> tuple[object, ...]:
    return (r.error is not None, r.release, r.entry, tuple(sorted((k, v == "passed") for k, v in r.verdicts.items())))


def check_consistent(results: Sequence[EdgeResult], marker: str | None) -> None:
    """Every edge answered, served the release (or, without a marker, the same entry document) and passed every
    check: an edge that fails, differs or never answers fails the rule, whatever the others say and whether or not
    the edges agree with each other. No edge answering at all leaves nothing to judge (CouldNotJudge)."""
    expected = (f"every edge serves release '{marker}'" if marker else "every edge serves the same entry document") \
        + " and passes every check"
    answered = [r for r in results if not r.error]
    if results and not answered:
        raise CouldNotJudge("no edge answered: " + "; ".join(f"{r.label()}: {r.error}" for r in results), None)
    stale = [r for r in answered if marker and r.release != marker]
    failing = [r for r in answered if r.status != "passed" and r not in stale]
    unreachable = [r for r in results if r.error]
    differ = len({_signature(r) for r in results}) > 1
    if not (stale or failing or unreachable or differ):
        return
    differences: list[str] = []
    if unreachable:
        differences.append("no answer from " + ", ".join(r.address for r in unreachable))
    if stale:
        differences.append(f"not release {marker} on " + ", ".join(f"{r.address} ({r.release or 'no marker'})"
                                                                    for r in stale))
    for what, key in (("releases", lambda r: r.release), ("entry documents", lambda r: r.entry)):
        counts = Counter(key(r) for r in answered)
        if len(counts) > 1:
            differences.append(f"{what} differ: " + "; ".join(
                f"{value or 'none'} on {', '.join(r.address for r in answered if key(r) == value)}"
                for value, _ in counts.most_common()))
    for check in sorted({c for r in answered for c in r.verdicts}):
        bad = [r.address for r in answered if r.verdicts.get(check, "passed") != "passed"]
        if bad:
            differences.append(f"{check} fails on {', '.join(bad)}" + (" only" if len(bad) < len(answered) else ""))
    wrong = [*unreachable, *stale, *failing] or [r for r in results if _signature(r) != _majority(results)]
    lines = []
    for r in results:
        lines.append(f"- {r.label()}: {r.served()}" + ("  <- not as deployed" if r in wrong else ""))
        shown = _evidence(r, marker) if r in wrong else None
        if shown is not None and len(wrong) > 1:
            lines.append(f"  reproduce at this edge: {shown.curl()}")
    actual = (f"{len(wrong)} of {len(results)} edges not as deployed ({'; '.join(differences)}):"
              + "".join(f"\n            {line}" for line in lines))
    first = wrong[0]
    raise Violation(CONSISTENT, expected, actual, _evidence(first, marker), _cause(first, marker))


def _failed_check(edge: EdgeResult, marker: str | None) -> tuple[str, Violation] | None:
    """The edge's first failing check other than the release itself, and how it failed."""
    for check, verdict in edge.verdicts.items():
        if verdict != "passed" and check in edge.violations and not (marker and check == "propagation.release"):
            return check, edge.violations[check]
    return None


def _evidence(edge: EdgeResult, marker: str | None) -> Exchange | None:
    """The answer that shows what is wrong at the edge: its stale entry document, or its failing check's answer
    (the http:// redirect it does not make, the preflight it answers wrong), not always the home page."""
    if edge.error or (marker and edge.release != marker):
        return edge.entry_exchange
    failed = _failed_check(edge, marker)
    return (failed[1].exchange if failed and failed[1].exchange is not None else None) or edge.entry_exchange


def _majority(results: Sequence[EdgeResult]) -> tuple[object, ...]:
    return Counter(_signature(r) for r in results).most_common(1)[0][0]


def _cause(edge: EdgeResult, marker: str | None) -> str:
    """The likely cause at that edge, fitting what is wrong there (a stale release is not a configuration fault)."""
    if edge.error:
        return f"edge {edge.address} gave no answer ({edge.error}): that location is unreachable or failing"
    reached = f" (after {edge.attempts} attempts)" if edge.attempts > 1 else ""
    if marker and edge.release != marker:
        return (f"edge {edge.address}{reached} still serves release {edge.release or '(no marker)'} after the "
                "deadline: it has not converged; invalidate /index.html (and wait for the invalidation), or, if it "
                "answers an error, wait for CloudFront's error caching TTL")
    failed = [c for c, v in edge.verdicts.items() if v != "passed"]
    if failed:
        first = _failed_check(edge, marker)
        own = f" ({first[0]}: {first[1].cause.rstrip('.')})" if first and first[1].cause else ""
        return (f"edge {edge.address} fails {', '.join(failed)} while serving the deployed release{own}: the "
                "configuration it serves (a behavior, a response headers policy) has not propagated there, or it "
                "serves a cached answer; compare its answer with an edge that passes (the curl line below)")
    return f"edge {edge.address} serves another entry document than the others: an old or cached index.html there"
