"""What each method and metric that ran declares about itself, as the bundle records it.

Compute fills these from the classes' declarations; render decides from them alone (nothing downstream
compares a method's or a metric's name), and results.json stores them as JSON objects of the same fields.
"""

from __future__ import annotations

from dataclasses import field
from typing import Literal, Optional, Sequence

from reportgen.bundle.typed import OMIT, section

MethodFamily = Literal["gradient", "attention", "perturbation", "decomposition", "reference"]


@section
class Completeness:
    """A method whose scores should add up to f(end) - f(baseline): each example's info then carries a
    completeness check (delta, relative_delta, f_end, f_baseline, steps, rule), summarised and flagged.
    end: what the path ends at, "input" (f(x)) or "noisy_mean" (the mean of f over noisy copies of x)."""

    end: Literal["input", "noisy_mean"] = "input"
    steps_option: Optional[str] = None  # the option that gives the check more steps, where one does


@section
class MethodDecl:
    name: str
    title: str
    family: MethodFamily
    signed: bool  # scores can push for (+) or against (-) the target class
    summary: str  # one line, for `reportgen methods`
    description: str  # Markdown for the methods page
    plain: str = ""  # one sentence in plain words, shown with the method's highlights ("": the summary is)
    lead: int = 0  # the signed method with the highest lead heads the summaries (ties: run order)
    completeness: Optional[Completeness] = None
    approximates: Optional[str] = None  # the method this one is a one-point (linear) approximation of
    costly: bool = False  # many passes per example: beside a one-pass lead it ran on a sample (Summary.plan)
    # The settings that summary and description name as %(name)s, filled in where they are shown, so the text is
    # one catalogue message in every language; None for a text that names none.
    facts: Optional[dict[str, int]] = field(default=None, metadata=OMIT)

    def worded(self, text: str) -> str:
        """summary or description (or their translation) with the facts filled in."""
        return text % self.facts if self.facts else text

    @property
    def reference(self) -> bool:
        """The floor every quality number is compared against, not an explanation of the model."""
        return self.family == "reference"


@section
class MetricDecl:
    name: str
    title: str
    family: Literal["faithfulness", "plausibility"]
    range: tuple[float, float]
    higher_is_better: bool
    description: str  # Markdown for the methods page
    curve: Optional[Literal["deletion", "insertion"]] = None  # the area over which curve the metric is
    # In units of the model's own confidence (a fall in probability): two models' values do not compare.
    model_scaled: bool = False

    def no_better(self, value: float, floor: float) -> bool:
        """Whether value does no better than floor (the random reference's) by this metric's direction: the one
        rule the findings and the story both use, so a tie is judged the same on every page."""
        return value <= floor if self.higher_is_better else value >= floor

    def outcome(self, low: float, high: float) -> Literal["better", "worse", "unclear"]:
        """What the 95% interval [low, high] of a paired difference (a method's value minus the reference's on
        each example) says: better or worse when it excludes 0 on that side, unclear when it contains 0."""
        if low > 0 or high < 0:
            return "better" if (low > 0) == self.higher_is_better else "worse"
        return "unclear"


def lead_method(methods: Sequence[MethodDecl]) -> Optional[MethodDecl]:
    """The signed, non-reference method that heads the summaries: the highest declared lead, then run order."""
    signed = [m for m in methods if m.signed and not m.reference]
    return max(signed, key=lambda m: m.lead, default=None)


def reference_method(methods: Sequence[MethodDecl]) -> Optional[MethodDecl]:
    return next((m for m in methods if m.reference), None)


def unresolved(relative_delta: Optional[float], threshold: float) -> bool:
    """A completeness check that failed: above the threshold, or undefined (null in the JSON: f(end) equals
    f(baseline) but the scores do not sum to zero)."""
    return relative_delta is None or relative_delta > threshold
