"""AWS helpers (boto3): discover a target from a distribution or stack, wait for deploys, read what the
config audit and bucket parity need. Credentials come only from the standard boto3 chain."""
