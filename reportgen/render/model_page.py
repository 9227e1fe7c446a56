"""The view-model of model.html: every global analysis as plots, tables, an auto-written paragraph drawn
from its numbers and a "how to read this" note. No HTML here beyond the Bokeh embeds."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from reportgen.bundle import ReportBundle
from reportgen.bundle.summary import (
    ClassWords,
    HeadImportance,
    HeadStats,
    LayerProbing,
    Projection,
    Quality,
    Skipped,
    SkippedImportance,
)
from reportgen.bundle.vocabulary import PATTERNS, STATS
from reportgen.i18n import N_, _, ngettext
from reportgen.render import model_plots
from reportgen.render.formatting import decimal_text, num, pct, signed
from reportgen.render.highlight import shade
from reportgen.render.png import data_uri, heat_png
from reportgen.render.story import accuracy_text
from reportgen.render.structure import example_href, model_card
from reportgen.render.wording import STAT_TITLES, STAT_UNITS, labels_from_text, reason_text

MISCLASSIFIED_LISTED = 100  # most confident first; the index filters (Correct: no) find every one

STATUS = {None: N_("no gold label"), True: N_("correct"), False: N_("wrong")}
PATTERN_CODES = {"vertical": "V", "diagonal": "D", "vertical+diagonal": "V+D", "block": "B", "heterogeneous": "H"}
PATTERN_WORDS = {"vertical": N_("vertical"), "diagonal": N_("diagonal"), "vertical+diagonal": N_("vertical+diagonal"),
                 "block": N_("block"), "heterogeneous": N_("heterogeneous")}

HOW_TO_READ = {
    "heads": N_("Each square is one attention head: rows are layers (1 at the top), columns heads. The colour is "
                "the statistic averaged over every query token of every example. Attention to [CLS]/[SEP] often "
                "acts as a 'no-op' (Clark et al., 2019): a head with nothing to do parks its attention there, so "
                "high values do not mean those tokens matter."),
    "patterns": N_("Each thumbnail is the head's attention map on the same typical example (rows: the token "
                   "attending, columns: the token attended to; brighter = more). Vertical stripes = attention to a "
                   "few fixed tokens; a bright diagonal (or the line just beside it) = attention to the token itself "
                   "or its neighbours; blocks = attention inside each sentence of a pair. The type is assigned by a "
                   "rule on the averaged statistics, not by a trained classifier as in Kovaleva et al. (2019)."),
    "importance": N_("Gradient importance (Michel et al., 2019) is how much the loss would change if a head's output "
                     "were scaled down a little: the mean absolute gradient of the loss with respect to a mask on "
                     "the head. Ablation removes one head at a time and measures the change in accuracy (negative: "
                     "the head helped). The pruning curve removes heads together, least important first: a flat "
                     "start means many heads can go without harm on these examples."),
    "probing": N_("A logistic regression is fitted on each layer's mean-pooled states and scored by cross-validation. "
                  "A layer that reaches high accuracy holds the label in a linearly readable form; the dashed line is "
                  "the share of the most frequent label, which a probe must beat to have learned anything."),
    "projection": N_("Each point is one example, placed by the first two principal components of its mean-pooled "
                     "states at the chosen layer; colour is the gold label, × marks a wrong prediction. Classes "
                     "that separate in two dimensions are separated strongly; classes that overlap here may still be "
                     "separable in the full space (see the probes above). Hover for the text."),
    "class_words": N_("For each class the model was explained toward, the words whose attribution pushed hardest "
                      "toward that class, summed over examples after normalising each example's scores; the count is "
                      "how many examples the word appears in with a positive score. A word that is strong here but "
                      "unrelated to the task is a candidate spurious cue."),
    "quality": N_("The confusion matrix counts gold labels (rows) against predictions (columns). The reliability "
                  "diagram bins predictions by confidence: bars on the diagonal mean that a 0.8-confident prediction "
                  "is right 80%% of the time. ECE (expected calibration error) is the example-weighted mean gap "
                  "between accuracy and confidence over the bins: 0 is perfect."),
}


CONFUSION_RGB = (0, 114, 178)  # Okabe-Ito blue
MANY_CLASSES = 8  # beyond this the confusion matrix and the reliability diagram stack instead of sitting side by side


def has_model_page(bundle: ReportBundle) -> bool:
    """model.html exists when the global analyses ran."""
    return bundle.summary.global_analysis is not None


def model_view(bundle: ReportBundle) -> Optional[dict[str, Any]]:
    if not has_model_page(bundle):
        return None
    g = bundle.summary.global_analysis
    labels = bundle.labels
    return {
        "how": {key: _(text) % {} for key, text in HOW_TO_READ.items()},  # a format string: 80%% reads 80%
        "heads": _heads(bundle, g.heads),
        "patterns": _patterns(bundle, g.heads),
        "importance": _importance(g.importance, g.n_examples),
        "probing": _probing(g.probing),
        "projection": _projection(bundle, g.projection),
        "class_words": _class_words(g.class_words),
        "quality": _quality(bundle, g.quality, labels),
        "n": g.n_examples,
        "sample": g.sample if g.sample.size < g.sample.of else None,
        "n_unreadable": g.n_unreadable,
        "all_unreadable": g.all_unreadable,
        "model_card": model_card(bundle),
    }


def _head_name(layer: int, head: int) -> str:
    return _("layer %(layer)s, head %(head)s") % {"layer": layer + 1, "head": head + 1}


def _argmax(grid: list[list[float]]) -> tuple[int, int, float]:
    a = np.asarray(grid, dtype=float)
    layer, head = np.unravel_index(int(np.argmax(a)), a.shape)
    return int(layer), int(head), float(a[layer, head])


def _heads(bundle: ReportBundle, h: HeadStats) -> dict[str, Any]:
    stats = h.stats
    plots, alts = [], []
    for key in STATS:
        fmt = "0.00" if key in ("distance", "entropy") else "0.000"
        plots.append({"plot": model_plots.head_grid(stats[key], _(STAT_TITLES[key]), f"plot-heads-{key}",
                                                    _(STAT_UNITS[key]), fmt=fmt),
                      "title": _(STAT_TITLES[key])})
        layer, head, value = _argmax(stats[key])
        alts.append(_("%(stat)s: highest in %(head)s (%(value)s)") % {
            "stat": _(STAT_TITLES[key]), "head": _head_name(layer, head), "value": decimal_text(value, 2)})
    special = np.asarray(stats["to_cls"]) + np.asarray(stats["to_sep"])
    by_layer = special.mean(axis=1)
    sep_layer, sep_head, sep_value = _argmax(stats["to_sep"])
    ent = np.asarray(stats["entropy"]).mean(axis=1)
    dist = np.asarray(stats["distance"]).mean(axis=1)
    text = _("On these %(n)s examples, heads put on average %(share)s of their attention on [CLS] and [SEP]; the "
             "share is highest in layer %(high_layer)s (%(high)s) and lowest in layer %(low_layer)s (%(low)s). The "
             "head most fixed on [SEP] is %(sep_head)s (%(sep)s of its attention). Attention is broadest (highest "
             "entropy) in layer %(entropy_layer)s and reaches furthest (mean distance %(distance)s tokens) in layer "
             "%(distance_layer)s.") % {
        "n": bundle.summary.global_analysis.n_examples, "share": pct(special.mean()),
        "high_layer": int(np.argmax(by_layer)) + 1, "high": pct(by_layer.max()),
        "low_layer": int(np.argmin(by_layer)) + 1, "low": pct(by_layer.min()),
        "sep_head": _head_name(sep_layer, sep_head), "sep": pct(sep_value),
        "entropy_layer": int(np.argmax(ent)) + 1, "distance": decimal_text(dist.max(), 1),
        "distance_layer": int(np.argmax(dist)) + 1}
    return {"plots": plots, "text": text, "alt": "; ".join(alts) + "."}


def _patterns(bundle: ReportBundle, h: HeadStats) -> dict[str, Any]:
    counts = h.pattern_counts
    total = sum(counts.values()) or 1
    slug = h.typical_example
    ex = bundle.examples.get([slug])[slug]
    attn = bundle.attention.get(slug)
    rows = []
    for layer, row in enumerate(h.patterns):
        cells = []
        for head, kind in enumerate(row):
            uri = data_uri(heat_png(np.asarray(attn[layer, head], dtype=np.float32))) if attn is not None else None
            cells.append({"kind": _(PATTERN_WORDS[kind]), "code": PATTERN_CODES[kind], "css": kind.replace("+", "-"),
                          "thumb": uri, "alt": f"{_head_name(layer, head)}: {_(PATTERN_WORDS[kind])}"})
        rows.append({"layer": layer + 1, "cells": cells})
    ordered = sorted(((counts[p], p) for p in PATTERNS), key=lambda c: (-c[0], PATTERNS.index(c[1])))
    shares = ", ".join(_("%(n)s (%(share)s) are %(pattern)s") % {"n": n, "share": pct(n / total),
                                                                  "pattern": _(PATTERN_WORDS[p])}
                       for n, p in ordered if n)
    text = _("Of the %(total)s heads, %(shares)s.") % {"total": total, "shares": shares}
    if not h.pair_examples:
        text += " " + _("The examples have no sentence pairs, so no head can be typed as block.")
    return {"rows": rows, "text": text,
            "counts": [{"pattern": p, "word": _(PATTERN_WORDS[p]), "code": PATTERN_CODES[p], "n": counts[p]}
                       for p in PATTERNS],
            "example": {"slug": slug, "id": ex.id, "tokens": len(ex.tokens), "href": example_href(bundle, slug)},
            "heads": len(h.patterns[0]) if h.patterns else 0}


def _importance(imp: Union[HeadImportance, SkippedImportance], n: int) -> dict[str, Any]:
    if isinstance(imp, SkippedImportance):
        return {"skipped": reason_text(imp.skipped)}
    grad_layer, grad_head, grad_value = _argmax(imp.gradient)
    drops = np.asarray(imp.ablation_accuracy)
    worst = np.unravel_index(int(np.argmin(drops)), drops.shape)
    prune = imp.pruning
    half = next((p for p in prune if p.fraction >= 0.5), prune[-1])
    keeps = [p for p in prune if p.accuracy >= imp.accuracy - 0.01]
    most_removed = max(keeps, key=lambda p: p.fraction) if keeps else prune[0]
    worst_drop = float(drops[worst])
    loss = np.asarray(imp.ablation_loss)
    hurt = np.unravel_index(int(np.argmax(loss)), loss.shape)
    values = {"labels": labels_from_text(imp.labels_from), "n": n, "part": imp.ablation_examples,
              "accuracy": pct(imp.accuracy, 1), "grad_head": _head_name(grad_layer, grad_head),
              "cost": pct(-worst_drop, 1), "worst_head": _head_name(*map(int, worst)),
              "hurt_head": _head_name(*map(int, hurt)), "hurt": signed(float(loss[hurt]), 4),
              "half": half.heads_removed, "half_accuracy": pct(half.accuracy, 1),
              "removable": pct(most_removed.fraction)}
    sampled = imp.ablation_examples < n
    parts = [(_("Measured against %(labels)s labels; the gradient on all %(n)s examples, the removals (one pass per "
                "head) on a seeded %(part)s of them. With every head the model scores %(accuracy)s on those "
                "%(part)s.") if sampled else
              _("Measured against %(labels)s labels. With every head the model scores %(accuracy)s.")) % values,
             _("By gradient the most important head is %(grad_head)s.") % values]
    removal = (_("Removing a single head costs at most %(cost)s accuracy (%(worst_head)s); ") if worst_drop < 0
               else _("No single head's removal lowers accuracy; ")) % values
    parts.append(removal + ngettext(
        "the largest loss increase comes from removing %(hurt_head)s (%(hurt)s); removing the %(half)s least "
        "important head together leaves %(half_accuracy)s, and up to %(removable)s of the heads can go while "
        "staying within one point of the full model.",
        "the largest loss increase comes from removing %(hurt_head)s (%(hurt)s); removing the %(half)s least "
        "important heads together leaves %(half_accuracy)s, and up to %(removable)s of the heads can go while "
        "staying within one point of the full model.", half.heads_removed) % values)
    return {
        "gradient": model_plots.head_grid(imp.gradient, _("Gradient importance |dL/dmask|"),
                                          "plot-importance-gradient", _("size of the loss's gradient")),
        "ablation": model_plots.head_grid(imp.ablation_accuracy, _("Accuracy change, head removed"),
                                          "plot-importance-ablation", _("accuracy change (orange: worse)"),
                                          diverging=True, fmt="+0.000"),
        "ablation_note": (_("Every cell is 0: removing any one head alone changes no prediction on these examples "
                            "(the loss change beside it shows the smaller effects).") if not drops.any() else None),
        "ablation_loss": model_plots.head_grid(imp.ablation_loss, _("Loss change, head removed"),
                                               "plot-importance-ablation-loss", _("loss change (orange: worse)"),
                                               diverging=True, fmt="+0.0000", harm_positive=True),
        "pruning": model_plots.pruning_curve(prune, _("Accuracy as heads are pruned"), "plot-importance-pruning"),
        "text": " ".join(parts),
        "alt": "; ".join(ngettext("%(n)s head removed: accuracy %(accuracy)s", "%(n)s heads removed: accuracy "
                                  "%(accuracy)s", p.heads_removed) % {"n": p.heads_removed,
                                                                     "accuracy": num(p.accuracy)} for p in prune),
        "skipped": None,
    }


def _probing(p: Union[LayerProbing, Skipped]) -> dict[str, Any]:
    if isinstance(p, Skipped):
        return {"skipped": reason_text(p.skipped)}
    cv = p.cv_accuracy
    best = int(np.argmax([v if v is not None else -1 for v in cv]))
    values = {"where": _("the embeddings") if best == 0 else _("layer %(k)s") % {"k": best},
              "best": pct(cv[best], 1), "folds": p.folds, "n": p.n, "majority": pct(p.majority, 1),
              "first": pct(cv[0], 1), "last": pct(cv[-1], 1)}
    text = _("A linear probe reads the label best from %(where)s (%(best)s cross-validated over %(folds)s folds, "
             "%(n)s labelled examples), against %(majority)s for always answering the most frequent label. The "
             "embeddings alone give %(first)s and the last layer %(last)s.") % values
    if cv[-1] is not None and cv[-1] < cv[best] - 0.02:
        text += " " + _("The label is easier to read from a middle layer than from the last one.")
    return {"plot": model_plots.by_layer({_("cross-validated accuracy"): cv, _("training accuracy"): p.train_accuracy},
                                         _("Linear probe accuracy by layer"), _("accuracy"), "plot-probing",
                                         reference=p.majority, reference_label=_("majority class")),
            "text": text, "alt": ", ".join(_("layer %(k)s: %(v)s") % {"k": k, "v": decimal_text(v, 3)}
                                           for k, v in enumerate(cv) if v is not None),
            "skipped": None}


def _projection(bundle: ReportBundle, proj: Projection) -> dict[str, Any]:
    by_slug = bundle.examples.get(proj.slugs)
    exs = [by_slug[slug] for slug in proj.slugs]  # the readable examples the analysis ran on
    status = [STATUS[e.correct] for e in exs]  # codes the plot filters on; it words them
    gold = [e.label if e.label is not None else _("(no label)") for e in exs]
    texts = [e.text if len(e.text) <= 120 else e.text[:117] + "…" for e in exs]
    explained = proj.explained
    last = len(explained) - 1
    shares = model_plots.variance_shares
    text = _("At the last layer the first two principal components hold %(last)s of the variance of the pooled states "
             "(embeddings: %(first)s). Use the layer menu to watch the classes separate (or not) through the "
             "layers.") % {"last": shares(explained[last]), "first": shares(explained[0])}
    return {"plot": model_plots.projection_scatter(proj.coords, explained, gold, status, texts,
                                                   [e.id for e in exs], bundle.labels, "plot-projection"),
            "text": text}


def _class_words(cw: Union[ClassWords, Skipped]) -> dict[str, Any]:
    if isinstance(cw, Skipped):
        return {"skipped": reason_text(cw.skipped)}
    classes = [c for c in cw.classes if c.n]
    parts = [_("toward “%(label)s”: %(words)s") % {"label": c.label,
                                                    "words": ", ".join(f"“{w.word}”" for w in c.words[:3])}
             for c in classes if c.words]
    method = _(cw.method_title)
    text = (_("By %(method)s, the words that push hardest %(parts)s.") % {"method": method, "parts": "; ".join(parts)}
            if parts else _("No word received positive attribution."))
    return {"classes": classes, "text": text, "method": method, "skipped": None}


def _quality(bundle: ReportBundle, q: Union[Quality, Skipped], labels: list[str]) -> dict[str, Any]:
    if isinstance(q, Skipped):
        return {"skipped": reason_text(q.skipped)}
    listed = q.misclassified[:MISCLASSIFIED_LISTED]
    by_slug = bundle.examples.get([w.slug for w in listed])
    wrong = [(by_slug[w.slug], w) for w in listed]
    biggest = max(max(row) for row in q.confusion) or 1
    matrix = [{"gold": lab, "cells": [{"n": n, "style": shade(n / biggest, CONFUSION_RGB), "diagonal": g == k}
                                      for k, n in enumerate(row)]}
              for g, (lab, row) in enumerate(zip(labels, q.confusion))]
    gap = q.mean_confidence - q.accuracy
    tone = (_("over-confident") if gap > 0.02 else _("under-confident") if gap < -0.02 else
            _("about as confident as it is accurate"))
    values = {"n": q.n, "accuracy": accuracy_text(bundle), "confidence": pct(q.mean_confidence, 1), "tone": tone,
              "ece": decimal_text(q.ece, 3)}
    text = (_("On the %(n)s labelled readable examples encoder + probe is right %(accuracy)s (each example predicted "
              "by a probe that was not fitted on it), with mean confidence %(confidence)s: %(tone)s. ECE is %(ece)s.")
            if bundle.model.probe else
            _("On the %(n)s labelled readable examples the model is right %(accuracy)s, with mean confidence "
              "%(confidence)s: %(tone)s. ECE is %(ece)s.")) % values
    if wrong:
        ex, w = wrong[0]
        text += " " + _("%(k)s examples are misclassified; the most confident mistake is %(id)s (%(confidence)s for "
                        "“%(predicted)s”, gold “%(gold)s”).") % {
            "k": len(q.misclassified), "id": ex.id, "confidence": pct(w.confidence), "predicted": w.predicted,
            "gold": ex.label}
    else:
        text += " " + _("No example is misclassified.")
    return {
        "labels": labels, "matrix": matrix, "many": len(labels) > MANY_CLASSES, "per_class": q.per_class,
        "ece": q.ece, "ece_interval": q.ece_interval,
        "reliability": model_plots.reliability_diagram(q.calibration, "plot-reliability"),
        "alt": "; ".join(ngettext("confidence %(low)s–%(high)s: %(n)s example, accuracy %(accuracy)s",
                                  "confidence %(low)s–%(high)s: %(n)s examples, accuracy %(accuracy)s", b.n) % {
            "low": decimal_text(b.low, 1), "high": decimal_text(b.high, 1), "n": b.n, "accuracy": num(b.accuracy, 2)}
            for b in q.calibration if b.n),
        "wrong_total": len(q.misclassified),
        "wrong": [{"slug": e.slug, "id": e.id, "gold": e.label, "predicted": w.predicted,
                   "href": example_href(bundle, e.slug),
                   "confidence": w.confidence, "text": e.text if len(e.text) <= 110 else e.text[:107] + "…"}
                  for e, w in wrong],
        "text": text, "skipped": None,
    }
