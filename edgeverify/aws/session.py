"""The one place that makes boto3 clients: credentials and region from the standard chain, bounded calls,
and AWS failures turned into one-line `AwsError`s (never a traceback, never a credential).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from ..errors import AwsError
from ..target import Aws

DEFAULT_REGION = "us-east-1"  # CloudFront is global; its API is signed for us-east-1
CREDENTIALS_HINT = ("the boto3 chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials "
                    "or an instance/task role")

_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"})
_HINTS = {
    "NoSuchDistribution": "check aws.distribution_id (the id, e.g. E1ABCDEF2GHIJK, not the domain name)",
    "AccessDenied": "the credentials lack the permission named above (cloudfront:Get*/List*, s3:ListBucket, "
                    "cloudformation:Describe*/List*)",
    "InvalidClientTokenId": "the access key is unknown to this account or endpoint",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the session token expired: renew it (aws sso login, or new role credentials)",
    "ValidationError": "check aws.stack (the stack name or id)",
    "NoSuchBucket": "check aws.bucket",
}


def _session(aws: Aws) -> boto3.session.Session:
    with aws_errors("reading the AWS profile"):
        return boto3.session.Session(region_name=aws.region or None)


def region(aws: Aws) -> str:
    """The region for regional services: the target's, else the chain's (AWS_REGION, profile), else us-east-1."""
    return aws.region or _session(aws).region_name or DEFAULT_REGION


def client(service: str, aws: Aws | None = None, region_name: str | None = None) -> Any:
    """A boto3 client for `service`; endpoint from aws.endpoint_url, else boto3's own AWS_ENDPOINT_URL handling."""
    aws = aws or Aws()
    config = _CONFIG
    if aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL"):
        # A local endpoint (moto, localstack) has no per-bucket DNS names.
        config = config.merge(Config(s3={"addressing_style": "path"}))
    name = region_name or (DEFAULT_REGION if service == "cloudfront" else region(aws))
    with aws_errors(f"creating the {service} client"):
        made = _session(aws).client(service, region_name=name, endpoint_url=aws.endpoint_url or None, config=config)
    if service == "s3control" and (aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        made.meta.events.register("before-sign.s3-control.*", _no_account_host)
    return made


def _no_account_host(request: Any, **_: Any) -> None:
    """S3 Control names the account in the host (123456789012.s3-control...); a local endpoint has one host only."""
    parts = urlsplit(request.url)
    label, _, rest = parts.netloc.partition(".")
    if len(label) == 12 and label.isdigit() and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


def has_credentials(aws: Aws | None = None) -> bool:
    """True when the boto3 chain finds credentials (their values are never read here)."""
    try:
        return _session(aws or Aws()).get_credentials() is not None
    except (AwsError, BotoCoreError):
        return False


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn botocore failures inside the block into an AwsError: '<action>: <what AWS said>; <what to do>'."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsError(f"{action}: no usable AWS credentials; provide them through {CREDENTIALS_HINT}.") from None
    except ProfileNotFound as exc:
        raise AwsError(f"{action}: {exc} (check AWS_PROFILE and ~/.aws/config).") from None
    except NoRegionError:
        raise AwsError(f"{action}: no region; set aws.region in the target or AWS_REGION.") from None
    except EndpointConnectionError as exc:
        raise AwsError(f"{action}: could not connect to {exc.kwargs.get('endpoint_url', 'the endpoint')} "
                       "(check aws.endpoint_url / AWS_ENDPOINT_URL and the network).") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "error"))
        message = " ".join(str(error.get("Message") or "").split())
        hint = _HINTS.get(code)
        detail = f"{code}: {message}" if message else code
        raise AwsError(f"{action}: {detail}" + (f"; {hint}." if hint else ".")) from None
    except BotoCoreError as exc:
        raise AwsError(f"{action}: {' '.join(str(exc).split())}.") from None
