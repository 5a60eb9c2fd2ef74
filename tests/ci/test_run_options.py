"""`edgeverify run`'s options: every one on the command line itself and in its EDGEVERIFY_* variable, passed on
to the plugin as pytest reads them; bad options exit 4 naming the command; --version, rules/signatures --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeverify import front
from edgeverify.front import RUN_OPTIONS, UsageError, parse, run_options_markdown

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "targets" / "example.yaml")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDGEVERIFY_")}
    return subprocess.run([sys.executable, "-m", "edgeverify.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**clean, **(env or {})}, timeout=60)


def captured(monkeypatch, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The pytest command line `edgeverify run ARGV` hands to pytest (pytest.main stubbed: no run)."""
    import pytest as real

    seen: list[list[str]] = []
    monkeypatch.setattr(real, "main", lambda args: seen.append(args) or 0)
    for key in [k for k in os.environ if k.startswith("EDGEVERIFY_")]:
        monkeypatch.delenv(key)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    assert front.main(argv) == 0
    return seen[0]


def test_the_issue_command_line_reaches_the_plugin(monkeypatch):
    args = captured(monkeypatch, [EXAMPLE, "--history", "off", "--propagation-timeout", "5"])
    assert "--history=off" in args and "--propagation-timeout=5" in args


def test_every_option_has_its_variable_and_reaches_pytest_from_either(monkeypatch):
    values = {"list": ["a.example:443:127.0.0.1:8443"], "value": "7", "flag": True}
    for opt in RUN_OPTIONS:
        assert opt.env.startswith("EDGEVERIFY_") and opt.help
        if opt.pytest is None:
            continue
        value = "new" if opt.choices else values[opt.kind]
        flag = [opt.flags[0]] if opt.kind == "flag" else [opt.flags[0], value[0] if isinstance(value, list) else value]
        env_value = "1" if opt.kind == "flag" else (value[0] if isinstance(value, list) else value)
        expected = opt.pytest if opt.kind == "flag" else f"{opt.pytest}={flag[1]}"
        assert expected in captured(monkeypatch, [EXAMPLE, *flag]), opt.flags
        assert expected in captured(monkeypatch, [EXAMPLE], {opt.env: env_value}), opt.env


def test_the_command_line_wins_over_the_environment_and_selection_options_select():
    ns = parse(["t.yaml", "--fail-on", "any", "--suite", "cors"], {"EDGEVERIFY_FAIL_ON": "new",
                                                                    "EDGEVERIFY_RULE": "https.hsts,cache.api_never_hit"})
    assert ns.fail_on == "any" and ns.suite == ["cors"] and ns.rule == ["https.hsts", "cache.api_never_hit"]
    assert front._selection(ns) == ["-m", "cors", "-k", "https.hsts or cache.api_never_hit"]
    assert parse([], {"EDGEVERIFY_TARGET": "a.yaml b.yaml"}).targets == ["a.yaml", "b.yaml"]
    assert parse(["t.yaml"], {"EDGEVERIFY_HTTP2": "0"}).http11 is True
    assert parse(["t.yaml"], {"EDGEVERIFY_INSECURE": "0"}).insecure in (None, False)  # off means off
    actions = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"}
    assert parse(["t.yaml"], actions).report_url == "https://github.com/o/r/actions/runs/42"
    assert parse(["t.yaml", "--report-url", "https://x.test/1"], actions).report_url == "https://x.test/1"


@pytest.mark.parametrize("argv,env,words", [
    (["t.yaml", "--histroy", "off"], {}, ["edgeverify run:", "did you mean --history"]),
    (["t.yaml", "--fail-on", "sometimes"], {}, ["edgeverify run:", "invalid choice"]),
    (["t.yaml"], {"EDGEVERIFY_INSECURE": "maybe"}, ["EDGEVERIFY_INSECURE='maybe'", "1 or 0"]),
    (["t.yaml"], {"EDGEVERIFY_FAIL_ON": "old"}, ["EDGEVERIFY_FAIL_ON", "any, new"]),
    (["t.yaml", "-n", "two"], {}, ["-n 'two'"]),
    (["t.yaml", "--notify-on", "new,later"], {}, ["--notify-on", "'later'"]),
    ([], {}, ["give at least one target file: edgeverify run"]),
])
def test_bad_options_are_usage_errors_naming_the_command(argv, env, words):
    with pytest.raises(UsageError) as err:
        parse(argv, env)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_bad_option_exits_4_and_a_missing_target_speaks_of_run():
    bad = cli("run", EXAMPLE, "--histroy", "off")
    assert bad.returncode == 4 and "edgeverify run: unrecognized arguments" in bad.stderr and "--history" in bad.stderr
    missing = cli("run", "nowhere.yaml")
    assert missing.returncode == 4 and "edgeverify run: target file nowhere.yaml: not found" in missing.stderr
    assert "--target" not in missing.stderr and "Traceback" not in missing.stderr
    for argv in (["rules", "--jsn"], ["no-such-command"], ["schema", "nothing"]):
        run = cli(*argv)
        assert run.returncode == 4 and "Traceback" not in run.stderr, (argv, run.stderr)
    assert "did you mean --json" in cli("rules", "--jsn").stderr


def test_version_and_help_list_every_option_with_its_variable():
    from importlib.metadata import version

    for argv in (["--version"], ["run", "--version"]):
        run = cli(*argv)
        assert run.returncode == 0 and run.stdout.strip() == f"edgeverify {version('edgeverify')}"
    text = " ".join(cli("run", "--help").stdout.split())
    for opt in RUN_OPTIONS:
        assert all(f in text for f in opt.flags) and f"[{opt.env}]" in text, opt.flags


def test_readme_run_options_table_matches_the_code():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- run-options:start -->\n")[1].split("<!-- run-options:end -->")[0]
    assert section == run_options_markdown(), "README run options table is stale: front.run_options_markdown()"


def test_rules_and_signatures_as_json():
    rules = json.loads(cli("rules", "--json").stdout)
    text = cli("rules").stdout
    assert rules and all(f"{r['id']}  [{r['suite']}, {r['severity']}]" in text for r in rules)
    assert {"id", "suite", "severity", "summary", "why", "source", "threshold"} <= set(rules[0])
    signatures = json.loads(cli("signatures", "--json").stdout)
    listed = cli("signatures").stdout
    assert [s["order"] for s in signatures] == list(range(1, len(signatures) + 1))
    assert all(f"{s['order']:2}. {s['id']}  [{s['service']}, {s['confidence']}]" in listed for s in signatures)
