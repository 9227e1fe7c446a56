"""Per-head attention statistics (Clark et al. 2019) and a pattern type per head (after Kovaleva et al. 2019)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from reportgen.bundle.vocabulary import PATTERNS, STATS  # noqa: F401 (re-exported for compute)
from reportgen.compute.encode import SPECIAL, EncodedExample

# Thresholds of the pattern rule, on shares of attention mass averaged over queries and examples.
VERTICAL, DIAGONAL, MIXED, MIXED_EACH, BLOCK = 0.5, 0.5, 0.6, 0.2, 0.8


def head_statistics(
    attentions: Sequence[np.ndarray],  # per example float16[layers, heads, seq, seq]
    encoded: Sequence[EncodedExample],
    cls_token: str | None,
    sep_token: str | None,
) -> dict[str, Any]:
    """Every statistic as float[layers][heads], averaged over examples (each example weighs the same)."""
    totals: dict[str, np.ndarray] = {}
    segment_share, pair_examples = None, 0
    for attn, enc in zip(attentions, encoded):
        a = attn.astype(np.float32)  # [L, H, n, n]
        n = a.shape[-1]
        tokens = enc.tokens[:n]
        cls = np.array([t == cls_token for t in tokens])
        sep = np.array([t == sep_token for t in tokens])
        special = np.array(enc.special_mask[:n])
        punct = np.array([not s and not any(ch.isalnum() for ch in t) for t, s in zip(tokens, special)])
        idx = np.arange(n)
        distance = np.abs(idx[:, None] - idx[None, :]).astype(np.float32)
        near = distance <= 1  # the token itself and its neighbours
        fixed = (cls | sep | punct)[None, :] & ~near  # fixed tokens, not counted twice when also neighbours
        values = {
            "to_cls": a[..., cls].sum(-1).mean(-1),
            "to_sep": a[..., sep].sum(-1).mean(-1),
            "to_punct": a[..., punct].sum(-1).mean(-1),
            "to_self": np.diagonal(a, axis1=-2, axis2=-1).mean(-1),
            "to_prev": a[..., idx[1:], idx[1:] - 1].mean(-1) if n > 1 else np.zeros(a.shape[:2]),
            "to_next": a[..., idx[:-1], idx[:-1] + 1].mean(-1) if n > 1 else np.zeros(a.shape[:2]),
            "distance": (a * distance).sum(-1).mean(-1),
            "entropy": -(a * np.log(np.clip(a, 1e-12, None))).sum(-1).mean(-1),
            "diagonal_share": (a * near).sum(-1).mean(-1),
            "vertical_share": (a * fixed).sum(-1).mean(-1),
        }
        for key, value in values.items():
            totals[key] = totals.get(key, 0) + value
        segments = np.array(enc.segments[:n])
        if (segments == 1).any():
            pair_examples += 1
            queries = segments != SPECIAL
            same = (segments[:, None] == segments[None, :]) & queries[None, :]
            share = (a * same).sum(-1)[..., queries].mean(-1)
            segment_share = share if segment_share is None else segment_share + share
    count = max(len(attentions), 1)
    stats = {key: (value / count) for key, value in totals.items()}
    within = None if segment_share is None else segment_share / pair_examples
    patterns = classify_heads(stats["vertical_share"], stats["diagonal_share"], within)
    return {
        "stats": {key: _rows(value) for key, value in stats.items() if key in STATS},
        "vertical_share": _rows(stats["vertical_share"]),
        "diagonal_share": _rows(stats["diagonal_share"]),
        "segment_share": None if within is None else _rows(within),
        "pair_examples": pair_examples,
        "patterns": patterns,
        "pattern_counts": {p: sum(row.count(p) for row in patterns) for p in PATTERNS},
    }


def classify_heads(
    vertical: np.ndarray, diagonal: np.ndarray, within_segment: np.ndarray | None
) -> list[list[str]]:
    """A rule on averaged shares of attention, standing in for Kovaleva et al.'s hand-labelled classifier.
    vertical: mass on [CLS]/[SEP]/punctuation more than one position away; diagonal: mass on the token
    itself or its neighbours (the two never overlap). Types: vertical = most mass on the fixed tokens;
    diagonal = most on the diagonal band; vertical+diagonal = a large share on both; block = (sentence
    pairs only) attention stays inside the query's own sentence; heterogeneous = none of these.
    All float[layers, heads]."""
    layers, heads = vertical.shape
    out = []
    for layer in range(layers):
        row = []
        for head in range(heads):
            v, d = float(vertical[layer, head]), float(diagonal[layer, head])
            if v >= VERTICAL and d < MIXED_EACH:
                row.append("vertical")
            elif d >= DIAGONAL and v < MIXED_EACH:
                row.append("diagonal")
            elif v + d >= MIXED and v >= MIXED_EACH and d >= MIXED_EACH:
                row.append("vertical+diagonal")
            elif within_segment is not None and float(within_segment[layer, head]) >= BLOCK:
                row.append("block")
            else:
                row.append("heterogeneous")
        out.append(row)
    return out


def typical_example(encoded: Sequence[EncodedExample], unreadable: Sequence[bool], cap: int = 48) -> int:
    """The example whose maps serve as every head's thumbnail: readable, of median length among those
    of at most cap word pieces (so a thumbnail stays legible), ties to the earliest."""
    candidates = [i for i, enc in enumerate(encoded) if not unreadable[i] and enc.length <= cap] or \
        [i for i in range(len(encoded)) if not unreadable[i]] or list(range(len(encoded)))
    lengths = sorted(encoded[i].length for i in candidates)
    median = lengths[len(lengths) // 2]
    return min(candidates, key=lambda i: (abs(encoded[i].length - median), i))


def _rows(values: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in values]
