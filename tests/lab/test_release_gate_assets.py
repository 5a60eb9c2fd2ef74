"""The release gate waits for the new entry document's assets too: a deploy that uploads index.html before its
chunks is not released until they are served (lab fault assets-after-index: they arrive 3 s after the index)."""


def test_gate_waits_until_the_new_assets_are_served(lab, run_edgeverify):
    edge = lab.edge(["assets-after-index"], old_release_for=0.5)
    run = run_edgeverify(edge, "suites/test_static.py", "-k", "referenced_asset", "--propagation-timeout=30")
    assert run.returncode == 0, run.output
    assert run.doc["release"]["gate"] == "passed", run.doc["release"]
    served = [c for c in run.checks if c["rule"] == "static.served"]
    # the gate, not the checks' retries, waited: each check judged a whole release at its first attempt
    assert served and all(c["attempts"] == 1 and c["outcome"] == "passed" for c in served), served


def test_assets_never_served_pass_the_gate_at_the_deadline_and_fail_static_served(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(["asset-missing"]), "suites/test_static.py", "-k", "referenced_asset",
                         "--propagation-timeout=2")
    assert run.returncode == 1, run.output
    assert "served, but not all its assets by the deadline" in run.output
    assert run.doc["release"]["gate"] == "passed"
    assert "/assets/chunk." in run.failed()["static.served"]
