"""Propagation against the lab: the edge serves the old release for a while, then the new one."""

import json


def test_run_waits_for_the_new_release_and_reports_convergence(lab, run_edgeverify):
    edge = lab.edge(old_release_for=3.0)
    run = run_edgeverify(edge, "suites/test_propagation.py", "suites/test_https.py", "--propagation-timeout=30")
    assert run.returncode == 0, run.output
    waited = [c["release_served_after_s"] for c in run.checks if c.get("release_served_after_s") is not None]
    assert waited and 2.0 <= max(waited) <= 20, waited
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
    attempts = {c["nodeid"].split("[")[-1].rstrip("]"): c["attempts"] for c in run.checks if "[" in c["nodeid"]}
    assert attempts.get("once") == 1, json.dumps(run.checks, indent=1)[:3000]
    assert attempts.get("again", 0) >= 3
