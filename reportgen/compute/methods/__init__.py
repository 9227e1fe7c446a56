"""Attribution methods, one per module, registered by name in METHODS."""

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput

# Importing a module registers its method.
from reportgen.compute.methods import attention_rollout, gradient_x_input, integrated_gradients  # noqa: F401,E402

__all__ = ["METHODS", "AttributionMethod", "MethodContext", "MethodOutput"]
