"""propagation: the edge serves the release that was just deployed."""

from __future__ import annotations

from ..exchange import Exchange
from . import expect, responded, rule

RELEASE = rule(
    "propagation.release",
    "The entry document carries the target's release marker (the build just deployed)",
    "Until every edge location has the new release, viewers get the old one. If this never converges, the "
    "deploy did not upload the new index.html, an invalidation of /index.html is missing or still in "
    "progress, or the entry document is cached at the edge (check its Cache-Control).",
    "CloudFront Developer Guide, 'Updating a distribution' and 'Invalidating files'",
    threshold="waits until the propagation deadline",
)


def check_release_marker(ex: Exchange, marker: str) -> None:
    responded(RELEASE, ex, f"200 with release marker '{marker}'")
    served = _marker_like(ex.text, marker)
    expect(ex.status == 200 and marker in ex.text, RELEASE, f"200 whose body contains '{marker}'",
           f"{ex.status_line}" + (f", serving '{served}' instead" if served else ", marker absent"), ex,
           cause="the edge still serves the previous release: wait for the invalidation of /index.html, "
                 "or check that the deploy uploaded the new entry document")


def _marker_like(text: str, marker: str) -> str | None:
    """The text in the body that looks like a release marker of another build (its shared prefix)."""
    stem = marker[: max(4, len(marker) // 2)]
    at = text.find(stem)
    if at < 0:
        return None
    allowed = set(marker) - set(" \t\r\n<>") | set("-_.+:")  # the marker's own punctuation (="...") belongs to it
    end = at
    while end < len(text) and (text[end].isalnum() or text[end] in allowed) and end - at < 4 * len(marker) + 16:
        end += 1
    return text[at:end]
