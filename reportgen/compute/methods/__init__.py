"""Attribution methods, one per module, registered by name in METHODS (each module is imported here, so a new
method is its file alone)."""

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput

METHODS.discover(__name__)

__all__ = ["METHODS", "AttributionMethod", "MethodContext", "MethodOutput"]
