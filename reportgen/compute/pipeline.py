"""compute_bundle(): the examples stream through in chunks, each written to the bundle as soon as it is done.

Pass 1 (per chunk, cached): predictions of a model's own head and the probe's features, no attention kept.
Then the probes are fitted (they need every example's features). Pass 2 (per chunk, cached): attention,
every method and metric, the per-example records; each chunk is added to the data-set aggregates and
dropped. Analyses that need many examples at once (head statistics and importance, layer probes) run on a
seeded sample (--global-sample); attention maps are kept only for the examples that get a full page."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from reportgen.bundle import SCHEMA_VERSION, ExampleResult, ReportBundle
from reportgen.bundle.attention_maps import decode_maps, encode_maps
from reportgen.bundle.declarations import MethodDecl, MetricDecl, lead_method
from reportgen.bundle.reasons import Reason
from reportgen.bundle.records import MethodScores
from reportgen.bundle.sections import ModelSummary, Provenance
from reportgen.bundle.store import (
    AttentionFiles,
    Chunk,
    ExampleStore,
    chunk_bytes,
    parse_chunk,
    window_file,
    write_chunk,
)
from reportgen.bundle.summary import Summary
from reportgen.bundle.typed import parse
from reportgen.bundle.vocabulary import PAGED_COSTLY
from reportgen.compute.aggregate import DatasetAggregate
from reportgen.compute.cache import ChunkCache, key_of
from reportgen.compute.chunks import ChunkExplainer
from reportgen.compute.cost import COST_EXAMPLES, counted_costs
from reportgen.compute.encode import (
    Document,
    check_window,
    encode_documents,
    encode_examples,
    window_rows,
)
from reportgen.compute.engines import EngineSettings, explained_chunks
from reportgen.compute.features import check_finite, check_readable, read_features
from reportgen.compute.findings import detect_findings
from reportgen.compute.forward import Progress, shared_forward
from reportgen.compute.global_analysis import analyse_model
from reportgen.compute.heads import fit_probes, held_out_logits, resolve_labels, reuse_probes, targets_of
from reportgen.compute.methods import METHODS, MethodContext
from reportgen.compute.metrics import METRICS
from reportgen.compute.pages import choose_pages
from reportgen.compute.plan import plan_sample, plan_summary
from reportgen.compute.records import data_section, model_section, record_of
from reportgen.compute.sanity import sanity_check
from reportgen.compute.verdict import from_summary, sampled_verdict
from reportgen.config import BuildConfig, ComputeConfig, bundle_config
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import (
    CrossFit,
    ProbeGroup,
    ProbeSource,
    held_out_summary,
    restricted,
    softmax,
)
from reportgen.progress import quiet, release_memory, settled_heap
from reportgen.safe_files import read_regular
from reportgen.slugs import unique_slugs
from reportgen.types import Example, NarrativeSection

log = logging.getLogger(__name__)


def compute_bundle(
    cfg: BuildConfig,
    examples: Sequence[Example],
    adapter: ModelAdapter,
    narrative: Sequence[NarrativeSection],
    provenance: Provenance,
    progress: Progress,
    cache: ChunkCache,
    work: Path,  # a private folder for this build's chunk files and attention maps, removed by the caller
    probe_train: Optional[tuple[Sequence[Example], str]] = None,  # (examples, file name) of --probe-train
    probe_from: Optional[ProbeSource] = None,  # an earlier report's probes (--probe-from)
    not_applicable: Optional[dict[str, Reason]] = None,  # method -> why it cannot explain this model (left out)
) -> ReportBundle:
    run = _prepare(cfg, examples, adapter, cache, progress, probe_train)
    heads = _predict(run, probe_train, probe_from)
    explained = _explain(run, heads, work)
    summary, model_summary = _summarise(run, heads, explained, not_applicable or {})
    typical = summary.get("global_analysis", {}).get("heads", {}).get("typical_example")
    priority = choose_pages(explained.aggregate, summary["findings"], cfg.pages, cfg.compute.seed,
                            run.adapter.num_layers, run.adapter.details.heads, [typical] if typical else [])
    pages = sorted(priority)
    chunks, summary["plan"] = _costly_pages(run, explained, priority, work)
    attention = _page_attention(run.adapter, examples, run.slugs, pages, run.max_length, cfg.compute,
                                work / "attention", progress, cache, run.base_key, run.features["windows"])
    return ReportBundle(
        schema_version=SCHEMA_VERSION,
        title=cfg.title,  # None: the pages give the default title, in their language
        labels=run.labels,
        model=model_summary,
        data=data_section(cfg, examples, run.readable),
        # Where the site is written is not part of the results: the same inputs give the same bytes anywhere.
        config=bundle_config(cfg),
        methods=run.method_meta,
        metrics=run.metric_meta,
        summary=parse(Summary, summary, "summary"),  # every figure typed, checked once here
        narrative=list(narrative),
        provenance=provenance,
        pages=[run.slugs[i] for i in pages],
        examples=ExampleStore(chunks),
        attention=attention,
    )


@dataclass
class Run:
    """What every stage reads: the build's settings, its examples and model, and what pass 1 found."""

    cfg: BuildConfig
    examples: Sequence[Example]
    adapter: ModelAdapter  # its head predicts the report's classes (labels)
    methods: list[Any]
    metrics: list[Any]
    cache: ChunkCache
    progress: Progress
    max_length: int  # word pieces per model input
    base_key: dict[str, Any]  # what every cached entry depends on
    labels: list[str]
    slugs: list[str]
    features: dict[str, np.ndarray]  # pass 1: pooled, logits (own head), unk_fraction, cells, windows
    readable: list[bool]

    @property
    def ccfg(self) -> ComputeConfig:
        return self.cfg.compute

    @property
    def method_meta(self) -> list[MethodDecl]:
        return [m.declaration() for m in self.methods]

    @property
    def metric_meta(self) -> list[MetricDecl]:
        return [m.declaration() for m in self.metrics]


@dataclass
class Heads:
    """Every example's held-out prediction and the class its explanations are for."""

    fit: Optional[CrossFit]  # the probes (a bare encoder), None for the model's own head
    groups: list[ProbeGroup]  # which probe predicts which examples
    probabilities: np.ndarray  # float[n, classes]
    predicted: np.ndarray  # int[n]
    targets: list[int]
    target_sources: list[str]
    target_logits: list[float]


@dataclass
class Explained:
    """Pass 2: the chunk files, the data-set aggregates and the records the later analyses need."""

    chunks: list[Chunk]
    spans: list[list[int]]  # each chunk's examples
    aggregate: DatasetAggregate
    kept: dict[int, ExampleResult]  # the global sample's and the sanity check's records
    curves: dict[str, dict[str, np.ndarray]]  # metric -> method -> mean curve over the examples it scored
    explainer: ChunkExplainer
    sample: list[int]  # the seeded sample of the global analyses
    single: list[bool]  # readable and read in one window: what the sanity check and the counted cost use
    sanity_wanted: list[int]  # the first --sanity of those
    verdict_wanted: list[int]  # the sampled verdict's examples (compute/verdict.py), read if the build needs them


def _prepare(cfg: BuildConfig, examples: Sequence[Example], adapter: ModelAdapter, cache: ChunkCache,
             progress: Progress, probe_train: Optional[tuple[Sequence[Example], str]]) -> Run:
    """The window and the classes (both said before any forward pass), then pass 1: features and predictions of
    a model's own head, chunk by chunk; stops when the model gives non-finite numbers or cannot read the texts."""
    ccfg = cfg.compute
    torch.manual_seed(ccfg.seed)
    max_length = input_window(ccfg.max_length, adapter.details.max_length, adapter.num_layers,
                              adapter.details.heads)
    check_window(adapter.tokenizer, max_length, ccfg.long_inputs, ccfg.window_stride)
    n = len(examples)
    spans = [list(range(start, min(start + ccfg.chunk_size, n))) for start in range(0, n, ccfg.chunk_size)]
    base_key = _base_key(adapter, ccfg, max_length)
    labels = resolve_labels(cfg, examples, adapter, probe_train)
    adapter = adapter.with_labels(labels)  # the probe's classes, or the head's after --label-map/--labels
    features = read_features(adapter, examples, spans, ccfg, max_length, cache, base_key, progress)
    check_finite(cfg, examples, features, adapter.name)
    readable = [bool(u < ccfg.unk_threshold) for u in features["unk_fraction"]]
    check_readable(cfg, examples, readable, adapter.name)
    return Run(cfg, examples, adapter, [METHODS.get(name)(ccfg.options.get(name)) for name in ccfg.methods],
               [METRICS.get(name)() for name in ccfg.metrics], cache, progress, max_length, base_key, labels,
               unique_slugs(ex.id for ex in examples), features, readable)


def _predict(run: Run, probe_train: Optional[tuple[Sequence[Example], str]],
             probe_from: Optional[ProbeSource]) -> Heads:
    """A bare encoder's probes (cross-fitted, fitted on --probe-train or reused), then every held-out prediction."""
    fit = None
    if not run.adapter.head.own:
        if probe_from is not None:
            fit = reuse_probes(probe_from, run.labels, run.slugs)
        else:
            fit = fit_probes(run.adapter, run.cfg, run.examples, run.features["pooled"], run.labels, run.readable,
                              run.max_length, run.progress, probe_train)
        groups = fit.groups
    else:
        groups = [ProbeGroup(None, list(range(len(run.examples))))]
    logits = held_out_logits(run.adapter, groups, run.features)
    probabilities = softmax(logits)
    predicted = probabilities.argmax(axis=1)
    targets, sources = targets_of(run.ccfg, run.examples, run.labels, predicted)
    return Heads(fit, groups, probabilities, predicted, targets, sources,
                 [float(logits[i, t]) for i, t in enumerate(targets)])


def _explain(run: Run, heads: Heads, work: Path) -> Explained:
    """Pass 2, chunk by chunk (cached, on the chosen engine): attention, every method and metric, the records;
    each chunk is written, added to the aggregates and dropped."""
    ccfg, examples, adapter, n = run.ccfg, run.examples, run.adapter, len(run.examples)
    # Each completeness method's own threshold: a resolved example's relative delta is at most this.
    thresholds = {m.name: m.convergence_threshold() for m in run.methods if m.completeness}
    aggregate = DatasetAggregate(run.labels, run.method_meta, thresholds)
    rng = random.Random(ccfg.seed)
    sample = sorted(rng.sample(range(n), ccfg.global_sample)) if n > ccfg.global_sample else list(range(n))
    # The sanity check and the counted cost compare or count one model input per example: examples read in
    # several windows are left to the others (the global analyses read their first window).
    single = [ok and windows == 1 for ok, windows in zip(run.readable, run.features["windows"])]
    sanity_wanted = [i for i, ok in enumerate(single) if ok][: ccfg.sanity_examples]
    # The verdict's sample is the costly methods' when they run on one: the lead and IG meet on the same examples.
    verdict_wanted, sampled = plan_sample(run.method_meta, ccfg.costly_sample, single, ccfg.seed)
    costly = frozenset(verdict_wanted) if sampled else None
    kept: dict[int, ExampleResult] = {}
    keep = set(sample if ccfg.global_analysis else []) | set(sanity_wanted) | set(verdict_wanted)
    curve_sums: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    scored: Counter[str] = Counter()  # method -> examples it scored: what its summed curves are divided by
    chunks: list[Chunk] = []
    source = Path(run.cfg.examples).name

    # The closure travels to Ray workers with the explainer: it holds plain values only (not run, whose model,
    # cache and progress bar are not for pickling).
    slugs, labels, probabilities, predicted = run.slugs, run.labels, heads.probabilities, heads.predicted
    targets, sources = heads.targets, heads.target_sources

    def record(i: int, doc: Document, attention: list[np.ndarray]) -> dict[str, Any]:
        return record_of(examples[i], doc, slugs[i], labels, probabilities[i], int(predicted[i]), targets[i],
                         sources[i], attention, ccfg, source)

    explainer = ChunkExplainer(
        adapter, run.methods, run.metrics, heads.groups, examples, run.slugs, heads.targets, heads.target_logits,
        heads.probabilities, ccfg, run.max_length, run.cache,
        {**run.base_key, "source": source, "target": ccfg.target, "labels": run.labels},
        [_probe_key(g.probe) for g in heads.groups], record, costly)
    bar = run.progress("Explaining (attention, methods, metrics)", n)
    spans = attention_spans(run.features["cells"], ccfg.chunk_size, adapter.num_layers, adapter.details.heads)
    engine = EngineSettings(run.cfg.engine, run.cfg.ray_address, run.cfg.workers, run.cfg.gpus_per_worker,
                            run.cfg.threads_per_worker, run.cfg.model, run.cfg.trust_remote_code)
    with settled_heap():
        for number, (span, data) in enumerate(zip(spans, explained_chunks(explainer, spans, engine))):
            path = work / "examples" / f"{number:05d}.json"
            sha = write_chunk(data, path)
            payload_results, sums = parse_chunk(data)
            for i, r in zip(span, payload_results):
                aggregate.add(r)
                scored.update(name for name, out in r.methods.items() if out.info.skipped is None)
                if i in keep:
                    kept[i] = r
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
                 explainer.computed[name] / seconds if seconds else 0.0)
    log.info("cache: %d entries reused, %d computed", run.cache.hits, run.cache.misses)
    curves = {metric: {method: total / max(scored[method], 1) for method, total in per.items()}
              for metric, per in curve_sums.items()}
    return Explained(chunks, spans, aggregate, kept, curves, explainer, sample, single, sanity_wanted,
                     verdict_wanted)


def _summarise(run: Run, heads: Heads, explained: Explained,
               not_applicable: dict[str, Reason]) -> tuple[dict[str, Any], ModelSummary]:
    """The data-set figures: the aggregates, the deletion curves, the sanity check, the counted cost, the global
    analyses and the findings drawn from all of them."""
    ccfg, n, aggregate = run.ccfg, len(run.examples), explained.aggregate
    summary = aggregate.summary()
    summary["curves"] = {metric: {method: [float(v) for v in mean] for method, mean in per.items()}
                         for metric, per in explained.curves.items()}
    summary["not_applicable"] = [{"name": name, "title": METHODS.get(name).title, "reason": reason}
                                 for name, reason in sorted(not_applicable.items())]
    sanity_wanted = explained.sanity_wanted
    summary["sanity"] = (_sanity(run.adapter, run.methods, run.examples, sanity_wanted, explained.kept, heads.targets,
                                 heads.target_logits, heads.groups, run.max_length, ccfg, run.progress)
                         if sanity_wanted else None)
    costed = [i for i, ok in enumerate(explained.single) if ok][:COST_EXAMPLES]
    summary["cost"] = _cost(run.adapter, run.methods, run.examples, costed, heads.targets, heads.target_logits,
                            heads.groups, run.max_length, ccfg, run.cache, explained.explainer.common_key(costed),
                            run.progress)
    if ccfg.global_analysis:
        summary["global_analysis"] = _global(run.adapter, run.examples, explained.sample, explained.kept, run.labels,
                                             heads.groups, run.max_length, ccfg, run.progress, aggregate, n)
    probe = None if heads.fit is None else held_out_summary(heads.fit, aggregate.records, run.slugs)
    model_summary = model_section(run.adapter, probe, run.max_length)
    summary["verdict"] = (from_summary(summary, run.method_meta, run.metric_meta)
                          or _verdict(run, heads, explained))
    summary["findings"] = detect_findings(aggregate, summary, run.method_meta, run.metric_meta, probe)
    return summary, model_summary


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


def _verdict(run: Run, heads: Heads, explained: Explained) -> Optional[dict[str, Any]]:
    lead = lead_method(run.method_meta)
    chosen = [i for i in explained.verdict_wanted if lead and explained.kept[i].methods.get(lead.name)]
    if lead is None or not chosen:
        return None
    encoded = encode_examples(run.adapter.tokenizer, [run.examples[i] for i in chosen], run.max_length)
    def scores(name: str) -> list[np.ndarray]:
        return [np.asarray(explained.kept[i].methods[name].tokens, dtype=np.float32) for i in chosen]

    # The costly methods beside a one-pass lead, where they scored every example of the sample (theirs).
    others = {m.name: scores(m.name) for m in run.method_meta if m.costly and not lead.costly
              and all(np.isfinite(s).all() for s in scores(m.name))}
    return sampled_verdict(run.adapter, lead.name, run.examples, encoded, chosen, scores(lead.name),
                           [heads.targets[i] for i in chosen], [heads.target_logits[i] for i in chosen],
                           heads.probabilities[chosen], restricted(heads.groups, chosen),
                           sum(explained.single), run.ccfg, run.progress, others)


def _global(adapter, examples, sample, kept, labels, groups, max_length, ccfg, progress, aggregate, n):
    encoded = encode_examples(adapter.tokenizer, [examples[i] for i in sample], max_length)
    shared = shared_forward(adapter, encoded, ccfg, progress)
    return analyse_model(adapter, encoded, [kept[i] for i in sample], shared, labels, ccfg, progress,
                         restricted(groups, sample), aggregate, n)


def _costly_pages(run: Run, explained: Explained, priority: Sequence[int],
                  work: Path) -> tuple[list[Chunk], Optional[dict[str, Any]]]:
    """The chunks with the costly methods added to the most needed paged examples outside their sample (at most
    PAGED_COSTLY, compute/plan.py), and the plan (None when every method ran on every example). Those scores are
    marked beyond_sample: they were computed for the page, after the data-set figures (which stay the sample's:
    pages are chosen for being unusual)."""
    explainer = explained.explainer
    if explainer.costly_examples is None:
        return explained.chunks, None
    extra = set([i for i in priority if i not in explainer.costly_examples][:PAGED_COSTLY])
    plan = plan_summary(run.method_meta, explained.verdict_wanted, len(extra), len(run.examples), run.ccfg.seed)
    log.info("plan: %s on every example; %s on a seeded sample of %d and %d more paged examples",
             ", ".join(plan["every"]), ", ".join(plan["sampled"]), plan["sample"], plan["paged"])
    if not extra:
        return explained.chunks, plan
    names = [m.name for m in run.methods if explainer.sampled(m)]
    paged = dataclasses.replace(explainer, costly_examples=explainer.costly_examples | extra)
    bar = run.progress("Costly methods on the paged examples", len(extra))
    chunks = list(explained.chunks)
    for number, span in enumerate(explained.spans):
        members = [i for i in span if i in extra]
        if not members:
            continue
        keys = {name: key for name, key in paged.keys(members).items() if name in names}
        parts = paged.read(keys)  # checked as pass 2's parts are: a damaged entry is computed again
        todo = [name for name, data in parts.items() if data is None]
        if todo:
            paged.store(keys, parts, paged.compute(members, todo, False))
        results, curve_sums = parse_chunk(read_regular(chunks[number].path, chunks[number].path.parent))
        position = {i: k for k, i in enumerate(span)}
        for name, data in parts.items():
            part = json.loads(data)
            for i, output, metrics in zip(members, part["outputs"], part["metrics"]):
                output["info"]["beyond_sample"] = True
                k = position[i]
                results[k] = dataclasses.replace(
                    results[k], methods={**results[k].methods, name: MethodScores.from_dict(output)},
                    metrics={**results[k].metrics, name: metrics})
        path = work / "examples" / f"{number:05d}.json"
        chunks[number] = dataclasses.replace(chunks[number], sha256=write_chunk(chunk_bytes(results, curve_sums), path))
        bar.update(len(members))
    bar.close()
    return chunks, plan


def _attention_map(data: bytes) -> bytes:
    """A cached attention entry, checked: the stored maps of layers x heads x tokens x tokens."""
    decode_maps(data)
    return data


def _page_attention(adapter, examples, slugs, pages, max_length, ccfg, folder: Path, progress, cache,
                    base_key, windows: Sequence[int]) -> AttentionFiles:
    """Attention maps of the paged examples only (each window of a long text in its own file), stored as the
    bundle keeps them (bundle/attention_maps.py) as they are computed; each is cached (a rebuild that adds examples
    pages mostly the same ones)."""
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
                stored = encode_maps(next(maps))
                (folder / window_file(slugs[i], k)).write_bytes(stored)
                cache.put("attention", key(i, k), stored)
        bar.update(len(part))
    bar.close()
    return AttentionFiles(folder, [slugs[i] for i in pages])


