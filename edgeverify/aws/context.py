"""The target's AWS side as the config checks see it: read once per run and target, shared by every check.

Each part (the distribution, its cache policies, the certificate's names, the bucket) is looked up on first
use and kept, a failure included: twelve checks reading one distribution make one GetDistribution call,
and a missing credential is one reason shown twelve times. boto3 is imported only here, only when used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import AwsError, NotApplicable
from ..target import Target

T = TypeVar("T")


class AwsContext:
    """One target's distribution, cache policies, certificate names and bucket, each read once."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._lock = threading.RLock()  # a part read under it may read another (the distribution, the section)
        self._found: dict[str, tuple[bool, Any]] = {}

    def _once(self, key: str, read: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._found:
                try:
                    self._found[key] = (True, read())
                except (AwsError, NotApplicable) as exc:
                    self._found[key] = (False, exc)
            ok, value = self._found[key]
        if not ok:
            raise value
        return value

    def aws(self) -> Any:
        """The target's aws section, once it is known the audit can run (never decided at collection)."""
        def read() -> Any:
            aws = self.target.aws
            if not (aws.distribution_id or aws.stack):  # decided before boto3 is imported (a third of a second)
                raise NotApplicable("no aws.distribution_id or aws.stack in the target")
            from . import session

            if not session.has_credentials(aws):
                raise NotApplicable(f"config audit needs AWS credentials ({session.CREDENTIALS_HINT}); none found")
            return aws

        return self._once("aws", read)

    def cloudfront(self) -> Any:
        aws = self.aws()
        from . import session

        return self._once("cloudfront", lambda: session.client("cloudfront", aws))

    def distribution(self) -> Any:
        self.aws()
        from . import resources

        def read() -> Any:
            distribution_id, _ = resources.resolve_distribution(self.aws(), self.cloudfront())
            return resources.get_distribution(self.cloudfront(), distribution_id)

        return self._once("distribution", read)

    def cache_policies(self) -> Any:
        """Custom cache policies' configs by id; unreadable ones are left out (the rules name them)."""
        from . import resources

        return self._once("cache_policies",
                          lambda: resources.cache_policies(self.cloudfront(), self.distribution().config))

    def api_behaviors(self) -> None:
        """NotApplicable unless the distribution has a behavior with an execute-api origin."""
        from ..rules import config

        distribution = self.distribution()
        if not config.api_behaviors(distribution.config):
            raise NotApplicable(f"distribution {distribution.id} has no behavior with an execute-api origin")

    def certificate_names(self) -> list[str] | None:
        """The ACM certificate's names (domain and SANs), or None when it is not an ACM certificate or unreadable."""
        from . import resources

        def read() -> list[str] | None:
            arn = (self.distribution().config.get("ViewerCertificate") or {}).get("ACMCertificateArn") or ""
            if not arn:
                return None
            try:
                names: list[str] = resources.certificate_names(self.aws(), arn)
                return names
            except AwsError:
                return None

        return self._once("certificate_names", read)

    def bucket_origin(self) -> tuple[str, str]:
        """(bucket, origin path) whose objects the edge must serve."""
        from . import resources

        def read() -> tuple[str, str]:
            distribution = self.distribution()
            origin = resources.static_origin(distribution.config)
            bucket = self.target.aws.bucket or (origin[0] if origin else None)
            if not bucket:
                raise NotApplicable(f"no aws.bucket in the target and no S3 origin in distribution {distribution.id}")
            return bucket, origin[1] if origin and origin[0] == bucket else ""

        return self._once("bucket_origin", read)
