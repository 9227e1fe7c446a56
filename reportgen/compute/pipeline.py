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
from reportgen.compute.encode import EncodedExample, encode_examples, encode_ids
from reportgen.compute.findings import detect_findings
from reportgen.compute.forward import Progress, pooled_features, shared_forward
from reportgen.compute.global_analysis import analyse_model
from reportgen.compute.methods import METHODS, MethodContext, MethodOutput
from reportgen.compute.metrics import METRICS, MetricContext
from reportgen.compute.metrics.agreement import agreement_matrix
from reportgen.compute.sanity import sanity_check
from reportgen.compute.summary import IG_RELATIVE_DELTA_WARN, summarise
from reportgen.compute.words import word_scores, words_from_tokens
from reportgen.config import BuildConfig, ComputeConfig
from reportgen.errors import ConfigError, InputError
from reportgen.inputs import check_labels
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import CrossFit, ProbeGroup, cross_fit, held_out_summary, train_file_fit
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
    probe_train: Optional[tuple[Sequence[Example], str]] = None,  # (examples, file name) of --probe-train
) -> ReportBundle:
    ccfg = cfg.compute
    methods = [METHODS.get(name)() for name in ccfg.methods]
    metrics = [METRICS.get(name)() for name in ccfg.metrics]
    torch.manual_seed(ccfg.seed)
    max_length = min(ccfg.max_length or adapter.details["max_length"], adapter.details["max_length"])
    encoded = encode_examples(adapter.tokenizer, examples, max_length)
    readable = [enc.unk_fraction < ccfg.unk_threshold for enc in encoded]
    check_readable(cfg, examples, readable, adapter.name)
    labels = _resolve_labels(cfg, examples, adapter, probe_train)
    slugs = unique_slugs(ex.id for ex in examples)

    shared = shared_forward(adapter, encoded, ccfg, progress)
    fit = None
    if adapter.head_kind == "probe":
        adapter.labels = labels  # the probe's classes
        fit = _fit_probes(adapter, cfg, examples, shared.pooled, labels, readable, max_length, progress, probe_train)
        groups = fit.groups
    else:
        groups = [ProbeGroup(None, list(range(len(examples))))]
    logits = _held_out_logits(adapter, groups, shared)
    probabilities = _softmax(logits)
    predicted = probabilities.argmax(axis=1)
    targets, target_sources = _targets(ccfg, examples, labels, predicted)
    target_logits = [float(logits[i, t]) for i, t in enumerate(targets)]

    # One context per group for every method: what methods share (the input-gradient pass of Gradient x Input
    # and saliency) is computed once per group, as it was once per build before cross-fitting.
    contexts = [(group, MethodContext(adapter, _pick(encoded, group), _pick(targets, group),
                                      _pick(target_logits, group), _pick(shared.attentions, group), ccfg, progress))
                for group in groups]
    per_method: dict[str, list[MethodOutput]] = {m.name: [None] * len(examples) for m in methods}  # type: ignore
    for method in methods:
        log.info("running %s", method.name)
        started = time.perf_counter()
        for group, ctx in contexts:
            with adapter.using(group.probe):
                for i, out in zip(group.indices, method.attribute(ctx)):
                    per_method[method.name][i] = out
        # Read by benchmarks/methods_vs_captum.py; timings stay out of results.json (rebuilds are byte-identical).
        log.info("method %s: %.2f s", method.name, time.perf_counter() - started)

    token_scores = {name: [o.token_scores for o in outs] for name, outs in per_method.items()}
    # A method may skip an example (attention flow on a long input): its map is NaN. Metrics score a zero map
    # there instead, and the value is dropped afterwards, so no metric needs to know about skipping.
    skipped = {name: [not np.isfinite(s).all() for s in scores] for name, scores in token_scores.items()}
    scored = {name: [np.nan_to_num(s, nan=0.0) if skip else s for s, skip in zip(scores, skipped[name])]
              for name, scores in token_scores.items()}
    metric_values, curves = _metrics(metrics, adapter, groups, examples, encoded, targets, target_logits,
                                     probabilities, scored, skipped, ccfg, progress)
    agreement = agreement_matrix({name: [word_scores(s, enc) for s, enc in zip(scores, encoded)]
                                  for name, scores in token_scores.items()})

    sanity = None
    if ccfg.sanity_examples:
        chosen = [i for i, ok in enumerate(readable) if ok][: ccfg.sanity_examples]
        template = MethodContext(adapter, encoded, targets, target_logits, shared.attentions, ccfg, progress)
        sanity = sanity_check(adapter, methods, encoded, chosen, targets, token_scores, template, progress, groups)

    results = [
        _example_result(
            ex, enc, slug, labels, probabilities[i], int(predicted[i]), targets[i], target_sources[i],
            {name: outs[i] for name, outs in per_method.items()}, shared.attentions[i], ccfg,
            {method: {metric: values[method][i] for metric, values in metric_values.items()}
             for method in per_method},
            Path(cfg.examples).name,
        )
        for i, (ex, enc, slug) in enumerate(zip(examples, encoded, slugs))
    ]
    method_meta = [_declare(m) for m in methods]
    ig_threshold = ccfg.ig_tolerance if ccfg.ig_steps == "auto" else IG_RELATIVE_DELTA_WARN
    summary = summarise(results, labels, method_meta, ig_threshold)
    summary["agreement"] = agreement
    summary["sanity"] = sanity
    summary["curves"] = curves
    if ccfg.global_analysis:
        summary["global"] = analyse_model(adapter, encoded, results, shared, labels, method_meta, ccfg, progress,
                                          groups)
    model_summary = _model_summary(adapter, None if fit is None else held_out_summary(fit, results, slugs))
    summary["findings"] = detect_findings(results, summary, method_meta, model_summary["probe"])
    return ReportBundle(
        schema_version=SCHEMA_VERSION,
        title=cfg.title or f"What {adapter.name.split('/')[-1]} looks at",
        labels=labels,
        model=model_summary,
        data=_data_summary(cfg, examples, readable),
        # Where the site is written is not part of the results: the same inputs give the same bytes anywhere.
        config={k: v for k, v in cfg.as_dict().items() if k != "out"},
        methods=method_meta,
        examples=results,
        metrics=[m.declaration() for m in metrics],
        summary=summary,
        narrative=[vars(section) for section in narrative],
        provenance=provenance,
        attention={slug: attn for slug, attn in zip(slugs, shared.attentions)},
    )


def _pick(values: Sequence[Any], group: ProbeGroup) -> list[Any]:
    return [values[i] for i in group.indices]


def _held_out_logits(adapter: ModelAdapter, groups: Sequence[ProbeGroup], shared: Any) -> np.ndarray:
    if adapter.head_kind == "classifier":
        return shared.logits
    logits = np.zeros((len(shared.pooled), len(adapter.labels)), dtype=np.float32)
    for group in groups:
        with torch.no_grad():
            features = torch.from_numpy(shared.pooled[group.indices]).to(adapter.device)
            logits[group.indices] = group.probe.to(adapter.device)(features).cpu().numpy()
    return logits


def _metrics(metrics, adapter, groups, examples, encoded, targets, target_logits, probabilities, scored, skipped,
             ccfg, progress) -> tuple[dict, dict]:
    """Every metric, each group of examples through its own probe; curves are means over all examples."""
    n = len(examples)
    metric_values: dict[str, dict[str, list]] = {}  # metric -> method -> one value per example
    curves: dict[str, dict[str, list[float]]] = {}  # metric -> method -> mean probability at 0%, 10%, ... 100%
    # One context per group for every metric: comprehensiveness and sufficiency share their cache of perturbed
    # inputs (each distinct one runs once), which a context per metric would throw away.
    contexts = [(group, MetricContext(adapter, _pick(examples, group), _pick(encoded, group), _pick(targets, group),
                                      _pick(target_logits, group), probabilities[group.indices],
                                      {name: _pick(s, group) for name, s in scored.items()}, ccfg, progress))
                for group in groups]
    for metric in metrics:
        log.info("computing %s", metric.name)
        values: dict[str, list] = {method: [None] * n for method in scored}
        sums: dict[str, np.ndarray] = {}
        for group, ctx in contexts:
            with adapter.using(group.probe):
                for method, per_example in metric.compute(ctx).items():
                    for i, v in zip(group.indices, per_example):
                        values[method][i] = None if skipped[method][i] else v
            for method, curve in (getattr(metric, "curves", None) or {}).items():
                sums[method] = sums.get(method, 0) + np.asarray(curve) * len(group.indices)
        metric_values[metric.name] = values
        if sums:
            curves[metric.name] = {method: [float(v) for v in total / n] for method, total in sums.items()}
    return metric_values, curves


def _declare(method: Any) -> dict[str, Any]:
    return {"name": method.name, "title": method.title, "family": method.family, "signed": method.signed,
            "summary": method.summary, "description": method.description}


def _resolve_labels(cfg: BuildConfig, examples: Sequence[Example], adapter: ModelAdapter,
                    probe_train: Optional[tuple[Sequence[Example], str]]) -> list[str]:
    if adapter.head_kind == "classifier":
        names = head_labels(adapter.labels, cfg.label_map, cfg.labels)
        seen = sorted({ex.label for ex in examples if ex.label is not None} - set(names))
        example = ",".join(f"{old}={new}" for old, new in zip(adapter.labels, seen or names))
        renamed = " (after --label-map/--labels)" if cfg.label_map or cfg.labels else ""
        check_labels(cfg.examples, examples, names, f"the model {adapter.name!r}{renamed} (config.id2label)",
                     "If these are the same classes under other names, rename the model's: --label-map "
                     f"{example} (or --labels with every name in the model's order); otherwise fix the examples' "
                     "labels or choose the model trained for them")
        adapter.labels = names
        return names
    if cfg.label_map:
        raise ConfigError(f"--label-map renames a classification head's labels, and {adapter.name!r} has none; "
                          "a probe takes its labels from the examples (--labels sets their order)")
    if cfg.labels:
        check_labels(cfg.examples, examples, cfg.labels, "--labels")
        return list(cfg.labels)
    source = probe_train[0] if probe_train else examples
    seen = sorted({ex.label for ex in source if ex.label is not None})
    if probe_train:
        check_labels(cfg.examples, examples, seen, f"--probe-train {probe_train[1]}")
    if len(seen) < 2:
        raise InputError(
            f"{cfg.examples}: the model {adapter.name!r} has no classification head, so reportgen fits a "
            f"linear probe on it, which needs gold labels of at least 2 classes (found {len(seen)}); "
            "add 'label' to the examples, pass --probe-train FILE, or a --model with a sequence-classification head"
        )
    return seen


def head_labels(model_labels: Sequence[str], label_map: Optional[Sequence[tuple[str, str]]],
                labels: Optional[Sequence[str]]) -> list[str]:
    """A head's class names after --label-map (model name -> shown name) or --labels (every name, in order)."""
    names = list(model_labels)
    if label_map:
        unknown = [old for old, _ in label_map if old not in names]
        if unknown:
            raise ConfigError(f"--label-map: the model has no label {unknown[0]!r}; its labels are {', '.join(names)}")
        mapping = dict(label_map)
        names = [mapping.get(name, name) for name in names]
    if labels:
        if len(labels) != len(names):
            raise ConfigError(f"--labels names {len(labels)} classes but the model's head has {len(names)} "
                              f"({', '.join(names)}); give one name per class, in that order")
        names = list(labels)
    if len(set(names)) != len(names):
        raise ConfigError(f"two of the model's classes would share a name: {', '.join(names)}")
    return names


def _fit_probes(adapter, cfg, examples, pooled, labels, readable, max_length, progress, probe_train) -> CrossFit:
    """Cross-fitted probes on the labelled readable examples, or one probe on --probe-train's examples."""
    if probe_train is not None:
        train_examples, name = probe_train
        train_encoded = encode_ids(adapter.tokenizer, train_examples, max_length)
        features = pooled_features(adapter, train_encoded, cfg.compute, progress)
        fit = train_file_fit(features, [ex.label for ex in train_examples], len(examples), labels, cfg.compute.seed,
                             name)
        log.info("probe fitted on %d examples of %s: in-sample accuracy %.3f", fit.n_fitted, name, fit.train_accuracy)
        return fit
    usable = list(readable)
    usable_labels = {examples[i].label for i, ok in enumerate(usable) if ok and examples[i].label is not None}
    if len(usable_labels) < 2 and cfg.force:
        # --force on unreadable data: learn from every labelled example (still cross-fitted); the error
        # finding about unreadable texts stays on the site.
        log.warning("too few readable labelled examples: --force fits the probe on the unreadable ones too")
        usable = [True] * len(examples)
        usable_labels = {ex.label for ex in examples if ex.label is not None}
    if len(usable_labels) < 2:
        raise InputError(f"{cfg.examples}: a probe needs readable labelled examples of at least 2 classes "
                         f"(found {len(usable_labels)}); add examples or pass --probe-train FILE")
    missing = [lab for lab in labels if lab not in usable_labels]
    if cfg.labels and missing:
        raise ConfigError(f"--labels names {missing[0]!r} but no example has that label; the probe cannot learn it")
    fit = cross_fit(pooled, [ex.label for ex in examples], usable, labels, cfg.compute.seed)
    log.info("probe cross-fitted on %d examples in %d folds", fit.n_fitted, fit.folds)
    return fit


def check_readable(cfg: BuildConfig, examples: Sequence[Example], readable: Sequence[bool], model: str) -> None:
    """Stop before any expensive method when most texts are unreadable to this model's tokenizer."""
    unreadable = len(readable) - sum(readable)
    if unreadable * 2 > len(readable) and not cfg.force:
        raise InputError(
            f"{cfg.examples}: {unreadable} of {len(readable)} examples are mostly unknown word pieces ([UNK]) to the "
            f"tokenizer of {model!r}, so every explanation of them would be meaningless. Use a model whose "
            "tokenizer covers this script or language (e.g. a multilingual or language-specific model), "
            "or pass --force to build anyway"
        )
    if unreadable:
        log.warning("%d of %d examples are mostly [UNK]; they are left out of probe fitting and data-set figures",
                    unreadable, len(readable))


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


def _model_summary(adapter: ModelAdapter, probe: Optional[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": adapter.name,
        "loaded_from": adapter.loaded_from,
        "head_kind": adapter.head_kind,
        "device": str(adapter.device),
        **{k: v for k, v in adapter.details.items()},
        # How the probe was fitted, its held-out accuracy and every probe's weights (float[classes, hidden],
        # scaling folded in), so encoder + probe is re-derivable from the site's data alone.
        "probe": probe,
    }


def _data_summary(cfg: BuildConfig, examples: Sequence[Example], readable: Sequence[bool]) -> dict[str, Any]:
    counts = Counter(ex.label for ex in examples if ex.label is not None)
    return {
        "n_unreadable": len(readable) - sum(readable),
        "file": Path(cfg.examples).name,
        "n_examples": len(examples),
        "n_labelled": sum(counts.values()),
        "label_counts": dict(sorted(counts.items())),
        "n_pairs": sum(1 for ex in examples if ex.text_pair is not None),
        "n_with_rationale": sum(1 for ex in examples if ex.rationale or ex.rationale_pair),
        "n_with_note": sum(1 for ex in examples if ex.note),
    }
