"""Auto-written findings: short sentences drawn only from the bundle's numbers, never hard-coded."""

from __future__ import annotations

from typing import Any, Optional

from reportgen.bundle import ReportBundle
from reportgen.bundle.declarations import lead_method, reference_method
from reportgen.bundle.sections import ProbeSummary
from reportgen.bundle.summary import LeadAgainst, ReducedPrecision
from reportgen.i18n import N_, _, ngettext
from reportgen.render.formatting import count, decimal_text, interval, num, p_value, pct, signed
from reportgen.render.wording import END_WORDS, titles_of


def findings(bundle: ReportBundle) -> list[str]:
    s = bundle.summary
    out: list[str] = []
    accuracy = _accuracy(bundle)
    if accuracy:
        out.append(accuracy)
    confusion = _main_confusion(s.confusion)
    if confusion:
        out.append(confusion)
    words = _top_words(bundle)
    if words:
        out.append(words)
    out.extend(_quality(bundle))
    titles = {m.name: m.title for m in bundle.methods}
    for name, ig in s.convergence.items():
        n = ig.n
        flagged = len(ig.flagged)
        values = {"method": titles[name], "ok": n - flagged, "n": n, "threshold": pct(ig.threshold),
                  "end": _(END_WORDS[ig.end]), "median": _pct(ig.median_relative_delta, 3), "flagged": flagged}
        sampled = s.plan is not None and name in s.plan.sampled
        text = (_("%(method)s converged on %(ok)s of %(n)s examples of its seeded sample (|convergence delta| at most "
                  "%(threshold)s of |%(end)s − f(baseline)|; median %(median)s).") if sampled else
                _("%(method)s converged on %(ok)s of %(n)s examples (|convergence delta| at most %(threshold)s of "
                  "|%(end)s − f(baseline)|; median %(median)s).")) % values
        if flagged:
            text += " " + ngettext("%(flagged)s example exceeds that and is flagged on its page: read its highlights "
                                   "with care.", "%(flagged)s examples exceed that and are flagged on their pages: "
                                   "read their highlights with care.", flagged) % values
        out.append(text + _precision(ig.precision))
    lead = lead_method(bundle.methods)
    if lead and lead.completeness is None and lead.name in s.carried:  # the lead's sum beside its logit
        out.append(carried_text(bundle, lead.name))
    if s.unreadable:
        out.append(ngettext(
            "%(k)s example is mostly unknown word pieces ([UNK]) to this model's tokenizer, so the model effectively "
            "did not read it: its explanations are meaningless and are excluded from the data-set word rankings.",
            "%(k)s examples are mostly unknown word pieces ([UNK]) to this model's tokenizer, so the model "
            "effectively did not read them: their explanations are meaningless and are excluded from the data-set "
            "word rankings.", len(s.unreadable)) % {"k": len(s.unreadable)})
    if s.truncated:
        out.append(ngettext("%(k)s example was longer than the model's limit; the unseen tail is marked.",
                            "%(k)s examples were longer than the model's limit; the unseen tail is marked.",
                            len(s.truncated)) % {"k": len(s.truncated)})
    if s.windowed:
        out.append(ngettext(
            "%(k)s example was longer than the model's window and was read in overlapping windows: each prediction "
            "is the mean of its windows' logits, and each word's score merges its windows' scores (the example's "
            "page says how).",
            "%(k)s examples were longer than the model's window and were read in overlapping windows: each "
            "prediction is the mean of its windows' logits, and each word's score merges its windows' scores (the "
            "example's page says how).", len(s.windowed)) % {"k": len(s.windowed)})
    mass = s.special_mass_by_layer
    if mass:
        top = max(range(len(mass)), key=lambda i: mass[i])
        out.append(_("On average %(share)s of the attention in layer %(layer)s lands on [CLS]/[SEP] (last layer: "
                     "%(last)s). Such attention often acts as a no-op sink, which is one reason attention maps alone "
                     "are not explanations.") % {"share": pct(mass[top]), "layer": top + 1, "last": pct(mass[-1])})
    return out


def carried_text(bundle: ReportBundle, name: str) -> str:
    """How much of the target logit a decomposition's scores add up to (summary.carried): the index and the
    methods page say it in these words."""
    carried = bundle.summary.carried[name]
    return _("%(method)s's scores add up to a median %(median)s of the target logit (half of the %(n)s examples "
             "between %(low)s and %(high)s); the biases, the position embeddings and the steps its rules do not "
             "conserve carry the rest, so its scores rank the words, and each example's page shows the sum beside "
             "the logit.") % {"method": titles_of(bundle.methods)[name], "median": pct(carried.median, 0),
                               "n": carried.n, "low": pct(carried.low, 0), "high": pct(carried.high, 0)}


def _accuracy(bundle: ReportBundle) -> Optional[str]:
    s = bundle.summary
    if not s.n_labelled:
        return None
    probe = bundle.model.probe
    values = {"correct": s.n_correct, "n": s.n_labelled, "accuracy": accuracy_text(bundle)}
    text = (_("Encoder + probe labels %(correct)s of %(n)s labelled examples correctly (%(accuracy)s).") if probe
            else _("The model labels %(correct)s of %(n)s labelled examples correctly (%(accuracy)s).")) % values
    if probe:
        text += " " + probe_text(probe)
    if s.n_readable < s.n_examples:
        text += " " + _("%(k)s mostly-[UNK] examples are left out of this figure and of every data-set figure.") % {
            "k": s.n_examples - s.n_readable}
    return text


# The verdict's overall outcome: better only when every metric's interval says so, worse when any says worse.
VERDICT_HEADS = {"better": N_("The highlights of %(method)s are better than random"),
                 "worse": N_("The highlights of %(method)s are worse than random"),
                 "unclear": N_("The highlights of %(method)s are not clearly better than random")}


def _curve_words(curve: str, method: str, drop: float, reference: float) -> str:
    """What each curve's metric measures, in plain words around the change of the explained class's probability
    (the lead's, then random scores'): a fall or a rise, by how much."""
    values = {"method": method, "lead": num(abs(drop), 2), "reference": num(abs(reference), 2)}
    if curve == "deletion":
        return {
            (True, True): _("When the words %(method)s ranks highest are removed, the model's probability for its "
                            "answer falls by %(lead)s on average, against a fall of %(reference)s when as many "
                            "random words are removed"),
            (True, False): _("When the words %(method)s ranks highest are removed, the model's probability for its "
                             "answer falls by %(lead)s on average, against a rise of %(reference)s when as many "
                             "random words are removed"),
            (False, True): _("When the words %(method)s ranks highest are removed, the model's probability for its "
                             "answer rises by %(lead)s on average, against a fall of %(reference)s when as many "
                             "random words are removed"),
            (False, False): _("When the words %(method)s ranks highest are removed, the model's probability for "
                              "its answer rises by %(lead)s on average, against a rise of %(reference)s when as "
                              "many random words are removed"),
        }[(drop >= 0, reference >= 0)] % values
    return {
        (True, True): _("when only those words are kept, it falls by %(lead)s, against a fall of %(reference)s for "
                        "as many random words"),
        (True, False): _("when only those words are kept, it falls by %(lead)s, against a rise of %(reference)s "
                         "for as many random words"),
        (False, True): _("when only those words are kept, it rises by %(lead)s, against a fall of %(reference)s "
                         "for as many random words"),
        (False, False): _("when only those words are kept, it rises by %(lead)s, against a rise of %(reference)s "
                          "for as many random words"),
    }[(drop >= 0, reference >= 0)] % values


def verdict_text(bundle: ReportBundle) -> Optional[dict[str, str]]:
    """The one-line verdict on the lead method's highlights (summary.verdict): its outcome, a heading and the
    sentence with both metrics, each difference's interval and the examples it covers."""
    v = bundle.summary.verdict
    if v is None:
        return None
    title = titles_of(bundle.methods)[v.method]
    outcomes = [m.outcome for m in v.metrics.values()]
    overall = "better" if all(o == "better" for o in outcomes) else "worse" if "worse" in outcomes else "unclear"
    parts = []
    for m in sorted(v.metrics.values(), key=lambda m: m.curve):
        spread = interval(m.difference.interval, 2)
        figures = {"metric": _(m.title), "difference": signed(m.difference.mean, 2), "interval": spread}
        parts.append(_curve_words(m.curve, title, m.lead.mean, m.reference.mean) + " "
                     + (_("(%(metric)s; difference %(difference)s, 95%% interval %(interval)s)") if spread
                        else _("(%(metric)s; difference %(difference)s)")) % figures)
    if not v.sampled:
        scope = _("Measured on the %(n)s readable examples.")
    elif v.examples < v.of:
        scope = _("Measured on a seeded sample of %(n)s of the %(of)s readable one-window examples.")
    else:
        scope = _("Measured on all %(n)s readable one-window examples.")
    sentence = _("; ").join(parts) + _(". ") + scope % {"n": v.examples, "of": v.of}
    return {"outcome": overall, "head": _(VERDICT_HEADS[overall]) % {"method": title},
            "text": sentence, "against": [_against(bundle, a) for a in v.against]}


def _against(bundle: ReportBundle, against: LeadAgainst) -> str:
    """The lead against a costly method on the verdict's sample: "as faithful as" where no interval excludes 0."""
    titles = titles_of(bundle.methods)
    outcomes = {m.outcome for m in against.metrics.values()}
    overall = "worse" if "worse" in outcomes else "better" if outcomes == {"better"} else "unclear"
    figures = _("; ").join(
        (_("%(metric)s %(lead)s against %(other)s, difference %(difference)s, 95%% interval %(interval)s")
         if m.difference.interval else _("%(metric)s %(lead)s against %(other)s, difference %(difference)s")) % {
            "metric": _(m.title), "lead": num(m.lead.mean, 3), "other": num(m.reference.mean, 3),
            "difference": signed(m.difference.mean, 3), "interval": interval(m.difference.interval, 3)}
        for m in sorted(against.metrics.values(), key=lambda m: m.curve))
    values = {"lead": titles[bundle.summary.verdict.method], "other": titles[against.method],  # type: ignore[union-attr]
              "figures": figures}
    return {"better": _("On the same examples, %(lead)s is more faithful than %(other)s (%(figures)s)."),
            "worse": _("On the same examples, %(lead)s is less faithful than %(other)s (%(figures)s)."),
            "unclear": _("On the same examples, %(lead)s is as faithful as %(other)s (%(figures)s).")}[overall] % values


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else _("%(first)s and %(last)s") % {"first": ", ".join(items[:-1]),
                                                                          "last": items[-1]}


def plan_text(bundle: ReportBundle) -> Optional[str]:
    """Which examples each method explains (summary.plan), or None when every method explained every example."""
    plan = bundle.summary.plan
    if plan is None:
        return None
    titles = titles_of(bundle.methods)
    every = _and([_("%(method)s (the lead)") % {"method": titles[n]} if n == plan.lead else titles[n]
                  for n in plan.every])
    values = {"every": every, "sampled": _and([titles[n] for n in plan.sampled]), "of": plan.of,
              "sample": plan.sample, "seed": plan.seed, "paged": plan.paged}
    first = ngettext("%(every)s explains every one of the %(of)s examples, at most one forward and one backward "
                     "pass each.", "%(every)s explain every one of the %(of)s examples, at most one forward and one "
                     "backward pass each.", len(plan.every)) % values
    if plan.paged:
        second = ngettext(
            "%(sampled)s, which takes many passes per example, explains a seeded sample of %(sample)s readable "
            "one-window examples (seed %(seed)s) and %(paged)s paged examples outside it, the most needed first "
            "(misclassified, alerted, least confident): its data-set figures (convergence, agreement, metric means) "
            "are that sample's.",
            "%(sampled)s, which take many passes per example, explain a seeded sample of %(sample)s readable "
            "one-window examples (seed %(seed)s) and %(paged)s paged examples outside it, the most needed first "
            "(misclassified, alerted, least confident): their data-set figures (convergence, agreement, metric "
            "means) are that sample's.", len(plan.sampled)) % values
    else:
        second = ngettext(
            "%(sampled)s, which takes many passes per example, explains a seeded sample of %(sample)s readable "
            "one-window examples (seed %(seed)s): its data-set figures (convergence, agreement, metric means) are "
            "that sample's.",
            "%(sampled)s, which take many passes per example, explain a seeded sample of %(sample)s readable "
            "one-window examples (seed %(seed)s): their data-set figures (convergence, agreement, metric means) are "
            "that sample's.", len(plan.sampled)) % values
    return " ".join([first, second, _("The box at the end of this page says how to run every method on every "
                                      "example.")])


def accuracy_text(bundle: ReportBundle) -> str:
    """The one way the headline accuracy is written, on every page. "held out" only where it is known: a probe
    never sees the example it predicts; a model's own head may have been trained on these very examples."""
    summary = bundle.summary
    if summary.accuracy is None:
        return _("no labelled examples")
    values = {"accuracy": pct(summary.accuracy, 1), "correct": summary.n_correct, "n": summary.n_labelled,
              "interval": interval(summary.accuracy_interval, 1, percent=True)}
    held = bool(bundle.model.probe)
    return {(True, True): _("%(accuracy)s, %(correct)s of %(n)s, held out; 95%% interval %(interval)s"),
            (True, False): _("%(accuracy)s, %(correct)s of %(n)s, held out"),
            (False, True): _("%(accuracy)s, %(correct)s of %(n)s; 95%% interval %(interval)s"),
            (False, False): _("%(accuracy)s, %(correct)s of %(n)s")}[(held, bool(summary.accuracy_interval))] % values


def probe_text(probe: ProbeSummary) -> str:
    """How the probe was fitted, in one sentence or two: the reason every prediction on the site is held out."""
    values = {"n": count(probe.n_fitted) if probe.scheme == "train_file" else probe.n_fitted,
              "file": probe.train_file, "folds": probe.folds, "report": probe.reused_from,
              "new": count(probe.n_new), "train": pct(probe.train_accuracy, 1),
              "majority": pct(probe.majority_share, 1),
              "p": p_value(probe.p_value) if probe.p_value is not None else ""}
    if probe.scheme == "train_file":
        parts = [_("The probe was fitted on the %(n)s labelled examples of %(file)s none of which is explained here, "
                   "so every prediction is held out.") % values]
    else:
        parts = [_("The probe is cross-fitted: the %(n)s labelled readable examples are split into %(folds)s folds, "
                   "and each example is predicted and explained through the probe fitted on the other folds, so no "
                   "example goes through a probe that saw it.") % values]
    if probe.reused_from:
        parts.append(_("These probes were fitted for the earlier report %(report)s and reused here: the examples that "
                       "report explained keep their probes, and the %(new)s examples new here go through probes "
                       "fitted before they were added.") % values)
    parts.append(_("On the data it was fitted on it scores %(train)s, an optimistic figure shown only for contrast.")
                 % values)
    if probe.majority_share is not None:
        parts.append(_("Always answering the most frequent class would score %(majority)s (one-sided binomial test, "
                       "%(p)s).") % values)
    return " ".join(parts)


def _main_confusion(confusion: dict[str, dict[str, int]]) -> Optional[str]:
    pairs = [(n, gold, pred) for gold, row in confusion.items() for pred, n in row.items() if gold != pred and n]
    if not pairs:
        return None
    top = max(n for n, _gold, _pred in pairs)
    tied = sorted((gold, pred) for n, gold, pred in pairs if n == top)
    examples = ngettext("%(n)s example", "%(n)s examples", top) % {"n": count(top)}
    if len(tied) == 1:
        gold, pred = tied[0]
        return _("The most frequent error is “%(gold)s” predicted as “%(pred)s” (%(count)s).") % {
            "gold": gold, "pred": pred, "count": examples}
    if top == 1:
        return _("No error repeats: each of the %(n)s confusions between two classes happens once.") % {
            "n": len(pairs)}
    shown = "; ".join(_("“%(gold)s” as “%(pred)s”") % {"gold": gold, "pred": pred} for gold, pred in tied[:3])
    values = {"k": len(tied), "count": examples, "shown": shown, "more": len(tied) - 3}
    if len(tied) > 3:
        return _("%(k)s errors tie as the most frequent, with %(count)s each: %(shown)s and %(more)s more.") % values
    return _("%(k)s errors tie as the most frequent, with %(count)s each: %(shown)s.") % values


def _top_words(bundle: ReportBundle) -> Optional[str]:
    # The lead method (the signed method with the highest declared lead), else the first method.
    method = lead_method(bundle.methods) or bundle.methods[0]
    words = bundle.summary.top_words.get(method.name, ())[:5]
    if not words:
        return None
    listed = ", ".join(ngettext("“%(word)s” (%(n)s example)", "“%(word)s” (%(n)s examples)", w.examples) % {
        "word": w.word, "n": w.examples} for w in words)
    text = _("Across the readable examples, the words carrying the most %(method)s attribution toward the explained "
             "class are %(listed)s.") % {"method": method.title, "listed": listed}
    stop = [f"“{w.word}”" for w in words if w.stop_word]
    if stop:
        text += " " + ngettext(
            "%(words)s is a stop word, found in almost every text: a sum over the examples ranks such words high even "
            "where each one moves a prediction little. The words per class below, and each example's highlights, say "
            "more about what drives a prediction.",
            "%(words)s are stop words, found in almost every text: a sum over the examples ranks such words high even "
            "where each one moves a prediction little. The words per class below, and each example's highlights, say "
            "more about what drives a prediction.", len(stop)) % {"words": ", ".join(stop)}
    return text


def _pct(value: Any, digits: int) -> str:
    return "n/a" if value is None else pct(value, digits)


def _quality(bundle: ReportBundle) -> list[str]:
    """The best method per metric, and every method that does no better than the random reference."""
    means = bundle.summary.metrics
    titles = {m.name: m.title for m in bundle.methods}
    floor = reference_method(bundle.methods)
    sentences = []
    for metric in bundle.metrics:
        per_method = {k: v for k, v in means.get(metric.name, {}).items() if floor is None or k != floor.name}
        if not per_method:
            continue
        pick = max if metric.higher_is_better else min
        best = pick(per_method, key=lambda k: (per_method[k].mean, k))
        values = {"metric": _(metric.title), "family": _(metric.family), "n": per_method[best].n,
                  "best": titles[best], "value": decimal_text(per_method[best].mean, 3)}
        text = _("On %(metric)s (%(family)s, %(n)s examples), %(best)s does best (%(value)s).") % values
        reference = means.get(metric.name, {}).get(floor.name) if floor else None
        if reference is not None:
            worse = sorted(titles[k] for k, v in per_method.items() if metric.no_better(v.mean, reference.mean))
            values = {"floor": decimal_text(reference.mean, 3), "worse": ", ".join(worse)}
            text += " " + (_("Random scores reach %(floor)s; no better than that: %(worse)s.") if worse
                           else _("Random scores reach %(floor)s; every method beats them.")) % values
        sentences.append(text)
    return sentences


def _precision(precision: Optional[ReducedPrecision]) -> str:
    if not precision:
        return ""
    return " " + ngettext("It ran in %(reduced)s; %(k)s of %(n)s examples failed that check in %(reduced)s and was "
                          "recomputed in fp32.", "It ran in %(reduced)s; %(k)s of %(n)s examples failed that check in "
                          "%(reduced)s and were recomputed in fp32.", precision.recomputed) % {
        "reduced": precision.reduced, "k": precision.recomputed, "n": precision.n}
