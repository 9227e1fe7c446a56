"""The cost-aware plan (compute/plan.py) and what the verdict says of the lead against a costly method."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.build import _costly_sample
from reportgen.bundle.declarations import MethodDecl, MetricDecl
from reportgen.bundle.vocabulary import COSTLY_SAMPLE, VERDICT_EXAMPLES
from reportgen.compute.intervals import mean_of
from reportgen.compute.plan import plan_sample, sampled_methods, verdict_sample
from reportgen.compute.verdict import from_summary


def _method(name: str, lead: int = 0, costly: bool = False, family: str = "gradient") -> MethodDecl:
    return MethodDecl(name=name, title=name.upper(), family=family, signed=True, summary="", description="",
                      lead=lead, costly=costly)


ONE_PASS_LEAD = [_method("ig", 2, costly=True), _method("lrp", 3), _method("gxi"), _method("smooth", costly=True)]


def test_costly_methods_are_sampled_only_beside_a_one_pass_lead_and_with_a_number():
    assert [m.name for m in sampled_methods(ONE_PASS_LEAD, 100)] == ["ig", "smooth"]
    sample, sampled = plan_sample(ONE_PASS_LEAD, 40, [True] * 300, 0)
    assert len(sample) == 40 and sampled
    assert sampled_methods(ONE_PASS_LEAD, "all") == [] and sampled_methods(ONE_PASS_LEAD, None) == []
    costly_lead = [_method("ig", 2, costly=True), _method("gxi")]  # no one-pass decomposition applies
    assert sampled_methods(costly_lead, 100) == []
    sample, sampled = plan_sample(costly_lead, 40, [True] * 300, 0)
    assert len(sample) == VERDICT_EXAMPLES and not sampled  # the verdict keeps its own sample


def test_the_recorded_costly_sample_is_all_when_the_user_named_a_costly_method():
    methods = ("integrated_gradients", "attn_lrp")
    assert _costly_sample(None, methods, set()) == COSTLY_SAMPLE  # the defaults
    assert _costly_sample(None, methods, {"integrated_gradients"}) == "all"
    assert _costly_sample(None, methods, {"attn_lrp"}) == COSTLY_SAMPLE  # a one-pass method named
    assert _costly_sample(12, methods, {"integrated_gradients"}) == 12  # as given, always


def test_the_sample_is_seeded_readable_one_window_and_in_example_order():
    single = [i % 3 != 0 for i in range(400)]
    first = verdict_sample(single, 0, 50)
    assert first == verdict_sample(single, 0, 50) == sorted(first) and len(first) == 50
    assert all(single[i] for i in first)
    assert verdict_sample(single, 1, 50) != first
    grown = verdict_sample(single + [True] * 40, 0, 50)  # 40 examples appended to the file
    assert len(set(first) - set(grown)) == len([i for i in grown if i >= 400])  # only those they outrank leave


def test_the_lead_against_a_costly_method_is_its_negated_paired_difference():
    """From the summary: IG's paired difference from the lead (IG minus lead) is turned round, so that
    'better' means the lead is better, and its interval flips with it."""
    lead, ig, ref = [0.6, 0.5, 0.7, 0.4], [0.5, 0.4, 0.5, 0.3], [0.1, 0.2, 0.0, 0.1]
    metrics = [MetricDecl(name="del", title="Del", family="faithfulness", range=(-1, 1), higher_is_better=True,
                          description="", curve="deletion"),
               MetricDecl(name="ins", title="Ins", family="faithfulness", range=(-1, 1), higher_is_better=False,
                          description="", curve="insertion")]
    summary = {"n_readable": 4, "metrics": {m.name: {
        "lrp": {**mean_of(lead), "vs_reference": mean_of([a - b for a, b in zip(lead, ref)])},
        "ig": {**mean_of(ig), "vs_lead": mean_of([b - a for a, b in zip(lead, ig)])},
        "random": mean_of(ref)} for m in metrics}}
    verdict = from_summary(summary, [*ONE_PASS_LEAD[:2], _method("random", family="reference")], metrics)
    [against] = verdict["against"]
    assert against["method"] == "ig"
    deletion = against["metrics"]["del"]
    assert deletion["difference"]["mean"] == pytest.approx(np.mean(lead) - np.mean(ig))
    assert deletion["difference"]["interval"]["low"] > 0 and deletion["outcome"] == "better"
    assert against["metrics"]["ins"]["outcome"] == "worse"  # higher sufficiency is worse: the lead keeps less
