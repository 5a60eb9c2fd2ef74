"""The edgeverify command: rules listing (and the README section made from it), target validation."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def edgeverify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgeverify.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_readme_rules_section_matches_the_code():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- rules:start -->\n")[1].split("<!-- rules:end -->")[0]
    assert section == edgeverify("rules", "--markdown").stdout, "README rules section is stale: edgeverify rules --markdown"


def test_rules_lists_every_suite_with_severity_and_source():
    out = edgeverify("rules").stdout
    for suite in ("https", "static", "cache", "api", "cors", "spa", "propagation", "config"):
        assert f"[{suite}, fail]" in out
    assert "[spa, advisory]" in out and "source: " in out


def test_check_target_accepts_a_good_file_and_rejects_a_bad_one(tmp_path):
    ok = edgeverify("check-target", "targets/example.yaml")
    assert ok.returncode == 0 and "valid target for www.example.com" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("domain: www.example.com\nspa:\n  deeplinks: [/a]\n")
    run = edgeverify("check-target", str(bad))
    assert run.returncode == 4 and "line 3, key 'spa.deeplinks'" in run.stderr and "Did you mean 'deep_links'?" in run.stderr
    assert "Traceback" not in run.stderr
