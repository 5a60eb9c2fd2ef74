"""The regions' client prefixes (edgeverify/regions.py: data the target model validates against as well)."""

from ..regions import REGION_PREFIXES

__all__ = ["REGION_PREFIXES"]
