"""The metric interface: what a metric is (so pages can colour, sort and explain it) and what it sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, Sequence

import numpy as np

from reportgen.bundle.declarations import MetricDecl
from reportgen.compute.encode import EncodedExample
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.registry import Registry
from reportgen.types import Example


@dataclass
class MetricContext:
    adapter: ModelAdapter
    examples: Sequence[Example]
    encoded: Sequence[EncodedExample]
    targets: Sequence[int]
    target_logits: Sequence[float]  # f(x) for the explained class, from the shared forward pass
    probabilities: np.ndarray  # float[n, classes], of the unperturbed inputs
    token_scores: dict[str, Sequence[np.ndarray]]  # method -> per example float32[seq]
    config: ComputeConfig
    progress: Callable[[str, int], Any]
    # Results several metrics reuse (e.g. probabilities of perturbed inputs), filled as they are computed.
    shared: dict[str, Any] = field(default_factory=dict, init=False, repr=False)


class Metric:
    name: ClassVar[str]
    title: ClassVar[str]
    family: ClassVar[str]  # "faithfulness" or "plausibility"
    low: ClassVar[float]  # range of the value
    high: ClassVar[float]
    higher_is_better: ClassVar[bool]
    description: ClassVar[str]  # Markdown for the methods page
    # "deletion" or "insertion": the metric is the area over a curve of the explained class's probability as the
    # top-ranked pieces are removed (deletion) or kept alone (insertion); the methods page draws the mean curve, and
    # the cost finding weighs methods by the deletion metric.
    curve: ClassVar[Optional[str]] = None
    # The value is a fall in the model's own probability, so a more confident model scores higher whatever its
    # explanations are worth: a comparison of two models says so beside it (raw comprehensiveness, sufficiency).
    model_scaled: ClassVar[bool] = False

    def compute(self, ctx: MetricContext) -> dict[str, list[Optional[float]]]:
        """method name -> one value per example (None where the metric does not apply)."""
        raise NotImplementedError

    @classmethod
    def declaration(cls) -> MetricDecl:
        return MetricDecl(name=cls.name, title=cls.title, family=cls.family, range=(cls.low, cls.high),
                          higher_is_better=cls.higher_is_better, description=cls.description, curve=cls.curve,
                          model_scaled=cls.model_scaled)


METRICS: Registry[type[Metric]] = Registry("metric")
