"""Global analyses on hand-built cases: head statistics and patterns, head masks and their gradient,
layer PCA and probes, calibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reportgen.compute.encode import SPECIAL, EncodedExample
from reportgen.compute.global_analysis.head_importance import head_importance, head_mask
from reportgen.compute.global_analysis.head_stats import classify_heads, head_statistics
from reportgen.compute.global_analysis.layers import layer_probing, layer_projections
from reportgen.compute.global_analysis.predictions import prediction_quality


class _Quiet:
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def _encoded(tokens, segments) -> EncodedExample:
    n = len(tokens)
    return EncodedExample(input_ids=list(range(n)), token_type_ids=None, tokens=tokens, offsets=[(0, 0)] * n,
                          segments=segments, word_index=[-1 if s == SPECIAL else i for i, s in enumerate(segments)],
                          words=[], unk_fraction=0.0, truncated=False)


def test_head_statistics_by_hand():
    tokens = ["[CLS]", "a", "b", "c", "d", "e", "f", ".", "g", "h", "i", "[SEP]"]
    n = len(tokens)
    enc = _encoded(tokens, [SPECIAL] + [0] * (n - 2) + [SPECIAL])
    attn = np.zeros((1, 3, n, n), dtype=np.float16)
    attn[0, 0] = np.eye(n)  # head 1: every token attends itself
    attn[0, 1, :, 0] = 1.0  # head 2: everything on [CLS]
    attn[0, 2, :, n - 1] = 0.5  # head 3: half on [SEP], half on the previous token ([CLS] on itself)
    attn[0, 2, 0, 0] = 0.5
    for i in range(1, n):
        attn[0, 2, i, i - 1] += 0.5
    out = head_statistics([attn], [enc], "[CLS]", "[SEP]")
    stats = out["stats"]
    assert stats["to_self"][0] == pytest.approx([1.0, 1 / n, 2 * 0.5 / n])  # head 3: [CLS] and [SEP] rows
    assert stats["to_cls"][0][1] == pytest.approx(1.0)
    assert stats["to_sep"][0][2] == pytest.approx(0.5)  # every row puts half on [SEP]
    assert stats["to_prev"][0][0] == 0.0 and stats["to_prev"][0][2] == pytest.approx(0.5)
    assert stats["to_punct"][0][1] == 0.0 and stats["to_punct"][0][2] == pytest.approx(0.5 / n)  # "g" -> "."
    assert stats["distance"][0][0] == 0.0
    assert stats["distance"][0][1] == pytest.approx(sum(range(n)) / n)
    assert stats["entropy"][0][0] == pytest.approx(0.0, abs=1e-6)
    # Head 1 is diagonal although [CLS], [SEP] and "." attend themselves; head 2 is vertical except for the
    # two rows ([CLS], "a") whose [CLS] column is within one position.
    assert out["diagonal_share"][0][0] == pytest.approx(1.0) and out["vertical_share"][0][0] == 0.0
    assert out["vertical_share"][0][1] == pytest.approx((n - 2) / n)
    assert out["patterns"][0] == ["diagonal", "vertical", "vertical+diagonal"]
    assert out["segment_share"] is None and out["pattern_counts"]["diagonal"] == 1


def test_pattern_rule():
    vertical = np.array([[0.9, 0.0, 0.35, 0.1, 0.1]])
    diagonal = np.array([[0.0, 0.8, 0.35, 0.1, 0.1]])
    within = np.array([[0.5, 0.5, 0.5, 0.9, 0.5]])
    assert classify_heads(vertical, diagonal, within) == [
        ["vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous"]]
    assert classify_heads(vertical, diagonal, None)[0][3] == "heterogeneous"  # no pairs: no block


@pytest.fixture(scope="module")
def adapter_and_data(tiny_classifier):
    from reportgen.compute.encode import encode_examples
    from reportgen.models import load_adapter
    from reportgen.types import Example

    adapter = load_adapter(str(tiny_classifier), False, "cpu")
    texts = ["the film was very good", "boring plot and bad acting", "a great movie", "hated this film"]
    encoded = encode_examples(adapter.tokenizer, [Example(id=str(i), text=t) for i, t in enumerate(texts)], 64)
    return adapter, encoded


def _logits(adapter, enc, mask=None):
    ids = torch.tensor([enc.input_ids])
    run = lambda: adapter.logits_from_embeddings(adapter.embed(ids), torch.ones_like(ids), None)  # noqa: E731
    if mask is None:
        return run()
    with head_mask(adapter, mask):
        return run()


def test_head_mask_identity_removal_and_gradient(adapter_and_data):
    adapter, encoded = adapter_and_data
    assert len(adapter.output_projections()) == adapter.num_layers
    enc = encoded[0]
    ones = torch.ones(adapter.num_layers, adapter.num_heads)
    with torch.no_grad():
        plain = _logits(adapter, enc)
        torch.testing.assert_close(_logits(adapter, enc, ones), plain)
        off = ones.clone()
        off[1, 0] = 0
        assert not torch.allclose(_logits(adapter, enc, off), plain)
    # d(loss)/d(mask) against a central difference on one head, in float64 (the tiny model's gradients are
    # far below float32's resolution of a finite difference)
    adapter.model.double()
    try:
        mask = ones.double().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(_logits(adapter, enc, mask), torch.tensor([1]))
        (grad,) = torch.autograd.grad(loss, mask)
        eps = 1e-4
        with torch.no_grad():
            losses = []
            for sign in (1, -1):
                shifted = ones.double()
                shifted[0, 1] += sign * eps
                losses.append(float(torch.nn.functional.cross_entropy(_logits(adapter, enc, shifted),
                                                                      torch.tensor([1]))))
    finally:
        adapter.model.float()
    assert float(grad[0, 1]) == pytest.approx((losses[0] - losses[1]) / (2 * eps), rel=1e-4)
    assert float(grad[0, 1]) != 0.0


def test_head_importance_shapes_and_pruning(adapter_and_data):
    adapter, encoded = adapter_and_data
    out = head_importance(adapter, encoded, [1, 0, 1, 0], 4096, lambda d, n: _Quiet())
    layers, heads = adapter.num_layers, adapter.num_heads
    assert np.asarray(out["gradient"]).shape == (layers, heads) and (np.asarray(out["gradient"]) >= 0).all()
    assert np.asarray(out["ablation_accuracy"]).shape == (layers, heads)
    assert [p["heads_removed"] for p in out["pruning"]][0] == 0
    assert out["pruning"][0]["accuracy"] == out["accuracy"]
    assert out["pruning"][-1]["heads_removed"] == layers * heads


def test_head_ablation_puts_back_a_forward_a_block_already_had(adapter_and_data):
    """Replaying the layers below an ablated head shadows each block's forward for a while; a forward the block
    carried before (a hook library's wrapper) is the one it has afterwards, and it served the intact passes."""
    adapter, encoded = adapter_and_data
    block = adapter.blocks()[0]
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return type(block).forward(block, *args, **kwargs)

    block.forward = wrapped
    try:
        head_importance(adapter, encoded, [1, 0, 1, 0], 4096, lambda d, n: _Quiet())
        assert block.__dict__["forward"] is wrapped and calls
    finally:
        del block.forward


def test_layer_projection_and_probes():
    rng = np.random.default_rng(0)
    n = 40
    line = np.zeros((n, 2, 5), dtype=np.float32)
    line[:, 0, 0] = np.arange(n)  # layer 0: points on a line -> one component holds everything
    labels = ["a" if i % 2 else "b" for i in range(n)]
    line[:, 1] = rng.normal(size=(n, 5))
    line[:, 1, 2] += np.array([4.0 if lab == "a" else -4.0 for lab in labels])  # layer 1 separates the labels
    proj = layer_projections(line)
    assert proj["explained"][0] == pytest.approx([1.0, 0.0], abs=1e-9)
    assert len(proj["coords"]) == 2 and len(proj["coords"][1]) == n
    probes = layer_probing(line, labels, ["a", "b"], 0, lambda d, k: _Quiet())
    assert probes["cv_accuracy"][1] == pytest.approx(1.0) and probes["cv_accuracy"][0] < 0.8
    assert probes["majority"] == 0.5 and probes["folds"] == 5
    assert "skipped" in layer_probing(line, ["a"] * n, ["a", "b"], 0, lambda d, k: _Quiet())


def test_calibration_and_confusion_by_hand():
    from reportgen.bundle import ExampleResult
    from reportgen.bundle.records import AttentionRef

    def result(slug, label, predicted, confidence):
        probs = [confidence, 1 - confidence] if predicted == "x" else [1 - confidence, confidence]
        return ExampleResult(
            id=slug, slug=slug, line=1, text=slug, text_pair=None, label=label, note=None, rationale=[],
            rationale_pair=[], tokens=[], offsets=[], segments=[], word_index=[], words=[], unk_fraction=0.0,
            unreadable=False, truncated=False, probabilities=probs, predicted=predicted, target=predicted,
            target_source="predicted", methods={}, attention=AttentionRef("", [], []), metrics={})

    results = [result("a", "x", "x", 0.95), result("b", "y", "x", 0.95), result("c", "y", "y", 0.65),
               result("d", "x", "x", 0.65)]
    q = prediction_quality(results, ["x", "y"])
    assert q["confusion"] == [[2, 0], [1, 1]]
    # bin (0.9, 1]: accuracy 0.5, confidence 0.95; bin (0.6, 0.7]: accuracy 1, confidence 0.65
    assert q["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    assert [w["slug"] for w in q["misclassified"]] == ["b"]
    assert q["per_class"][0]["precision"] == pytest.approx(2 / 3) and q["per_class"][1]["recall"] == 0.5


def test_cross_fitting_never_predicts_an_example_through_a_probe_fitted_on_it():
    from reportgen.models.crossfit import cross_fit, held_out_predictions
    from reportgen.models.probe import fit_linear

    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 4)).astype(np.float32)
    labels = ["a" if v > 0 else "b" for v in x[:, 0]]
    labels[3] = labels[7] = None  # unlabelled
    usable = [i != 5 for i in range(23)]  # 5: unreadable, never learnt from
    fit = cross_fit(x, labels, usable, ["a", "b", "c"], 0)
    train = [i for i in range(23) if labels[i] is not None and usable[i]]
    folds = [g for g in fit.groups if g.fold is not None]
    assert fit.folds == len(folds) == 5 and fit.n_fitted == len(train) == 20
    assert sorted(i for g in folds for i in g.indices) == train  # every training example held out exactly once
    rest = [g for g in fit.groups if g.fold is None]
    assert len(rest) == 1 and rest[0].indices == [3, 5, 7]
    y = np.array([["a", "b", "c"].index(labels[i]) for i in train])
    for group in folds:  # each fold's probe is the one fitted on the other folds only
        others = [k for k, i in enumerate(train) if i not in group.indices]
        expected = fit_linear(x[train][others].astype(np.float64), y[others], 3, 0)
        assert torch.allclose(group.probe.linear.weight, expected.linear.weight)
        assert (group.probe.linear.bias[2] < -1e3).item()  # class "c" was never seen: never predicted
    predicted = held_out_predictions(fit, x)
    assert predicted.shape == (23,) and set(predicted.tolist()) <= {0, 1}
    held_out = float((predicted[train] == y).mean())
    assert held_out < fit.train_accuracy or fit.train_accuracy == 1.0


def test_probe_at_chance_is_an_error_finding():
    from dataclasses import replace

    from reportgen.bundle.sections import ProbeSummary
    from reportgen.compute.findings import _probe_findings

    at_chance = ProbeSummary(scheme="cross_fitted", folds=5, n_fitted=50, train_file=None, reused_from=None, n_new=0,
                             train_accuracy=1.0, regularisation_c=1.0, n_held_out=50, held_out_accuracy=0.36,
                             majority_share=0.36, p_value=0.55, probes=())
    codes = {f["code"]: f["severity"] for f in _probe_findings(at_chance)}
    assert codes == {"probe_at_chance": "error", "probe_overfits": "warning"}
    good = replace(at_chance, held_out_accuracy=0.9, p_value=1e-9, train_accuracy=0.95)
    assert _probe_findings(good) == []
