"""Representative public client prefixes per region, sent as EDNS Client Subnet to learn each region's edge.

Source: AWS's published address ranges, https://ip-ranges.amazonaws.com/ip-ranges.json (service "EC2",
createDate 2026-08-22-21-17-05, syncToken 1787433425; read from the copy in github.com/joetek/aws-ip-ranges-json,
commit d7abca7bbb51a022832f46570dc08b9acc3b626a). For each region the first /24 of that region's largest
EC2 block: a machine in that block is a client in that region, and geolocation databases place it there,
so CloudFront's DNS answers it with a nearby edge location. Override or extend per target with
`edges.prefixes` (for instance an ISP's prefix in a country the table does not cover).
"""

from __future__ import annotations

REGION_PREFIXES: dict[str, str] = {
    "us-east-1": "44.192.0.0/24",       # N. Virginia (44.192.0.0/11)
    "us-east-2": "3.136.0.0/24",        # Ohio (3.136.0.0/13)
    "us-west-1": "18.144.0.0/24",       # N. California (18.144.0.0/15)
    "us-west-2": "44.224.0.0/24",       # Oregon (44.224.0.0/11)
    "ca-central-1": "3.96.0.0/24",      # Montreal (3.96.0.0/15)
    "mx-central-1": "78.12.0.0/24",     # Mexico (78.12.0.0/15)
    "sa-east-1": "15.228.0.0/24",       # Sao Paulo (15.228.0.0/15)
    "eu-west-1": "3.248.0.0/24",        # Ireland (3.248.0.0/13)
    "eu-west-2": "3.8.0.0/24",          # London (3.8.0.0/14)
    "eu-west-3": "13.36.0.0/24",        # Paris (13.36.0.0/14)
    "eu-central-1": "3.64.0.0/24",      # Frankfurt (3.64.0.0/12)
    "eu-north-1": "13.48.0.0/24",       # Stockholm (13.48.0.0/15)
    "eu-south-1": "15.160.0.0/24",      # Milan (15.160.0.0/16)
    "il-central-1": "51.16.0.0/24",     # Tel Aviv (51.16.0.0/15)
    "me-south-1": "15.184.0.0/24",      # Bahrain (15.184.0.0/16)
    "me-central-1": "3.28.0.0/24",      # UAE (3.28.0.0/15)
    "af-south-1": "13.244.0.0/24",      # Cape Town (13.244.0.0/15)
    "ap-south-1": "3.108.0.0/24",       # Mumbai (3.108.0.0/14)
    "ap-southeast-1": "3.0.0.0/24",     # Singapore (3.0.0.0/15)
    "ap-southeast-2": "3.24.0.0/24",    # Sydney (3.24.0.0/14)
    "ap-east-1": "16.162.0.0/24",       # Hong Kong (16.162.0.0/15)
    "ap-northeast-1": "35.72.0.0/24",   # Tokyo (35.72.0.0/13)
    "ap-northeast-2": "3.36.0.0/24",    # Seoul (3.36.0.0/14)
}
