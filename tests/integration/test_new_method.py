"""Issue 27, registries drive everything: a new attribution method with an option of its own, and a new metric, are
each one class (one file in compute/methods/ or compute/metrics/, discovered there); nothing else is edited, and
the option is checked, recorded and used, the method is explained on the methods page and on every example page,
and the metric gets its column."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pytest
from pydantic import Field

import reportgen
from reportgen.bundle.store import read_results
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.metrics.base import METRICS, Metric, MetricContext
from reportgen.errors import ConfigError

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class LengthOptions:
    power: Annotated[float, Field(gt=0, le=4)] = 1.0


class WordLength(AttributionMethod):
    """What a new method's file holds: its declaration, its options and attribute()."""

    title = "Word length"
    family = "perturbation"
    signed = False
    summary = "Each piece scored by its length (a test method)."
    description = "Scores each word piece by its number of characters raised to `power`."
    Options = LengthOptions

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        outputs = []
        for enc in ctx.encoded:
            scores = np.array([0.0 if special else len(token.lstrip("#")) ** self.options.power
                               for token, special in zip(enc.tokens, enc.special_mask)], dtype=np.float32)
            outputs.append(MethodOutput(scores))
        return outputs


class ScoreSpread(Metric):
    title = "Score spread"
    family = "plausibility"
    low, high = 0.0, 1e9
    higher_is_better = True
    description = "The standard deviation of a method's word-piece scores (a test metric)."

    def compute(self, ctx: MetricContext) -> dict[str, list]:
        return {name: [float(np.std(s)) for s in scores] for name, scores in ctx.token_scores.items()}


@pytest.fixture()
def registered():
    """What importing the two files would do (compute/methods/__init__.py imports every module of its folder)."""
    METHODS.register("word_length")(WordLength)
    METRICS.register("score_spread")(ScoreSpread)
    try:
        yield
    finally:
        METHODS._items.pop("word_length")
        METRICS._items.pop("score_spread")


def test_a_new_method_with_an_option_and_a_new_metric_need_no_other_file(tmp_path, tiny_encoder, tiny_examples,
                                                                         registered):
    report = reportgen.build_report(
        tiny_examples, model=tiny_encoder, out=tmp_path / "site", methods=["integrated_gradients", "word_length"],
        metrics=["token_f1", "score_spread"], options={"word_length": {"power": 2.0}}, global_analysis=False,
        pages=2, cache=False)
    results = json.loads((report.path / "data" / "results.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in results["methods"]] == ["integrated_gradients", "word_length"]
    assert results["config"]["compute"]["options"]["word_length"] == {"power": 2.0}  # recorded as used
    assert "score_spread" in results["summary"]["metrics"]
    first = read_results(report.path / "data")["examples"][0]
    pieces = [t for t, s in zip(first["tokens"], first["segments"]) if s >= 0]
    scores = [v for v, s in zip(first["methods"]["word_length"]["tokens"], first["segments"]) if s >= 0]
    assert scores == [float(len(t.lstrip("#")) ** 2) for t in pieces]  # the option reached the method
    methods_page = (report.path / "methods.html").read_text(encoding="utf-8")
    assert "Word length" in methods_page and "Score spread" in methods_page
    page = next((report.path / "examples").glob("*.html")).read_text(encoding="utf-8")
    assert "Word length" in page
    with pytest.raises(ConfigError, match=r"word_length\.power = 9: it should be less than or equal to 4"):
        reportgen.build_report(tiny_examples, model=tiny_encoder, out=tmp_path / "bad", methods=["word_length"],
                               options={"word_length": {"power": 9}})
