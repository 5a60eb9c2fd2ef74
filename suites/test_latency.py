"""latency: the edge answers each kind of request (document, asset, api) within its budget. Fresh requests of each
kind, one of each kind at a time, are timed by libcurl; the report's per-edge table (every exchange of the run)
sits beside it."""

import pytest

from edgeverify.discovery import discover_assets
from edgeverify.latency import KINDS, percentile
from edgeverify.rules.latency import DEFAULT_TTFB_P95_MS, check_budgets


def sample_paths(edge, target):
    """kind -> the paths to time: the entry page, up to 3 assets it references, the API's GETs (or its probe)."""
    n = target.budgets.samples if target.budgets is not None else 10
    entry = target.static.pages[0] if target.static.pages else "/"
    assets = discover_assets(edge, target)[:3] or target.static.assets[:3]
    api = [c.path for c in target.api.calls if c.method == "GET"][:3] or [target.api.probe_path]
    return {kind: [paths[i % len(paths)] for i in range(n)]
            for kind, paths in (("document", [entry]), ("asset", assets), ("api", api)) if paths}


@pytest.mark.rule("latency.budget")
def test_every_kind_answers_within_its_budget(edge, target):
    plan = sample_paths(edge, target)
    samples = {kind: [] for kind in plan}
    # One request of each kind at a time: the edge's latency, not the queue a burst of the check's own would make.
    for i in range(max(len(paths) for paths in plan.values())):
        kinds = [kind for kind in plan if i < len(plan[kind])]
        for kind, answer in zip(kinds, edge.fetch_all([plan[kind][i] for kind in kinds], fresh=True)):
            samples[kind].append(answer)
    edge.data["properties"] = [(f"{kind} ttfb p50/p95 ms", f"{percentile([e.ttfb_s * 1000 for e in got], 50):.1f} / "
                                f"{percentile([e.ttfb_s * 1000 for e in got], 95):.1f}") for kind, got in samples.items() if got]
    declared = target.budgets is not None and target.budgets.declared
    if declared:
        budgets = {kind: {"ttfb_p95_ms": getattr(target.budgets, kind).ttfb_p95_ms,
                          "total_p95_ms": getattr(target.budgets, kind).total_p95_ms} for kind in KINDS}
    else:
        budgets = {kind: {"ttfb_p95_ms": DEFAULT_TTFB_P95_MS[kind]} for kind in KINDS}
    check_budgets(samples, budgets, declared)
