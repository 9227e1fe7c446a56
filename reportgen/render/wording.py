"""The sentences of the findings, written from each finding's code and parameters (compute/findings.py stores no
prose). One function per code, whole sentences around the numbers, so a message catalogue can translate each one
and a comparison of two reports can word what changed."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from reportgen.bundle.declarations import MethodDecl
from reportgen.bundle.reasons import Reason
from reportgen.bundle.summary import Finding, LabelSources
from reportgen.bundle.typed import plain
from reportgen.render.formatting import num, signed

Titles = Mapping[str, str]  # method name -> the title a reader sees


def _unreadable(p: dict[str, Any], t: Titles) -> str:
    return (f"{p['count']} of {p['n']} examples are mostly [UNK] to the tokenizer; their predictions and explanations "
            "are meaningless, and they are left out of the probe's fitting, the accuracy and every data-set figure.")


# What a completeness check's path ends at (its declared Completeness.end): in sentences, and in the tables of
# an example's figures.
END_WORDS = {"input": "f(input)", "noisy_mean": "mean f(noisy input)"}
END_SYMBOLS = {"input": "f(x)", "noisy_mean": "mean f(noisy x)"}


def _not_converged(p: dict[str, Any], t: Titles) -> str:
    advice = ("give it more steps (see Reproduce or extend on the methods page)" if p.get("option")
              else "its highlights there are unreliable")
    return (f"{t[p['method']]} did not converge on {p['count']} of {p['n']} examples (|delta| above "
            f"{p['threshold']:.0%} of {END_WORDS[p.get('end', 'input')]} − f(baseline)); {advice}.")


def _truncated(p: dict[str, Any], t: Titles) -> str:
    return f"{p['count']} examples were truncated to the model's length limit."


def _windowed(p: dict[str, Any], t: Titles) -> str:
    return (f"{p['count']} examples were longer than the model's window and were read in overlapping windows: each "
            "prediction is the mean of its windows' logits, and every method's scores are merged over the windows "
            "(each example's page states the rule and shows every window's attention).")


def _special_tokens(p: dict[str, Any], t: Titles) -> str:
    return (f"{t[p['method']]} puts more than {p['share']:.0%} of its attribution on [CLS]/[SEP]/punctuation in "
            f"{p['count']} examples.")


def _methods_disagree(p: dict[str, Any], t: Titles) -> str:
    a, b = p["methods"]
    return (f"{t[a]} and {t[b]} rank the words in opposite orders (negative rank correlation) on {p['count']} "
            "examples.")


def _vs_random(p: dict[str, Any], t: Titles) -> str:
    return (f"{_listed(p['methods'], t)}: {p['metric']} no better than random scores ({p['reference']:.3f}); their "
            "highlights are not faithful here.")


def _verdict_not_better(p: dict[str, Any], t: Titles) -> str:
    where = f"a seeded sample of {p['examples']} examples" if p["sampled"] else f"{p['examples']} examples"
    return (f"On {where}, {t[p['method']]}'s highlights are not shown to beat random scores by "
            f"{_listed(p['metrics'], {m: m for m in p['metrics']})}: its top words may not be what the model "
            "uses. Compare another method on the methods page before relying on them.")


def _lead_less_faithful(p: dict[str, Any], t: Titles) -> str:
    return (f"On a seeded sample of {p['examples']} examples, {t[p['method']]}, which explains every example, is "
            f"less faithful than {t[p['than']]} by {_listed(p['metrics'], {m: m for m in p['metrics']})}: explain "
            f"every example with {t[p['than']]} as well (the methods page's last box says how) and read its "
            "highlights first.")


def _faithfulness_for_cost(p: dict[str, Any], t: Titles) -> str:
    comp = p["deletion"]
    parts = [f"{p['deletion_metric']} {comp[0]:.3f} against {t[p['anchor']]}'s {comp[1]:.3f}"]
    if p.get("difference"):
        mean, low, high = p["difference"]
        parts[0] += f" (paired difference {signed(mean, 3)}, 95% interval {num(low, 3)} to {num(high, 3)})"
    if p["insertion"] is not None:
        parts.append(f"{p['insertion_metric']} {p['insertion'][0]:.3f} against {p['insertion'][1]:.3f}")
    verdict = "as comprehensive, for less arithmetic" if p["as_faithful"] else "less comprehensive"
    return (f"{t[p['method']]}: {' and '.join(parts)}, at {p['share']:.2f}× its counted arithmetic per example "
            f"({verdict}).")


def _sanity_check(p: dict[str, Any], t: Titles) -> str:
    return (f"{_listed(p['methods'], t)}: the map barely changes when every layer's weights are randomised (rank "
            f"correlation stays at or above {p['threshold']}); it does not explain this model.")


def _spurious_cue(p: dict[str, Any], t: Titles) -> str:
    return (f"“{p['word']}” is the top {t[p['method']]} word of {p['count']} of {p['readable']} examples: a candidate "
            "spurious cue; check that the model does not predict from it alone.")


def _probe_at_chance(p: dict[str, Any], t: Titles) -> str:
    return (f"The probe is no better than always answering the most frequent class: held-out accuracy "
            f"{p['accuracy']:.1%} against {p['majority']:.1%} for the majority class (one-sided binomial test p = "
            f"{p['p_value']:.2f}, on {p['n']} examples). The explained function has not learnt the task, so no "
            "highlight on this site can be trusted. Give more labelled examples, fit the probe on a training set of "
            "its own, or explain a model with its own classification head.")


def _probe_overfits(p: dict[str, Any], t: Titles) -> str:
    return (f"The probe's accuracy on the examples it was fitted on ({p['train_accuracy']:.1%}) is far above its "
            f"held-out accuracy ({p['accuracy']:.1%}): it memorises these examples more than it learns the task.")


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
    "special_tokens": lambda p, t: f"share of {t[p['method']]} on [CLS]/[SEP]/punctuation here",
    "methods_disagree": lambda p, t: f"rank correlation of {t[p['methods'][0]]} with {t[p['methods'][1]]} here",
}


# Why something could not run (bundle/reasons.py): one sentence per code, without a final full stop (pages put
# it after "Not computed:" or a method's title).
REASON_WORDS: dict[str, str] = {
    "layout_not_bert": "{architecture} is not laid out like BERT ({difference})",
    "head_not_bert": "the classification head of {architecture} is not BERT's pooler + classifier",
    "activation_not_module": "the feed-forward activation of {architecture} is not a module",
    "rules_not_placed": "the attention of {architecture} does not run through transformers' attention interface, "
                        "where the LRP rule at its products is placed",
    "head_not_in_table": "the classification head of {architecture} is not where the architecture table says",
    "shared_layers": "{family} shares one block's weights across its layers",
    "layers_unknown": "reportgen does not know where the layers of {architecture} are",
    "no_head_projection": "the architecture table has no per-head output projection for {family}",
    "too_many_pieces": "{size} word pieces > {limit}",
    "outside_costly_sample": "it ran on a seeded sample that leaves this example out",
    "too_few_gold_classes": "needs gold labels of at least 2 classes",
    "no_gold_labels": "no example has a gold label",
    "no_signed_method": "no signed attribution method was run",
}
# How a family's blocks differ from BERT's (the "difference" of layout_not_bert).
BLOCK_WORDS: dict[str, str] = {
    "projected_embeddings": "its embeddings are projected before the first block",
    "module_names": "its blocks name and group their modules differently",
    "shared_block": "factorised embeddings, one block shared by every layer",
    "relative_terms": "relative-position terms in its attention",
    "relative_bias": "a relative-position bias in its attention",
    "rotary_local": "rotary positions, pre-LayerNorm blocks, local attention",
    "relative_positions": "relative position embeddings",
    "parts_missing": "post-LayerNorm blocks with absolute positions",
    "not_in_table": "the architecture table has no {model_type} row",
}


# The per-head statistics' titles (bundle/vocabulary.py STATS).
STAT_TITLES = {
    "to_cls": "Attention to [CLS]", "to_sep": "Attention to [SEP]", "to_punct": "Attention to punctuation",
    "to_self": "Attention to the token itself", "to_prev": "Attention to the previous token",
    "to_next": "Attention to the next token", "distance": "Mean attention distance (tokens)",
    "entropy": "Attention entropy (nats)",
}

# What each statistic's colour bar measures.
STAT_UNITS = {key: "share of attention" for key in STAT_TITLES}
STAT_UNITS.update(distance="tokens", entropy="nats")

# Which examples get a full page (compute/pages.py applies it; the pages state it in these words).
PAGES_RULE = ("misclassified (most confident first), then examples named by an alert, then the least confident, "
              "then those where two methods disagree most, then a seeded sample stratified by label")


def reason_text(reason: Reason) -> str:
    params = dict(reason.params)
    if "difference" in params:
        params["difference"] = BLOCK_WORDS[str(params["difference"])].format(**params)
    return REASON_WORDS[reason.code].format(**params)


def labels_from_text(sources: LabelSources) -> str:
    """Which labels a figure is measured against, for "Measured against ... labels"."""
    if not sources.predicted:
        return "gold"
    return "predicted" if not sources.gold else f"gold for {sources.gold}, predicted for {sources.predicted}"


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
