"""A moto server on loopback: a real HTTP endpoint, as boto3 sees AWS (not moto's in-process mocks)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from moto.server import ThreadedMotoServer

from edgeverify.aws import session
from edgeverify.target import Aws
from moto_configs import BUCKET


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The server's URL; for the session, dummy credentials and no shared AWS files (nothing real is reachable)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws(moto_endpoint: str) -> Aws:
    return Aws(endpoint_url=moto_endpoint)


@pytest.fixture(scope="session")
def cf(aws: Aws) -> Any:
    return session.client("cloudfront", aws)


@pytest.fixture(scope="session")
def s3(aws: Aws) -> Any:
    client = session.client("s3", aws)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="session")
def cfn(aws: Aws) -> Any:
    return session.client("cloudformation", aws)


@pytest.fixture
def distribution_state(moto_endpoint: str) -> Iterator[Callable[[int], None]]:
    """Make new distributions stay InProgress for N reads (moto's state manager, manual progression: each
    GetDistribution / GetDistributionConfig / ListDistributions counts one), reset afterwards. Counted in reads,
    not seconds, so that a loaded machine's clock changes nothing (NEVER: stays InProgress through the test)."""
    url = f"{moto_endpoint}/moto-api/state-manager"

    def set_reads(reads: int) -> None:
        requests.post(f"{url}/set-transition", timeout=5, json={
            "model_name": "cloudfront::distribution", "transition": {"progression": "manual", "times": reads}})

    yield set_reads
    requests.post(f"{url}/unset-transition", json={"model_name": "cloudfront::distribution"}, timeout=5)
