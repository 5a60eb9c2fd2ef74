"""The one bounded reader behind the target, known-issues and template files: the same clear errors for each."""

from __future__ import annotations

import pytest

from edgeverify.errors import TargetError
from edgeverify.history.errors import KnownIssuesError
from edgeverify.history.known import load_known_issues
from edgeverify.target import load_target
from edgeverify.template.source import TemplateError, read

READERS = [(load_target, TargetError, "Target file"), (load_known_issues, KnownIssuesError, "Known issues file"),
           (read, TemplateError, "Template")]


@pytest.mark.parametrize("load, error, what", READERS)
def test_an_oversized_file_is_refused_without_reading_it_whole(tmp_path, load, error, what):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:  # sparse: 2 GB on paper, nothing on disk; a whole read would take 2 GB of memory
        f.truncate(2 * 1024 ** 3)
    with pytest.raises(error, match=rf"^{what} {big}: larger than 1,048,576 bytes"):
        load(big)


@pytest.mark.parametrize("load, error, what", READERS)
@pytest.mark.parametrize("content, said", [
    (b"a: 1\nb: \xff\n", r", line 2: not UTF-8 text \(byte 8\)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", r": looks binary, not "),
])
def test_bad_bytes_name_the_file_and_line(tmp_path, load, error, what, content, said):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(error, match=rf"^{what} {path}{said}"):
        load(path)


@pytest.mark.parametrize("load, error, what", READERS)
def test_a_missing_file_is_said(tmp_path, load, error, what):
    with pytest.raises(error, match=rf"^{what} {tmp_path}/none.yaml: not found"):
        load(tmp_path / "none.yaml")
