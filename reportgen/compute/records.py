"""An example's record (ExampleResult's fields but its scores), and the bundle's model and data sections."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from reportgen.attention import special_token_mass
from reportgen.bundle.sections import DataSummary, ModelSummary, ProbeSummary
from reportgen.bundle.store import window_file
from reportgen.compute.encode import Document, EncodedExample
from reportgen.config import BuildConfig, ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.types import Example

EXCERPT_TAIL = 300  # characters kept after the last one the model read: enough to see where the cut fell


def record_of(
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
        attention={"file": f"data/attention/{window_file(slug, 0)}", "shape": list(attention[0].shape),
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


def model_section(adapter: ModelAdapter, probe: Optional[ProbeSummary], window: int) -> ModelSummary:
    return ModelSummary(
        name=adapter.name, loaded_from=adapter.loaded_from, head_kind=adapter.head.kind, device=str(adapter.device),
        window=window, attention_reach=adapter.architecture.attention if adapter.architecture else "full",
        probe=probe, **asdict(adapter.details))


def data_section(cfg: BuildConfig, examples: Sequence[Example], readable: Sequence[bool]) -> DataSummary:
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
