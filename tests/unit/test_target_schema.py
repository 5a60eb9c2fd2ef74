"""`edgeverify schema target` kept in step with the loader (target.py), both ways: every example target and
every fuzzed target the loader accepts, the JSON Schema accepts; every fuzzed target the schema refuses, the
loader refuses too; and what the loader refuses the schema refuses as well, except for the judgements only
the loader can make (listed in LOADER_ONLY, each a check no JSON Schema can express). The outcome counts
are printed."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from test_target_fuzz import SEEDS, structured

from edgeverify.errors import TargetError
from edgeverify.target import load_target
from edgeverify.target_schema import SCHEMA_FILE, SCHEMA_LINE, target_schema, write_starter

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = jsonschema.Draft202012Validator(target_schema())
# What only the loader judges: one value against another, a file that must exist, IDNA and host syntax, regular
# expressions that must compile, name collisions after case folding, ${VAR} substitution, known regions, and a
# whole number written as 1.0 (JSON has one number type: JSON Schema counts 1.0 as an integer).
LOADER_ONLY = re.compile(
    r"shorter than|below compress_max_bytes|above max_interval|appears twice|a second (call|entry)|is also given as|"
    r"not a valid regular expression|is not a host name|host name|label|IDNA|xn--|not a domain|environment variable|"
    r"not a variable reference|no such file|a folder|CA bundle|unknown region|not a network prefix|"
    r"not an IP address|not ADDRESS|needs at least one address|is not an origin|the host|port \d+ is not|"
    r"whole number, got a number|old name of|far too large|not a finite|dialled|HOST:PORT|must be the domain|empty; every page|"
    r"not an? (AWS region|S3 bucket|CloudFront|http|stack)")
# Keys whose values only the loader judges in full: host names (IDNA), curl's connect-to syntax against the domain,
# files that must exist, regular expressions, network prefixes and addresses, regions it knows.
LOADER_ONLY_KEYS = re.compile(r"key '(domain|connect_to|ca_bundle|cache\.fingerprint_pattern|cors\.allowed_origins|"
                              r"edges\.(regions|prefixes|addresses|nameservers))\b")
OUTCOMES: collections.Counter[str] = collections.Counter()


class _JsonLoader(yaml.SafeLoader):
    """YAML as an editor's language server reads it: dates stay text (JSON has none)."""


_JsonLoader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
                                       for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def schema_errors(text: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in VALIDATOR.iter_errors(yaml.load(text, Loader=_JsonLoader))]


def loader_error(path: Path) -> str | None:
    try:
        load_target(path)
        return None
    except TargetError as exc:
        return str(exc)


def examples() -> list[Path]:
    return sorted((ROOT / "targets").glob("*.yaml"))


def test_the_schema_is_a_valid_json_schema_and_printed_by_the_command():
    jsonschema.Draft202012Validator.check_schema(target_schema())
    out = subprocess.run([sys.executable, "-m", "edgeverify.cli", "schema", "target"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0 and json.loads(out.stdout) == json.loads(json.dumps(target_schema()))


def readme_examples() -> list[str]:
    """The README's target examples: YAML blocks of a whole target, or of a section (given a domain)."""
    blocks = re.findall(r"```ya?ml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [b if b.startswith("domain:") else "domain: www.example.com\n" + b for b in blocks
            if not b.startswith("known_issues:")]


@pytest.mark.parametrize("path", examples(), ids=lambda p: p.name)
def test_every_example_target_is_valid_for_both(path):
    assert loader_error(path) is None
    assert schema_errors(path.read_text()) == []


@pytest.mark.parametrize("text", readme_examples())
def test_every_readme_example_is_valid_for_both(tmp_path, monkeypatch, text):
    for name in set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)):  # as CI would set them
        monkeypatch.setenv(name, "value-1")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    assert loader_error(path) is None
    assert schema_errors(text) == []


@pytest.mark.parametrize("text,where", [
    ("domain: www.example.com\nspa:\n  deeplinks: [/a]\n", "spa"),
    ("domain: www.example.com\ntimeouts:\n  connect: 0\n", "timeouts/connect"),
    ("domain: www.example.com\nhttps:\n  redirect_statuses: [200]\n", "https/redirect_statuses/0"),
    ("domain: www.example.com\napi:\n  calls:\n    - path: api/x\n", "api/calls/0/path"),
    ("domain: www.example.com\napi:\n  calls:\n    - path: /api/x\n      method: FETCH\n", "api/calls/0/method"),
    ("domain: www.example.com\nheaders:\n  Host: x\n", "headers"),
    ("domain: www.example.com\nedges:\n  mode: everywhere\n", "edges/mode"),
    ("domain: www.example.com\ninsecure: yes please\n", "insecure"),
    ("static:\n  pages: [/]\n", ""),
    ("domain: www.example.com\nstatic:\n  pages: []\n", "static/pages"),
])
def test_typical_mistakes_are_refused_by_both(tmp_path, text, where):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    assert loader_error(path) is not None
    errors = schema_errors(text)
    assert errors and any(e.startswith(f"{where}:") for e in errors), errors


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(text=structured())
def test_fuzzed_targets_agree_both_ways(tmp_path_factory, text):
    if "${" in text:  # substitution is the loader's alone (the editor sees the reference, not the value)
        OUTCOMES["skipped: ${VAR}"] += 1
        return
    path = tmp_path_factory.mktemp("fuzz") / "t.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        schema = schema_errors(text)
    except (yaml.YAMLError, UnicodeError, RecursionError):
        OUTCOMES["skipped: not YAML an editor reads"] += 1
        return
    loader = loader_error(path)
    if loader is None:
        assert schema == [], f"the loader accepts what the schema refuses: {schema}\n{text}"
        OUTCOMES["both accept"] += 1
    elif schema:
        OUTCOMES["both refuse"] += 1
    else:
        assert LOADER_ONLY.search(loader) or LOADER_ONLY_KEYS.search(loader), f"the schema accepts what the loader refuses: {loader}\n{text}"
        OUTCOMES["loader alone refuses (a judgement only it makes)"] += 1


def test_fuzz_outcomes_printed():
    print("\ntarget schema vs loader:", dict(OUTCOMES))
    if OUTCOMES:
        assert OUTCOMES["both refuse"] + OUTCOMES["both accept"] > 0


def test_seeds_are_valid_for_both(tmp_path):
    for i, seed in enumerate(SEEDS):
        text = yaml.safe_dump(seed)
        path = tmp_path / f"s{i}.yaml"
        path.write_text(text)
        assert loader_error(path) is None and schema_errors(text) == [], i


def test_init_writes_a_valid_target_with_the_schema_line_and_schema(tmp_path):
    path = write_starter("WWW.Example.com", str(tmp_path / "t" / "site.yaml"))
    text = path.read_text()
    assert text.startswith(SCHEMA_LINE + "\n") and "domain: www.example.com" in text
    assert json.loads((path.parent / SCHEMA_FILE).read_text()) == json.loads(json.dumps(target_schema()))
    assert schema_errors(text) == [] and loader_error(path) is None
    with pytest.raises(TargetError, match="exists; give --force"):
        write_starter("www.example.com", str(path))
    run = subprocess.run([sys.executable, "-m", "edgeverify.cli", "init", "www.example.org"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and (tmp_path / "targets" / "www.example.org.yaml").exists(), run.stderr
    again = subprocess.run([sys.executable, "-m", "edgeverify.cli", "init", "www.example.org"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 4 and "Traceback" not in again.stderr


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))
