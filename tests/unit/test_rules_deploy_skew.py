"""propagation.previous_release on canned exchanges, and the target key naming the previous entry document."""

import pytest

from edgeverify.errors import TargetError
from edgeverify.exchange import Exchange
from edgeverify.rules import Violation
from edgeverify.rules.propagation import check_previous_release
from edgeverify.target import load_target


def ex(path, status=200, ctype="text/javascript", body="export const a = 1;"):
    return Exchange(method="GET", url=f"https://www.example.test{path}", status=status, reason="",
                    headers=[("Content-Type", ctype)], body=body.encode())


def test_previous_assets_served_pass():
    check_previous_release([ex("/assets/app.1a2b3c4d.js"), ex("/assets/app.5e6f7a8b.css", ctype="text/css")])


def test_deleted_or_shell_fails_naming_sync_delete():
    with pytest.raises(Violation) as info:
        check_previous_release([ex("/assets/app.1a2b3c4d.js", 403, "application/xml", "<Error><Code>AccessDenied"),
                                ex("/assets/chunk.9f8e7d6c.js", ctype="text/html", body="<!doctype html>")])
    text = info.value.render()
    assert "GET /assets/app.1a2b3c4d.js: 403" in text and "the app shell instead of the asset" in text
    assert "aws s3 sync --delete" in text and "Reproduce: curl" in text


def test_previous_entry_must_be_a_file_and_empty_means_none(tmp_path, monkeypatch):
    path = tmp_path / "t.yaml"
    path.write_text("domain: www.example.com\npropagation:\n  previous_entry: ${PREV:-}\n")
    monkeypatch.delenv("PREV", raising=False)
    assert load_target(path).propagation.previous_entry is None
    monkeypatch.setenv("PREV", str(tmp_path / "nope.html"))
    with pytest.raises(TargetError, match=r"line 3, key 'propagation.previous_entry': .*nope.html: no such file"):
        load_target(path)
