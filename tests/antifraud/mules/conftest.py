"""The screening tests' tiny district and local Spark, shared with the mule features' Spark test."""

from tests.antifraud.screening.conftest import district, spark

__all__ = ["district", "spark"]
