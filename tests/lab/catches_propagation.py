"""What the propagation suite must report for each lab fault it catches: fault -> {rule id: text its message contains}."""

CATCHES = {
    # Without a timed release switch the new chunks never arrive: the static suite sees them missing.
    "assets-after-index": {"static.served": "/assets/"},
    "previous-release-deleted": {"propagation.previous_release": "aws s3 sync --delete"},
}
