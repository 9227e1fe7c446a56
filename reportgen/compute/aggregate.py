"""Data-set figures as streaming aggregates: each example is added once, as its chunk is done, and dropped.

Memory grows with the number of distinct words and with small per-example scalars (a probability row, a rank
correlation), never with tokens or attention maps, so 100k examples summarise in the space of a few MB."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache
from typing import Any, Mapping, NamedTuple, Optional, Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # a top word on it gets a comment (story.py)

from reportgen.bundle import ExampleResult
from reportgen.bundle.declarations import MethodDecl, lead_method, reference_method, unresolved
from reportgen.bundle.reasons import Reason
from reportgen.bundle.records import MethodInfo, Word
from reportgen.compute.intervals import mean_of, wilson
from reportgen.compute.metrics.agreement import rankable, spearman

SPECIAL_SHARE = 0.5  # more than half of an example's |attribution| on [CLS]/[SEP]/punctuation
TOP_WORDS = 15


@lru_cache(maxsize=1 << 16)
def word_key(text: str) -> Optional[str]:
    """How a word is counted across examples (lower case), or None for punctuation and symbols. Cached: a data
    set repeats its vocabulary, and every example's words are keyed once per method."""
    key = text.lower()
    return key if any(ch.isalnum() for ch in key) else None


class WordTotals:
    """Words with the most attribution toward the explained class, summed over examples after normalising
    each example to unit total |attribution| (so long texts do not dominate)."""

    def __init__(self, signed: bool):
        self.signed = signed
        self.totals: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, words: Sequence[Word], scores: Sequence[float]) -> None:
        values = np.asarray(scores, dtype=np.float64)
        norm = np.abs(values).sum()
        if norm == 0 or not np.isfinite(norm):  # nothing to rank, or the method skipped this example
            return
        seen = set()
        for word, score in zip(words, values / norm):
            key = word_key(word.text)
            contribution = score if self.signed else abs(score)
            if contribution <= 0 or key is None:
                continue
            self.totals[key] += float(contribution)
            if key not in seen:
                self.counts[key] += 1
                seen.add(key)

    def top(self, k: int = TOP_WORDS) -> list[dict[str, Any]]:
        ranked = sorted(self.totals, key=lambda w: (-self.totals[w], w))[:k]
        return [{"word": w, "score": self.totals[w], "examples": self.counts[w],
                 **({"stop_word": True} if w in ENGLISH_STOP_WORDS else {})} for w in ranked]


def attention_cells(r: ExampleResult) -> int:
    if r.windows:
        return sum(w.length ** 2 for w in r.windows)
    return len(r.tokens) ** 2


class Row(NamedTuple):
    """What is kept of every example once its chunk is dropped: enough to choose pages and judge the probe."""
    slug: str
    label: Optional[str]
    predicted: str
    unreadable: bool
    confidence: float
    disagreement: Optional[float]  # the lowest rank correlation between two real methods; None with fewer
    cells: int  # attention cells of a full page: word pieces squared, summed over the windows

    @property
    def correct(self) -> Optional[bool]:
        return None if self.label is None else self.label == self.predicted


class DatasetAggregate:
    """Everything summary and findings need, accumulated example by example, in example order."""

    def __init__(self, labels: Sequence[str], methods: Sequence[MethodDecl], thresholds: Mapping[str, float]):
        """thresholds: per completeness method, the largest relative delta that counts as resolved."""
        self.labels, self.methods, self.thresholds = list(labels), list(methods), dict(thresholds)
        names = [m.name for m in methods]
        self.n = 0
        self.n_readable = 0
        self.confusion = {gold: {pred: 0 for pred in labels} for gold in labels}
        self.predicted_counts = {lab: 0 for lab in labels}
        self.confidences: list[float] = []
        self.unreadable: list[str] = []
        self.truncated: list[str] = []
        self.windowed: list[str] = []  # read in overlapping windows (--long-inputs window)
        self.special_mass: list[list[float]] = []
        self.top = {m.name: WordTotals(m.signed) for m in methods}
        self.by_class = {m.name: {lab: WordTotals(True) for lab in labels}
                         for m in methods if m.signed and not m.reference}
        self.targets: Counter[str] = Counter()
        self.metric_values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        # metric -> method -> per example, the method's value minus the random reference's on the same example:
        # a paired difference, whose interval is narrower than the two means' intervals suggest.
        reference = reference_method(methods)
        self.reference = reference.name if reference else None
        self.vs_reference: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.vs_lead: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))  # the same, vs lead
        self.pairs = [(a, b) for a in sorted(names) for b in sorted(names)]
        self.agreement: dict[tuple[str, str], list[float]] = defaultdict(list)
        # Methods whose scores should add up to f(end) - f(baseline): each example's completeness check.
        self.convergence: dict[str, list[tuple[str, MethodInfo]]] = {m.name: [] for m in methods if m.completeness}
        self.completeness = {m.name: m.completeness for m in methods if m.completeness}
        # A decomposition of the logit (its info has a sum beside the logit): what share of the logit it carries.
        self.carried: dict[str, list[float]] = defaultdict(list)
        self.labelled: list[tuple[str, str, list[float]]] = []  # (slug, gold, probabilities), readable only
        real = [m for m in methods if not m.reference]
        self.special_shares: dict[str, dict[str, float]] = {m.name: {} for m in real}
        signed = [m.name for m in real if m.signed]
        self.disagree_pair = (signed[0], signed[1]) if len(signed) >= 2 else None
        self.disagree: dict[str, float] = {}
        # A one-point approximation beside the method it approximates: how often the two disagree.
        self.linearised = {m.name: m.approximates for m in methods if m.approximates in names}
        self.linearisation: dict[str, list[float]] = {name: [] for name in self.linearised}
        self.cue_method = lead_method(methods)
        self.top_word_counts: Counter[str] = Counter()
        self.top_word_slugs: dict[str, list[str]] = {}
        self.cue_readable = 0
        self.records: list[Row] = []
        self.real_pairs = [(a.name, b.name) for k, a in enumerate(real) for b in real[k + 1:]]

    def add(self, r: ExampleResult) -> None:
        self.n += 1
        if r.unreadable:
            self.unreadable.append(r.slug)
        if r.truncated:
            self.truncated.append(r.slug)
        if r.windows:
            self.windowed.append(r.slug)
        words = {name: np.asarray(out.words, dtype=np.float64) for name, out in r.methods.items()}
        rho = {}
        for a, b in self.pairs:
            if (b, a) in rho:
                rho[(a, b)] = rho[(b, a)]
            elif a == b:  # a map against itself: 1 wherever a rank correlation is defined at all
                rho[(a, b)] = 1.0 if rankable(words[a]) else None
            else:
                rho[(a, b)] = spearman(words[a], words[b])
        pair_rhos = [rho[p] for p in self.real_pairs if rho.get(p) is not None]
        self.records.append(Row(r.slug, r.label, r.predicted, r.unreadable, r.confidence,
                                min(pair_rhos) if pair_rhos else None, attention_cells(r)))
        # A mostly-[UNK] example is left out of every data-set figure, as its alert says: the metric means, the
        # convergence summary, the agreement matrix and the attention shares included (each example's own
        # page still shows its figures).
        if r.unreadable:
            return
        self.n_readable += 1
        self.special_mass.append(r.attention.special_mass)
        for method, values in r.metrics.items():
            for metric, value in values.items():
                if value is not None:
                    self.metric_values[metric][method].append(value)
        _add_paired(self.vs_reference, self.reference, r.metrics)
        _add_paired(self.vs_lead, self.cue_method.name if self.cue_method else None, r.metrics)
        for name, infos in self.convergence.items():
            if r.methods[name].info.checked:
                infos.append((r.slug, r.methods[name].info))
        for name, out in r.methods.items():
            if out.info.sum is not None and out.info.logit:
                self.carried[name].append(out.info.sum / out.info.logit)
        for pair, value in rho.items():
            if value is not None:
                self.agreement[pair].append(value)
        self.confidences.append(r.confidence)
        self.predicted_counts[r.predicted] += 1
        if r.label is not None:
            self.confusion[r.label][r.predicted] += 1
            self.labelled.append((r.slug, r.label, list(r.probabilities)))
        for name, totals in self.top.items():
            totals.add(r.words, r.methods[name].words)
        for name, per_class in self.by_class.items():
            per_class[r.target].add(r.words, r.methods[name].words)
        self.targets[r.target] += 1
        for name, shares in self.special_shares.items():
            share = _special_share(r, name)
            if share > SPECIAL_SHARE:
                shares[r.slug] = share
        if self.disagree_pair:
            value = rho.get(self.disagree_pair)
            if value is not None and value < 0:
                self.disagree[r.slug] = value
        for name, of in self.linearised.items():
            if rho.get((name, of)) is not None:
                self.linearisation[name].append(rho[(name, of)])
        if self.cue_method is not None and r.words:
            scores = words[self.cue_method.name]
            self.cue_readable += 1
            if np.isfinite(scores).all():
                word = r.words[int(np.argmax(scores))].text.lower()
                self.top_word_counts[word] += 1
                self.top_word_slugs.setdefault(word, []).append(r.slug)

    def summary(self) -> dict[str, Any]:
        """Every prediction here is held out (a model's own head, or a probe that never saw the example);
        texts that are mostly [UNK] are left out of every data-set figure, and counted."""
        n_labelled = sum(sum(row.values()) for row in self.confusion.values())
        n_correct = sum(self.confusion[lab][lab] for lab in self.labels)
        names = sorted({a for a, _ in self.pairs})
        out: dict[str, Any] = {
            "n_examples": self.n,
            "n_readable": self.n_readable,
            "n_labelled": n_labelled,
            "n_correct": n_correct,
            "accuracy": n_correct / n_labelled if n_labelled else None,
            "accuracy_interval": wilson(n_correct, n_labelled),
            "confusion": self.confusion,
            "predicted_counts": self.predicted_counts,
            "mean_confidence": float(np.mean(self.confidences)) if self.confidences else None,
            "unreadable": self.unreadable,
            "truncated": self.truncated,
            "windowed": self.windowed,
            "special_mass_by_layer": ([float(v) for v in np.mean(np.asarray(self.special_mass, np.float64), axis=0)]
                                      if self.special_mass else []),
            "top_words": {name: totals.top() for name, totals in self.top.items()},
            # Signed methods per explained class: the words that push the model toward each of its answers.
            "top_words_by_class": {name: {lab: t.top() for lab, t in per.items()}
                                   for name, per in self.by_class.items()},
            "metrics": {metric: {method: self._metric_mean(metric, method, v) for method, v in sorted(per.items())}
                        for metric, per in sorted(self.metric_values.items())},
            # method -> how often it ranks words against the method it approximates
            "linearisation": {name: {"of": self.linearised[name], "n": len(v), "negative": sum(1 for x in v if x < 0),
                                     "mean": float(np.mean(v))} for name, v in self.linearisation.items() if v},
            # method -> convergence of its completeness check
            "convergence": {name: {**self._convergence(infos, self.thresholds[name]),
                                   "end": self.completeness[name].end}
                            for name, infos in self.convergence.items() if infos},
            # method -> the share of the target logit its scores add up to, over examples (quartiles)
            "carried": {name: {"n": len(v), "median": float(np.median(v)), "low": float(np.percentile(v, 25)),
                               "high": float(np.percentile(v, 75))} for name, v in sorted(self.carried.items())},
            "agreement": {a: {b: (float(np.mean(self.agreement[(a, b)])) if self.agreement[(a, b)] else None)
                              for b in names} for a in names},
        }
        return out

    def _metric_mean(self, metric: str, method: str, values: list[float]) -> dict[str, Any]:
        out = mean_of(values)
        for key, paired in (("vs_reference", self.vs_reference), ("vs_lead", self.vs_lead)):
            if paired.get(metric, {}).get(method):
                out[key] = mean_of(paired[metric][method])
        return out

    def _convergence(self, infos: list[tuple[str, MethodInfo]], threshold: float) -> dict[str, Any]:
        rel = [info.relative_delta for _, info in infos]
        steps = [info.steps for _, info in infos]
        finite = [v for v in rel if v is not None and np.isfinite(v)]
        reduced = sorted({info.recomputed_from or info.precision for _, info in infos if info.precision})
        out: dict[str, Any] = {}
        if reduced:  # computed in bf16/fp16 (--precision): how many failed the check there and were redone in fp32
            out["precision"] = {"reduced": reduced[0], "n": len(infos),
                                "recomputed": sum(1 for _, info in infos if info.recomputed_from)}
        return out | {
            "threshold": threshold,
            "rule": infos[0][1].rule,
            "mean_steps": float(np.mean(steps)),
            "steps_histogram": {str(k): steps.count(k) for k in sorted(set(steps))},
            "median_relative_delta": float(np.median(finite)) if finite else None,
            "max_relative_delta": float(np.max(finite)) if finite else None,
            "max_abs_delta": float(max(abs(info.delta) for _, info in infos)),
            "max_steps": max(steps),
            "flagged": [slug for (slug, _), v in zip(infos, rel) if unresolved(v, threshold)],
            "n": len(infos),
        }

    def class_words(self) -> dict[str, Any]:
        """model.html: the words with the most attribution toward each explained class, from the lead method
        (the signed method with the highest declared lead), over every readable example."""
        method = self.cue_method
        if method is None:
            return {"skipped": Reason("no_signed_method")}
        return {"method": method.name, "method_title": method.title,
                "classes": [{"label": lab, "n": self.targets[lab], "words": self.by_class[method.name][lab].top()}
                            for lab in self.labels]}


def _add_paired(into: dict[str, dict[str, list[float]]], against: Optional[str],
                metrics: Mapping[str, Mapping[str, Optional[float]]]) -> None:
    """One example's paired differences: each other method's value minus against's, per metric both have."""
    base = metrics.get(against, {}) if against else {}
    for method, values in metrics.items():
        for metric, value in values.items():
            if method != against and value is not None and base.get(metric) is not None:
                into[metric][method].append(value - base[metric])


def _special_share(r: ExampleResult, method: str) -> float:
    scores = np.abs(np.asarray(r.methods[method].tokens, dtype=np.float64))
    total = scores.sum()
    if total == 0 or not np.isfinite(total):
        return 0.0
    punct_words = {k for k, w in enumerate(r.words) if word_key(w.text) is None}
    special = [s < 0 or r.word_index[t] in punct_words for t, s in enumerate(r.segments)]
    return float(scores[np.array(special)].sum() / total)


def summarise(results: Sequence[ExampleResult], labels: Sequence[str], methods: Sequence[MethodDecl],
              thresholds: Mapping[str, float]) -> tuple[dict[str, Any], DatasetAggregate]:
    aggregate = DatasetAggregate(labels, methods, thresholds)
    for r in results:
        aggregate.add(r)
    return aggregate.summary(), aggregate


def optional_mean(values: Sequence[float]) -> Optional[float]:
    return float(np.mean(values)) if values else None
