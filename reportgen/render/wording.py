"""The sentences of the findings, written from each finding's code and parameters (compute/findings.py stores no
prose). One function per code, whole sentences around the numbers, so a message catalogue can translate each one
and a comparison of two reports can word what changed."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Mapping, Optional, Sequence

from reportgen.bundle import ReportBundle
from reportgen.bundle.declarations import MethodDecl
from reportgen.bundle.reasons import Reason
from reportgen.bundle.summary import Finding, LabelSources
from reportgen.bundle.typed import plain
from reportgen.i18n import N_, _, ngettext
from reportgen.render.formatting import decimal_text, num, pct, signed

Titles = Mapping[str, str]  # method name -> the title a reader sees


def _unreadable(p: dict[str, Any], t: Titles) -> str:
    return _("%(count)s of %(n)s examples are mostly [UNK] to the tokenizer; their predictions and explanations are "
             "meaningless, and they are left out of the probe's fitting, the accuracy and every data-set figure.") % p


# What a completeness check's path ends at (its declared Completeness.end): in sentences, and in the tables of
# an example's figures.
END_WORDS = {"input": N_("f(input)"), "noisy_mean": N_("mean f(noisy input)")}
END_SYMBOLS = {"input": "f(x)", "noisy_mean": N_("mean f(noisy x)")}
# Where each example's explained class came from (ExampleResult.target_source, as compute writes it).
TARGET_SOURCES = (N_("gold"), N_("predicted"), N_("predicted (no gold label)"))


def _not_converged(p: dict[str, Any], t: Titles) -> str:
    values = {"method": t[p["method"]], "count": p["count"], "n": p["n"], "threshold": pct(p["threshold"]),
              "end": _(END_WORDS[p.get("end", "input")])}
    if p.get("option"):
        return _("%(method)s did not converge on %(count)s of %(n)s examples (|delta| above %(threshold)s of "
                 "%(end)s − f(baseline)); give it more steps (see Reproduce or extend on the methods page).") % values
    return _("%(method)s did not converge on %(count)s of %(n)s examples (|delta| above %(threshold)s of %(end)s − "
             "f(baseline)); its highlights there are unreliable.") % values


def _truncated(p: dict[str, Any], t: Titles) -> str:
    return ngettext("%(count)s example was truncated to the model's length limit.",
                    "%(count)s examples were truncated to the model's length limit.", p["count"]) % p


def _windowed(p: dict[str, Any], t: Titles) -> str:
    return ngettext(
        "%(count)s example was longer than the model's window and was read in overlapping windows: its prediction is "
        "the mean of its windows' logits, and every method's scores are merged over the windows (its page states the "
        "rule and shows every window's attention).",
        "%(count)s examples were longer than the model's window and were read in overlapping windows: each prediction "
        "is the mean of its windows' logits, and every method's scores are merged over the windows (each example's "
        "page states the rule and shows every window's attention).", p["count"]) % p


def _special_tokens(p: dict[str, Any], t: Titles) -> str:
    return ngettext("%(method)s puts more than %(share)s of its attribution on [CLS]/[SEP]/punctuation in %(count)s "
                    "example.", "%(method)s puts more than %(share)s of its attribution on [CLS]/[SEP]/punctuation in "
                    "%(count)s examples.", p["count"]) % {"method": t[p["method"]], "share": pct(p["share"]),
                                                         "count": p["count"]}


def _methods_disagree(p: dict[str, Any], t: Titles) -> str:
    a, b = p["methods"]
    return ngettext("%(a)s and %(b)s rank the words in opposite orders (negative rank correlation) on %(count)s "
                    "example.", "%(a)s and %(b)s rank the words in opposite orders (negative rank correlation) on "
                    "%(count)s examples.", p["count"]) % {"a": t[a], "b": t[b], "count": p["count"]}


def _vs_random(p: dict[str, Any], t: Titles) -> str:
    return _("%(methods)s: %(metric)s no better than random scores (%(reference)s); their highlights are not faithful "
             "here.") % {"methods": _listed(p["methods"], t), "metric": _(p["metric"]),
                         "reference": decimal_text(p['reference'], 3)}


def _verdict_not_better(p: dict[str, Any], t: Titles) -> str:
    values = {"n": p["examples"], "method": t[p["method"]], "metrics": _listed(p["metrics"], _own(p["metrics"]))}
    if p["sampled"]:
        return _("On a seeded sample of %(n)s examples, %(method)s's highlights are not shown to beat random scores by "
                 "%(metrics)s: its top words may not be what the model uses. Compare another method on the methods "
                 "page before relying on them.") % values
    return _("On %(n)s examples, %(method)s's highlights are not shown to beat random scores by %(metrics)s: its top "
             "words may not be what the model uses. Compare another method on the methods page before relying on "
             "them.") % values


def _lead_less_faithful(p: dict[str, Any], t: Titles) -> str:
    return _("On a seeded sample of %(n)s examples, %(method)s, which explains every example, is less faithful than "
             "%(than)s by %(metrics)s: explain every example with %(than)s as well (the methods page's last box says "
             "how) and read its highlights first.") % {
        "n": p["examples"], "method": t[p["method"]], "than": t[p["than"]],
        "metrics": _listed(p["metrics"], _own(p["metrics"]))}


def _faithfulness_for_cost(p: dict[str, Any], t: Titles) -> str:
    comp = p["deletion"]
    values = {"metric": _(p["deletion_metric"]), "value": decimal_text(comp[0], 3), "anchor": t[p["anchor"]],
              "theirs": decimal_text(comp[1], 3)}
    first = _("%(metric)s %(value)s against %(anchor)s's %(theirs)s") % values
    if p.get("difference"):
        mean, low, high = p["difference"]
        first += _(" (paired difference %(mean)s, 95%% interval %(low)s to %(high)s)") % {
            "mean": signed(mean, 3), "low": num(low, 3), "high": num(high, 3)}
    parts = [first]
    if p["insertion"] is not None:
        parts.append(_("%(metric)s %(value)s against %(theirs)s") % {
            "metric": _(p["insertion_metric"]), "value": decimal_text(p['insertion'][0], 3),
            "theirs": decimal_text(p['insertion'][1], 3)})
    values = {"method": t[p["method"]], "parts": _(" and ").join(parts), "share": decimal_text(p['share'], 2)}
    if p["as_faithful"]:
        return _("%(method)s: %(parts)s, at %(share)s× its counted arithmetic per example (as comprehensive, for "
                 "less arithmetic).") % values
    return _("%(method)s: %(parts)s, at %(share)s× its counted arithmetic per example (less comprehensive).") % values


def _sanity_check(p: dict[str, Any], t: Titles) -> str:
    return _("%(methods)s: the map barely changes when every layer's weights are randomised (rank correlation stays "
             "at or above %(threshold)s); it does not explain this model.") % {
        "methods": _listed(p["methods"], t), "threshold": p["threshold"]}


def _spurious_cue(p: dict[str, Any], t: Titles) -> str:
    return _("“%(word)s” is the top %(method)s word of %(count)s of %(readable)s examples: a candidate spurious cue; "
             "check that the model does not predict from it alone.") % {**p, "method": t[p["method"]]}


def _probe_at_chance(p: dict[str, Any], t: Titles) -> str:
    return _("The probe is no better than always answering the most frequent class: held-out accuracy %(accuracy)s "
             "against %(majority)s for the majority class (one-sided binomial test p = %(p)s, on %(n)s examples). "
             "The explained function has not learnt the task, so no highlight on this site can be trusted. Give more "
             "labelled examples, fit the probe on a training set of its own, or explain a model with its own "
             "classification head.") % {"accuracy": pct(p["accuracy"], 1), "majority": pct(p["majority"], 1),
                                         "p": num(p["p_value"], 2), "n": p["n"]}


def _probe_overfits(p: dict[str, Any], t: Titles) -> str:
    return _("The probe's accuracy on the examples it was fitted on (%(train)s) is far above its held-out accuracy "
             "(%(held_out)s): it memorises these examples more than it learns the task.") % {
        "train": pct(p["train_accuracy"], 1), "held_out": pct(p["accuracy"], 1)}


def _own(names: Sequence[str]) -> dict[str, str]:
    """Names that are their own titles (metric titles in a finding's parameters), translated."""
    return {name: _(name) for name in names}


SENTENCES: dict[str, Callable[[dict[str, Any], Titles], str]] = {
    "unreadable": _unreadable,
    "not_converged": _not_converged,
    "truncated": _truncated,
    "windowed": _windowed,
    "special_tokens": _special_tokens,
    "methods_disagree": _methods_disagree,
    "no_better_than_reference": _vs_random,
    "verdict_not_better": _verdict_not_better,
    "lead_less_faithful": _lead_less_faithful,
    "faithfulness_for_cost": _faithfulness_for_cost,
    "sanity_check": _sanity_check,
    "spurious_cue": _spurious_cue,
    "probe_at_chance": _probe_at_chance,
    "probe_overfits": _probe_overfits,
}

# What an example's own value means, for the findings that carry one per example (values).
VALUE_LABELS: dict[str, Callable[[dict[str, Any], Titles], str]] = {
    "special_tokens": lambda p, t: _("share of %(method)s on [CLS]/[SEP]/punctuation here") % {
        "method": t[p["method"]]},
    "methods_disagree": lambda p, t: _("rank correlation of %(a)s with %(b)s here") % {
        "a": t[p["methods"][0]], "b": t[p["methods"][1]]},
}


# Why something could not run (bundle/reasons.py): one sentence per code, without a final full stop (pages put
# it after "Not computed:" or a method's title).
REASON_WORDS: dict[str, str] = {
    "layout_not_bert": N_("{architecture} is not laid out like BERT ({difference})"),
    "head_not_bert": N_("the classification head of {architecture} is not BERT's pooler + classifier"),
    "activation_not_module": N_("the feed-forward activation of {architecture} is not a module"),
    "rules_not_placed": N_("the attention of {architecture} does not run through transformers' attention interface, "
                        "where the LRP rule at its products is placed"),
    "head_not_in_table": N_("the classification head of {architecture} is not where the architecture table says"),
    "shared_layers": N_("{family} shares one block's weights across its layers"),
    "layers_unknown": N_("reportgen does not know where the layers of {architecture} are"),
    "no_head_projection": N_("the architecture table has no per-head output projection for {family}"),
    "too_many_pieces": N_("{size} word pieces > {limit}"),
    "outside_costly_sample": N_("it ran on a seeded sample that leaves this example out"),
    "too_few_gold_classes": N_("needs gold labels of at least 2 classes"),
    "no_gold_labels": N_("no example has a gold label"),
    "no_signed_method": N_("no signed attribution method was run"),
}
# How a family's blocks differ from BERT's (the "difference" of layout_not_bert).
BLOCK_WORDS: dict[str, str] = {
    "projected_embeddings": N_("its embeddings are projected before the first block"),
    "module_names": N_("its blocks name and group their modules differently"),
    "shared_block": N_("factorised embeddings, one block shared by every layer"),
    "relative_terms": N_("relative-position terms in its attention"),
    "relative_bias": N_("a relative-position bias in its attention"),
    "rotary_local": N_("rotary positions, pre-LayerNorm blocks, local attention"),
    "relative_positions": N_("relative position embeddings"),
    "parts_missing": N_("post-LayerNorm blocks with absolute positions"),
    "not_in_table": N_("the architecture table has no {model_type} row"),
}


# The per-head statistics' titles (bundle/vocabulary.py STATS).
STAT_TITLES = {
    "to_cls": N_("Attention to [CLS]"), "to_sep": N_("Attention to [SEP]"), "to_punct": N_("Attention to punctuation"),
    "to_self": N_("Attention to the token itself"), "to_prev": N_("Attention to the previous token"),
    "to_next": N_("Attention to the next token"), "distance": N_("Mean attention distance (tokens)"),
    "entropy": N_("Attention entropy (nats)"),
}

# What each statistic's colour bar measures.
STAT_UNITS = {key: N_("share of attention") for key in STAT_TITLES}
STAT_UNITS.update(distance=N_("tokens"), entropy=N_("nats"))

# Which examples get a full page (compute/pages.py applies it; the pages state it in these words).
PAGES_RULE = N_("misclassified (most confident first), then examples named by an alert, then the least confident, "
                "then those where two methods disagree most, then a seeded sample stratified by label")


def reason_text(reason: Reason) -> str:
    params = dict(reason.params)
    if "difference" in params:
        params["difference"] = _(BLOCK_WORDS[str(params["difference"])]).format(**params)
    return _(REASON_WORDS[reason.code]).format(**params)


def labels_from_text(sources: LabelSources) -> str:
    """Which labels a figure is measured against, for "Measured against ... labels"."""
    if not sources.predicted:
        return _("gold")
    if not sources.gold:
        return _("predicted")
    return _("gold for %(gold)s, predicted for %(predicted)s") % {"gold": sources.gold,
                                                                  "predicted": sources.predicted}


# What static/reportgen.js writes itself (the examples table, the in-page example view, the attention heatmap), by
# key; the page carries them in its language (a JSON block in <head>), with %(name)s filled in by the script.
JS_WORDS = {
    "yes": N_("yes"), "no": N_("no"), "page_of": N_("page %(page)s of %(pages)s"),
    "shown_of": N_("%(shown)s of %(total)s examples"), "no_example": N_("No example %(slug)s."),
    "missing": N_("The data file of this example is missing."), "gold_label": N_("Gold label"),
    "none_given": N_("— (none given)"), "predicted": N_("Predicted"),
    "not_read": N_(" (not scored: the model did not read this text)"), "correct": N_(" (correct)"),
    "wrong": N_(" (wrong)"), "explained": N_("Explained class"), "method": N_("Method"),
    "not_computed": N_("Not computed: %(reason)s."), "skipped": N_("Skipped on this example."),
    "rollout": N_("rollout over all layers"), "layer_mean": N_("layer %(layer)s, mean over heads"),
    "layer_head": N_("layer %(layer)s, head %(head)s"), "weight": N_("weight"), "capped": N_("weight (capped)"),
}


def js_words() -> str:
    """JS_WORDS in the active language, as the JSON the page's script reads."""
    text = json.dumps({key: _(value) for key, value in JS_WORDS.items()}, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c")


# A finding's severity, as the alerts name it (the bundle stores the code, which is also the alert's CSS class).
SEVERITY_WORDS = (N_("error"), N_("warning"), N_("info"))
# The method and metric families, as pages name them (the bundle stores the code).
FAMILY_WORDS = (N_("gradient"), N_("attention"), N_("perturbation"), N_("decomposition"), N_("reference"),
                N_("faithfulness"), N_("plausibility"))


def localized(bundle: ReportBundle) -> ReportBundle:
    """The bundle as the pages show it in the active language: the methods' and metrics' titles, summaries and
    descriptions from the catalogue (the bundle stores them in English, and its data is written as it is), with
    the facts a method's text names filled in."""
    methods = [dataclasses.replace(m, title=_(m.title), summary=m.worded(_(m.summary)),
                                   plain=_(m.plain) if m.plain else "", description=m.worded(_(m.description)))
               for m in bundle.methods]
    metrics = [dataclasses.replace(m, title=_(m.title), description=_(m.description)) for m in bundle.metrics]
    return dataclasses.replace(bundle, methods=methods, metrics=metrics)


def report_title(title: Optional[str], model: str) -> str:
    """A report's title in the page's language: the one the user gave, as written, or else the default one."""
    return title if title is not None else _("What %(model)s looks at") % {"model": model.split("/")[-1]}


def titles_of(methods: Sequence[MethodDecl]) -> dict[str, str]:
    return {m.name: m.title for m in methods}


def finding_message(finding: Finding, titles: Titles) -> str:
    return SENTENCES[finding.code](finding.params, titles)


def value_label(finding: Finding, titles: Titles) -> str:
    return VALUE_LABELS[finding.code](finding.params, titles)


def worded(findings: Sequence[Finding], methods: Sequence[MethodDecl]) -> list[dict[str, Any]]:
    """The findings as plain values with their sentence (message), for the Python API and the command line."""
    titles = titles_of(methods)
    return [{**plain(f), "message": finding_message(f, titles)} for f in findings]


def _listed(names: Sequence[str], titles: Titles) -> str:
    return ", ".join(sorted(titles[name] for name in names))
