"""Pass 2 on one chunk of examples, cached in parts: each example's record without scores ("records"), and
each method's scores with that method's metric values ("method"), so that changing one method's setting
recomputes that method alone, and a chunk whose parts are all cached needs no model at all.

Every part is stored as rounded JSON and the chunk is always assembled from parsed parts, so a chunk built
from the cache and one computed now are the same bytes."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from reportgen.bundle import ExampleResult
from reportgen.bundle.reasons import Reason
from reportgen.bundle.records import SCHEMA_VERSION, dumps
from reportgen.bundle.store import chunk_bytes
from reportgen.bundle.typed import plain
from reportgen.compute.cache import ChunkCache, key_of
from reportgen.compute.encode import encode_documents, window_rows
from reportgen.compute.forward import shared_forward
from reportgen.compute.methods import MethodContext, MethodOutput
from reportgen.compute.metrics import MetricContext
from reportgen.compute.windows import merged_info, merged_metric, merged_scores
from reportgen.compute.words import words_from_tokens
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup, group_logits, restricted, softmax
from reportgen.progress import quiet
from reportgen.types import Example


@dataclass
class ChunkExplainer:
    """Everything the chunks of one build share; record(...) builds one example's record without scores."""

    adapter: ModelAdapter
    methods: Sequence[Any]
    metrics: Sequence[Any]
    groups: Sequence[ProbeGroup]
    examples: Sequence[Example]
    slugs: Sequence[str]
    targets: Sequence[int]
    target_logits: Sequence[float]
    probabilities: np.ndarray
    ccfg: ComputeConfig
    max_length: int
    cache: ChunkCache
    key: dict[str, Any]  # what every part depends on (weights, tokenizer, code, shared settings)
    probe_keys: Sequence[Optional[str]]
    record: Any  # (i, document, attention maps of its windows) -> dict: ExampleResult's fields but methods, metrics
    # The examples the costly methods run on beside a one-pass lead (compute/plan.py); None: every example.
    costly_examples: Optional[frozenset[int]] = None
    seconds: Counter = field(default_factory=Counter)
    computed: Counter = field(default_factory=Counter)  # method -> examples it ran on in this build (per second)

    def __post_init__(self) -> None:
        self.group_of = {i: g for g, group in enumerate(self.groups) for i in group.indices}

    def chunk(self, span: Sequence[int]) -> bytes:
        """The chunk's bytes, its missing parts computed here and cached (the local engine)."""
        keys = self.keys(span)
        whole = self.whole(keys)
        if whole is not None:
            return whole
        parts = self.read(keys)
        todo = self.missing(parts)
        if todo is not None:
            self.store(keys, parts, self.compute(span, *todo))
        return self.assembled(keys, parts)

    def whole(self, keys: dict[str, str]) -> Optional[bytes]:
        """The chunk as assembled before from these very parts, or None. Assembling parses every part and writes
        every record again, the largest cost of a rebuild from the cache; the assembled bytes are the same."""
        return self.cache.get("chunk", _whole_key(keys), counts=len(keys), parse=_whole_chunk)

    def read(self, keys: dict[str, str]) -> dict[str, Optional[bytes]]:
        return {name: self.cache.get(_kind(name), key, parse=_records if name == "records" else _method_part)
                for name, key in keys.items()}

    def uncached(self, span: Sequence[int]) -> Optional[tuple[list[str], bool]]:
        """missing() from which entries exist, without reading them (a damaged one is found when read)."""
        keys = self.keys(span)
        if self.cache.has("chunk", _whole_key(keys)):
            return None
        return self.missing({name: b"" if self.cache.has(_kind(name), key) else None for name, key in keys.items()})

    def common_key(self, span: Sequence[int]) -> dict[str, Any]:
        """What everything computed on these examples depends on: the build's key, the examples, their probes."""
        return {**self.key, "examples": [_example_key(self.examples[i], self.slugs[i]) for i in span],
                "probes": [self.probe_keys[self.group_of[i]] for i in span]}

    def keys(self, span: Sequence[int]) -> dict[str, str]:
        common = self.common_key(span)
        keys = {"records": key_of({**common, "kind": "records"})}
        metric_key = [m.name for m in self.metrics]
        for method in self.methods:
            # Which of these examples a sampled method ran on is part of what its scores are (absent when it ran
            # on every example, so such a key is what it was before sampling existed).
            sample = {"sample": [i in self.costly_examples for i in span]} if self.sampled(method) else {}
            keys[method.name] = key_of({**common, "kind": "method", "method": method.name, "metrics": metric_key,
                                        **method.key(self.ccfg), **sample})
        return keys

    def sampled(self, method: Any) -> bool:
        """Whether this method runs on the costly sample only (a costly method beside a one-pass lead)."""
        return method.costly and self.costly_examples is not None

    def missing(self, parts: dict[str, Optional[bytes]]) -> Optional[tuple[list[str], bool]]:
        """(methods to compute, whether the records are needed), or None when every part is cached."""
        methods = [m.name for m in self.methods if parts[m.name] is None]
        if parts["records"] is None or methods:
            return methods, parts["records"] is None
        return None

    def store(self, keys: dict[str, str], parts: dict[str, Optional[bytes]], computed: dict[str, bytes]) -> None:
        for name, data in computed.items():
            self.cache.put(_kind(name), keys[name], data)
            parts[name] = data

    def assembled(self, keys: dict[str, str], parts: dict[str, Optional[bytes]]) -> bytes:
        """assemble(), kept in the cache under the parts' keys for the next build."""
        data = self.assemble(parts)
        self.cache.put("chunk", _whole_key(keys), data)
        return data

    def assemble(self, parts: dict[str, Optional[bytes]]) -> bytes:
        """The chunk file's bytes, always from the parts' stored bytes: cached or computed now, the same."""
        records = json.loads(parts["records"])  # type: ignore[arg-type]
        scores = {m.name: json.loads(parts[m.name]) for m in self.methods}  # type: ignore[arg-type]
        results = [ExampleResult.from_json({**record, "methods": {name: s["outputs"][k] for name, s in scores.items()},
                                            "metrics": {name: s["metrics"][k] for name, s in scores.items()}})
                   for k, record in enumerate(records)]
        curves: dict[str, dict[str, Any]] = {}
        for name, s in scores.items():
            for metric, curve in s["curves"].items():
                curves.setdefault(metric, {})[name] = curve
        return chunk_bytes(results, curves)

    def compute(self, span: Sequence[int], method_names: Sequence[str], need_records: bool) -> dict[str, bytes]:
        """The named parts of one chunk, computed with this explainer's model (in this process or a worker)."""
        missing = [m for m in self.methods if m.name in method_names]
        return self._compute(span, missing, need_records)

    def _compute(self, span: Sequence[int], missing: Sequence[Any], need_records: bool) -> dict[str, bytes]:
        """Methods and metrics run on model inputs (rows): an example's one window, or each window of a long
        text, explained for the example's target; compute/windows.py merges the windows back."""
        documents = encode_documents(self.adapter.tokenizer, [self.examples[i] for i in span], self.max_length,
                                     self.ccfg.long_inputs, self.ccfg.window_stride)
        rows, owner = window_rows(documents)
        windowed = any(doc.windowed for doc in documents)
        wants_attention = need_records or any(m.family == "attention" for m in missing)
        shared = shared_forward(self.adapter, rows, self.ccfg, quiet) if wants_attention or windowed else None
        attentions = shared.attentions if wants_attention else [np.empty(0)] * len(rows)
        out: dict[str, bytes] = {}
        if need_records:
            per_doc = _by_owner(attentions, owner, len(span))
            out["records"] = dumps([self.record(i, doc, maps) for i, doc, maps
                                    in zip(span, documents, per_doc)]).encode("utf-8")
        groups = _row_groups(restricted(self.groups, span), owner)
        at = [self.targets[span[o]] for o in owner]
        logits_at, row_probabilities = self._row_predictions(documents, owner, span, shared, groups, at)
        for method in missing:
            # A context per method and group: what a method computes never depends on which others ran (so
            # a part computed alone is the same bytes as one computed beside every other method).
            started = time.perf_counter()
            outputs: list[Any] = [None] * len(rows)
            ran: set[int] = set()  # the examples whose rows this method explained here
            for group in groups:
                if self.sampled(method):
                    # (a sampled method's rows outside the sample are filled in here, without running it)
                    group = self._in_sample(group, rows, owner, span, outputs)
                    if not group.indices:
                        continue
                ctx = MethodContext(self.adapter, _pick(rows, group), _pick(at, group), _pick(logits_at, group),
                                    _pick(attentions, group), self.ccfg, quiet)
                with self.adapter.using(group.probe):
                    for k, result in zip(group.indices, method.attribute(ctx)):
                        outputs[k] = result
                ran.update(owner[k] for k in group.indices)
            self.seconds[method.name] += time.perf_counter() - started
            self.computed[method.name] += len(ran)
            out[method.name] = self._method_part(span, documents, rows, owner, groups, at, logits_at,
                                                 row_probabilities, method.name, outputs)
        return out

    def _in_sample(self, group: ProbeGroup, rows, owner, span, outputs: list[Any]) -> ProbeGroup:
        """The group's rows whose example is in the costly sample; every other row's output is set here: no
        scores, and why (metrics then score nothing there, as for any skipped example)."""
        members = []
        for k in group.indices:
            if span[owner[k]] in self.costly_examples:  # type: ignore[operator]
                members.append(k)
            else:
                outputs[k] = MethodOutput(np.full(rows[k].length, np.nan, dtype=np.float32),
                                          {"skipped": plain(Reason("outside_costly_sample"))})
        return ProbeGroup(group.probe, members, group.fold)

    def _row_predictions(self, documents, owner, span, shared, groups, at) -> tuple[list[float], np.ndarray]:
        """f(x) for the target, and the class probabilities, of each row: the example's own (from pass 1) when
        it is one window, else the window's, from this chunk's forward pass (through the example's probe for a
        bare encoder)."""
        logits = [self.target_logits[span[o]] for o in owner]
        probabilities = self.probabilities[[span[o] for o in owner]]
        windowed = [row for row, o in enumerate(owner) if documents[o].windowed]
        if not windowed:
            return logits, probabilities
        rows = shared.logits if shared.logits is not None else \
            group_logits(groups, shared.pooled, len(self.adapter.labels), self.adapter.device)
        probabilities = probabilities.copy()
        probabilities[windowed] = softmax(rows[windowed])
        for row in windowed:
            logits[row] = float(rows[row, at[row]])
        return logits, probabilities

    def _method_part(self, span, documents, rows, owner, groups, at, logits_at, probabilities, name,
                     outputs) -> bytes:
        scores = [o.token_scores for o in outputs]
        # A method may skip an example (attention flow on a long input, a sampled method outside its sample): its
        # map is NaN, and no metric sees it.
        skipped = [not np.isfinite(s).all() for s in scores]
        row_values: dict[str, list] = {}
        curves: dict[str, np.ndarray] = {}
        # Metrics run on the rows with scores only: a skipped row (a sampled method outside its sample, attention
        # flow past its limit) has no value and adds nothing to the summed curves.
        scored_groups = [ProbeGroup(g.probe, [k for k in g.indices if not skipped[k]], g.fold) for g in groups]
        for metric in self.metrics:
            row_values[metric.name] = [None] * len(rows)
            for group in scored_groups:
                if not group.indices:
                    continue
                ctx = MetricContext(self.adapter, [self.examples[span[owner[k]]] for k in group.indices],
                                    _pick(rows, group), _pick(at, group), _pick(logits_at, group),
                                    probabilities[group.indices],
                                    {name: _pick(scores, group)}, self.ccfg, quiet)
                with self.adapter.using(group.probe):
                    per_row = metric.compute(ctx)[name]
                for k, v in zip(group.indices, per_row):
                    row_values[metric.name][k] = v
                curve = (getattr(metric, "curves", None) or {}).get(name)
                if curve is not None:  # summed over examples (a long text: over its windows, as one example)
                    weight = len({owner[k] for k in group.indices})
                    curves[metric.name] = curves.get(metric.name, 0) + np.asarray(curve) * weight
        by_doc = _by_owner(list(range(len(rows))), owner, len(span))
        merged = []
        for doc, members in zip(documents, by_doc):
            token_scores = merged_scores(doc, [outputs[k].token_scores for k in members])
            merged.append({"tokens": [float(v) for v in token_scores],
                           "words": words_from_tokens(token_scores, doc.whole.word_index, len(doc.whole.words)),
                           "info": merged_info([outputs[k].info for k in members])})
        payload = {
            "outputs": merged,
            "metrics": [{metric: merged_metric([row_values[metric][k] for k in members]) for metric in row_values}
                        for members in by_doc],
            "curves": {metric: [float(v) for v in total] for metric, total in curves.items()},
        }
        return dumps(payload).encode("utf-8")


def _by_owner(values: Sequence[Any], owner: Sequence[int], n: int) -> list[list[Any]]:
    out: list[list[Any]] = [[] for _ in range(n)]
    for value, o in zip(values, owner):
        out[o].append(value)
    return out


def _row_groups(groups: Sequence[ProbeGroup], owner: Sequence[int]) -> list[ProbeGroup]:
    """The probe groups of a chunk's examples, over their rows (every window goes through its example's probe)."""
    group_of = {i: g for g, group in enumerate(groups) for i in group.indices}
    rows: list[list[int]] = [[] for _ in groups]
    for row, o in enumerate(owner):
        rows[group_of[o]].append(row)
    if list(owner) == list(range(len(owner))):
        return list(groups)  # one row per example: the groups as they are
    return [ProbeGroup(group.probe, members, group.fold) for group, members in zip(groups, rows)]


# What a cached entry must hold before it is used: a cache can be tampered with (valid checksums included), and a
# wrong shape found here costs a recomputation, found later a traceback.
def _records(data: bytes) -> bytes:
    if not isinstance(json.loads(data), list):
        raise ValueError("records are a list")
    return data


def _method_part(data: bytes) -> bytes:
    part = json.loads(data)
    if not isinstance(part, dict) or not {"outputs", "metrics", "curves"} <= set(part):
        raise ValueError("a method's part has outputs, metrics and curves")
    return data


def _whole_chunk(data: bytes) -> bytes:
    payload = json.loads(data)
    if payload.get("schema_version") != SCHEMA_VERSION or not isinstance(payload.get("examples"), list):
        raise ValueError("an assembled chunk of another schema")
    return data


def _whole_key(keys: dict[str, str]) -> str:
    return key_of({"kind": "chunk", "parts": keys})


def _kind(part: str) -> str:
    return "records" if part == "records" else "method"


def _pick(values: Sequence[Any], group: ProbeGroup) -> list[Any]:
    return [values[i] for i in group.indices]


def _example_key(ex: Example, slug: str) -> list[Any]:
    return [slug, ex.id, ex.line, ex.text, ex.text_pair, ex.label, ex.note, ex.rationale, ex.rationale_pair]

