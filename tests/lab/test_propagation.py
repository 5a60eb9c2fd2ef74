"""Propagation against the lab: the edge serves the old release for a while, then the new one."""

import json


def test_run_waits_for_the_new_release_and_reports_convergence(lab, run_edgeverify):
    edge = lab.edge(old_release_for=5.0)  # the case: the old release for 5 s
    run = run_edgeverify(edge, "suites/test_propagation.py", "suites/test_https.py", "--propagation-timeout=30")
    assert run.returncode == 0, run.output
    release, switch = run.doc["release"], edge.switch_at
    assert release["gate"] == "passed", release
    # the new release was first found by a poll sent at the edge's switch (one in flight across it may be sent
    # just before), never by one from before it, whatever the machine's load made the run's start-up cost
    assert switch - 0.5 <= release["seen_at"] <= switch + 20, (release, switch)
    assert 0 <= release["served_after_s"] <= 20, release  # the convergence time the run reports
    assert "edgeverify: release build-2026.11.25-new served after" in run.output


def test_run_fails_after_the_deadline_saying_attempts_elapsed_time_and_what_differed(lab, run_edgeverify):
    edge = lab.edge(old_release_for=float("inf"))
    run = run_edgeverify(edge, "suites/test_propagation.py", "--propagation-timeout=4")
    assert run.returncode == 1, run.output
    message = run.failed()["propagation.release"]
    assert "Expected: 200 whose body contains 'build-2026.11.25-new'" in message
    assert "serving 'build-2026.11.25-old' instead" in message
    assert "Attempts: " in message and "propagation deadline 4 s" in message
    attempts = int(message.split("Attempts: ")[1].split()[0])
    assert attempts >= 3  # 1 s, 2 s, then the deadline
    assert "invalidation" in message  # the likely cause, in CloudFront terms


def test_a_post_is_not_repeated_unless_marked_safe(tmp_path, lab, run_edgeverify):
    # post-not-allowed makes the POST check fail; with a deadline it must still stop after one attempt.
    target = tmp_path / "t.yaml"
    target.write_text(
        "domain: www.example.test\n"
        "api:\n  calls:\n"
        "    - {name: once, method: POST, path: /api/echo, json: {a: 1}, expect: {status: 200}}\n"
        "    - {name: again, method: POST, path: /api/echo, json: {a: 1}, repeat_safe: true, expect: {status: 200}}\n"
        "propagation: {interval: 0.5, max_interval: 0.5}\n")
    run = run_edgeverify(lab.edge(faults=["post-not-allowed"]), "suites/test_api.py", "-k", "answers_as_expected",
                         "--propagation-timeout=3", target=target)
    attempts = {c["id"].split("[")[-1].rstrip("]"): c["attempts"] for c in run.checks if "[" in c["id"]}
    assert attempts.get("once") == 1, json.dumps(run.checks, indent=1)[:3000]
    assert attempts.get("again", 0) >= 3


def test_every_worker_judges_the_entry_document_the_run_started_with(lab, run_edgeverify, tmp_path):
    # Mid-deploy two workers fetching index.html can see two releases. Here the edge switches release
    # while the workers are still starting (a plugin delays them): all must still judge the first one.
    (tmp_path / "slow_workers.py").write_text(
        "import time\n\ndef pytest_configure(config):\n"
        "    if hasattr(config, 'workerinput'):\n        time.sleep(3)\n")
    target = tmp_path / "no-marker.yaml"
    target.write_text("domain: www.example.test\nstatic:\n  pages: [/]\n")
    edge = lab.edge(old_release_for=1.5)
    run = run_edgeverify(edge, "suites/test_static.py", "-n", "2", "-p", "slow_workers", target=target,
                         env={"PYTHONPATH": str(tmp_path)})
    assert run.returncode == 0, run.output
    shared = [c for c in run.checks if c["rule"] in ("static.served", "static.media_type", "static.validators")]
    entries = [ex for c in shared for ex in run.exchanges(c) if ex["request"]["url"] == "https://www.example.test/"]
    etags = {dict((k.lower(), v) for k, v in ex["headers"]).get("etag") for ex in entries}
    assert len(entries) >= 3 and len(etags) == 1, entries  # one entry document, the one the run started with
    # ... and so every worker checked the same assets.
    assets = {tuple(sorted(ex["request"]["url"] for ex in run.exchanges(c) if "/assets/" in ex["request"]["url"]))
              for c in shared if c["rule"] != "static.served" or "asset" in c["id"]}
    assert len(assets) == 1, assets
