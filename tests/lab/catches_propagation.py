"""What the propagation suite must report for each lab fault it catches: fault -> {rule id: text its message contains}."""

CATCHES = {
    "previous-release-deleted": {"propagation.previous_release": "aws s3 sync --delete"},
}
