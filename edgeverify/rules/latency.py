"""latency: each kind of request (document, asset, api) answers within its budget at the edge that served it.

Budgets are the target's (`budgets:`); a target that declares none is judged against DEFAULT_TTFB_P95_MS, and then
only as an advisory finding (a default cannot know the site's users or its origin).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..exchange import Exchange
from ..latency import percentile
from . import Violation, raise_collected, rule

# web.dev "Time to First Byte": a TTFB of 0.8 s or less at the 75th percentile is good; p95 here, per kind.
DEFAULT_TTFB_P95_MS = {"document": 800.0, "asset": 800.0, "api": 1000.0}
WRITE_OUT = ("dns %{time_namelookup} connect %{time_connect} tls %{time_appconnect} "
             "ttfb %{time_starttransfer} total %{time_total}\\n")

BUDGET = rule(
    "latency.budget",
    "Documents, assets and API calls answer within their latency budgets (p95 TTFB and total) at the serving edge",
    "Slow answers at the edge are what users feel first: a document TTFB that grows after a deploy (index.html "
    "always fetched from S3, an origin request policy forwarding every header or cookie so nothing is cached), an "
    "asset served by a far POP (the price class excluding the users' region, DNS sending them away), an API whose "
    "integration slows down. Declare budgets per kind (budgets: {document: {ttfb_p95_ms: 300}}) to fail on them; "
    "without budgets the defaults only advise. The per-edge percentiles of every exchange are in the report.",
    "web.dev 'Optimize Time to First Byte' (good TTFB <= 0.8 s); libcurl CURLINFO_*_TIME",
    severity="advisory",
    threshold="declared budgets fail; undeclared: TTFB p95 800 ms (document, asset), 1000 ms (api), advisory only",
)


class BudgetExceeded(Violation):
    """A declared budget was exceeded: a failure, whatever the rule's default severity."""

    @property
    def advisory(self) -> bool:
        return False


CAUSES = {
    "document": "the entry document is fetched from the origin on each request (Cache-Control no-cache makes CloudFront "
                "revalidate with S3; an origin request policy forwarding all headers or cookies defeats the cache)",
    "asset": "assets miss the edge cache (CachingDisabled, or a cache key with headers/cookies) or come from a far POP "
             "(the distribution's PriceClass excludes the viewers' region)",
    "api": "the API's integration is slow (API Gateway's IntegrationLatency in CloudWatch) or the edge reaches a far "
           "region; CloudFront cannot cache it",
}


def _reproduce(ex: Exchange) -> str:
    return ex.curl().replace("curl -sS -i ", f"curl -sS -o /dev/null -w '{WRITE_OUT}' ", 1)


def check_budgets(samples: Mapping[str, Sequence[Exchange]], budgets: Mapping[str, Mapping[str, float | None]],
                  declared: bool) -> None:
    """samples: kind -> answered exchanges; budgets: kind -> {"ttfb_p95_ms": ms or None, "total_p95_ms": ...}."""
    problems: list[tuple[Exchange | None, str, str]] = []
    for kind, exchanges in samples.items():
        answered = [ex for ex in exchanges if ex.status is not None]
        if not answered:
            continue
        for metric, value_of in (("ttfb_p95_ms", lambda e: e.ttfb_s * 1000), ("total_p95_ms", lambda e: e.elapsed_s * 1000)):
            budget = (budgets.get(kind) or {}).get(metric)
            if budget is None:
                continue
            values = [value_of(ex) for ex in answered]
            p95 = percentile(values, 95) or 0.0
            if p95 > budget:
                slowest = max(answered, key=value_of)
                edge = f"{slowest.header('x-amz-cf-pop') or '-'} {slowest.address or '-'}"
                problems.append((slowest, f"{kind} {metric[:-3].replace('_', ' ')} {p95:.0f} ms > {budget:g} ms "
                                          f"(p50 {percentile(values, 50) or 0:.0f} ms over {len(values)} requests, "
                                          f"edge {edge})", CAUSES[kind]))
    if not problems:
        return
    try:
        raise_collected(BUDGET, "every kind within its " + ("declared budget" if declared else "default budget"),
                        problems, diagnose=False)
    except Violation as v:
        first = problems[0][0]
        if declared:
            raised = BudgetExceeded(v.rule, v.expected, v.actual, first, v.cause, diagnose=False,
                                    reproduce=_reproduce(first) if first else None)
            raise raised from None
        v.reproduce = _reproduce(first) if first else v.reproduce
        raise
