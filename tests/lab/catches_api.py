"""What the api suite must report for each api fault of the lab: fault -> {rule id: text its message contains}."""

CATCHES = {
    "post-not-allowed": {"api.call": "does not allow POST", "api.reaches_origin": "does not allow POST"},
    "api-origin-down": {"api.call": "502", "api.reaches_origin": "failed or timed out",
                        "api.unknown_route": "failed or timed out"},
    "api-origin-path-doubled": {"api.call": "Missing Authentication Token"},
    "api-host-forwarded": {"api.call": "AllViewerExceptHostHeader"},
}
