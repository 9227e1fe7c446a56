"""Attention arithmetic shared by methods and summaries: rollout and where attention mass goes."""

from __future__ import annotations

import numpy as np


def attention_rollout(attentions: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema (2020): mean over heads, add the residual (0.5 A + 0.5 I), renormalise rows,
    multiply through the layers. attentions: float[layers, heads, seq, seq] -> float32[seq, seq]."""
    mean = attentions.astype(np.float32).mean(axis=1)
    size = mean.shape[-1]
    rollout = np.eye(size, dtype=np.float32)
    for layer in mean:
        mixed = 0.5 * layer + 0.5 * np.eye(size, dtype=np.float32)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def special_token_mass(attentions: np.ndarray, special: np.ndarray) -> list[float]:
    """Per layer: the average share of attention (over heads and query tokens) that lands on
    special tokens such as [CLS] and [SEP]. special: bool[seq]."""
    on_special = attentions[..., special].astype(np.float32).sum(-1)  # [layers, heads, seq]
    return [float(v) for v in on_special.mean(axis=(1, 2))]


FLOW_SCALE = 1_000_000  # scipy's max-flow needs integer capacities: attention weights in millionths


def attention_flow(attentions: np.ndarray, sink_weights: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema (2020) attention flow: the attention graph (one node per token and layer, edge
    capacities 0.5 A + 0.5 I with rows renormalised, as in rollout) read as a flow network; a token's
    score is the maximum flow from its input node to the output, normalised over tokens. The output is a
    super-sink fed by the last layer's tokens with capacities sink_weights (one-hot on [CLS] for a
    classification head, 1/n each for a mean-pooled probe).
    attentions: float[layers, heads, seq, seq] -> float32[seq]."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    mean = attentions.astype(np.float64).mean(axis=1)
    layers, size = mean.shape[0], mean.shape[-1]
    sink = (layers + 1) * size
    rows, cols, caps = [], [], []
    for layer, att in enumerate(mean):
        mixed = 0.5 * att + 0.5 * np.eye(size)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        # mixed[i, j]: how much query i of the next layer reads from token j: edge (layer, j) -> (layer + 1, i)
        query, key = np.nonzero(mixed > 0)
        rows.extend(layer * size + key)
        cols.extend((layer + 1) * size + query)
        caps.extend(mixed[query, key])
    top = np.nonzero(sink_weights > 0)[0]
    rows.extend(layers * size + top)
    cols.extend([sink] * len(top))
    caps.extend(sink_weights[top])
    capacity = np.maximum(np.rint(np.asarray(caps) * FLOW_SCALE), 0).astype(np.int32)
    graph = csr_matrix((capacity, (np.asarray(rows), np.asarray(cols))), shape=(sink + 1, sink + 1))
    graph.sum_duplicates()
    flows = np.asarray([maximum_flow(graph, source, sink).flow_value for source in range(size)], dtype=np.float64)
    # Normalised to sum to 1, as in the authors' implementation: raw flows are all close to the sink's
    # capacity, and what carries information is how they compare.
    return (flows / flows.sum()).astype(np.float32) if flows.sum() > 0 else flows.astype(np.float32)
