"""What https.http3 must report for the lab's HTTP/3 fault (with --strict-advisories): fault -> {rule: text}."""

CATCHES = {
    "h3-not-served": {"https.http3": "no HTTP/3 answer"},
}
