"""Explanation-quality metrics, registered by name; each declares family, range and direction."""

from reportgen.compute.metrics import faithfulness, loo, plausibility  # noqa: F401  (registers the metrics)
from reportgen.compute.metrics.base import METRICS, Metric, MetricContext

__all__ = ["METRICS", "Metric", "MetricContext"]
