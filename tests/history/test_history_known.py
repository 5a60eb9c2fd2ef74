"""Known-issues files: loaded, matched by rule and glob, and refused with file, line, key and a suggestion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from history_builder import FAULT_A, check

from edgeverify.errors import TargetError
from edgeverify.history import KnownIssuesError, load_known_issues

GOOD = """\
known_issues:
  - rule: cache.immutable_assets
    item: "cache.immutable_assets[/assets/*.js]"
    reason: vendor bundle re-uploaded without a fingerprint (PLAT-123)
    owner: web-platform
    expires: 2026-12-31
  - rule: api.call
    reason: health endpoint moved
    owner: api-team
    expires: "2027-01-15"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_and_matches_by_rule_and_glob(tmp_path: Path) -> None:
    known = load_known_issues(write(tmp_path, GOOD))
    first, second = known.issues
    assert (first.rule, first.owner, first.expires, first.line) == ("cache.immutable_assets", "web-platform",
                                                                    dt.date(2026, 12, 31), 2)
    assert second.item == "*" and second.expires == dt.date(2027, 1, 15)
    assert known.match(check(FAULT_A, "cache.immutable_assets", "cache", "failed")) is first
    assert known.match(check("cache.immutable_assets[/assets/app.css]", "cache.immutable_assets", "cache")) is None
    assert known.match(check("static.served[pages:/]", "static.served", "static")) is None
    assert known.match(check("api.call[GET /api/health]", "api.call", "api")) is second
    assert not first.expired(dt.date(2026, 12, 31)) and first.expired(dt.date(2027, 1, 1))


def test_brackets_in_patterns_are_literal() -> None:
    from edgeverify.history.known import KnownIssue

    issue = KnownIssue("static.served", "static.served[pages:/]", "r", "o", dt.date(2030, 1, 1))
    assert issue.matches(check("static.served[pages:/]", "static.served", "static"))
    assert not issue.matches(check("static.served[pages:/about]", "static.served", "static"))
    assert not issue.matches(check("static.servedp", "static.served", "static"))


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("    owner: web-platform", "    ownr: web-platform"),
     "line 5, key 'known_issues[0].ownr': unknown key 'ownr'. Did you mean 'owner'?"),
    (GOOD.replace("rule: api.call", "rule: api.cal"),
     "line 7, key 'known_issues[1].rule': unknown rule id 'api.cal'. Did you mean 'api.call'?"),
    (GOOD.replace("expires: 2026-12-31", "expires: end of year"),
     "line 6, key 'known_issues[0].expires': 'end of year' is not a date (write YYYY-MM-DD"),
    (GOOD.replace("    reason: health endpoint moved\n", ""),
     "line 7, key 'known_issues[1]': missing required key 'reason'."),
    ("known_isues: []\n", "line 1, key 'known_isues': unknown key 'known_isues'. Did you mean 'known_issues'?"),
    ("known_issues: {rule: x}\n", "line 1, key 'known_issues': expected a list of known issues."),
    ("known_issues:\n  - rule: [a, b]\n", "line 2, key 'known_issues[0].rule': expected a single value"),
    ("known_issues:\n  - rule: api.call\n    reason: ''\n    owner: o\n    expires: 2026-01-01\n",
     "line 3, key 'known_issues[0].reason': expected non-empty text."),
    ("known_issues: [\n", "YAML syntax error"),
    ("", "empty; it needs a 'known_issues:' list."),
])
def test_bad_files_say_where_and_what(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(KnownIssuesError) as info:
        load_known_issues(path)
    assert f"Known issues file {path}" in str(info.value) and expected in str(info.value), str(info.value)


def test_a_missing_file_is_bad_input_like_a_target(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="Known issues file .*nope.yaml: not found"):
        load_known_issues(tmp_path / "nope.yaml")


def test_an_empty_list_accepts_nothing(tmp_path: Path) -> None:
    assert load_known_issues(write(tmp_path, "known_issues:\n")).issues == ()


def test_the_readme_example_loads_and_names_a_check_by_its_subject_and_by_its_key(tmp_path) -> None:
    import dataclasses

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("```yaml\nknown_issues:", 1)[1].split("```", 1)[0]
    path = tmp_path / "known.yaml"
    path.write_text("known_issues:" + block)
    issue = load_known_issues(path).issues[0]
    check = {"rule": "cache.immutable_assets", "id": "test_cache.py::test_fingerprinted_assets_are_immutable[x]",
             "subject": "/assets/vendor-1a2b3c.js", "key": "cache.immutable_assets[/assets/vendor-1a2b3c.js]"}
    assert issue.matches(check)
    as_key = dataclasses.replace(issue, item="cache.immutable_assets[/assets/vendor-*]")  # the README's other form
    assert as_key.matches(check) and as_key.matches({**check, "subject": ""})  # by the key, as reports show it
    assert not issue.matches({**check, "subject": "/assets/app-1a2b3c.js", "key": "cache.immutable_assets[/assets/"
                                                                                   "app-1a2b3c.js]"})
