"""Explanation-quality metrics, registered by name; each declares family, range and direction (each module is
imported here, so a new metric is its file alone)."""

from reportgen.compute.metrics.base import METRICS, Metric, MetricContext

METRICS.discover(__name__)

__all__ = ["METRICS", "Metric", "MetricContext"]
