"""The target's security section: its keys are validated at their line, with a did-you-mean."""

import pytest

from edgeverify.errors import TargetError
from edgeverify.target import load_target


def target(tmp_path, section):
    path = tmp_path / "t.yaml"
    path.write_text("domain: www.example.com\nsecurity:\n" + section)
    return path


def test_security_keys_load(tmp_path):
    t = load_target(target(tmp_path, "  min_grade: B+\n  script_cookies: [theme]\n  source_maps: fail\n"
                                     "  exposure_paths: [/backup.zip]\n"))
    assert (t.security.min_grade, t.security.script_cookies, t.security.source_maps, t.security.exposure_paths) == (
        "B+", ["theme"], "fail", ["/backup.zip"])


@pytest.mark.parametrize(("section", "said"), [
    ("  min_grade: a+\n", "line 3, key 'security.min_grade': 'a+' is not one of A+, A, A-"),
    ("  min_grade: a+\n", "Did you mean 'A+'?"),
    ("  source_maps: failed\n", "Did you mean 'fail'?"),
    ("  exposure_paths: [backup.zip]\n", "security.exposure_paths"),
    ("  min_grad: A\n", "Did you mean 'min_grade'?"),
])
def test_bad_security_keys_name_file_line_and_key(tmp_path, section, said):
    with pytest.raises(TargetError) as info:
        load_target(target(tmp_path, section))
    assert said in str(info.value) and "t.yaml" in str(info.value)
