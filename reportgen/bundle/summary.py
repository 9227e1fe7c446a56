"""The data-set summary (results.json's "summary"): every figure the pages show about the examples as a whole.

Frozen dataclasses whose fields are the JSON keys. Compute builds the summary (DatasetAggregate.summary() and
the analyses), pipeline parses it into these types once, and render reads attributes; load_bundle validates a
saved summary the same way. Maps keyed by a method, metric or class name stay maps (dict[str, X]) of typed
values. An analysis that could not run is Skipped, with its Reason (a code render words).
"""

from __future__ import annotations

from dataclasses import field
from typing import Literal, Optional, Union

from pydantic import StrictBool, StrictInt

from reportgen.bundle.reasons import Reason
from reportgen.bundle.typed import OMIT, section


@section
class Skipped:
    skipped: Reason  # why the analysis could not run


@section
class LabelSources:
    """How many of the examples a figure is measured on have a gold label (the rest: the model's prediction)."""

    gold: int
    predicted: int


@section
class WordScore:
    word: str
    score: float
    examples: int  # examples where the word scored
    # On scikit-learn's English stop-word list ("the", "a", "in"): frequent in every text, so a sum over the
    # examples ranks it high whatever it does in one prediction; the pages say so.
    stop_word: Optional[bool] = field(default=None, metadata=OMIT)  # True, or left out


@section
class Interval:
    """A 95% interval (vocabulary.INTERVAL_LEVEL): "wilson" for a proportion, "bootstrap" (percentile, fixed seed)
    for a mean or another statistic of the examples (compute/intervals.py)."""

    low: float
    high: float
    kind: Literal["wilson", "bootstrap"]


@section
class Mean:
    mean: float
    n: int  # examples the mean covers
    interval: Optional[Interval]


@section
class MetricMean:
    mean: float
    n: int  # examples the mean covers
    interval: Optional[Interval]
    # The method's value minus the random reference's, per example, averaged over the examples both have: a
    # paired difference with its own interval (a method without the reference beside it has none).
    vs_reference: Optional[Mean] = field(default=None, metadata=OMIT)
    vs_lead: Optional[Mean] = field(default=None, metadata=OMIT)  # the same against the lead method


@section
class VerdictMetric:
    title: str
    curve: Literal["deletion", "insertion"]
    higher_is_better: bool
    # What the difference's interval says (MetricDecl.outcome): better or worse than random when it excludes 0.
    outcome: Literal["better", "worse", "unclear"]
    lead: Mean
    reference: Mean
    difference: Mean  # paired: the lead's value minus the reference's on each example


@section
class LeadAgainst:
    """The lead against a costly method on the verdict's sample (compute/verdict.py): each metric's outcome says
    whether the lead is better or worse than that method (its figures as VerdictMetric's, the method as
    reference)."""

    method: str
    metrics: dict[str, VerdictMetric]


@section
class Verdict:
    """Whether the lead method's highlights carry the prediction better than random ones (compute/verdict.py)."""

    method: str  # the lead
    reference: str  # the random reference
    sampled: bool  # False: the figures of every readable example (the methods table's); True: a seeded sample
    examples: int
    of: int  # readable examples the sample was drawn from
    metrics: dict[str, VerdictMetric]  # the deletion and insertion metrics
    against: tuple[LeadAgainst, ...] = ()  # the lead against each costly method with scores on the sample


@section
class Plan:
    """Which methods explained every example and which a seeded sample (compute/plan.py): present only when the
    costly methods ran on a sample beside a one-pass lead."""

    lead: Optional[str]
    every: tuple[str, ...]  # methods run on every example
    sampled: tuple[str, ...]  # costly methods run on the sample and the paged examples
    sample: int  # readable one-window examples in the sample (the verdict's)
    paged: int  # paged examples outside the sample that the sampled methods also explained
    of: int  # examples in the report
    seed: int  # the sample's draw


@section
class Linearisation:
    """How often a one-point approximation ranks words against the method it approximates."""

    of: str
    n: int
    negative: int  # examples with a negative rank correlation
    mean: float


@section
class ReducedPrecision:
    reduced: str  # "bf16" or "fp16"
    n: int
    recomputed: int  # examples whose check failed there and were computed again in fp32


@section
class Carried:
    """The share of the target logit a decomposition's scores add up to (sum / logit per example), over the
    readable examples: the median and the quartiles."""

    n: int
    median: float
    low: float  # 25th percentile
    high: float  # 75th percentile


@section
class Convergence:
    """A completeness method's checks over the examples."""

    threshold: float  # the largest relative delta that counts as resolved
    rule: str
    end: str  # what the path ends at (Completeness.end)
    mean_steps: float
    max_steps: int
    steps_histogram: dict[str, int]
    median_relative_delta: Optional[float]
    max_relative_delta: Optional[float]
    max_abs_delta: float
    flagged: tuple[str, ...]  # slugs of the unresolved examples
    n: int  # readable examples checked (a skipped or unreadable one is not)
    precision: Optional[ReducedPrecision] = field(default=None, metadata=OMIT)


@section
class MethodCost:
    flops: float  # per example
    forward_passes: Optional[float]  # flops over one plain forward pass
    share: Optional[float]  # of relative_to's flops


@section
class Cost:
    examples: int
    forward_flops: float
    relative_to: Optional[str]  # the first completeness method with a count
    methods: dict[str, MethodCost]


@section
class SanityCurve:
    curve: tuple[Optional[float], ...]  # rank correlation with the original map, per randomised layer
    passes: Optional[bool]  # None: inconclusive


@section
class Sanity:
    examples: int
    threshold: float
    layers: int
    methods: dict[str, SanityCurve]


@section
class NotApplicable:
    name: str
    title: str
    reason: Reason


# A finding's parameter: a number, a name, a flag, or a list of names or numbers (per method, in a listed order).
Scalar = Union[StrictBool, StrictInt, float, str, None]
FindingParam = Union[Scalar, list[Scalar]]


@section
class Finding:
    """A stable code, its severity and the numbers and names it rests on; render/wording.py words it."""

    code: str
    severity: Literal["info", "warning", "error"]
    params: dict[str, FindingParam]  # per code: what its sentence needs (wording.SENTENCES)
    examples: tuple[str, ...]
    values: Optional[dict[str, float]] = field(default=None, metadata=OMIT)  # each listed example's own number


@section
class Sample:
    """The examples the global analyses read: every one when size == of, else a uniform random draw of size."""

    size: int
    of: int
    seed: int


@section
class HeadStats:
    stats: dict[str, list[list[float]]]  # statistic -> [layer][head]
    vertical_share: list[list[float]]
    diagonal_share: list[list[float]]
    segment_share: Optional[list[list[float]]]
    pair_examples: int
    patterns: list[list[str]]
    pattern_counts: dict[str, int]
    typical_example: str


@section
class Pruning:
    fraction: float
    heads_removed: int
    accuracy: float
    loss: float


@section
class HeadImportance:
    gradient: list[list[float]]
    ablation_accuracy: list[list[float]]
    ablation_loss: list[list[float]]
    accuracy: float
    loss: float
    pruning: tuple[Pruning, ...]
    labels_from: LabelSources
    ablation_examples: int  # the seeded part of the sample the ablations and the pruning read (the gradient: all)


@section
class SkippedImportance:
    skipped: Reason
    labels_from: LabelSources


@section
class LayerProbing:
    cv_accuracy: list[float]
    train_accuracy: list[float]
    folds: int
    majority: float
    n: int


@section
class Projection:
    coords: list[list[list[float]]]  # [layer][example] -> (x, y)
    explained: list[list[float]]
    slugs: tuple[str, ...]


@section
class ClassWordList:
    label: str
    n: int
    words: tuple[WordScore, ...]


@section
class ClassWords:
    method: str
    method_title: str
    classes: tuple[ClassWordList, ...]


@section
class CalibrationBin:
    low: float
    high: float
    n: int
    accuracy: Optional[float]
    confidence: Optional[float]


@section
class ClassScores:
    label: str
    precision: Optional[float]
    recall: Optional[float]
    f1: Optional[float]
    support: int
    precision_interval: Optional[Interval]
    recall_interval: Optional[Interval]
    f1_interval: Optional[Interval]


@section
class Misclassified:
    slug: str
    predicted: str
    confidence: float


@section
class Quality:
    confusion: list[list[int]]
    calibration: tuple[CalibrationBin, ...]
    ece: float
    ece_interval: Optional[Interval]
    accuracy: float
    mean_confidence: float
    per_class: tuple[ClassScores, ...]
    misclassified: tuple[Misclassified, ...]
    n: int


@section
class GlobalAnalysis:
    n_examples: int
    n_unreadable: int
    all_unreadable: bool
    sample: Sample
    heads: HeadStats
    importance: Union[HeadImportance, SkippedImportance]
    probing: Union[LayerProbing, Skipped]
    projection: Projection
    class_words: Union[ClassWords, Skipped]
    quality: Union[Quality, Skipped]


@section
class Summary:
    """Every prediction here is held out; texts that are mostly [UNK] are left out of every data-set figure."""

    n_examples: int
    n_readable: int
    n_labelled: int
    n_correct: int
    accuracy: Optional[float]
    accuracy_interval: Optional[Interval]
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    predicted_counts: dict[str, int]
    mean_confidence: Optional[float]
    unreadable: tuple[str, ...]
    truncated: tuple[str, ...]
    windowed: tuple[str, ...]
    special_mass_by_layer: list[float]
    top_words: dict[str, tuple[WordScore, ...]]  # method -> words
    top_words_by_class: dict[str, dict[str, tuple[WordScore, ...]]]  # signed method -> class -> words
    metrics: dict[str, dict[str, MetricMean]]  # metric -> method -> mean
    linearisation: dict[str, Linearisation]
    convergence: dict[str, Convergence]
    agreement: dict[str, dict[str, Optional[float]]]  # method -> method -> mean Spearman
    curves: dict[str, dict[str, list[float]]]  # deletion/insertion metric -> method -> mean curve
    sanity: Optional[Union[Sanity, Skipped]]
    not_applicable: tuple[NotApplicable, ...]
    cost: Optional[Cost]
    findings: tuple[Finding, ...]
    verdict: Optional[Verdict] = field(default=None, metadata=OMIT)  # None: no lead method, or no example
    global_analysis: Optional[GlobalAnalysis] = field(default=None, metadata=OMIT)  # --no-global: None
    plan: Optional[Plan] = field(default=None, metadata=OMIT)  # None: every method explained every example
    carried: dict[str, Carried] = field(default_factory=dict)  # decomposition method -> share of the logit
