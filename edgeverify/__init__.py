"""edgeverify: verify a CloudFront + S3 + API Gateway domain from the outside."""

__version__ = "0.1.0"
