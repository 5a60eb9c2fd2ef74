"""A real local edge that behaves like CloudFront (nginx) in front of S3- and API Gateway-like origins."""
from .faults import FAULTS
from ..errors import LabError
from .lab import DOMAIN, Edge, Lab

__all__ = ["DOMAIN", "FAULTS", "Edge", "Lab", "LabError"]
