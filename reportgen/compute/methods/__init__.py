"""Attribution methods, one per module, registered by name in METHODS."""

# Importing a module registers its method.
from reportgen.compute.methods import (  # noqa: F401,E402
    alti,
    attention_flow,
    attention_gradient,
    attention_raw,
    attention_rollout,
    attn_lrp,
    cp_lrp,
    decompx,
    gradient_x_input,
    integrated_gradients,
    noise_tunnel_ig,
    occlusion,
    random_baseline,
    saliency,
    smoothgrad,
    surrogates,
    value_zeroing,
)
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput

__all__ = ["METHODS", "AttributionMethod", "MethodContext", "MethodOutput"]
