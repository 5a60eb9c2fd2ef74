"""Deploy skew: the release each run saw, and the previous release whose assets must still load.

The previous release is declared in the target (`propagation.previous_entry`, a saved copy of its index.html) or,
when it is not, recalled from the run history:

- Recording: a run that fetched the target's entry document whole (GET 200 text/html, not cut at max_body_bytes)
  keeps it as `release.entry` in its report (`seen_entry`): its URL, the sha256 of its body, the same-origin
  assets it references (at most ASSETS_MAX, paths longer than PATH_MAX left out) and, when it is at most
  DOCUMENT_MAX_BYTES, its text (for the browser). The history stores each distinct entry document once per target
  (table `entries`) and, per run, which one it saw and whether the run passed (`runs.entry_id`, `entry_passed`).
- Passing: a run passes when it was not interrupted and none of its checks' outcomes is bad (`Outcome.bad`:
  failed, could not judge, interrupted), the previous-release checks (SKEW_RULES) left out: passed, skipped,
  advisory and accepted (known issue) outcomes all pass. This is `ExitCode.OK` under --fail-on any, except that a
  run failing only because the release before it lost its assets still counts: its own release is then the
  previous one for the next deploy (otherwise one skew failure would fail every later run forever). Only the
  checks the run selected count: a run of one suite (-m, -k) passes on that suite's outcomes.
- Recalling (`recall_releases`, before the checks run): the target's two newest distinct entry documents seen by
  passing runs. A check then takes the newest whose hash differs from the entry document the edge serves today
  (`previous_release`): the release before today's, even when runs were recorded after the deploy.

Neither declared nor recalled: the checks are skipped, saying why (never passed).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import EdgeverifyError, NotApplicable
from .redact import redact, redact_deep

if TYPE_CHECKING:
    from .exchange import Exchange
    from .target import Target

DOCUMENT_MAX_BYTES = 65_536  # an entry document larger than this is hashed and its assets listed, its text not kept
ASSETS_MAX = 200  # assets of one entry document recorded (the first ones, in document order)
PATH_MAX = 1024  # characters of an asset path recorded (longer ones are left out) or of the entry document's URL
SKEW_RULES = frozenset({"propagation.previous_release", "browser.previous_release"})
RECALLED = 2  # distinct entry documents recalled: one of the two newest always differs from today's


@dataclass(frozen=True, slots=True)
class RecordedRelease:
    """An entry document the history recorded, as the last passing run that saw it saw it."""

    run_id: int
    started_at: float  # epoch seconds: that run's start
    url: str
    sha256: str
    size: int  # bytes of the document
    assets: tuple[str, ...]
    assets_total: int  # assets the document referenced (above ASSETS_MAX only the first are recorded)
    document: str | None  # its text, when at most DOCUMENT_MAX_BYTES


@dataclass(frozen=True, slots=True)
class Recalled:
    """What the run history knows of a target's releases, read before the checks run."""

    database: str  # the history database, without a password
    releases: tuple[RecordedRelease, ...] = ()  # newest first, distinct entry documents, at most RECALLED
    error: str | None = None  # why the history could not be read


@dataclass(frozen=True, slots=True)
class Previous:
    """The previous release a check loads: where it came from, its assets and its entry document."""

    source: str  # where it came from, in full, as a failure's likely cause says it
    assets: list[str]
    document: bytes | None  # the entry document (None: the history did not keep its text)
    note: str = ""  # a limit the check worked within (assets beyond ASSETS_MAX)
    short: str = ""  # where it came from, in a few words (a failure's Actual line)


# -- what a run saw ----------------------------------------------------------------------------------------

def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def seen_entry(exchanges: Iterable[Exchange], target: Target) -> dict[str, Any] | None:
    """The entry document the run's checks judged (the newest whole GET 200 text/html of the entry path over
    HTTPS), as the report's `release.entry`; None when no check fetched it whole."""
    from .discovery import referenced_assets
    from .engine import entry_path

    path = entry_path(target)
    whole = [ex for ex in exchanges if ex.method == "GET" and ex.status == 200 and ex.complete and ex.body_kept
             and not ex.body_truncated and ex.content_type == "text/html" and urlsplit(ex.url).scheme == "https"
             and ex.path == path]
    if not whole:
        return None
    ex = max(whole, key=lambda e: e.started_at)
    assets = ex.derived("assets", lambda e: referenced_assets(e.text, target.domain, path))
    return bounded({"url": ex.url, "sha256": digest(ex.body), "bytes": len(ex.body), "assets": list(assets),
                    "assets_total": len(assets), "document": ex.text if len(ex.body) <= DOCUMENT_MAX_BYTES else None})


def bounded(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """An entry block within the bounds (as recorded, whatever a report file says), redacted; None when it is not
    one."""
    sha, url = entry.get("sha256"), entry.get("url")
    assets = entry.get("assets")
    if not (isinstance(sha, str) and len(sha) == 64 and isinstance(url, str) and isinstance(assets, list)):
        return None
    document = entry.get("document")
    if not isinstance(document, str) or len(document.encode("utf-8", "replace")) > DOCUMENT_MAX_BYTES:
        document = None
    # a path too long is left out, not cut (a cut path would be a file that never existed)
    kept = [a for a in assets if isinstance(a, str) and len(a) <= PATH_MAX][:ASSETS_MAX]
    total, size = entry.get("assets_total"), entry.get("bytes")
    data = redact_deep({"url": url[:PATH_MAX], "sha256": sha.lower(), "bytes": size if isinstance(size, int) else 0,
                        "assets": kept, "assets_total": max(int(total) if isinstance(total, int) else 0, len(kept)),
                        "document": document})
    assert isinstance(data, dict)
    return data


def run_passed(doc: Mapping[str, Any]) -> bool:
    """The run passed, for choosing a previous release (see the module docstring): not interrupted, and no check
    but the previous-release ones ended with a bad outcome."""
    from .model import Outcome

    if doc.get("interrupted"):
        return False
    for check in doc.get("checks") or ():
        try:
            bad = Outcome(check.get("outcome")).bad
        except ValueError:
            return False
        if bad and check.get("rule") not in SKEW_RULES:
            return False
    return True


# -- before the checks: what the history recorded ------------------------------------------------------------

def recall_releases(targets: list[Target], option: str | None, reports_dir: str | os.PathLike[str]) -> None:
    """Give each target without propagation.previous_entry the releases its history recorded (target.recalled);
    with --history off nothing is read. A history that cannot be read is said by the checks (skipped)."""
    wanted = {(Path(t.source).stem if t.source else t.domain, t.domain): t for t in targets
              if not t.propagation.previous_entry}
    if option == "off" or not wanted:
        return
    from .history.releases import recall_many
    from .history.store import describe_url, history_url

    url = history_url(option, reports_dir)
    try:
        found = recall_many(url, list(wanted), RECALLED)
    except EdgeverifyError as exc:
        for target in wanted.values():
            target.recalled = Recalled(describe_url(url), error=redact(str(exc)))
        return
    for key, target in wanted.items():
        target.recalled = Recalled(describe_url(url), tuple(found[key]))


# -- in a check: the previous release ---------------------------------------------------------------------

def previous_release(edge: Any, target: Target) -> Previous:
    """The previous release to load: declared (propagation.previous_entry), else the newest release the history
    recorded whose entry document differs from the one the edge serves now. NotApplicable (skipped) when there is
    none, saying why."""
    declared = target.propagation.previous_entry
    if declared:
        from .discovery import referenced_assets

        document = Path(declared).read_bytes()
        return Previous(f"declared in the target: propagation.previous_entry ({declared})",
                        referenced_assets(document.decode("utf-8", "replace"), target.domain), document,
                        short=f"declared: {declared}")
    none = "no previous release to check: the target declares no propagation.previous_entry (a saved copy of the " \
           "previous index.html)"
    recalled: Recalled | None = target.recalled
    if recalled is None:
        raise NotApplicable(f"{none}, and this run keeps no history (--history off) to recall one from")
    if recalled.error:
        raise NotApplicable(f"{none}, and the run history could not be read: {recalled.error}")
    if not recalled.releases:  # nothing to compare today's entry document with: not even fetched
        raise NotApplicable(f"{none}, and the run history ({recalled.database}) has no passing run of this target "
                            "yet (a run records the entry document its checks fetched)")
    from .engine import entry_path

    today = edge.fetch(entry_path(target), whole=True)
    current = digest(today.body) if today.status == 200 else None
    chosen = next((r for r in recalled.releases if r.sha256 != current), None)
    if chosen is None:
        raise NotApplicable(f"{none}, and the run history ({recalled.database}) has no passing run that saw an entry "
                            "document other than today's (no deploy since the runs recorded)")
    from .history.store import to_iso

    source = (f"recalled from the run history ({recalled.database}): {chosen.url} (sha256 {chosen.sha256[:12]}) as "
              f"run {chosen.run_id} of {to_iso(chosen.started_at)} saw it, the last passing run on a release other "
              "than today's")
    note = (f"{len(chosen.assets)} of its {chosen.assets_total} assets (the history keeps at most {ASSETS_MAX}, "
            f"paths up to {PATH_MAX} characters)"
            if chosen.assets_total > len(chosen.assets) else "")
    kept = chosen.document.encode("utf-8") if chosen.document is not None else None
    return Previous(source, list(chosen.assets), kept, note,
                    short=f"from the run history: run {chosen.run_id} of {to_iso(chosen.started_at)}")
