"""ReportBundle: everything compute produced, saved as JSON + .npy so render never needs the model."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

SCHEMA_VERSION = 4
RESULTS_FILE = "results.json"
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")  # what reportgen.slugs makes: never a path
ATTENTION_DIR = "attention"


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
    words: list[dict[str, Any]]  # {"text", "start", "end", "segment"}
    unk_fraction: float
    unreadable: bool  # so many [UNK] pieces that the explanation is meaningless
    truncated: bool
    probabilities: list[float]  # aligned with ReportBundle.labels
    predicted: str
    target: str  # the class every attribution explains
    target_source: str  # "predicted" or "gold"
    methods: dict[str, dict[str, Any]]  # name -> {"tokens": [seq], "words": [n_words], "info": {...}}
    attention: dict[str, Any]  # {"file", "shape", "special_mass"}
    metrics: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)  # method -> metric -> value
    # None when text/text_pair are the whole input. Otherwise they are an excerpt (what the model read plus a
    # bounded tail) and this says where the whole text is: {"source": "file:line", "chars": [n_text, n_pair],
    # "shown": [chars of text kept, of text_pair kept], "sha256": [of text, of text_pair]}.
    excerpt: Optional[dict[str, Any]] = None

    @property
    def correct(self) -> Optional[bool]:
        return None if self.label is None else self.label == self.predicted

    @property
    def confidence(self) -> float:
        return max(self.probabilities)


@dataclass
class ReportBundle:
    schema_version: int
    title: str
    labels: list[str]
    model: dict[str, Any]
    data: dict[str, Any]
    config: dict[str, Any]
    methods: list[dict[str, Any]]  # declared properties of each method that ran, in run order
    metrics: list[dict[str, Any]]  # declared properties of each metric: family, range, direction
    examples: list[ExampleResult]
    summary: dict[str, Any]
    narrative: list[dict[str, Any]]
    provenance: dict[str, Any]
    attention: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # slug -> f16[L,H,T,T]

    def to_json(self) -> str:
        payload = asdict(self)
        payload.pop("attention")
        return json.dumps(_rounded(payload), sort_keys=True, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, attention: dict[str, np.ndarray]) -> "ReportBundle":
        payload = json.loads(text)
        if payload.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"results schema {payload.get('schema_version')}, this reportgen reads {SCHEMA_VERSION}")
        examples = [ExampleResult(**ex) for ex in payload.pop("examples")]
        return cls(examples=examples, attention=attention, **payload)

    def as_saved(self) -> "ReportBundle":
        """The bundle exactly as results.json will hold it (rounded numbers): a build renders this, so its
        pages are byte-identical to `reportgen render --bundle` of the same site."""
        return ReportBundle.from_json(self.to_json(), self.attention)


def save_bundle(bundle: ReportBundle, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / RESULTS_FILE).write_text(bundle.to_json(), encoding="utf-8")
    attention_dir = data_dir / ATTENTION_DIR
    attention_dir.mkdir(exist_ok=True)
    for slug, array in sorted(bundle.attention.items()):
        np.save(attention_dir / f"{slug}.npy", array, allow_pickle=False)


def load_bundle(data_dir: Path) -> ReportBundle:
    """Raises ValueError for a bundle it cannot trust: every slug becomes a file name, so a tampered
    results.json must not make render read (or write) outside the bundle and the site."""
    text = (data_dir / RESULTS_FILE).read_text(encoding="utf-8")
    slugs = [ex["slug"] for ex in json.loads(text)["examples"]]
    for slug in slugs:
        if not isinstance(slug, str) or not SLUG.fullmatch(slug):
            raise ValueError(f"example slug {str(slug)[:80]!r} is not a safe file name")
    if len(set(slugs)) != len(slugs):
        raise ValueError("two examples share a slug")
    attention = {slug: np.load(data_dir / ATTENTION_DIR / f"{slug}.npy", allow_pickle=False) for slug in slugs}
    return ReportBundle.from_json(text, attention)


def _rounded(value: Any) -> Any:
    """8 significant digits: float32 carries no more, and the JSON stays readable and stable."""
    if isinstance(value, float):
        return float(f"{value:.8g}") if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value
