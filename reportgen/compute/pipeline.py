"""compute_bundle(): the examples stream through in chunks, each written to the bundle as soon as it is done.

Pass 1 (per chunk, cached): predictions of a model's own head and the probe's features, no attention kept.
Then the probes are fitted (they need every example's features). Pass 2 (per chunk, cached): attention,
every method and metric, the per-example records; each chunk is added to the data-set aggregates and
dropped. Analyses that need many examples at once (head statistics and importance, layer probes) run on a
seeded sample (--global-sample); attention maps are kept only for the examples that get a full page."""

from __future__ import annotations

import hashlib
import io
import logging
import random
from collections import Counter, defaultdict
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from reportgen.attention import special_token_mass
from reportgen.bundle import SCHEMA_VERSION, ExampleResult, ReportBundle
from reportgen.bundle.sections import DataSummary, ModelSummary, ProbeSummary
from reportgen.bundle.store import AttentionFiles, Chunk, ExampleStore, parse_chunk, window_file, write_chunk
from reportgen.bundle.summary import Summary
from reportgen.bundle.typed import parse
from reportgen.compute.aggregate import DatasetAggregate
from reportgen.compute.cache import ChunkCache, key_of
from reportgen.compute.chunks import ChunkExplainer
from reportgen.compute.cost import COST_EXAMPLES, counted_costs
from reportgen.compute.encode import (
    Document,
    EncodedExample,
    check_window,
    encode_documents,
    encode_examples,
    encode_ids,
    token_batches,
    window_rows,
)
from reportgen.compute.engines import EngineSettings, explained_chunks
from reportgen.compute.findings import detect_findings
from reportgen.compute.forward import Progress, pooled_features, shared_forward
from reportgen.compute.global_analysis import analyse_model
from reportgen.compute.methods import METHODS, MethodContext
from reportgen.compute.methods.base import padded_batch
from reportgen.compute.metrics import METRICS
from reportgen.compute.pages import choose_pages
from reportgen.compute.sanity import sanity_check
from reportgen.compute.windows import mean_over_windows
from reportgen.config import BuildConfig, ComputeConfig, bundle_config
from reportgen.errors import ConfigError, InputError, ModelLoadError
from reportgen.inputs import check_labels
from reportgen.models import ModelAdapter
from reportgen.models.checks import MAX_CLASSES
from reportgen.models.crossfit import (
    CrossFit,
    ProbeGroup,
    ProbeSource,
    cross_fit,
    group_logits,
    held_out_summary,
    restricted,
    reused_fit,
    softmax,
    train_file_fit,
)
from reportgen.progress import quiet, release_memory, settled_heap
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
    cache: ChunkCache,
    work: Path,  # a private folder for this build's chunk files and attention maps, removed by the caller
    probe_train: Optional[tuple[Sequence[Example], str]] = None,  # (examples, file name) of --probe-train
    probe_from: Optional[ProbeSource] = None,  # an earlier report's probes (--probe-from)
    not_applicable: Optional[dict[str, str]] = None,  # method -> why it cannot explain this model (left out)
) -> ReportBundle:
    ccfg = cfg.compute
    methods = [METHODS.get(name)(ccfg.options.get(name)) for name in ccfg.methods]
    metrics = [METRICS.get(name)() for name in ccfg.metrics]
    torch.manual_seed(ccfg.seed)
    max_length = input_window(ccfg.max_length, adapter.details.max_length, adapter.num_layers,
                              adapter.details.heads)
    check_window(adapter.tokenizer, max_length, ccfg.long_inputs, ccfg.window_stride)
    n = len(examples)
    spans = [list(range(start, min(start + ccfg.chunk_size, n))) for start in range(0, n, ccfg.chunk_size)]
    base_key = _base_key(adapter, ccfg, max_length)

    # The label set depends on the examples and the head only: a mismatch is said before any forward pass.
    labels = _resolve_labels(cfg, examples, adapter, probe_train)
    adapter = adapter.with_labels(labels)  # the probe's classes, or the head's after --label-map/--labels
    features = _features(adapter, examples, spans, ccfg, max_length, cache, base_key, progress)
    _check_finite(cfg, examples, features, adapter.name)
    readable = [u < ccfg.unk_threshold for u in features["unk_fraction"]]
    check_readable(cfg, examples, readable, adapter.name)
    slugs = unique_slugs(ex.id for ex in examples)

    fit = None
    if not adapter.head.own:
        if probe_from is not None:
            fit = _reuse_probes(probe_from, labels, slugs)
        else:
            fit = _fit_probes(adapter, cfg, examples, features["pooled"], labels, readable, max_length, progress,
                              probe_train)
        groups = fit.groups
    else:
        groups = [ProbeGroup(None, list(range(n)))]
    logits = _held_out_logits(adapter, groups, features)
    probabilities = softmax(logits)
    predicted = probabilities.argmax(axis=1)
    targets, target_sources = _targets(ccfg, examples, labels, predicted)
    target_logits = [float(logits[i, t]) for i, t in enumerate(targets)]

    method_meta = [m.declaration() for m in methods]
    metric_meta = [m.declaration() for m in metrics]
    # Each completeness method's own threshold: a resolved example's relative delta is at most this.
    thresholds = {m.name: m.convergence_threshold() for m in methods if m.completeness}
    aggregate = DatasetAggregate(labels, method_meta, thresholds)
    rng = random.Random(ccfg.seed)
    sample = sorted(rng.sample(range(n), ccfg.global_sample)) if n > ccfg.global_sample else list(range(n))
    # The sanity check and the counted cost compare or count one model input per example: examples read in
    # several windows are left to the others (the global analyses read their first window).
    single = [ok and windows == 1 for ok, windows in zip(readable, features["windows"])]
    sanity_wanted = [i for i, ok in enumerate(single) if ok][: ccfg.sanity_examples]
    kept_results: dict[int, ExampleResult] = {}  # the sample's and the sanity check's records
    keep = set(sample if ccfg.global_analysis else []) | set(sanity_wanted)
    curve_sums: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    chunks: list[Chunk] = []
    source = Path(cfg.examples).name

    def record(i: int, doc: Document, attention: list[np.ndarray]) -> dict[str, Any]:
        return _record(examples[i], doc, slugs[i], labels, probabilities[i], int(predicted[i]), targets[i],
                       target_sources[i], attention, ccfg, source)

    explainer = ChunkExplainer(
        adapter, methods, metrics, groups, examples, slugs, targets, target_logits, probabilities, ccfg, max_length,
        cache, {**base_key, "source": source, "target": ccfg.target, "labels": labels},
        [_probe_key(g.probe) for g in groups], record)
    bar = progress("Explaining (attention, methods, metrics)", n)
    spans2 = attention_spans(features["cells"], ccfg.chunk_size, adapter.num_layers, adapter.details.heads)
    engine = EngineSettings(cfg.engine, cfg.ray_address, cfg.workers, cfg.gpus_per_worker, cfg.threads_per_worker,
                            cfg.model, cfg.trust_remote_code)
    with settled_heap():
        for number, (span, data) in enumerate(zip(spans2, explained_chunks(explainer, spans2, engine))):
            path = work / "examples" / f"{number:05d}.json"
            sha = write_chunk(data, path)
            payload_results, sums = parse_chunk(data)
            for i, r in zip(span, payload_results):
                aggregate.add(r)
                if i in keep:
                    kept_results[i] = r
            for metric, per in sums.items():
                for method, values in per.items():
                    curve_sums[metric][method] = curve_sums[metric].get(method, 0) + np.asarray(values, np.float64)
            chunks.append(Chunk(path, sha, tuple(r.slug for r in payload_results),
                                tuple(r.id for r in payload_results)))
            del payload_results, data
            release_memory()
            bar.update(len(span))
    bar.close()
    for name, seconds in explainer.seconds.items():
        # Read by benchmarks: each method's time and examples per second, over the chunks computed in this run.
        log.info("method %s: %.2f s, %.1f examples/s", name, seconds,
                 explainer.computed / seconds if seconds else 0.0)
    log.info("cache: %d entries reused, %d computed", cache.hits, cache.misses)

    summary = aggregate.summary()
    summary["curves"] = {metric: {method: [float(v) for v in total / n] for method, total in per.items()}
                         for metric, per in curve_sums.items()}
    summary["sanity"] = None
    summary["not_applicable"] = [{"name": name, "title": METHODS.get(name).title, "reason": reason}
                                 for name, reason in sorted((not_applicable or {}).items())]
    if sanity_wanted:
        summary["sanity"] = _sanity(adapter, methods, examples, sanity_wanted, kept_results, targets,
                                    target_logits, groups, max_length, ccfg, progress)
    costed = [i for i, ok in enumerate(single) if ok][:COST_EXAMPLES]
    summary["cost"] = _cost(adapter, methods, examples, costed, targets, target_logits, groups, max_length, ccfg,
                            cache, explainer.common_key(costed), progress)
    typical = None
    if ccfg.global_analysis:
        summary["global_analysis"] = _global(adapter, examples, sample, kept_results, labels, groups, max_length, ccfg,
                                    progress, aggregate, n)
        typical = summary["global_analysis"]["heads"]["typical_example"]
    model_summary = _model_summary(adapter, None if fit is None else held_out_summary(fit, aggregate.records, slugs),
                                   max_length)
    summary["findings"] = detect_findings(aggregate, summary, method_meta, metric_meta, model_summary.probe)
    pages = choose_pages(aggregate, summary["findings"], cfg.pages, ccfg.seed, adapter.num_layers,
                         adapter.details.heads, [typical] if typical else [])
    attention = _page_attention(adapter, examples, slugs, pages, max_length, ccfg, work / "attention", progress,
                                cache, base_key, features["windows"])
    store = ExampleStore(chunks)
    return ReportBundle(
        schema_version=SCHEMA_VERSION,
        title=cfg.title or f"What {adapter.name.split('/')[-1]} looks at",
        labels=labels,
        model=model_summary,
        data=_data_summary(cfg, examples, readable),
        # Where the site is written is not part of the results: the same inputs give the same bytes anywhere.
        config=bundle_config(cfg),
        methods=method_meta,
        metrics=metric_meta,
        summary=parse(Summary, summary, "summary"),  # every figure typed, checked once here
        narrative=[vars(section) for section in narrative],
        provenance=provenance,
        pages=[slugs[i] for i in pages],
        examples=store,
        attention=attention,
    )


CHUNK_ATTENTION_MB = 128  # float16 attention maps a chunk holds while its methods run
# float16 attention maps of one model input (every layer and head). A long-context model's own window would
# not fit (ModernBERT's 8,192 pieces: 35 GB per text across 22 layers x 12 heads), so without --max-length the
# window is the largest power of two whose maps fit, and a longer text is read in windows of that size.
INPUT_ATTENTION_MB = 1024


def input_window(asked: Optional[int], model_limit: int, layers: int, heads: int) -> int:
    """Word pieces per model input: --max-length (never past the model's limit), else the model's limit or the
    largest power of two whose attention maps fit INPUT_ATTENTION_MB, whichever is smaller."""
    if asked:
        return min(asked, model_limit)
    cells = INPUT_ATTENTION_MB * 1e6 / (layers * heads * 2)
    fits = 1 << max(4, int(np.floor(np.log2(np.sqrt(cells)))))
    if fits < model_limit:
        log.warning("the model reads up to %d word pieces, but one input's attention maps would take %.1f GB: "
                    "texts are read in windows of %d (--max-length sets another)", model_limit,
                    layers * heads * model_limit ** 2 * 2 / 1e9, fits)
    return min(model_limit, fits)




def attention_spans(cells: Sequence[int], chunk_size: int, layers: int, heads: int) -> list[list[int]]:
    """Pass 2's chunks: at most chunk_size examples and CHUNK_ATTENTION_MB of attention maps (layers x heads x
    cells float16 each; cells: tokens^2 summed over an example's windows), so a run of long texts is split and
    memory does not depend on the longest texts. Cut from the cells alone (in example order), so examples
    added at the end leave earlier chunks, and their cache entries, as they were."""
    spans: list[list[int]] = []
    current: list[int] = []
    held = 0
    for i, example_cells in enumerate(cells):
        cost = layers * heads * int(example_cells) * 2
        if current and (len(current) >= chunk_size or held + cost > CHUNK_ATTENTION_MB * 1e6):
            spans.append(current)
            current, held = [], 0
        current.append(i)
        held += cost
    if current:
        spans.append(current)
    return spans


def _base_key(adapter: ModelAdapter, ccfg: ComputeConfig, max_length: int) -> dict[str, Any]:
    """What every cached entry depends on: the weights, the tokenizer, the code that computes, and the settings
    every method reads (each method's own settings are added to its part's key)."""
    tokenizer = hashlib.sha256(adapter.tokenizer.backend_tokenizer.to_str().encode()).hexdigest()
    return {"schema": SCHEMA_VERSION, "weights": adapter.details.weights_sha256 or adapter.name,
            "revision": adapter.details.revision, "architecture": adapter.details.architecture,
            "tokenizer": tokenizer, "max_length": max_length, "device": str(adapter.device),
            "torch": torch.__version__, "code": code_fingerprint(),
            "settings": {k: getattr(ccfg, k) for k in ("batch_tokens", "seed", "unk_threshold", "long_inputs",
                                                       "window_stride")}}


def code_fingerprint() -> str:
    """sha256 of reportgen's computing code (everything but render/): a changed method or pipeline never
    reuses what an older version computed."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "render" not in path.relative_to(root).parts:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _probe_key(probe: Any) -> Optional[str]:
    if probe is None:
        return None
    digest = hashlib.sha256()
    for name, tensor in sorted(probe.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


FEATURE_ARRAYS = ("pooled", "unk_fraction", "cells", "windows")


def _feature_arrays(data: bytes, n: int, classes: int) -> dict[str, np.ndarray]:
    """A cached features entry, checked: the arrays pass 1 writes, numeric, one row per example of the chunk."""
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        arrays = {name: loaded[name] for name in loaded.files}
    expected = {*FEATURE_ARRAYS, *(("logits",) if classes else ())}
    if set(arrays) != expected or any(a.dtype.kind not in "fiu" or len(a) != n for a in arrays.values()):
        raise ValueError("unexpected arrays")
    if classes and arrays["logits"].shape != (n, classes):
        raise ValueError("logits of another shape")
    return arrays


def _check_finite(cfg: BuildConfig, examples: Sequence[Example], features: dict[str, np.ndarray], model: str) -> None:
    """A model can be finite on the load check's sentence and not on every text: NaN logits would be a NaN on
    every page that reads them, so the build stops at the first such example, before explaining any."""
    for name in ("logits", "pooled"):
        if name in features:
            bad = np.flatnonzero(~np.isfinite(features[name]).all(axis=1))
            if len(bad):
                ex = examples[int(bad[0])]
                raise ModelLoadError(f"{cfg.examples}:{ex.line}: the model {model!r} gives NaN or infinite "
                                     f"{'logits' if name == 'logits' else 'features'} for example {ex.id!r} "
                                     f"({len(bad)} examples in all); its weights or its numerics are broken")


def _attention_map(data: bytes) -> bytes:
    """A cached attention entry, checked: one float16 array of layers x heads x tokens x tokens."""
    array = np.load(io.BytesIO(data), allow_pickle=False)
    if array.dtype != np.float16 or array.ndim != 4 or array.shape[-1] != array.shape[-2]:
        raise ValueError("not an attention map")
    return data


def _features(adapter, examples, spans, ccfg, max_length, cache, base_key, progress) -> dict[str, np.ndarray]:
    """Pass 1, chunk by chunk (cached): the probe's features, the head's logits and each text's [UNK] share."""
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    classes = len(adapter.labels) if adapter.head.own else 0
    bar = progress("Forward pass (predictions and features)", len(examples))
    with settled_heap():
        for span in spans:
            key = key_of({**base_key, "kind": "features", "texts": [[examples[i].text, examples[i].text_pair]
                                                                     for i in span]})
            arrays = cache.get("features", key, parse=partial(_feature_arrays, n=len(span), classes=classes))
            if arrays is None:
                documents = encode_documents(adapter.tokenizer, [examples[i] for i in span], max_length,
                                             ccfg.long_inputs, ccfg.window_stride)
                rows, owner = window_rows(documents)
                pooled = np.zeros((len(rows), adapter.details.hidden_size), dtype=np.float32)
                logits = np.zeros((len(rows), classes), dtype=np.float32)
                for batch in token_batches([enc.length for enc in rows], ccfg.batch_tokens):
                    ids, mask, types = padded_batch(rows, batch, adapter.device)
                    out = adapter.forward(ids, mask, types, attentions=False)
                    pooled[batch] = out.pooled.float().cpu().numpy()
                    if adapter.head.own:
                        logits[batch] = out.logits.float().cpu().numpy()
                arrays = {"pooled": mean_over_windows(pooled, owner, len(span)),
                          "unk_fraction": np.array([d.whole.unk_fraction for d in documents], dtype=np.float64),
                          # attention cells a chunk holds for the example: the sum over its windows
                          "cells": np.array([sum(w.length ** 2 for w in d.windows) for d in documents],
                                            dtype=np.int64),
                          "windows": np.array([len(d.windows) for d in documents], dtype=np.int64)}
                if adapter.head.own:
                    arrays["logits"] = mean_over_windows(logits, owner, len(span))
                buffer = io.BytesIO()
                np.savez(buffer, **arrays)
                cache.put("features", key, buffer.getvalue())
            for name, values in arrays.items():
                parts[name].append(values)
            release_memory()
            bar.update(len(span))
    bar.close()
    return {name: np.concatenate(values) for name, values in parts.items()}


def _sanity(adapter, methods, examples, chosen, kept, targets, target_logits, groups, max_length, ccfg,
            progress) -> Optional[dict[str, Any]]:
    encoded = encode_examples(adapter.tokenizer, [examples[i] for i in chosen], max_length)
    shared = shared_forward(adapter, encoded, ccfg, quiet)
    original = {m.name: [np.asarray(kept[i].methods[m.name].tokens, dtype=np.float32) for i in chosen]
                for m in methods}
    sub_targets = [targets[i] for i in chosen]
    template = MethodContext(adapter, encoded, sub_targets, [target_logits[i] for i in chosen], shared.attentions,
                             ccfg, progress)
    return sanity_check(adapter, methods, encoded, list(range(len(chosen))), sub_targets, original, template,
                        progress, restricted(groups, chosen))


def _cost(adapter, methods, examples, chosen, targets, target_logits, groups, max_length, ccfg, cache, key,
          progress):
    encoded = encode_examples(adapter.tokenizer, [examples[i] for i in chosen], max_length)
    attentions = shared_forward(adapter, encoded, ccfg, quiet).attentions if encoded else []
    return counted_costs(adapter, methods, encoded, [targets[i] for i in chosen], [target_logits[i] for i in chosen],
                         attentions, restricted(groups, chosen), ccfg, cache, key, progress)


def _global(adapter, examples, sample, kept, labels, groups, max_length, ccfg, progress, aggregate, n):
    encoded = encode_examples(adapter.tokenizer, [examples[i] for i in sample], max_length)
    shared = shared_forward(adapter, encoded, ccfg, progress)
    return analyse_model(adapter, encoded, [kept[i] for i in sample], shared, labels, ccfg, progress,
                         restricted(groups, sample), aggregate, n)


def _page_attention(adapter, examples, slugs, pages, max_length, ccfg, folder: Path, progress, cache,
                    base_key, windows: Sequence[int]) -> AttentionFiles:
    """float16 attention maps of the paged examples only (each window of a long text in its own file), written
    as they are computed; each map is cached (a rebuild that adds examples pages mostly the same ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    bar = progress("Attention maps of the paged examples", len(pages))

    def key(i: int, k: int) -> str:
        window = {"window": k} if k else {}  # window 0 keeps the one-window key
        return key_of({**base_key, "kind": "attention", "text": [examples[i].text, examples[i].text_pair], **window})

    todo = []
    for i in pages:
        cached = [cache.get("attention", key(i, k), parse=_attention_map) for k in range(int(windows[i]))]
        if any(data is None for data in cached):
            todo.append(i)
            continue
        for k, data in enumerate(cached):
            (folder / window_file(slugs[i], k)).write_bytes(data)
        bar.update(1)
    for start in range(0, len(todo), ccfg.chunk_size):
        part = todo[start : start + ccfg.chunk_size]
        documents = encode_documents(adapter.tokenizer, [examples[i] for i in part], max_length, ccfg.long_inputs,
                                     ccfg.window_stride)
        maps = iter(shared_forward(adapter, window_rows(documents)[0], ccfg, quiet).attentions)
        for i, doc in zip(part, documents):
            for k in range(len(doc.windows)):  # the rows are each document's windows, in order
                buffer = io.BytesIO()
                np.save(buffer, next(maps), allow_pickle=False)
                (folder / window_file(slugs[i], k)).write_bytes(buffer.getvalue())
                cache.put("attention", key(i, k), buffer.getvalue())
        bar.update(len(part))
    bar.close()
    return AttentionFiles(folder, [slugs[i] for i in pages])


def _held_out_logits(adapter: ModelAdapter, groups: Sequence[ProbeGroup], features: dict) -> np.ndarray:
    if adapter.head.own:
        return features["logits"]
    return group_logits(groups, features["pooled"], len(adapter.labels), adapter.device)


def _resolve_labels(cfg: BuildConfig, examples: Sequence[Example], adapter: ModelAdapter,
                    probe_train: Optional[tuple[Sequence[Example], str]]) -> list[str]:
    if adapter.head.own:
        names = head_labels(adapter.labels, cfg.label_map, cfg.labels)
        seen = sorted({ex.label for ex in examples if ex.label is not None} - set(names))
        example = ",".join(f"{old}={new}" for old, new in zip(adapter.labels, seen or names))
        renamed = " (after --label-map/--labels)" if cfg.label_map or cfg.labels else ""
        check_labels(cfg.examples, examples, names, f"the model {adapter.name!r}{renamed} (config.id2label)",
                     "If these are the same classes under other names, rename the model's: --label-map "
                     f"{example} (or --labels with every name in the model's order); otherwise fix the examples' "
                     "labels or choose the model trained for them")
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
    if len(seen) > MAX_CLASSES:
        raise InputError(f"{cfg.examples}: the examples have {len(seen):,} different labels; reportgen explains "
                         f"classifiers of at most {MAX_CLASSES:,} classes (its per-class tables grow with the square)")
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


def _reuse_probes(source: ProbeSource, labels: Sequence[str], slugs: Sequence[str]) -> CrossFit:
    if list(labels) != source.labels:
        raise ConfigError(f"--probe-from {source.name}: its probes predict {', '.join(source.labels)}; these examples "
                          f"give the classes {', '.join(labels)} (pass --labels in the report's order, or fit anew)")
    fit = reused_fit(source.probe, source.name, slugs)
    log.info("probes reused from %s: %d of %d examples are new to them", source.name, fit.n_new, len(slugs))
    return fit


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
    counts = Counter(examples[i].label for i, ok in enumerate(usable) if ok and examples[i].label is not None)
    if max(counts.values()) < 2:
        # Held out, an example of a class seen once has no other example of its class to learn from.
        raise InputError(f"{cfg.examples}: cross-fitting needs at least 2 readable labelled examples of some class "
                         f"(each of the {len(counts)} classes has 1), so that an example can be held out and its class "
                         "still learnt; add examples or pass --probe-train FILE")
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


def _record(
    ex: Example, doc: Document, slug: str, labels: list[str], probs: np.ndarray, predicted: int,
    target: int, target_source: str, attention: list[np.ndarray], cfg: ComputeConfig, source: str,
) -> dict[str, Any]:
    """An example's record without its scores (ExampleResult's fields but methods and metrics). A text read in
    windows is recorded whole (every piece once); "windows" says which pieces and words each window read."""
    enc = doc.whole
    masses = [special_token_mass(maps, np.array(w.special_mask)) for maps, w in zip(attention, doc.windows)]
    text, text_pair, excerpt = _excerpt(ex, enc, source)
    record = dict(
        id=ex.id, slug=slug, line=ex.line, text=text, text_pair=text_pair, label=ex.label, note=ex.note,
        rationale=_clipped(ex.rationale, len(text)), rationale_pair=_clipped(ex.rationale_pair, len(text_pair or "")),
        excerpt=excerpt,
        tokens=enc.tokens, offsets=[list(o) for o in enc.offsets], segments=enc.segments,
        word_index=enc.word_index,
        words=[{"text": w.text, "start": w.start, "end": w.end, "segment": w.segment} for w in enc.words],
        unk_fraction=enc.unk_fraction, unreadable=enc.unk_fraction >= cfg.unk_threshold,
        truncated=enc.truncated, probabilities=[float(p) for p in probs], predicted=labels[predicted],
        target=labels[target], target_source=target_source,
        attention={"file": f"data/attention/{slug}.npy", "shape": list(attention[0].shape),
                   "special_mass": [float(v) for v in np.mean(masses, axis=0)] if len(masses) > 1 else masses[0]},
    )
    if doc.windowed:
        record["windows"] = [_window_entry(slug, k, mapping, w, maps.shape)
                             for k, (mapping, w, maps) in enumerate(zip(doc.to_whole, doc.windows, attention))]
    return record


def _window_entry(slug: str, k: int, mapping: list[int], window: EncodedExample, shape: tuple) -> dict[str, Any]:
    inner = [t for t, s in zip(mapping, window.segments) if s >= 0]
    return {"tokens": [inner[0], inner[-1] + 1], "length": window.length,
            "chars": [window.words[0].start, window.words[-1].end],
            "file": f"data/attention/{window_file(slug, k)}", "shape": list(shape)}


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


def _model_summary(adapter: ModelAdapter, probe: Optional[ProbeSummary], window: int) -> ModelSummary:
    return ModelSummary(
        name=adapter.name, loaded_from=adapter.loaded_from, head_kind=adapter.head.kind, device=str(adapter.device),
        window=window, attention_reach=adapter.architecture.attention if adapter.architecture else "full",
        probe=probe, **asdict(adapter.details))


def _data_summary(cfg: BuildConfig, examples: Sequence[Example], readable: Sequence[bool]) -> DataSummary:
    counts = Counter(ex.label for ex in examples if ex.label is not None)
    return DataSummary(
        n_unreadable=len(readable) - sum(readable),
        file=Path(cfg.examples).name,
        n_examples=len(examples),
        n_labelled=sum(counts.values()),
        label_counts=dict(sorted(counts.items())),
        n_pairs=sum(1 for ex in examples if ex.text_pair is not None),
        n_with_rationale=sum(1 for ex in examples if ex.rationale or ex.rationale_pair),
        n_with_note=sum(1 for ex in examples if ex.note),
    )
