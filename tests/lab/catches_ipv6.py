"""What the ipv6 suite must report for the lab's IPv6 fault: fault -> {rule id: text its message contains}."""

CATCHES = {
    "ipv6-not-served": {"ipv6.served": "[::1] (ipv6.addresses): does not answer over IPv6"},
}
