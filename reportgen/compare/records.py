"""data/comparison.json: every figure the comparison pages state, typed like the report's own bundle (frozen
dataclasses, validated when read), and no sentence: render/compare_pages.py words them."""

from __future__ import annotations

from typing import Optional

from reportgen.bundle.summary import Interval, Mean, MetricMean
from reportgen.bundle.typed import section

COMPARISON_SCHEMA = 1
COMPARISON_FILE = "comparison.json"


@section
class Side:
    """One of the two reports: where it was read from and what produced it."""

    report: str  # the folder as given on the command line
    title: Optional[str]  # None: the report has the default title
    model: str
    architecture: str
    head_kind: str
    weights_sha256: Optional[str]
    manifest_sha256: Optional[str]  # of the report's manifest.json (its files' checksums, versions, settings)
    reportgen: str  # the version that built it
    methods: tuple[str, ...]
    examples: int


@section
class Provenance:
    old: Side
    new: Side


@section
class Accuracy:
    old: float
    new: float
    n: int  # labelled examples both reports read
    old_interval: Optional[Interval]
    new_interval: Optional[Interval]
    difference: Mean  # new minus old, paired over the same examples, bootstrap interval


@section
class McNemar:
    b: int  # OLD right, NEW wrong
    c: int  # OLD wrong, NEW right
    p_value: float  # two-sided exact binomial test on b and c


@section
class Flip:
    id: str
    slug: str
    label: Optional[str]
    old_predicted: str
    new_predicted: str
    tracked: str  # the class whose probability is followed: the gold label, or OLD's prediction without one
    old_probability: float
    new_probability: float
    change: float  # new minus old
    page: bool  # has a side-by-side page


@section
class Moved:
    id: str
    slug: str
    rho: float
    flipped: bool
    page: bool


@section
class MethodShift:
    method: str
    title: str
    n: int  # examples where both reports scored the words
    undefined: int  # of those, where either side's scores are constant (no rank correlation)
    other_class: int  # of those, where the two reports explain different classes (each its own prediction)
    median: Optional[float]
    low: Optional[float]  # 25th percentile
    high: Optional[float]  # 75th percentile
    top_k: int
    top_overlap: Optional[float]  # mean share of the top-k words both reports rank top-k
    flipped_median: Optional[float]  # median rank correlation over the flipped examples
    flipped_n: int
    kept_median: Optional[float]  # ... and over the others
    kept_n: int
    moved: tuple[Moved, ...]  # the lowest rank correlations, lowest first


@section
class WordShare:
    word: str
    share: float  # mean signed share of the example's total |score| (comparable across models)
    examples: int


@section
class WordChange:
    word: str
    old: float
    new: float
    change: float


@section
class ClassReliance:
    label: str
    old: tuple[WordShare, ...]  # the words that push toward the class most, OLD
    new: tuple[WordShare, ...]
    rose: tuple[WordChange, ...]
    fell: tuple[WordChange, ...]


@section
class Reliance:
    method: str
    title: str
    min_examples: int  # a word counts in a class after this many examples
    classes: tuple[ClassReliance, ...]


@section
class MetricPair:
    metric: str
    title: str
    family: str
    higher_is_better: Optional[bool]
    method: str
    method_title: str
    model_scaled: bool  # a fall in each model's own probability: the two values do not compare
    old: MetricMean
    new: MetricMean
    difference: Optional[Mean]  # NEW - OLD paired over the examples both scored; None where it does not compare


@section
class Alert:
    code: str
    severity: str
    status: str  # "new", "gone" or "unchanged"


@section
class HeadDrop:
    layer: int
    head: int
    drop: float  # accuracy with the head ablated minus without


@section
class GlobalPair:
    old_layers: Optional[tuple[float, ...]]  # held-out probe accuracy per layer
    new_layers: Optional[tuple[float, ...]]
    old_heads: Optional[tuple[HeadDrop, ...]]  # the heads whose ablation costs most accuracy
    new_heads: Optional[tuple[HeadDrop, ...]]


@section
class Comparison:
    schema_version: int
    examples: int  # examples both reports hold (same ids, same texts)
    readable: int  # ... that both models could read (the rest is in no figure)
    labelled: int  # readable ones with a gold label
    agreement: Optional[float]  # share of the readable examples predicted the same
    accuracy: Optional[Accuracy]
    mcnemar: Optional[McNemar]
    confusion: dict[str, dict[str, dict[str, int]]]  # "old"/"new" -> gold -> predicted -> count
    ece: dict[str, Optional[float]]  # "old"/"new", on the compared labelled examples
    flipped: tuple[str, ...]  # ids whose predicted class differs
    flips: tuple[Flip, ...]  # the same, largest fall of the tracked class first
    lead: Optional[str]  # the method whose shift --fail-on shift reads
    shift: tuple[MethodShift, ...]
    attribution_shift: dict[str, dict[str, Optional[float]]]  # method -> id -> Spearman rho (None: undefined)
    reliance: Optional[Reliance]
    quality: tuple[MetricPair, ...]
    alerts: tuple[Alert, ...]
    global_analysis: GlobalPair
    provenance: Provenance
