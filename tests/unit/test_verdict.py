"""The verdict on the highlights (compute/verdict.py, story.verdict_text) and the stored attention maps
(bundle/attention_maps.py): the rule that decides the verdict, the paired differences it rests on, the sentence
the first screen shows, and maps that come back as the pages show them."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from reportgen.bundle import load_bundle
from reportgen.bundle.attention_maps import decode_maps, encode_maps, quantise
from reportgen.bundle.declarations import MethodDecl, MetricDecl
from reportgen.compute.intervals import mean_of
from reportgen.compute.plan import verdict_sample
from reportgen.compute.verdict import from_summary
from reportgen.render.first_screen import first_screen
from reportgen.render.story import verdict_text
from reportgen.render.structure import alerts

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bundle"


def _metric(higher: bool, curve: str = "deletion") -> MetricDecl:
    return MetricDecl(name="m", title="M", family="faithfulness", range=(-1.0, 1.0), higher_is_better=higher,
                      description="", curve=curve)


@pytest.mark.parametrize("higher,low,high,expected", [
    (True, 0.1, 0.3, "better"), (True, -0.3, -0.1, "worse"), (True, -0.1, 0.2, "unclear"),
    (False, -0.3, -0.1, "better"), (False, 0.1, 0.3, "worse"), (False, -0.2, 0.1, "unclear"),
    (True, 0.0, 0.2, "unclear"),  # an interval that touches 0 does not exclude it
])
def test_the_outcome_is_what_the_interval_of_the_difference_excludes(higher, low, high, expected):
    assert _metric(higher).outcome(low, high) == expected


def test_the_verdict_from_every_example_is_the_methods_tables_figures():
    """With both metrics computed for the lead and the reference, the verdict copies the summary's figures (one
    number everywhere) and its difference is the paired one."""
    lead, ref = [0.5, 0.4, 0.6, 0.3], [0.1, 0.2, 0.0, 0.1]
    diff = [a - b for a, b in zip(lead, ref)]
    summary = {"n_readable": 4, "metrics": {
        name: {"ig": {**mean_of(lead), "vs_reference": mean_of(diff)}, "random": mean_of(ref)}
        for name in ("del", "ins")}}
    methods = [MethodDecl(name="ig", title="IG", family="gradient", signed=True, summary="", description="", lead=2),
               MethodDecl(name="random", title="Random", family="reference", signed=True, summary="",
                          description="")]
    metrics = [MetricDecl(name="del", title="Del", family="faithfulness", range=(-1, 1), higher_is_better=True,
                          description="", curve="deletion"),
               MetricDecl(name="ins", title="Ins", family="faithfulness", range=(-1, 1), higher_is_better=False,
                          description="", curve="insertion")]
    verdict = from_summary(summary, methods, metrics)
    assert verdict["sampled"] is False and verdict["examples"] == 4 and verdict["method"] == "ig"
    assert verdict["metrics"]["del"]["lead"]["mean"] == pytest.approx(np.mean(lead))
    assert verdict["metrics"]["del"]["difference"]["mean"] == pytest.approx(np.mean(diff))
    assert verdict["metrics"]["del"]["outcome"] == "better"  # every difference is positive
    assert verdict["metrics"]["ins"]["outcome"] == "worse"  # ... which is worse where lower is better
    assert from_summary(summary, methods, metrics[:1]) is None  # without the insertion metric: sampled instead


def test_the_sample_is_seeded_readable_and_bounded():
    single = [i % 3 != 0 for i in range(400)]
    first, again = verdict_sample(single, 0), verdict_sample(single, 0)
    assert first == again == sorted(first) and len(first) == 100
    assert all(single[i] for i in first)
    assert verdict_sample(single[:30], 0) == [i for i in range(30) if single[i]]


def test_the_golden_reports_verdict_is_worded_with_its_figures(tmp_path):
    shutil.copytree(GOLDEN, tmp_path / "data")
    bundle = load_bundle(tmp_path / "data")
    v = bundle.summary.verdict
    assert v is not None and v.examples <= bundle.summary.n_readable
    text = verdict_text(bundle)
    assert text["outcome"] in ("better", "worse", "unclear")
    for m in v.metrics.values():
        assert f"{abs(m.lead.mean):.2f}" in text["text"] and f"{abs(m.reference.mean):.2f}" in text["text"]
        assert m.title in text["text"]
    screen = first_screen(bundle, alerts(bundle, ("error", "warning")))
    assert screen["verdict"] == text and screen["task"].startswith("Sorts texts into 2 classes")
    assert [r["severity"] for r in screen["risks"]][0] == "error"  # the most severe risk leads


def test_stored_maps_come_back_within_half_a_level():
    rng = np.random.default_rng(0)
    maps = rng.dirichlet(np.ones(12) * 0.3, size=(2, 3, 12)).astype(np.float32)  # rows are distributions
    back = decode_maps(encode_maps(maps))
    top = maps.max(axis=(-1, -2), keepdims=True)
    assert back.shape == maps.shape and back.dtype == np.float32
    assert np.abs(back - maps).max() <= 0.004 * top.max()
    # Small weights keep their order of magnitude (a linear 8-bit scale would round 0.2% of the maximum to 0).
    small = (maps > 0.002 * top) & (maps < 0.02 * top)
    assert small.any() and (back[small] > 0).all()
    # The page quantises the head maps to the very levels the bundle holds.
    scales = back.max(axis=(-1, -2))
    assert np.array_equal(quantise(back, scales), quantise(maps, maps.max(axis=(-1, -2))))


def test_anything_but_stored_maps_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((1, 1, 2, 2), np.float16))
    for data in (b"x", buffer.getvalue()):
        with pytest.raises(ValueError):
            decode_maps(data)


def test_paired_differences_are_the_examples_own(tmp_path):
    """vs_reference and vs_lead are means of each readable example's own difference (the golden build ran random
    and both removal metrics for every method), and the verdict is read from them, not computed again."""
    shutil.copytree(GOLDEN, tmp_path / "data")
    bundle = load_bundle(tmp_path / "data")
    readable = [ex for ex in bundle.examples if not ex.unreadable]
    v = bundle.summary.verdict
    assert v is not None and v.sampled is False
    for metric, per in bundle.summary.metrics.items():
        for method, mean in per.items():
            for key, against in (("vs_reference", v.reference), ("vs_lead", v.method)):
                paired = getattr(mean, key)
                if method == against:
                    assert paired is None
                    continue
                diffs = [ex.metrics[method][metric] - ex.metrics[against][metric] for ex in readable
                         if ex.metrics[method].get(metric) is not None
                         and ex.metrics[against].get(metric) is not None]
                assert paired.n == len(diffs) and paired.mean == pytest.approx(np.mean(diffs), abs=1e-6)
        if metric in v.metrics:
            assert v.metrics[metric].lead.mean == per[v.method].mean
            assert v.metrics[metric].difference == per[v.method].vs_reference
