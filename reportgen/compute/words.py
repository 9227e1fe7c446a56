"""Word-level views of word-piece results: summed scores, and which words the annotators marked."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reportgen.compute.encode import EncodedExample
from reportgen.types import Example


def words_from_tokens(token_scores: np.ndarray, word_index: Sequence[int], n_words: int) -> list[float]:
    """A word's score is the sum of its word pieces' scores."""
    totals = np.zeros(n_words, dtype=np.float64)
    for score, w in zip(token_scores, word_index):
        if w >= 0:
            totals[w] += float(score)
    return [float(v) for v in totals]


def spread_over_pieces(word_values: np.ndarray, word_index: Sequence[int]) -> np.ndarray:
    """float32[seq]: each word's value shared equally among its pieces (special tokens 0), so summing the
    pieces back (words_from_tokens) gives the word's value exactly."""
    index = np.asarray(word_index)
    pieces = np.bincount(index[index >= 0], minlength=len(word_values))
    scores = np.zeros(len(index), dtype=np.float32)
    inside = index >= 0
    scores[inside] = np.asarray(word_values)[index[inside]] / pieces[index[inside]]
    return scores


def word_scores(token_scores: np.ndarray, enc: EncodedExample) -> np.ndarray:
    return np.asarray(words_from_tokens(token_scores, enc.word_index, len(enc.words)))


def rationale_words(example: Example, enc: EncodedExample) -> np.ndarray:
    """bool[n_words]: the word overlaps a human rationale span of its own text (or text pair)."""
    spans = (example.rationale, example.rationale_pair)
    return np.array([
        any(w.start < end and start < w.end for start, end in spans[w.segment]) for w in enc.words
    ], dtype=bool)
