"""propagation: the edge serves the release that was just deployed."""

from __future__ import annotations

from collections.abc import Sequence

from ..exchange import Exchange
from . import expect, raise_collected, responded, rule

RELEASE = rule(
    "propagation.release",
    "The entry document carries the target's release marker (the build just deployed)",
    "Until every edge location has the new release, viewers get the old one. If this never converges, the "
    "deploy did not upload the new index.html, an invalidation of /index.html is missing or still in "
    "progress, or the entry document is cached at the edge (check its Cache-Control).",
    "CloudFront Developer Guide, 'Updating a distribution' and 'Invalidating files'",
    threshold="waits until the propagation deadline",
)


PREVIOUS_RELEASE = rule(
    "propagation.previous_release",
    "Every asset the previous release's entry document references still loads after the deploy",
    "Open tabs (and edge locations not yet converged) keep running the previous index.html; when its lazily "
    "imported chunks are gone, users get 'Failed to fetch dynamically imported module' until they reload. "
    "`aws s3 sync --delete` removes them at once: upload the new assets first, keep the last few releases' "
    "assets, and delete old ones by age (an S3 lifecycle rule on a prefix, or a cleanup job) instead.",
    "Vite docs 'Load Error Handling' (vite:preloadError after deploys); AWS CLI s3 sync --delete",
    threshold="the assets of propagation.previous_entry, else of the release the run history recorded at the last "
              "passing run on another entry document",
)


def check_previous_release(answers: Sequence[Exchange], source: str = "", short: str = "") -> None:
    """Each asset of the previous release answers 200 with the asset itself (never the SPA shell); `source` (and in
    a few words `short`): where the previous release came from (the declared file, or the run history's run)."""
    problems = [(ex, f"{ex.method} {ex.path}: {ex.status_line}" + (", the app shell instead of the asset"
                                                                   if ex.status == 200 else ""))
                for ex in answers if ex.status != 200 or ex.content_type == "text/html"]
    raise_collected(PREVIOUS_RELEASE, "200 with the asset for each", problems, len(answers),
                    "assets of the previous release" + (f" ({short})" if short else ""), diagnose=False,
                    cause="the deploy deleted the previous release's fingerprinted assets (aws s3 sync --delete) "
                          "while its index.html is still open in browsers and cached at edges: sync without "
                          "--delete, keep the last N releases' assets, and delete by age"
                          + (f" (the previous release: {source})" if source else ""))


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
