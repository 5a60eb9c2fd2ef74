"""Many edges, not just the nearest: discover CloudFront edge locations with DNS and verify each one.

`run_edges(target, deadline)` discovers the edges the target's `edges` section names (discovery.py) and runs
the release gate and the core checks against each (verify.py); `check_consistent` (rules/edges.py) judges
the results and `edges_block` shapes them for the report.
"""
from ..rules.edges import EdgeResult, check_consistent
from .discovery import Discovery, EdgeAddress, Problem, discover
from .regions import REGION_PREFIXES
from .verify import EdgeRun, edge_target, edges_block, run_edges, timeline, verify_edge, verify_edges

__all__ = ["REGION_PREFIXES", "Discovery", "EdgeAddress", "EdgeResult", "EdgeRun", "Problem", "check_consistent",
           "discover", "edge_target", "edges_block", "run_edges", "timeline", "verify_edge", "verify_edges"]
