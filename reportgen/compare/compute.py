"""compare_bundles(): the comparison of two reports of the same examples, in one pass over both (one chunk of each
in memory), then the per-class and per-method summaries."""

from __future__ import annotations

import bisect
import dataclasses
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np

from reportgen.bundle import ReportBundle
from reportgen.bundle.declarations import lead_method
from reportgen.bundle.records import ExampleResult
from reportgen.bundle.summary import HeadImportance, Interval, LayerProbing, Mean
from reportgen.compare import records as rec
from reportgen.compare.align import Aligned, PairRecord, aligned_words
from reportgen.compare.reports import check_same_examples, manifest_sha256, paired_examples
from reportgen.compare.stats import TOP_K, Calibration, mcnemar_exact, quartiles, spearman, top_overlap
from reportgen.compute.intervals import bootstrap_mean, wilson

MOVED_SHOWN = 10  # the examples whose explanation moved most, listed per method
PAIR_PAGES = 1000  # side-by-side pages at most: every flip up to this many (the most changed first), then the moved
RELIANCE_WORDS = 8  # words per class and side
RELIANCE_CHANGES = 5  # words that rose (fell) most per class
MIN_WORD_EXAMPLES = 2  # a word enters a class's list after this many of its examples
TOP_HEADS = 5


def _light(ex: ExampleResult) -> ExampleResult:
    """The record without its token-level parts (all a side-by-side page needs is words and predictions)."""
    return dataclasses.replace(ex, tokens=[], offsets=[], segments=[], word_index=[], methods={}, metrics={})


class _Lowest:
    """The k lowest (rho, id) pairs seen, per method."""

    def __init__(self, k: int) -> None:
        self.k, self.items = k, []

    def offer(self, rho: float, ex_id: str) -> bool:
        """Whether (rho, ex_id) is among the k lowest so far."""
        if len(self.items) >= self.k and (rho, ex_id) >= self.items[-1]:
            return False
        bisect.insort(self.items, (rho, ex_id))
        del self.items[self.k:]
        return True

    def ids(self) -> set[str]:
        return {ex_id for _, ex_id in self.items}


class _Reliance:
    """Per class, each word's summed signed share of its example's |scores| and how many examples it scored in."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])

    def add(self, label: str, texts: tuple[str, Optional[str]], aligned: Aligned, scores: list[float]) -> None:
        total = float(np.abs(scores).sum())
        if total == 0:
            return
        seen: dict[str, float] = {}
        for span, score in zip(aligned.spans, scores):
            word = text_of(texts, span).lower()
            seen[word] = seen.get(word, 0.0) + score / total
        for word, share in seen.items():
            entry = self.sums[(label, word)]
            entry[0] += share
            entry[1] += 1

    def means(self, label: str) -> dict[str, tuple[float, int]]:
        return {w: (s / n, n) for (lab, w), (s, n) in self.sums.items() if lab == label and n >= MIN_WORD_EXAMPLES}


def text_of(texts: tuple[str, Optional[str]], span: Any) -> str:
    source = texts[span.segment] or ""
    return source[span.start : span.end]


def compare_bundles(old: ReportBundle, new: ReportBundle, old_path: Path,
                    new_path: Path) -> tuple[rec.Comparison, dict[str, PairRecord]]:
    """The comparison, and the records of the examples that get a side-by-side page."""
    check_same_examples(old, new)
    old_titles = {m.name: m.title for m in old.methods}
    common = [m for m in new.methods if m.name in old_titles and not m.reference]
    lead = _shift_lead(old, new, [m.name for m in common])
    counts = Counter()
    confusion: dict[str, dict[str, dict[str, int]]] = {
        side: {g: {p: 0 for p in old.labels} for g in old.labels} for side in ("old", "new")}
    calibration = {"old": Calibration(), "new": Calibration()}
    right_pairs: list[tuple[bool, bool]] = []
    flips: list[dict[str, Any]] = []
    rho: dict[str, dict[str, Optional[float]]] = {m.name: {} for m in common}
    overlap: dict[str, list[float]] = {m.name: [] for m in common}
    other_class: Counter = Counter()  # method -> examples whose two explanations are of different classes
    flipped_ids: set[str] = set()
    reliance = {"old": _Reliance(), "new": _Reliance()}
    lowest = {m.name: _Lowest(MOVED_SHOWN) for m in common}
    # Per metric that compares across models (not in units of each model's own confidence) and method: NEW - OLD
    # on each example both scored, for a paired interval.
    old_metrics = {m.name for m in old.metrics}
    paired_metrics = [m.name for m in new.metrics if m.name in old_metrics and not m.model_scaled]
    metric_differences: dict[tuple[str, str], list[float]] = {
        (metric, m.name): [] for metric in paired_metrics for m in common}
    kept: dict[str, PairRecord] = {}
    for a, b in paired_examples(old, new):
        counts["examples"] += 1
        if a.unreadable or b.unreadable:
            continue
        counts["readable"] += 1
        counts["agree"] += a.predicted == b.predicted
        if a.label is not None:
            counts["labelled"] += 1
            right_pairs.append((a.predicted == a.label, b.predicted == b.label))
            for side, ex in (("old", a), ("new", b)):
                confusion[side][ex.label][ex.predicted] += 1
                calibration[side].add(ex.confidence, ex.predicted == ex.label)
        if a.predicted != b.predicted:
            flipped_ids.add(a.id)
            flips.append(_flip(a, b, old.labels, new.labels))
        for (metric, method), differences in metric_differences.items():
            before = (a.metrics.get(method) or {}).get(metric)
            after = (b.metrics.get(method) or {}).get(metric)
            if before is not None and after is not None:
                differences.append(after - before)
        record = PairRecord(a.id, b.slug, b.text, b.text_pair, a.label, _light(a), _light(b), {})
        among_lowest = False
        for method in common:
            aligned = aligned_words(a, b, method.name)
            if aligned is None:
                continue
            record.aligned[method.name] = aligned
            other_class[method.name] += a.target != b.target
            rho[method.name][a.id] = r = spearman(aligned.old, aligned.new)
            if r is not None and r < 1:  # an explanation that kept its order did not move
                among_lowest |= lowest[method.name].offer(r, a.id)
            shared = top_overlap(aligned.old, aligned.new)
            if shared is not None:
                overlap[method.name].append(shared)
            if method.name == lead and method.signed:
                reliance["old"].add(a.target, (a.text, a.text_pair), aligned, aligned.old)
                reliance["new"].add(b.target, (b.text, b.text_pair), aligned, aligned.new)
        if a.id in flipped_ids or among_lowest:
            kept[a.id] = record
        if len(kept) > len(flipped_ids) + MOVED_SHOWN * len(common) + PAIR_PAGES:  # pushed out of the lowest
            _prune(kept, flipped_ids, lowest)
    flips.sort(key=lambda f: (f["change"], f["id"]))
    for k, flip in enumerate(flips):
        flip["page"] = k < PAIR_PAGES
    paged = {f["id"] for f in flips if f["page"]} | {i for low in lowest.values() for i in low.ids()}
    kept = {ex_id: kept[ex_id] for ex_id in sorted(paged)}
    shift = [_method_shift(m.name, m.title, rho[m.name], overlap[m.name], other_class[m.name], flipped_ids, kept)
             for m in common]
    signed = {m.name: m.signed for m in common}
    comparison = rec.Comparison(
        schema_version=rec.COMPARISON_SCHEMA,
        examples=counts["examples"],
        readable=counts["readable"],
        labelled=counts["labelled"],
        agreement=counts["agree"] / counts["readable"] if counts["readable"] else None,
        accuracy=_accuracy(right_pairs),
        mcnemar=_mcnemar(right_pairs),
        confusion=confusion if counts["labelled"] else {},
        ece={side: calibration[side].ece() for side in ("old", "new")},
        flipped=tuple(sorted(flipped_ids)),
        flips=tuple(rec.Flip(**f) for f in flips),
        lead=lead,
        shift=tuple(shift),
        attribution_shift={name: dict(sorted(values.items())) for name, values in rho.items()},
        reliance=_reliance(lead, old_titles.get(lead or "", ""), reliance, old.labels)
        if lead and signed.get(lead) else None,
        quality=tuple(_quality(old, new, metric_differences)),
        alerts=tuple(_alerts(old, new)),
        global_analysis=_global(old, new),
        provenance=rec.Provenance(old=_side(old, old_path), new=_side(new, new_path)),
    )
    return comparison, kept


def _prune(kept: dict[str, PairRecord], flipped: set[str], lowest: dict[str, _Lowest]) -> None:
    wanted = flipped | {i for low in lowest.values() for i in low.ids()}
    for ex_id in [i for i in kept if i not in wanted]:
        del kept[ex_id]


def _shift_lead(old: ReportBundle, new: ReportBundle, common: list[str]) -> Optional[str]:
    """OLD's lead when NEW computed it too, else NEW's, else the first method both computed."""
    for bundle in (old, new):
        chosen = lead_method(bundle.methods)
        if chosen is not None and chosen.name in common:
            return chosen.name
    return common[0] if common else None


def _flip(a: ExampleResult, b: ExampleResult, old_labels: list[str], new_labels: list[str]) -> dict[str, Any]:
    tracked = a.label if a.label is not None else a.predicted
    before = a.probabilities[old_labels.index(tracked)]
    after = b.probabilities[new_labels.index(tracked)]
    return {"id": a.id, "slug": b.slug, "label": a.label, "old_predicted": a.predicted, "new_predicted": b.predicted,
            "tracked": tracked, "old_probability": before, "new_probability": after, "change": after - before,
            "page": False}


def _accuracy(pairs: list[tuple[bool, bool]]) -> Optional[rec.Accuracy]:
    if not pairs:
        return None
    old_right = sum(a for a, _ in pairs)
    new_right = sum(b for _, b in pairs)
    differences = [float(b) - float(a) for a, b in pairs]
    n = len(pairs)
    return rec.Accuracy(old=old_right / n, new=new_right / n, n=n, old_interval=_interval(wilson(old_right, n)),
                        new_interval=_interval(wilson(new_right, n)),
                        difference=Mean(mean=float(np.mean(differences)), n=n,
                                        interval=_interval(bootstrap_mean(differences))))


def _paired_mean(differences: Optional[list[float]]) -> Optional[Mean]:
    """NEW - OLD over the examples both scored, with the seeded bootstrap interval; None where there are none (or
    the metric does not compare across models)."""
    if not differences:
        return None
    return Mean(mean=float(np.mean(differences)), n=len(differences),
                interval=_interval(bootstrap_mean(differences)))


def _interval(value: Optional[dict]) -> Optional[Interval]:
    return None if value is None else Interval(**value)


def _mcnemar(pairs: list[tuple[bool, bool]]) -> Optional[rec.McNemar]:
    if not pairs:
        return None
    b = sum(1 for a, n in pairs if a and not n)
    c = sum(1 for a, n in pairs if n and not a)
    return rec.McNemar(b=b, c=c, p_value=mcnemar_exact(b, c))


def _method_shift(name: str, title: str, rho: dict[str, Optional[float]], overlap: list[float], other_class: int,
                  flipped: set[str], pages: dict[str, PairRecord]) -> rec.MethodShift:
    defined = {ex_id: r for ex_id, r in rho.items() if r is not None}
    low, mid, high = quartiles(list(defined.values())) if defined else (None, None, None)
    in_flips = [r for ex_id, r in defined.items() if ex_id in flipped]
    kept = [r for ex_id, r in defined.items() if ex_id not in flipped]
    moved = sorted(((i, r) for i, r in defined.items() if r < 1), key=lambda item: (item[1], item[0]))[:MOVED_SHOWN]
    return rec.MethodShift(
        method=name, title=title, n=len(rho), undefined=len(rho) - len(defined), other_class=other_class,
        median=mid, low=low, high=high,
        top_k=TOP_K, top_overlap=float(np.mean(overlap)) if overlap else None,
        flipped_median=float(np.median(in_flips)) if in_flips else None, flipped_n=len(in_flips),
        kept_median=float(np.median(kept)) if kept else None, kept_n=len(kept),
        moved=tuple(rec.Moved(id=ex_id, slug=pages[ex_id].slug, rho=r, flipped=ex_id in flipped, page=True)
                    for ex_id, r in moved))


def _reliance(method: str, title: str, sides: dict[str, _Reliance], labels: list[str]) -> rec.Reliance:
    classes = []
    for label in labels:
        old, new = sides["old"].means(label), sides["new"].means(label)

        def top(means: dict[str, tuple[float, int]]) -> tuple[rec.WordShare, ...]:
            ranked = sorted(means.items(), key=lambda item: (-item[1][0], item[0]))[:RELIANCE_WORDS]
            return tuple(rec.WordShare(word=w, share=s, examples=n) for w, (s, n) in ranked if s > 0)

        changes = sorted((rec.WordChange(word=w, old=old[w][0], new=new[w][0], change=new[w][0] - old[w][0])
                          for w in set(old) & set(new)), key=lambda c: (-c.change, c.word))
        rose = tuple(c for c in changes[:RELIANCE_CHANGES] if c.change > 0)
        fell = tuple(c for c in reversed(changes[-RELIANCE_CHANGES:]) if c.change < 0)
        classes.append(rec.ClassReliance(label=label, old=top(old), new=top(new), rose=rose, fell=fell))
    return rec.Reliance(method=method, title=title, min_examples=MIN_WORD_EXAMPLES, classes=tuple(classes))


def _quality(old: ReportBundle, new: ReportBundle,
             differences: dict[tuple[str, str], list[float]]) -> list[rec.MetricPair]:
    out = []
    titles = {m.name: m.title for m in new.methods}
    for metric in new.metrics:
        if not any(m.name == metric.name for m in old.metrics):
            continue
        before, after = old.summary.metrics.get(metric.name, {}), new.summary.metrics.get(metric.name, {})
        for method in new.methods:
            if method.name in before and method.name in after:
                out.append(rec.MetricPair(metric=metric.name, title=metric.title, family=metric.family,
                                          higher_is_better=metric.higher_is_better,
                                          model_scaled=metric.model_scaled, method=method.name,
                                          method_title=titles[method.name], old=before[method.name],
                                          new=after[method.name],
                                          difference=_paired_mean(differences.get((metric.name, method.name)))))
    return out


def _alerts(old: ReportBundle, new: ReportBundle) -> list[rec.Alert]:
    def codes(bundle: ReportBundle) -> dict[str, str]:
        return {f.code: f.severity for f in bundle.summary.findings}

    before, after = codes(old), codes(new)
    out = [rec.Alert(code=c, severity=s, status="unchanged" if c in before else "new") for c, s in after.items()]
    out += [rec.Alert(code=c, severity=s, status="gone") for c, s in before.items() if c not in after]
    order = {"new": 0, "gone": 1, "unchanged": 2}
    return sorted(out, key=lambda a: (order[a.status], a.code))


def _global(old: ReportBundle, new: ReportBundle) -> rec.GlobalPair:
    def layers(bundle: ReportBundle) -> Optional[tuple[float, ...]]:
        g = bundle.summary.global_analysis
        return tuple(g.probing.cv_accuracy) if g and isinstance(g.probing, LayerProbing) else None

    def heads(bundle: ReportBundle) -> Optional[tuple[rec.HeadDrop, ...]]:
        g = bundle.summary.global_analysis
        if not g or not isinstance(g.importance, HeadImportance):
            return None
        drops = [(v, layer, head) for layer, row in enumerate(g.importance.ablation_accuracy)
                 for head, v in enumerate(row)]
        return tuple(rec.HeadDrop(layer=layer, head=head, drop=v) for v, layer, head in sorted(drops)[:TOP_HEADS])

    return rec.GlobalPair(old_layers=layers(old), new_layers=layers(new), old_heads=heads(old), new_heads=heads(new))


def _side(bundle: ReportBundle, path: Path) -> rec.Side:
    return rec.Side(report=str(path), title=bundle.title, model=bundle.model.name,
                    architecture=bundle.model.architecture, head_kind=bundle.model.head_kind,
                    weights_sha256=bundle.model.weights_sha256, manifest_sha256=manifest_sha256(path),
                    reportgen=bundle.provenance.versions.get("reportgen", ""),
                    methods=tuple(m.name for m in bundle.methods), examples=len(bundle.examples))
