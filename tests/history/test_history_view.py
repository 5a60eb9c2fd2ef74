"""The regression view over a sequence of runs: new, recovered, ongoing, flaky, accepted, trend; and exit codes."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from history_builder import CHECKS, FAULT_A, FAULT_B, run_doc

from edgeverify.history import KnownIssue, KnownIssues, accepted_note, markdown, record_run, regression_view
from edgeverify.model import exit_status
from edgeverify.reports import from_json
from edgeverify.history.store import to_epoch

NIGHTS = ["2026-11-20T01:00:00Z", "2026-11-21T01:00:00Z", "2026-11-22T01:00:00Z", "2026-11-23T01:00:00Z",
          "2026-11-24T01:00:00Z"]


def exit_code(doc: dict, view: dict, fail_on: str = "any") -> int:
    """The exit status the run model (model.exit_status) gives this run with this view, its known issues applied
    to the checks as the run applies them (model.outcome: an unexpired one is accepted)."""
    accepted = {a["id"]: a for a in view.get("accepted", [])}
    checks = []
    for c in doc["checks"]:
        a = accepted.get(c["id"])
        if a is not None:
            c = {**c, "acceptance": {k: a[k] for k in ("reason", "owner", "expires", "expired")},
                 "outcome": "failed" if a["expired"] else "accepted"}
        checks.append(c)
    return int(exit_status(from_json({**doc, "checks": checks, "history": view, "fail_on": fail_on})))


def at(day: str) -> float:
    return to_epoch(day + "T12:00:00Z")


def step(url: str, started: str, failing: list[str], **kw: object) -> dict:
    doc = run_doc(started, failing)
    view = regression_view(doc, url, **kw)  # type: ignore[arg-type]
    doc["history"] = view
    record_run(doc, url)
    return view


def test_five_nights_name_exactly_the_new_recovered_and_ongoing_failures(db_url: str) -> None:
    good, a, ab = [], [FAULT_A], [FAULT_A, FAULT_B]
    v1 = step(db_url, NIGHTS[0], good)
    assert (v1["new_since_last"], v1["new_since_last_pass"], v1["recovered"], v1["ongoing"]) == ([], [], [], [])

    v2 = step(db_url, NIGHTS[1], a)
    assert v2["new_since_last"] == [FAULT_A]
    assert v2["new_since_last_pass"] == [FAULT_A]
    assert v2["recovered"] == [] and v2["ongoing"] == []

    v3 = step(db_url, NIGHTS[2], ab)
    assert v3["new_since_last"] == [FAULT_B]
    assert v3["new_since_last_pass"] == sorted([FAULT_A, FAULT_B])
    assert v3["ongoing"] == [{"id": FAULT_A, "first_seen": NIGHTS[1]}]
    assert v3["recovered"] == []

    v4 = step(db_url, NIGHTS[3], good)
    assert v4["recovered"] == sorted([FAULT_A, FAULT_B])
    assert (v4["new_since_last"], v4["new_since_last_pass"], v4["ongoing"]) == ([], [], [])

    v5 = step(db_url, NIGHTS[4], a)
    assert v5["new_since_last"] == [FAULT_A] and v5["new_since_last_pass"] == [FAULT_A]
    assert v5["recovered"] == [] and v5["ongoing"] == []
    # A went P F F P F: three changes in five runs, more than K=2; B (P P F P P) changed twice: not flaky.
    assert v5["flaky"] == [{"id": FAULT_A, "strip": "PFFPF"}]
    assert [t["started_at"] for t in v5["trend"]] == NIGHTS
    assert [t["failures"]["cache"] for t in v5["trend"]] == [0, 1, 1, 0, 1]
    assert [t["failures"]["api"] for t in v5["trend"]] == [0, 0, 1, 0, 0]
    assert v5["trend"][0] == {"started_at": NIGHTS[0], "release": "build-1", "convergence_s": 1.5,
                              "failures": {"api": 0, "cache": 0, "cors": 0, "https": 0, "spa": 0, "static": 0}}


def test_the_view_is_the_same_before_and_after_the_run_is_recorded(db_url: str) -> None:
    for night, failing in zip(NIGHTS[:3], ([], [FAULT_A], [FAULT_A, FAULT_B])):
        record_run(run_doc(night, failing), db_url)
    doc = run_doc(NIGHTS[3], [FAULT_B])
    before = regression_view(doc, db_url)
    record_run(doc, db_url)
    assert regression_view(doc, db_url) == before
    assert before["recovered"] == [FAULT_A] and before["ongoing"] == [{"id": FAULT_B, "first_seen": NIGHTS[2]}]


def test_a_rule_toggled_on_alternating_runs_is_flaky_and_a_steady_one_is_not(db_url: str) -> None:
    days = [f"2026-11-{d:02d}T01:00:00Z" for d in range(1, 11)]
    for i, day in enumerate(days[:-1]):
        record_run(run_doc(day, [FAULT_B] if i % 2 else []), db_url)
    # FAULT_B: P F P F P F P F P, then F tonight: 9 changes; FAULT_A never failed.
    view = regression_view(run_doc(days[-1], [FAULT_B]), db_url)
    assert view["flaky"] == [{"id": FAULT_B, "strip": "PFPFPFPFPF"}]
    # K and N are settings: with N=4 the window is P F P F (3 changes, flaky for K=2, not for K=3).
    assert regression_view(run_doc(days[-1], [FAULT_B]), db_url, flaky_runs=4)["flaky"][0]["strip"] == "PFPF"
    assert regression_view(run_doc(days[-1], [FAULT_B]), db_url, flaky_runs=4, flaky_changes=3)["flaky"] == []


def test_failures_changing_at_most_k_times_are_not_flaky(db_url: str) -> None:
    for i, day in enumerate(NIGHTS[:4]):  # P P F F, then F: one change
        record_run(run_doc(day, [FAULT_A] if i >= 2 else []), db_url)
    assert regression_view(run_doc(NIGHTS[4], [FAULT_A]), db_url)["flaky"] == []


def test_skips_neither_count_as_changes_nor_break_an_ongoing_failure(db_url: str) -> None:
    record_run(run_doc(NIGHTS[0], []), db_url)
    record_run(run_doc(NIGHTS[1], [FAULT_A]), db_url)
    record_run(run_doc(NIGHTS[2], [], skipped=[FAULT_A]), db_url)
    record_run(run_doc(NIGHTS[3], [FAULT_A]), db_url)
    view = regression_view(run_doc(NIGHTS[4], [FAULT_A]), db_url)
    assert view["ongoing"] == [{"id": FAULT_A, "first_seen": NIGHTS[1]}]
    assert view["flaky"] == []


def test_first_seen_of_a_failure_older_than_the_runs_loaded_comes_from_the_database(db_url: str) -> None:
    days = [f"2026-10-{d:02d}T01:00:00Z" for d in range(1, 9)]
    record_run(run_doc(days[0], []), db_url)
    for day in days[1:-1]:
        record_run(run_doc(day, [FAULT_A]), db_url)
    view = regression_view(run_doc(days[-1], [FAULT_A]), db_url, flaky_runs=3, trend_runs=3)
    assert len(view["trend"]) == 3
    assert view["ongoing"] == [{"id": FAULT_A, "first_seen": days[1]}]


def test_other_targets_do_not_count(db_url: str) -> None:
    record_run(run_doc(NIGHTS[0], [FAULT_A], domain="staging.example.test"), db_url)
    record_run(run_doc(NIGHTS[1], [FAULT_A], target_name="other"), db_url)
    view = regression_view(run_doc(NIGHTS[2], [FAULT_A]), db_url)
    # the target's first recorded run: nothing to compare with, so nothing is "new" (and it says so)
    assert view["first_run"] is True and view["new_since_last"] == [] and view["new_since_last_pass"] == []
    assert view["ongoing"] == [] and len(view["trend"]) == 1
    assert "First recorded run of this target" in markdown(view)


def test_a_failing_first_run_fails_under_fail_on_new(db_url: str) -> None:
    doc = run_doc(NIGHTS[0], [FAULT_A])
    view = regression_view(doc, db_url)
    assert view["first_run"] is True and exit_code(doc, view, "new") == 1  # no baseline: every failure counts
    record_run(doc, db_url)
    later = run_doc(NIGHTS[1], [FAULT_A])
    view = regression_view(later, db_url)
    assert view["first_run"] is False and exit_code(later, view, "new") == 0  # ongoing, not new


def test_an_accepted_failure_passes_until_it_expires_and_fails_after(db_url: str, tmp_path: Path) -> None:
    known = KnownIssues("known.yaml", (KnownIssue("cache.immutable_assets", "cache.immutable_assets[/assets/*]",
                                                  "vendor bundle, PLAT-1", "web", dt.date(2026, 11, 22)),))
    record_run(run_doc(NIGHTS[0], []), db_url)
    doc = run_doc(NIGHTS[1], [FAULT_A])
    view = regression_view(doc, db_url, known=known, clock=lambda: at("2026-11-22"))
    assert view["accepted"] == [{"id": FAULT_A, "rule": "cache.immutable_assets", "reason": "vendor bundle, PLAT-1",
                                 "owner": "web", "expires": "2026-11-22", "expired": False}]
    assert view["new_since_last"] == [] and view["new_since_last_pass"] == []
    assert exit_code(doc, view, "any") == 0 and exit_code(doc, view, "new") == 0
    assert accepted_note(view["accepted"][0]) == "accepted until 2026-11-22: vendor bundle, PLAT-1 (owner web)"
    for c in doc["checks"]:  # as the run decides it (model.outcome): the known issue accepts the failure
        if c["id"] == FAULT_A:
            c["outcome"] = "accepted"
    record_run(doc, db_url)  # an accepted failure leaves the run passing: it is the last passing run

    later = run_doc(NIGHTS[2], [FAULT_A])
    expired = regression_view(later, db_url, known=known, clock=lambda: at("2026-11-23"))
    assert expired["accepted"][0]["expired"] is True
    assert exit_code(later, expired, "any") == 1 and exit_code(later, expired, "new") == 1
    assert accepted_note(expired["accepted"][0]).startswith("accepted until 2026-11-22, expired")
    assert expired["ongoing"] == [{"id": FAULT_A, "first_seen": NIGHTS[1]}]
    # Without the known issue it is a plain failure, yet not new since the last passing run: that is the
    # accepted run of the 21st, which already had it.
    plain = regression_view(later, db_url)
    assert plain["accepted"] == [] and plain["new_since_last_pass"] == [] and plain["new_since_last"] == []


def test_an_issue_for_another_item_or_rule_accepts_nothing(db_url: str) -> None:
    known = KnownIssues("k", (KnownIssue("cache.immutable_assets", "cache.immutable_assets[/other/*]", "r", "o",
                                         dt.date(2030, 1, 1)),
                              KnownIssue("static.served", "*", "r", "o", dt.date(2030, 1, 1))))
    doc = run_doc(NIGHTS[0], [FAULT_A])
    view = regression_view(doc, db_url, known=known, clock=lambda: at("2026-11-20"))
    assert view["accepted"] == [] and exit_code(doc, view) == 1


def test_fail_on_new_fails_only_on_regressions(db_url: str) -> None:
    record_run(run_doc(NIGHTS[0], [FAULT_A]), db_url)
    ongoing = run_doc(NIGHTS[1], [FAULT_A])
    view = regression_view(ongoing, db_url)
    assert exit_code(ongoing, view, "any") == 1 and exit_code(ongoing, view, "new") == 0
    record_run(ongoing, db_url)
    regressed = run_doc(NIGHTS[2], [FAULT_A, FAULT_B])
    view = regression_view(regressed, db_url)
    assert view["new_since_last"] == [FAULT_B]
    assert exit_code(regressed, view, "new") == 1
    interrupted = dict(regressed, interrupted="SIGINT")
    assert exit_code(interrupted, view, "new") == 2


def test_errors_count_as_failures(db_url: str) -> None:
    record_run(run_doc(NIGHTS[0], []), db_url)
    view = regression_view(run_doc(NIGHTS[1], [FAULT_B], status="error"), db_url)
    assert view["new_since_last"] == [FAULT_B]
    assert regression_view(run_doc(NIGHTS[1], []), db_url)["new_since_last"] == []


def test_without_a_database_only_acceptance_and_this_run_are_reported() -> None:
    doc = run_doc(NIGHTS[0], [FAULT_A])
    view = regression_view(doc, None)  # no database: nothing to compare with, as on a first run
    assert view["first_run"] is True and view["new_since_last"] == [] and view["ongoing"] == []
    assert len(view["trend"]) == 1
    assert len(CHECKS) == 8


def test_the_markdown_section_names_each_list(db_url: str) -> None:
    known = KnownIssues("k", (KnownIssue("api.call", "*", "endpoint moved", "api-team", dt.date(2026, 11, 1)),))
    for night, failing in zip(NIGHTS, ([], [FAULT_A], [], [FAULT_A])):
        record_run(run_doc(night, failing), db_url)
    text = markdown(regression_view(run_doc(NIGHTS[4], [FAULT_A, FAULT_B]), db_url, known=known,
                                    clock=lambda: at("2026-11-24")))
    assert f"- New since the last run: `{FAULT_B}`\n" in text
    assert f"- Ongoing: `{FAULT_A}` (since {NIGHTS[3]})\n" in text
    assert "- Recovered: none\n" in text
    assert f"- Flaky (oldest to newest, P pass F fail E error S skip): `{FAULT_A}` PFPFF\n" in text
    assert f"- Accepted: `{FAULT_B}`, accepted until 2026-11-01, expired (endpoint moved; owner api-team)" in text


def test_runs_of_a_target_started_within_one_second_are_two_runs(db_url: str) -> None:
    """Two nights 0.4 s apart (a fast CI rerun): each report names its start to the millisecond, so the second is
    compared with the first and recorded too (with whole seconds they shared a name: the second was dropped and
    the third night compared itself with the night before the failure)."""
    from edgeverify.reports import to_json

    good = from_json(run_doc("2026-12-04T20:33:02Z"))
    bad = from_json(run_doc("2026-12-04T20:33:02Z", [FAULT_A]))
    first = to_json(replace(good, started_at=good.started_at + 0.2, finished_at=good.started_at + 0.5))
    second = to_json(replace(bad, started_at=bad.started_at + 0.6, finished_at=bad.started_at + 0.9))
    assert (first["started_at"], second["started_at"]) == ("2026-12-04T20:33:02.200Z", "2026-12-04T20:33:02.600Z")
    assert from_json(second).started_at == to_epoch("2026-12-04T20:33:02.600Z")  # read back as written
    record_run(first, db_url)
    view = regression_view(second, db_url)
    assert view["first_run"] is False and view["new_since_last"] == [FAULT_A]
    record_run(second, db_url)
    third = to_json(replace(bad, started_at=bad.started_at + 0.95, finished_at=bad.started_at + 0.99))
    later = regression_view(third, db_url)
    assert later["new_since_last"] == [] and later["ongoing"] == [{"id": FAULT_A, "first_seen": second["started_at"]}]
