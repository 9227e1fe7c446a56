"""compute_bundle(): one shared forward pass, the probe if needed, then every method, batched."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from reportgen.compute.attention import special_token_mass
from reportgen.compute.bundle import SCHEMA_VERSION, ExampleResult, ReportBundle
from reportgen.compute.encode import EncodedExample, encode_examples
from reportgen.compute.findings import detect_findings
from reportgen.compute.forward import Progress, shared_forward
from reportgen.compute.global_analysis import analyse_model
from reportgen.compute.methods import METHODS, MethodContext, MethodOutput
from reportgen.compute.metrics import METRICS, MetricContext
from reportgen.compute.metrics.agreement import agreement_matrix
from reportgen.compute.sanity import sanity_check
from reportgen.compute.summary import IG_RELATIVE_DELTA_WARN, summarise
from reportgen.compute.words import word_scores, words_from_tokens
from reportgen.config import BuildConfig, ComputeConfig
from reportgen.errors import ConfigError, InputError, ModelLoadError
from reportgen.inputs import check_labels
from reportgen.models import ModelAdapter
from reportgen.models.probe import fit_probe
from reportgen.slugs import unique_slugs
from reportgen.types import Example, NarrativeSection

log = logging.getLogger(__name__)

EXCERPT_TAIL = 300  # characters kept after the last one the model read: enough to see where the cut fell


def compute_bundle(
    cfg: BuildConfig,
    examples: Sequence[Example],
    adapter: ModelAdapter,
    narrative: Sequence[NarrativeSection],
    provenance: dict[str, Any],
    progress: Progress,
) -> ReportBundle:
    ccfg = cfg.compute
    methods = [METHODS.get(name)() for name in ccfg.methods]
    metrics = [METRICS.get(name)() for name in ccfg.metrics]
    torch.manual_seed(ccfg.seed)
    max_length = min(ccfg.max_length or adapter.details["max_length"], adapter.details["max_length"])
    encoded = encode_examples(adapter.tokenizer, examples, max_length)
    labels = _resolve_labels(cfg, examples, adapter)

    shared = shared_forward(adapter, encoded, ccfg, progress)
    pooled, logits, attentions = shared.pooled, shared.logits, shared.attentions
    out_of_fold = None  # a probe's predictions on examples it was not fitted on: slug -> probabilities
    if adapter.head_kind == "probe":
        out_of_fold = _fit_probe(adapter, examples, pooled, labels, ccfg.seed)
        with torch.no_grad():
            logits = adapter.probe(torch.from_numpy(pooled).to(adapter.device)).cpu().numpy()
    probabilities = _softmax(logits)
    predicted = probabilities.argmax(axis=1)
    targets, target_sources = _targets(ccfg, examples, labels, predicted)
    target_logits = [float(logits[i, t]) for i, t in enumerate(targets)]

    ctx = MethodContext(adapter, encoded, targets, target_logits, attentions, ccfg, progress)
    per_method: dict[str, list[MethodOutput]] = {}
    for method in methods:
        log.info("running %s", method.name)
        started = time.perf_counter()
        per_method[method.name] = method.attribute(ctx)
        # Read by benchmarks/methods_vs_captum.py; timings stay out of results.json (rebuilds are byte-identical).
        log.info("method %s: %.2f s", method.name, time.perf_counter() - started)

    token_scores = {name: [o.token_scores for o in outs] for name, outs in per_method.items()}
    # A method may skip an example (attention flow on a long input): its map is NaN. Metrics score a zero map
    # there instead, and the value is dropped afterwards, so no metric needs to know about skipping.
    skipped = {name: [not np.isfinite(s).all() for s in scores] for name, scores in token_scores.items()}
    scored = {name: [np.nan_to_num(s, nan=0.0) if skip else s for s, skip in zip(scores, skipped[name])]
              for name, scores in token_scores.items()}
    metric_ctx = MetricContext(adapter, examples, encoded, targets, target_logits, probabilities, scored, ccfg,
                               progress)
    metric_values = {}  # metric -> method -> one value per example
    curves = {}  # metric -> method -> mean probability at 0%, 10%, ... 100% (removal metrics only)
    for metric in metrics:
        log.info("computing %s", metric.name)
        metric_values[metric.name] = {
            method: [None if skipped[method][i] else v for i, v in enumerate(values)]
            for method, values in metric.compute(metric_ctx).items()}
        if getattr(metric, "curves", None):
            curves[metric.name] = metric.curves
    agreement = agreement_matrix({name: [word_scores(s, enc) for s, enc in zip(scores, encoded)]
                                  for name, scores in token_scores.items()})

    sanity = None
    if ccfg.sanity_examples:
        readable = [i for i, enc in enumerate(encoded) if enc.unk_fraction < ccfg.unk_threshold]
        sanity = sanity_check(adapter, methods, encoded, readable[: ccfg.sanity_examples], targets,
                              token_scores, ctx, progress)

    slugs = unique_slugs(ex.id for ex in examples)
    results = [
        _example_result(
            ex, enc, slug, labels, probabilities[i], int(predicted[i]), targets[i], target_sources[i],
            {name: outs[i] for name, outs in per_method.items()}, attentions[i], ccfg,
            {method: {metric: values[method][i] for metric, values in metric_values.items()}
             for method in per_method},
            Path(cfg.examples).name,
        )
        for i, (ex, enc, slug) in enumerate(zip(examples, encoded, slugs))
    ]
    method_meta = [_declare(m) for m in methods]
    ig_threshold = ccfg.ig_tolerance if ccfg.ig_steps == "auto" else IG_RELATIVE_DELTA_WARN
    summary = summarise(results, labels, method_meta, adapter.probe_report is not None, ig_threshold)
    summary["agreement"] = agreement
    summary["sanity"] = sanity
    summary["curves"] = curves
    if ccfg.global_analysis:
        by_slug = None if out_of_fold is None else {results[i].slug: row for i, row in out_of_fold.items()}
        summary["global"] = analyse_model(adapter, encoded, results, shared, labels, method_meta, ccfg, progress,
                                          by_slug)
    model_summary = _model_summary(adapter)
    summary["findings"] = detect_findings(results, summary, method_meta, model_summary["probe"])
    return ReportBundle(
        schema_version=SCHEMA_VERSION,
        title=cfg.title or f"What {adapter.name.split('/')[-1]} looks at",
        labels=labels,
        model=model_summary,
        data=_data_summary(cfg, examples),
        # Where the site is written is not part of the results: the same inputs give the same bytes anywhere.
        config={k: v for k, v in cfg.as_dict().items() if k != "out"},
        methods=method_meta,
        examples=results,
        metrics=[m.declaration() for m in metrics],
        summary=summary,
        narrative=[vars(section) for section in narrative],
        provenance=provenance,
        attention={slug: attn for slug, attn in zip(slugs, attentions)},
    )


def _declare(method: Any) -> dict[str, Any]:
    return {"name": method.name, "title": method.title, "family": method.family, "signed": method.signed,
            "summary": method.summary, "description": method.description}


def _resolve_labels(cfg: BuildConfig, examples: Sequence[Example], adapter: ModelAdapter) -> list[str]:
    if adapter.head_kind == "classifier":
        check_labels(cfg.examples, examples, adapter.labels, f"the model {adapter.name!r} (config.id2label)")
        return list(adapter.labels)
    if cfg.labels:
        check_labels(cfg.examples, examples, cfg.labels, "--labels")
        return list(cfg.labels)
    seen = sorted({ex.label for ex in examples if ex.label is not None})
    if len(seen) < 2:
        raise InputError(
            f"{cfg.examples}: the model {adapter.name!r} has no classification head, so reportgen fits a "
            f"linear probe on it, which needs gold labels of at least 2 classes (found {len(seen)}); "
            "add 'label' to the examples or pass a --model with a sequence-classification head"
        )
    return seen


def _fit_probe(adapter, examples, pooled, labels, seed) -> Optional[dict[int, np.ndarray]]:
    """Fits the probe on the labelled examples and returns their out-of-fold probabilities by index."""
    labelled = [i for i, ex in enumerate(examples) if ex.label is not None]
    counts = Counter(examples[i].label for i in labelled)
    if len(counts) < 2:
        raise ModelLoadError("a probe needs labelled examples of at least 2 classes")
    missing = [lab for lab in labels if lab not in counts]
    if missing:
        raise ConfigError(f"--labels names {missing[0]!r} but no example has that label; the probe cannot learn it")
    probe, report, oof = fit_probe(pooled[labelled], [examples[i].label for i in labelled], labels, seed)
    log.info("probe fitted: train accuracy %.3f, cv accuracy %s", report.train_accuracy, report.cv_accuracy)
    adapter.set_probe(probe, report, labels)
    return None if oof is None else dict(zip(labelled, oof))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _targets(cfg, examples, labels, predicted) -> tuple[list[int], list[str]]:
    targets, sources = [], []
    for ex, pred in zip(examples, predicted):
        if cfg.target == "gold" and ex.label is not None:
            targets.append(labels.index(ex.label))
            sources.append("gold")
        else:
            targets.append(int(pred))
            sources.append("predicted" if cfg.target == "predicted" else "predicted (no gold label)")
    return targets, sources


def _example_result(
    ex: Example, enc: EncodedExample, slug: str, labels: list[str], probs: np.ndarray, predicted: int,
    target: int, target_source: str, outputs: dict[str, MethodOutput], attention: np.ndarray,
    cfg: ComputeConfig, quality: dict[str, dict[str, Any]], source: str,
) -> ExampleResult:
    methods = {}
    for name, out in outputs.items():
        methods[name] = {
            "tokens": [float(v) for v in out.token_scores],
            "words": words_from_tokens(out.token_scores, enc.word_index, len(enc.words)),
            "info": out.info,
        }
    special = np.array(enc.special_mask)
    text, text_pair, excerpt = _excerpt(ex, enc, source)
    return ExampleResult(
        id=ex.id, slug=slug, line=ex.line, text=text, text_pair=text_pair, label=ex.label, note=ex.note,
        rationale=_clipped(ex.rationale, len(text)), rationale_pair=_clipped(ex.rationale_pair, len(text_pair or "")),
        excerpt=excerpt,
        tokens=enc.tokens, offsets=[list(o) for o in enc.offsets], segments=enc.segments,
        word_index=enc.word_index,
        words=[{"text": w.text, "start": w.start, "end": w.end, "segment": w.segment} for w in enc.words],
        unk_fraction=enc.unk_fraction, unreadable=enc.unk_fraction >= cfg.unk_threshold,
        truncated=enc.truncated, probabilities=[float(p) for p in probs], predicted=labels[predicted],
        target=labels[target], target_source=target_source, methods=methods,
        attention={"file": f"data/attention/{slug}.npy", "shape": list(attention.shape),
                   "special_mass": special_token_mass(attention, special)},
        metrics=quality,
    )


def _excerpt(ex: Example, enc: EncodedExample, source: str) -> tuple[str, Optional[str], Optional[dict]]:
    """Pages and results.json keep what the model read plus EXCERPT_TAIL characters; a longer text is kept
    by reference (file:line and checksum), so a 20 MB input does not become a 20 MB page."""
    read = [max((w.end for w in enc.words if w.segment == seg), default=0) for seg in (0, 1)]
    full = (ex.text, ex.text_pair)
    shown = [None if t is None else t[: read[seg] + EXCERPT_TAIL] for seg, t in enumerate(full)]
    if all(s is None or len(s) == len(t) for s, t in zip(shown, full)):
        return ex.text, ex.text_pair, None
    return shown[0], shown[1], {
        "source": f"{source}:{ex.line}",
        "chars": [len(t or "") for t in full],
        "shown": [len(s or "") for s in shown],
        "sha256": [None if t is None else hashlib.sha256(t.encode("utf-8")).hexdigest() for t in full],
    }


def _clipped(spans: Sequence[Sequence[int]], length: int) -> list[list[int]]:
    return [[start, min(end, length)] for start, end in spans if start < length]


def _model_summary(adapter: ModelAdapter) -> dict[str, Any]:
    probe = adapter.probe_report
    return {
        "name": adapter.name,
        "loaded_from": adapter.loaded_from,
        "head_kind": adapter.head_kind,
        "device": str(adapter.device),
        **{k: v for k, v in adapter.details.items()},
        # The probe's weights make encoder + probe re-derivable from the site's data alone.
        "probe": None if probe is None else {
            **vars(probe),
            "weight": adapter.probe.linear.weight.tolist(),  # float[classes, hidden], scaling folded in
            "bias": adapter.probe.linear.bias.tolist(),  # float[classes]
        },
    }


def _data_summary(cfg: BuildConfig, examples: Sequence[Example]) -> dict[str, Any]:
    counts = Counter(ex.label for ex in examples if ex.label is not None)
    return {
        "file": Path(cfg.examples).name,
        "n_examples": len(examples),
        "n_labelled": sum(counts.values()),
        "label_counts": dict(sorted(counts.items())),
        "n_pairs": sum(1 for ex in examples if ex.text_pair is not None),
        "n_with_rationale": sum(1 for ex in examples if ex.rationale or ex.rationale_pair),
        "n_with_note": sum(1 for ex in examples if ex.note),
    }
