"""The target file: every malformed input gets one clear message naming file, line and key; never a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from edgeverify.errors import TargetError
from edgeverify.redact import redact
from edgeverify.target import load_target, parse_connect_to

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "target.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("text, expected", [
    ("domain: www.example.com\ncors:\n  allowed_origins: [https://a.example.com]\n  alowed_origns: []\n",
     "line 4, key 'cors.alowed_origns': unknown key 'alowed_origns'. Did you mean 'allowed_origins'?"),
    ("domian: www.example.com\n", "line 1, key 'domian': unknown key 'domian'. Did you mean 'domain'?"),
    ("domain: www.example.com\nhttps:\n  cert_min_days: soon\n",
     "line 3, key 'https.cert_min_days': expected a whole number, got text 'soon'."),
    ("domain: www.example.com\nstatic:\n  pages: /index.html\n",
     "line 3, key 'static.pages': expected a list, got text."),
    ("static:\n  pages: [/]\n", "line 1: missing required key 'domain'."),
    ("domain: www.example.com\napi:\n  calls:\n    - path: /api/x\n      method: FETCH\n",
     "line 5, key 'api.calls[0].method': 'FETCH' is not an HTTP method."),
    ("domain: https://www.example.com/\n", "key 'domain': 'https://www.example.com/' is not a host name"),
    ("domain: www.example.com\nconnect_to: [www.example.com:443]\n",
     "line 2, key 'connect_to[0]': 'www.example.com:443' is not HOST:PORT:ADDR:PORT"),
    ("domain: www.example.com\nheaders:\n  Authorization: Bearer ${EDGEVERIFY_TEST_UNSET_VAR}\n",
     "line 3, key 'headers.Authorization': environment variable EDGEVERIFY_TEST_UNSET_VAR is not set"),
    ("domain: www.example.com\nstatic: [\n", "YAML syntax error"),
    ("domain: www.example.com\n  bad: indent\n", "YAML syntax error"),
    ("", "empty; it needs at least 'domain: www.example.com'"),
    ("# only a comment\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "looks binary, not YAML text"),
    ("- just\n- a list\n", "line 1: expected a mapping (section 'top level'), got a list."),
    ("domain: www.example.com\nspa:\n  deep_links: [dashboard]\n",
     "line 3, key 'spa.deep_links[0]': 'dashboard' must start with '/'."),
])
def test_malformed_target_is_rejected_with_file_line_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(TargetError) as info:
        load_target(path)
    message = str(info.value)
    assert message.startswith(f"Target file {path}")
    assert expected in message
    assert "\n" not in message  # one paragraph


def test_missing_file(tmp_path):
    with pytest.raises(TargetError, match=r"nosuch.yaml: not found"):
        load_target(tmp_path / "nosuch.yaml")


def test_environment_values_are_interpolated_and_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("EV_TEST_TOKEN", "s3cr3t-token-value")
    path = write(tmp_path, "domain: www.example.com\nheaders:\n  Authorization: Bearer ${EV_TEST_TOKEN}\n"
                           "propagation:\n  release_marker: ${EV_TEST_BUILD:-build-7}\n")
    target = load_target(path)
    assert target.headers == {"Authorization": "Bearer s3cr3t-token-value"}
    assert target.propagation.release_marker == "build-7"
    assert redact("curl -H 'Authorization: Bearer s3cr3t-token-value'") == "curl -H 'Authorization: Bearer ${EV_TEST_TOKEN}'"


def test_bundled_targets_load():
    assert load_target(ROOT / "targets/example.yaml").domain == "www.example.com"
    lab = load_target(ROOT / "targets/local-lab.yaml")
    assert lab.propagation.release_marker and lab.cors and lab.cors.credentials


def test_connect_to_parses_like_curl():
    assert parse_connect_to("www.example.com:443:127.0.0.1:8443") == (("www.example.com", 443), ("127.0.0.1", 8443))
    assert parse_connect_to("a.example.com:80:[::1]:8080") == (("a.example.com", 80), ("::1", 8080))
    with pytest.raises(ValueError):
        parse_connect_to("www.example.com:443::8443")


def test_pytest_rejects_a_bad_target_with_exit_code_4_and_no_traceback(tmp_path):
    path = write(tmp_path, "domain: www.example.com\nhttps:\n  hsts_min_age: 1\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--target", str(path),
                          str(ROOT / "suites")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "line 3, key 'https.hsts_min_age': unknown key 'hsts_min_age'. Did you mean 'hsts_min_max_age'?" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_pytest_rejects_a_bad_connect_to_override(tmp_path):
    path = write(tmp_path, "domain: www.example.com\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--target", str(path),
                          "--connect-to", "nonsense", str(ROOT / "suites")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 4
    assert "--connect-to nonsense: 'nonsense' is not HOST:PORT:ADDR:PORT" in run.stderr



def test_example_target_documents_every_key():
    import dataclasses
    import typing

    from edgeverify.target import _NOT_KEYS, Target

    text = (ROOT / "targets/example.yaml").read_text()

    def keys(cls: type) -> list[str]:
        found = []
        for f in dataclasses.fields(cls):
            if f.name in _NOT_KEYS:  # set by the run (the file's path, the history's releases), not written
                continue
            found.append(f.name)
            inner = [a for a in typing.get_args(typing.get_type_hints(cls)[f.name]) if dataclasses.is_dataclass(a)]
            for sub in inner + ([typing.get_type_hints(cls)[f.name]] if dataclasses.is_dataclass(
                    typing.get_type_hints(cls)[f.name]) else []):
                found += keys(sub)
        return found

    missing = [k for k in keys(Target) if f"{k}:" not in text]
    assert missing == [], f"targets/example.yaml does not show {missing}"
