"""The typed records of a bundle: one ExampleResult per example, one ReportBundle per report.

Torch-free on purpose: render/ reads these and nothing of compute/, so `reportgen render` needs no model."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Mapping, Optional

import numpy as np

from reportgen.bundle.declarations import MethodDecl, MetricDecl
from reportgen.bundle.reasons import Reason
from reportgen.bundle.sections import DataSummary, ModelSummary, Provenance
from reportgen.bundle.settings import RecordedSettings
from reportgen.bundle.summary import Summary
from reportgen.bundle.typed import OMIT, parse, plain
from reportgen.types import NarrativeSection

if TYPE_CHECKING:
    from reportgen.bundle.store import ExampleStore

# 5: examples moved out of results.json into chunk files (data/examples/NNNNN.json); attention maps only for
# the examples with a full page (bundle.pages).
# 6: an example's words are stored as columns ({"text": [...], "start": [...], "end": [...], "segment": [...]}):
# repeating four keys for every word was a fifth of a 10k bundle.
# 7: a record may carry "windows" (a text longer than the model's window, read in overlapping windows).
# 8: findings are data ({"code", "severity", "params", "examples", "values"}); render words them (render/wording.py).
# 9: model, data, methods, metrics and summary are typed sections (bundle/sections.py, declarations.py,
# summary.py): a method's "completeness" is null or {"end", "steps_option"}; a completeness check's f at the
# path's end is "f_end"; summary "global" is "global_analysis" (present only when the analyses ran).
# 10: summary "global" became "global_analysis", and every typed section refuses keys it does not declare.
# 11: a metric declares its curve ("deletion", "insertion"); faithfulness_for_cost's params name the deletion and
# insertion metrics instead of being keyed by them.
# 12: whatever could not run says why as a Reason ({"code", "params"}, bundle/reasons.py) instead of an English
# sentence: skipped analyses, a method's skipped example, a method that does not apply; a sample's "rule" and
# head importance's "labels_from" sentence became counts (labels_from {"gold", "predicted"}); a method's
# "rescaled" sentence is "rescaled_by", the number the scores were divided by.
# ... and "config" is typed (bundle/settings.py RecordedSettings: a method option's value is a bool, number,
# string or null); 95% intervals ({"low", "high", "kind"}) beside the accuracy, each metric mean, per-class
# precision/recall/F1 and the ECE.
# 15: nothing in the bundle is an English sentence: "title" is null unless the user gave one (the pages word the
# default); the model's "loaded_from" is {"source", "location"}; a method's summary and description may name
# "facts" ({"name": number}, filled in at render) instead of numbers formatted into the English text.
SCHEMA_VERSION = 15
WORD_FIELDS = ("text", "start", "end", "segment")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")  # what reportgen.slugs makes: never a path


@dataclass(frozen=True)
class MethodInfo:
    """What a method may say about one example besides its scores: the documented protocol of
    MethodOutput.info. Every field is optional and left out of the JSON where absent; a key not declared here is
    refused, so a method cannot add one that no page knows."""

    # A completeness check (methods that declare Completeness; written by completeness_check()).
    delta: Optional[float] = field(default=None, metadata=OMIT)  # sum of scores - (f(end) - f(baseline))
    relative_delta: Optional[float] = field(default=None, metadata=OMIT)  # None with a delta: undefined (inf)
    f_end: Optional[float] = field(default=None, metadata=OMIT)
    f_baseline: Optional[float] = field(default=None, metadata=OMIT)
    steps: Optional[int] = field(default=None, metadata=OMIT)
    rule: Optional[str] = field(default=None, metadata=OMIT)
    converged: Optional[bool] = field(default=None, metadata=OMIT)  # adaptive steps: within the tolerance
    precision: Optional[str] = field(default=None, metadata=OMIT)  # --precision bf16/fp16: what computed it
    recomputed_from: Optional[str] = field(default=None, metadata=OMIT)  # failed the check there, redone in fp32
    samples: Optional[int] = field(default=None, metadata=OMIT)  # sampled methods: copies or coalitions
    # A decomposition of the logit: how much of it the scores carry.
    sum: Optional[float] = field(default=None, metadata=OMIT)
    logit: Optional[float] = field(default=None, metadata=OMIT)
    skipped: Optional[Reason] = field(default=None, metadata=OMIT)  # why the method gave no scores here
    # A costly method's scores computed for this example's page outside its sample (compute/plan.py): shown on the
    # page, not part of the data-set figures, which are the sample's.
    beyond_sample: Optional[bool] = field(default=None, metadata=OMIT)
    # Scores past float32's range were divided by their largest magnitude, this: only their ranking is kept.
    rescaled_by: Optional[float] = field(default=None, metadata=OMIT)
    windows: Optional[tuple["MethodInfo", ...]] = field(default=None, metadata=OMIT)  # each window's own

    @classmethod
    def from_dict(cls, info: Mapping[str, Any]) -> "MethodInfo":
        unknown = set(info) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"a method's info has the undeclared key {sorted(unknown)[0]!r}")
        windows, skipped = info.get("windows"), info.get("skipped")
        return cls(**{**info, "windows": None if windows is None else tuple(cls.from_dict(w) for w in windows),
                      "skipped": None if skipped is None else parse(Reason, skipped, "info.skipped")})

    @property
    def checked(self) -> bool:
        """Whether this is a completeness check."""
        return self.delta is not None


@dataclass(frozen=True)
class MethodScores:
    tokens: list[float]  # [seq], aligned with ExampleResult.tokens
    words: list[float]  # [n_words]
    info: MethodInfo

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> "MethodScores":
        return cls(payload["tokens"], payload["words"], MethodInfo.from_dict(payload.get("info") or {}))


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # [start, end) in its segment's text
    end: int
    segment: int  # 0 text, 1 text_pair


@dataclass(frozen=True)
class AttentionRef:
    file: str  # data/attention/<slug>.npz (kept only for the paged examples)
    shape: list[int]  # [layers, heads, seq, seq] of window 0
    special_mass: list[float]  # per layer, the attention share on [CLS]/[SEP] (mean over windows)


@dataclass(frozen=True)
class Excerpt:
    """Where the whole text is when the record keeps an excerpt (what the model read plus a bounded tail)."""

    source: str  # file:line
    chars: list[int]  # [n_text, n_pair]
    shown: list[int]  # characters of text and text_pair kept
    sha256: list[Optional[str]]  # of text, of text_pair


@dataclass(frozen=True)
class WindowRef:
    """One window of a text read in overlapping windows (--long-inputs window)."""

    tokens: list[int]  # [first, end) in the example's tokens
    length: int  # pieces with special tokens
    chars: list[int]  # [start, end) in the text
    file: str  # its attention maps (paged examples)
    shape: list[int]


@dataclass
class ExampleResult:
    id: str
    slug: str
    line: int
    text: str
    text_pair: Optional[str]
    label: Optional[str]
    note: Optional[str]
    rationale: list[list[int]]
    rationale_pair: list[list[int]]
    tokens: list[str]  # [seq]
    offsets: list[list[int]]  # [seq] character span in its segment's text
    segments: list[int]  # [seq] 0 text, 1 text_pair, -1 special token
    word_index: list[int]  # [seq] index into words, -1 for special tokens
    words: list[Word]
    unk_fraction: float
    unreadable: bool  # so many [UNK] pieces that the explanation is meaningless
    truncated: bool
    probabilities: list[float]  # aligned with ReportBundle.labels
    predicted: str
    target: str  # the class every attribution explains
    target_source: str  # "predicted" or "gold"
    methods: dict[str, MethodScores]
    attention: AttentionRef
    metrics: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)  # method -> metric -> value
    # None when text/text_pair are the whole input, else they are an excerpt and this says where the whole text is.
    excerpt: Optional[Excerpt] = None
    # A text longer than the model's window, read in overlapping windows. None (and absent from the JSON): one.
    windows: Optional[list[WindowRef]] = field(default=None, metadata=OMIT)

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> "ExampleResult":
        """A record as stored (plain JSON values, words as a list of records) with its typed parts."""
        excerpt, windows = payload.get("excerpt"), payload.get("windows")
        return cls(**{
            **payload,
            "words": [Word(**w) for w in payload["words"]],
            "methods": {name: MethodScores.from_dict(scores) for name, scores in payload["methods"].items()},
            "attention": AttentionRef(**payload["attention"]),
            "excerpt": None if excerpt is None else Excerpt(**excerpt),
            "windows": None if windows is None else [WindowRef(**w) for w in windows],
        })

    @property
    def correct(self) -> Optional[bool]:
        """None where the prediction is not scored: no gold label, or a mostly-[UNK] text the model did not read
        (it is in no figure, so neither right nor wrong)."""
        return None if self.label is None or self.unreadable else self.label == self.predicted

    @property
    def confidence(self) -> float:
        return max(self.probabilities)


@dataclass
class ReportBundle:
    schema_version: int
    title: Optional[str]  # as the user gave it; None: the pages give the default one
    labels: list[str]
    model: ModelSummary
    data: DataSummary
    config: RecordedSettings
    methods: list[MethodDecl]  # each method that ran, in run order
    metrics: list[MetricDecl]
    summary: Summary
    narrative: list[NarrativeSection]  # the user's pages, in order (meta: their front matter, as written)
    provenance: Provenance
    pages: list[str]  # slugs of the examples with a full page and attention maps, in example order
    # Every example, read chunk by chunk from disk: a 100k-example bundle is never in memory at once.
    examples: "ExampleStore" = field(repr=False)
    # slug -> float16[layers, heads, seq, seq] for the paged examples; read on access.
    attention: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def header(self) -> dict[str, Any]:
        """results.json: everything but the examples (in their chunks) and the attention arrays."""
        payload = {f.name: plain(getattr(self, f.name)) for f in fields(self)
                   if f.name not in ("examples", "attention")}
        payload["examples"] = self.examples.index()
        return payload

    def to_json(self) -> str:
        return dumps(self.header(), indent=1)

    @classmethod
    def from_header(cls, payload: dict[str, Any], examples: "ExampleStore",
                    attention: Mapping[str, np.ndarray]) -> "ReportBundle":
        if payload.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"results schema {payload.get('schema_version')}, this reportgen reads {SCHEMA_VERSION}")
        payload = {k: v for k, v in payload.items() if k != "examples"}
        for name, section in SECTIONS.items():
            payload[name] = parse(section, payload.get(name), name)
        return cls(examples=examples, attention=attention, **payload)

    def as_saved(self) -> "ReportBundle":
        """The bundle exactly as results.json will hold it (rounded numbers): a build renders this, so its
        pages are byte-identical to `reportgen render --bundle` of the same site."""
        return ReportBundle.from_header(json.loads(self.to_json()), self.examples, self.attention)


# The typed parts of results.json, validated as they are read.
SECTIONS = {"model": ModelSummary, "data": DataSummary, "config": RecordedSettings, "methods": list[MethodDecl],
            "metrics": list[MetricDecl], "summary": Summary, "narrative": list[NarrativeSection],
            "provenance": Provenance}


def example_record(result: ExampleResult) -> dict[str, Any]:
    """An example as plain JSON values, its words as a list of {"text", "start", "end", "segment"}: the form
    read_results() gives scripts (the chunk files store the words as columns)."""
    return _rounded(plain(result))


def example_payload(result: ExampleResult) -> dict[str, Any]:
    """An example as stored: its words as columns (WORD_FIELDS), everything else as in ExampleResult."""
    payload = plain(result)
    payload["words"] = {key: [getattr(w, key) for w in result.words] for key in WORD_FIELDS}
    return _rounded(payload)


def example_from_payload(payload: dict[str, Any]) -> ExampleResult:
    columns = payload["words"]
    words = [dict(zip(WORD_FIELDS, values)) for values in zip(*(columns[key] for key in WORD_FIELDS))]
    return ExampleResult.from_json({**payload, "words": words})


def dumps(payload: Any, indent: Optional[int] = None) -> str:
    """The one JSON encoding of the bundle: sorted keys, 8 significant digits, non-finite as null."""
    separators = None if indent is not None else (",", ":")
    return json.dumps(_rounded(payload), sort_keys=True, ensure_ascii=False, indent=indent, separators=separators)


def _rounded(value: Any) -> Any:
    """8 significant digits: float32 carries no more, and the JSON stays readable and stable."""
    if isinstance(value, np.generic):  # a numpy scalar that slipped through: its Python value
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.8g}") if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value
