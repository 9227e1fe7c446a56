"""Auto-written findings: short sentences drawn only from the bundle's numbers, never hard-coded."""

from __future__ import annotations

from typing import Any, Optional

from reportgen.bundle import ReportBundle
from reportgen.bundle.declarations import lead_method, reference_method
from reportgen.bundle.sections import ProbeSummary
from reportgen.bundle.summary import LeadAgainst, ReducedPrecision
from reportgen.render.formatting import interval, num, p_value, pct, signed
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
        sampled = s.plan is not None and name in s.plan.sampled
        out.append(
            f"{titles[name]} converged on {n - flagged} of {n} examples"
            + (" of its seeded sample " if sampled else " ")
            + f"(|convergence delta| at most {ig.threshold:.0%} of |{END_WORDS[ig.end]} − f(baseline)|; "
            f"median {_pct(ig.median_relative_delta, 3)})."
            + (f" {flagged} example{'s' if flagged != 1 else ''} exceed that and are flagged on "
               "their pages: read their highlights with care." if flagged else "")
            + _precision(ig.precision)
        )
    lead = lead_method(bundle.methods)
    if lead and lead.completeness is None and lead.name in s.carried:  # the lead's sum beside its logit
        out.append(carried_text(bundle, lead.name))
    if s.unreadable:
        k = len(s.unreadable)
        out.append(
            f"{k} example{'s are' if k != 1 else ' is'} mostly unknown word pieces ([UNK]) to this model's "
            "tokenizer, so the model effectively did not read "
            f"{'them' if k != 1 else 'it'}: {'their' if k != 1 else 'its'} explanations are meaningless "
            "and are excluded from the data-set word rankings."
        )
    if s.truncated:
        out.append(f"{len(s.truncated)} examples were longer than the model's limit; the unseen tail is marked.")
    if s.windowed:
        k = len(s.windowed)
        out.append(f"{k} example{'s were' if k != 1 else ' was'} longer than the model's window and "
                   f"{'were' if k != 1 else 'was'} read in overlapping windows: each prediction is the mean of its "
                   "windows' logits, and each word's score merges its windows' scores (the example's page says how).")
    mass = s.special_mass_by_layer
    if mass:
        top = max(range(len(mass)), key=lambda i: mass[i])
        out.append(
            f"On average {mass[top]:.0%} of the attention in layer {top + 1} lands on [CLS]/[SEP] "
            f"(last layer: {mass[-1]:.0%}). Such attention often acts as a no-op sink, which is one reason "
            "attention maps alone are not explanations."
        )
    return out


def carried_text(bundle: ReportBundle, name: str) -> str:
    """How much of the target logit a decomposition's scores add up to (summary.carried): the index and the
    methods page say it in these words."""
    carried = bundle.summary.carried[name]
    return (f"{titles_of(bundle.methods)[name]}'s scores add up to a median {pct(carried.median, 0)} of the target "
            f"logit (half of the {carried.n} examples between {pct(carried.low, 0)} and {pct(carried.high, 0)}); the "
            "biases, the position embeddings and the steps its rules do not conserve carry the rest, so its scores "
            "rank the words, and each example's page shows the sum beside the logit.")


def _accuracy(bundle: ReportBundle) -> Optional[str]:
    s = bundle.summary
    if not s.n_labelled:
        return None
    probe = bundle.model.probe
    who = "Encoder + probe" if probe else "The model"
    text = (f"{who} labels {s.n_correct} of {s.n_labelled} labelled examples correctly "
            f"({accuracy_text(bundle)}).")
    if probe:
        text += " " + probe_text(probe)
    if s.n_readable < s.n_examples:
        text += (f" {s.n_examples - s.n_readable} mostly-[UNK] examples are left out of this figure and of "
                 "every data-set figure.")
    return text


# The verdict's overall outcome: better only when every metric's interval says so, worse when any says worse.
VERDICT_HEADS = {"better": "better than random", "worse": "worse than random",
                 "unclear": "not clearly better than random"}
# What each curve's metric measures, in plain words around the change of the explained class's probability (the
# lead's, then random scores').
CURVE_WORDS = {
    "deletion": "when the words {method} ranks highest are removed, the model's probability for its answer "
                "{lead} on average, against {reference} when as many random words are removed",
    "insertion": "when only those words are kept, it {lead}, against {reference} for as many random words",
}


def _change(drop: float, noun: bool = False) -> str:
    """An AOPC (a mean fall of the probability) as the change a reader pictures: falls or rises, by how much."""
    if noun:
        return f"{'a fall' if drop >= 0 else 'a rise'} of {num(abs(drop), 2)}"
    return f"{'falls' if drop >= 0 else 'rises'} by {num(abs(drop), 2)}"


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
        parts.append(CURVE_WORDS[m.curve].format(method=title, lead=_change(m.lead.mean),
                                                 reference=_change(m.reference.mean, noun=True))
                     + f" ({m.title}; difference {signed(m.difference.mean, 2)}"
                     + (f", 95% interval {spread}" if spread else "") + ")")
    if not v.sampled:
        scope = f"the {v.examples} readable examples"
    elif v.examples < v.of:
        scope = f"a seeded sample of {v.examples} of the {v.of} readable one-window examples"
    else:
        scope = f"all {v.examples} readable one-window examples"
    sentence = "; ".join(parts) + f". Measured on {scope}."
    return {"outcome": overall, "head": f"The highlights of {title} are {VERDICT_HEADS[overall]}",
            "text": sentence[0].upper() + sentence[1:], "against": [_against(bundle, a) for a in v.against]}


AGAINST_WORDS = {"better": "more faithful than", "worse": "less faithful than", "unclear": "as faithful as"}


def _against(bundle: ReportBundle, against: LeadAgainst) -> str:
    """The lead against a costly method on the verdict's sample: "as faithful as" where no interval excludes 0."""
    titles = titles_of(bundle.methods)
    outcomes = {m.outcome for m in against.metrics.values()}
    overall = "worse" if "worse" in outcomes else "better" if outcomes == {"better"} else "unclear"
    figures = "; ".join(f"{m.title} {num(m.lead.mean, 3)} against {num(m.reference.mean, 3)}, difference "
                        f"{signed(m.difference.mean, 3)}" + (f", 95% interval {interval(m.difference.interval, 3)}"
                                                           if m.difference.interval else "")
                        for m in sorted(against.metrics.values(), key=lambda m: m.curve))
    return (f"On the same examples, {titles[bundle.summary.verdict.method]} is "  # type: ignore[union-attr]
            f"{AGAINST_WORDS[overall]} {titles[against.method]} ({figures}).")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plan_text(bundle: ReportBundle) -> Optional[str]:
    """Which examples each method explains (summary.plan), or None when every method explained every example."""
    plan = bundle.summary.plan
    if plan is None:
        return None
    titles = titles_of(bundle.methods)
    every = _and([titles[n] + (" (the lead)" if n == plan.lead else "") for n in plan.every])
    sampled = _and([titles[n] for n in plan.sampled])
    paged = (f" and {plan.paged} paged example{'s' if plan.paged != 1 else ''} outside it, the most needed first "
             "(misclassified, alerted, least confident)" if plan.paged else "")
    one, many = len(plan.every) == 1, len(plan.sampled) > 1
    return (f"{every} explain{'' if not one else 's'} every one of the {plan.of} examples, at most one forward and "
            f"one backward pass each. {sampled}, which take{'' if many else 's'} many passes per example, "
            f"explain{'' if many else 's'} a seeded sample of {plan.sample} readable one-window examples (seed "
            f"{plan.seed}){paged}: {'their' if many else 'its'} data-set figures (convergence, agreement, metric "
            "means) are that sample's. The box at the end of this page says how to run every method on every "
            "example.")


def accuracy_text(bundle: ReportBundle) -> str:
    """The one way the headline accuracy is written, on every page. "held out" only where it is known: a probe
    never sees the example it predicts; a model's own head may have been trained on these very examples."""
    summary = bundle.summary
    if summary.accuracy is None:
        return "no labelled examples"
    text = f"{pct(summary.accuracy, 1)}, {summary.n_correct} of {summary.n_labelled}"
    text = text + ", held out" if bundle.model.probe else text
    if summary.accuracy_interval:
        text += f"; 95% interval {interval(summary.accuracy_interval, 1, percent=True)}"
    return text


def probe_text(probe: ProbeSummary) -> str:
    """How the probe was fitted, in one sentence or two: the reason every prediction on the site is held out."""
    if probe.scheme == "train_file":
        text = (f"The probe was fitted on the {probe.n_fitted:,} labelled examples of {probe.train_file} "
                "none of which is explained here, so every prediction is held out.")
    else:
        text = (f"The probe is cross-fitted: the {probe.n_fitted} labelled readable examples are split into "
                f"{probe.folds} folds, and each example is predicted and explained through the probe fitted on the "
                "other folds, so no example goes through a probe that saw it.")
    if probe.reused_from:
        text += (f" These probes were fitted for the earlier report {probe.reused_from} and reused here: "
                 f"the examples that report explained keep their probes, and the "
                 f"{probe.n_new:,} examples new here go through probes fitted before they were added.")
    text += (f" On the data it was fitted on it scores {probe.train_accuracy:.1%}, an optimistic figure "
             "shown only for contrast.")
    if probe.majority_share is not None:
        text += (f" Always answering the most frequent class would score {probe.majority_share:.1%} "
                 f"(one-sided binomial test, {p_value(probe.p_value)}).")
    return text


def _main_confusion(confusion: dict[str, dict[str, int]]) -> Optional[str]:
    pairs = [(n, gold, pred) for gold, row in confusion.items() for pred, n in row.items() if gold != pred and n]
    if not pairs:
        return None
    top = max(n for n, _, _ in pairs)
    tied = sorted((gold, pred) for n, gold, pred in pairs if n == top)
    count = f"{top} example{'s' if top != 1 else ''}"
    if len(tied) == 1:
        gold, pred = tied[0]
        return f"The most frequent error is “{gold}” predicted as “{pred}” ({count})."
    if top == 1:
        return f"No error repeats: each of the {len(pairs)} confusions between two classes happens once."
    shown = "; ".join(f"“{gold}” as “{pred}”" for gold, pred in tied[:3])
    more = f" and {len(tied) - 3} more" if len(tied) > 3 else ""
    return f"{len(tied)} errors tie as the most frequent, with {count} each: {shown}{more}."


def _top_words(bundle: ReportBundle) -> Optional[str]:
    # The lead method (the signed method with the highest declared lead), else the first method.
    method = lead_method(bundle.methods) or bundle.methods[0]
    words = bundle.summary.top_words.get(method.name, ())[:5]
    if not words:
        return None
    listed = ", ".join(f"“{w.word}” ({w.examples} example{'s' if w.examples != 1 else ''})" for w in words)
    text = (f"Across the readable examples, the words carrying the most {method.title} attribution toward "
            f"the explained class are {listed}.")
    stop = [f"“{w.word}”" for w in words if w.stop_word]
    if stop:
        text += (f" {', '.join(stop)} {'are stop words' if len(stop) > 1 else 'is a stop word'}, found in "
                 "almost every text: a sum over the examples ranks such words high even where each one moves a "
                 "prediction little. The words per class below, and each example's highlights, say more about "
                 "what drives a prediction.")
    return text


def _pct(value: Any, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


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
        n = per_method[best].n
        text = (f"On {metric.title} ({metric.family}, {n} examples), {titles[best]} does best "
                f"({per_method[best].mean:.3f}).")
        reference = means.get(metric.name, {}).get(floor.name) if floor else None
        if reference is not None:
            worse = sorted(
                titles[k] for k, v in per_method.items()
                if metric.no_better(v.mean, reference.mean)
            )
            text += f" Random scores reach {reference.mean:.3f}"
            text += (f"; no better than that: {', '.join(worse)}." if worse else "; every method beats them.")
        sentences.append(text)
    return sentences


def _precision(precision: Optional[ReducedPrecision]) -> str:
    if not precision:
        return ""
    k = precision.recomputed
    return (f" It ran in {precision.reduced}; {k} of {precision.n} examples failed that check in "
            f"{precision.reduced} and {'were' if k != 1 else 'was'} recomputed in fp32.")
