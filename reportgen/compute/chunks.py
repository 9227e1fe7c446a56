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
from reportgen.bundle.records import dumps
from reportgen.bundle.store import chunk_bytes
from reportgen.compute.cache import ChunkCache, key_of
from reportgen.compute.encode import encode_examples
from reportgen.compute.forward import shared_forward
from reportgen.compute.methods import MethodContext
from reportgen.compute.metrics import MetricContext
from reportgen.compute.words import words_from_tokens
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup, restricted
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
    record: Any  # (i, encoded, attention) -> dict: the ExampleResult fields but methods and metrics
    seconds: Counter = field(default_factory=Counter)
    computed: int = 0  # examples whose methods ran in this build (for examples per second)

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
        return self.cache.get("chunk", _whole_key(keys), counts=len(keys))

    def read(self, keys: dict[str, str]) -> dict[str, Optional[bytes]]:
        return {name: self.cache.get(_kind(name), key) for name, key in keys.items()}

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
            keys[method.name] = key_of({**common, "kind": "method", "method": method.name, "metrics": metric_key,
                                        "settings": {s: getattr(self.ccfg, s) for s in method.settings}})
        return keys

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
        results = [ExampleResult(**record, methods={name: s["outputs"][k] for name, s in scores.items()},
                                 metrics={name: s["metrics"][k] for name, s in scores.items()})
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
        encoded = encode_examples(self.adapter.tokenizer, [self.examples[i] for i in span], self.max_length)
        wants_attention = need_records or any(m.family == "attention" for m in missing)
        attentions = shared_forward(self.adapter, encoded, self.ccfg, quiet).attentions if wants_attention else \
            [np.empty(0)] * len(span)
        out: dict[str, bytes] = {}
        if need_records:
            out["records"] = dumps([self.record(i, enc, attention) for i, enc, attention
                                    in zip(span, encoded, attentions)]).encode("utf-8")
        groups = restricted(self.groups, span)
        at = [self.targets[i] for i in span]
        logits_at = [self.target_logits[i] for i in span]
        for method in missing:
            # A context per method and group: what a method computes never depends on which others ran (so
            # a part computed alone is the same bytes as one computed beside every other method).
            started = time.perf_counter()
            outputs: list[Any] = [None] * len(span)
            for group in groups:
                ctx = MethodContext(self.adapter, _pick(encoded, group), _pick(at, group), _pick(logits_at, group),
                                    _pick(attentions, group), self.ccfg, quiet)
                with self.adapter.using(group.probe):
                    for k, result in zip(group.indices, method.attribute(ctx)):
                        outputs[k] = result
            self.seconds[method.name] += time.perf_counter() - started
            out[method.name] = self._method_part(span, encoded, groups, at, logits_at, method.name, outputs)
        if missing:
            self.computed += len(span)
        return out

    def _method_part(self, span, encoded, groups, at, logits_at, name, outputs) -> bytes:
        scores = [o.token_scores for o in outputs]
        # A method may skip an example (attention flow on a long input): its map is NaN. Metrics score a zero
        # map there instead, and the value is dropped afterwards, so no metric needs to know about skipping.
        skipped = [not np.isfinite(s).all() for s in scores]
        scored = [np.nan_to_num(s, nan=0.0) if skip else s for s, skip in zip(scores, skipped)]
        values: dict[str, list] = {}
        curves: dict[str, np.ndarray] = {}
        for metric in self.metrics:
            values[metric.name] = [None] * len(span)
            for group in groups:
                ctx = MetricContext(self.adapter, [self.examples[span[k]] for k in group.indices],
                                    _pick(encoded, group), _pick(at, group), _pick(logits_at, group),
                                    self.probabilities[[span[k] for k in group.indices]],
                                    {name: _pick(scored, group)}, self.ccfg, quiet)
                with self.adapter.using(group.probe):
                    per_example = metric.compute(ctx)[name]
                for k, v in zip(group.indices, per_example):
                    values[metric.name][k] = None if skipped[k] else v
                curve = (getattr(metric, "curves", None) or {}).get(name)
                if curve is not None:  # summed over examples; the build divides by their number
                    curves[metric.name] = curves.get(metric.name, 0) + np.asarray(curve) * len(group.indices)
        payload = {
            "outputs": [{"tokens": [float(v) for v in o.token_scores],
                         "words": words_from_tokens(o.token_scores, enc.word_index, len(enc.words)), "info": o.info}
                        for o, enc in zip(outputs, encoded)],
            "metrics": [{metric: values[metric][k] for metric in values} for k in range(len(span))],
            "curves": {metric: [float(v) for v in total] for metric, total in curves.items()},
        }
        return dumps(payload).encode("utf-8")


def _whole_key(keys: dict[str, str]) -> str:
    return key_of({"kind": "chunk", "parts": keys})


def _kind(part: str) -> str:
    return "records" if part == "records" else "method"


def _pick(values: Sequence[Any], group: ProbeGroup) -> list[Any]:
    return [values[i] for i in group.indices]


def _example_key(ex: Example, slug: str) -> list[Any]:
    return [slug, ex.id, ex.line, ex.text, ex.text_pair, ex.label, ex.note, ex.rationale, ex.rationale_pair]

