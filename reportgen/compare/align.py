"""Two reports' word scores on the same text, lined up by the text's own characters: each tokenizer splits the
text into its own words, so the units compared are the smallest character spans that are whole words on both
sides (overlapping words of the two sides merge into one span; a word's score is added to its span's)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from reportgen.bundle.records import ExampleResult, Word


@dataclass(frozen=True)
class Aligned:
    spans: list[Word]  # the shared units, in text order (segment, start)
    old: list[float]  # each unit's score in the OLD report
    new: list[float]


def aligned_words(old: ExampleResult, new: ExampleResult, method: str) -> Optional[Aligned]:
    """The method's word scores of both reports on their shared units; None when either side has no scores for
    this example (skipped, not computed there) or the texts differ."""
    a, b = old.methods.get(method), new.methods.get(method)
    if a is None or b is None or old.text != new.text or old.text_pair != new.text_pair:
        return None
    if not a.words or not b.words or not (_finite(a.words) and _finite(b.words)):
        return None
    spans = shared_spans(old.words, new.words)
    old_scores, new_scores = _summed(spans, old.words, a.words), _summed(spans, new.words, b.words)
    keep = [k for k in range(len(spans)) if old_scores[1][k] and new_scores[1][k]]  # words both sides read
    return Aligned([spans[k] for k in keep], [old_scores[0][k] for k in keep], [new_scores[0][k] for k in keep])


def _finite(scores: Sequence[Optional[float]]) -> bool:
    """A skipped method stores null (or NaN) scores."""
    return bool(np.all(np.isfinite(np.asarray(scores, dtype=np.float64))))


def shared_spans(left: Sequence[Word], right: Sequence[Word]) -> list[Word]:
    """The union of both sides' word spans with overlapping ones merged, per segment, in text order."""
    spans: list[Word] = []
    for segment in sorted({w.segment for w in (*left, *right)}):
        edges = sorted((w.start, w.end) for w in (*left, *right) if w.segment == segment and w.end > w.start)
        for start, end in edges:
            if spans and spans[-1].segment == segment and start < spans[-1].end:
                last = spans[-1]
                spans[-1] = Word("", last.start, max(last.end, end), segment)
            else:
                spans.append(Word("", start, end, segment))
    return spans


def _summed(spans: Sequence[Word], words: Sequence[Word], scores: Sequence[float]) -> tuple[list[float], list[int]]:
    """Each span's summed score and how many of this side's words fell in it (a word belongs to the last span
    starting at or before it: spans are disjoint and cover every word)."""
    starts: dict[int, tuple[list[int], list[int]]] = {}
    for k, s in enumerate(spans):
        begun, index = starts.setdefault(s.segment, ([], []))
        begun.append(s.start)
        index.append(k)
    total, count = [0.0] * len(spans), [0] * len(spans)
    for word, score in zip(words, scores):
        begun, index = starts.get(word.segment, ([], []))
        at = bisect.bisect_right(begun, word.start) - 1
        if word.end <= word.start or at < 0:
            continue
        total[index[at]] += float(score)
        count[index[at]] += 1
    return total, count


@dataclass
class PairRecord:
    """What a side-by-side page shows of one example: kept for the flips and the most moved, not in the JSON."""

    id: str
    slug: str
    text: str
    text_pair: Optional[str]
    label: Optional[str]
    old: ExampleResult  # with its words and predictions; method scores are read through `aligned`
    new: ExampleResult
    aligned: dict[str, Aligned]
