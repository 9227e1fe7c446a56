"""Quality metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.bundle.declarations import Completeness, MethodDecl
from reportgen.bundle.records import AttentionRef, MethodInfo, MethodScores, Word
from reportgen.bundle.summary import Finding
from reportgen.compute.encode import EncodedExample
from reportgen.compute.metrics import METRICS
from reportgen.compute.metrics.agreement import agreement_matrix, spearman
from reportgen.compute.metrics.faithfulness import THRESHOLDS, aopc, counted_thresholds, top_positive
from reportgen.compute.metrics.plausibility import average_precision, f1_iou, top_k_words
from reportgen.compute.words import rationale_words
from reportgen.types import Example


def test_top_positive_takes_a_fraction_of_non_special_pieces():
    scores = np.array([9.0, 0.5, -1.0, 2.0, 0.1, 9.0])  # [CLS] w w w w [SEP]
    special = np.array([True, False, False, False, False, True])
    assert top_positive(scores, special, 0.5).tolist() == [1, 3]  # 2 of 4 pieces: 2.0 then 0.5
    assert top_positive(scores, special, 0.3).tolist() == [3]  # int(0.3 * 4) = 1
    assert top_positive(scores, special, 0.1).tolist() == []  # int(0.1 * 4) = 0: nothing, as in ferret
    assert top_positive(scores, special, 1.0).tolist() == [1, 3, 4]  # the negative piece is never taken
    assert top_positive(-np.abs(scores), special, 1.0).tolist() == []
    ten = np.zeros(12, dtype=bool)
    ten[[0, -1]] = True
    assert len(top_positive(np.arange(12.0) + 1, ten, 0.3)) == 3  # exact: 30% of 10 is 3, not int(2.999...)


def test_aopc_is_the_mean_drop_over_distinct_selections():
    assert aopc(0.9, [0.5, 0.7, 0.9]) == pytest.approx((0.4 + 0.2 + 0.0) / 3)
    assert aopc(0.9, []) == 0.0  # nothing was ever selected: ferret scores 0
    assert len(THRESHOLDS) == 10 and THRESHOLDS[0] == 0.1 and THRESHOLDS[-1] == 1.0
    a, b = frozenset({1}), frozenset({1, 3})
    # empty selections and repeats of the previous counted one are left out
    assert counted_thresholds([frozenset(), a, a, b, b, b, frozenset(), b]) == [1, 3]


def test_f1_and_iou_by_hand():
    f1, iou = f1_iou({0, 1, 2}, {1, 2, 3, 4})
    precision, recall = 2 / 3, 2 / 4
    assert f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert iou == pytest.approx(2 / 5)
    assert f1_iou(set(), {1}) == (0.0, 0.0)


def test_top_k_breaks_ties_by_position():
    assert top_k_words(np.array([0.1, 0.5, 0.5, 0.2]), 2) == {1, 2}
    assert top_k_words(np.array([1.0, 1.0, 1.0]), 1) == {0}


def test_average_precision_by_hand():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    gold = np.array([1, 0, 1, 0])
    assert average_precision(scores, gold) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert average_precision(np.array([0.1, 0.9]), np.array([0, 1])) == 1.0


def test_spearman_by_hand():
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert spearman(np.array([1.0, 1.0]), np.array([1.0, 2.0])) is None
    assert spearman(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, 3.0])) is None
    assert spearman(np.array([1.0, np.inf, 2.0]), np.array([1.0, 2.0, 3.0])) is None
    # ties get average ranks: [1, 2.5, 2.5] against [1, 2, 3] -> 0.866...
    assert spearman(np.array([0.0, 5.0, 5.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(np.sqrt(3) / 2)
    matrix = agreement_matrix({"a": [np.array([1.0, 2.0, 3.0])], "b": [np.array([3.0, 2.0, 1.0])]})
    assert matrix["a"]["a"] == pytest.approx(1.0) and matrix["a"]["b"] == pytest.approx(-1.0)


def test_rationale_words_follow_each_segment():
    ex = Example(id="x", text="a bad film", text_pair="so dull", rationale=((2, 5),), rationale_pair=((3, 7),))
    words = [Word("a", 0, 1, 0), Word("bad", 2, 5, 0), Word("film", 6, 10, 0), Word("so", 0, 2, 1),
             Word("dull", 3, 7, 1)]
    enc = EncodedExample([], None, [], [], [], [], words, 0.0, False)
    assert rationale_words(ex, enc).tolist() == [False, True, False, False, True]


@pytest.mark.parametrize("name", METRICS.names())  # every registered metric, found by discovery
def test_metrics_declare_what_pages_need(name):
    decl = METRICS.get(name).declaration()
    assert decl.name == name and decl.title
    assert decl.family in {"faithfulness", "plausibility"}
    assert decl.range[0] < decl.range[1] and isinstance(decl.higher_is_better, bool)
    assert decl.description.strip()


def test_comprehensiveness_and_sufficiency_against_a_manual_loop(tiny_encoder):
    from dataclasses import replace

    import torch

    from reportgen.compute.methods import METHODS as METHODS_REGISTRY
    from reportgen.compute.metrics import MetricContext
    from reportgen.compute.words import word_scores
    from tests.unit.test_methods import _context

    ctx = _context(tiny_encoder)
    adapter = ctx.adapter
    scores = np.array([0.0, 0.3, -0.2, 0.9, 0.1, 0.4, 0.0], dtype=np.float32)  # [CLS] the film was very good [SEP]
    enc = ctx.encoded[0]
    assert enc.length == len(scores)
    with torch.no_grad():
        def prob(keep):
            ids = torch.tensor([[enc.input_ids[t] for t in keep]])
            types = torch.tensor([[enc.token_type_ids[t] for t in keep]])
            logits = adapter.logits_from_embeddings(adapter.embed(ids), torch.ones_like(ids), types)
            return float(torch.softmax(logits, -1)[0, ctx.targets[0]])

        full = prob(range(enc.length))
        special = np.array(enc.special_mask)
        comp, suff, last = [], [], None
        for fraction in THRESHOLDS:
            chosen = set(top_positive(scores, special, fraction).tolist())
            if not chosen or chosen == last:  # ferret: nothing removed, or nothing new removed
                continue
            last = chosen
            comp.append(full - prob([t for t in range(enc.length) if special[t] or t not in chosen]))
            suff.append(full - prob([t for t in range(enc.length) if special[t] or t in chosen]))
        assert len(comp) >= 2
    probabilities = np.zeros((1, 2))
    probabilities[0, ctx.targets[0]] = full
    mctx = MetricContext(adapter, [Example(id="x", text="the film was very good")], [enc], [ctx.targets[0]],
                         [ctx.target_logits[0]], probabilities, {"m": [scores]}, ctx.config, ctx.progress)
    assert METRICS.get("comprehensiveness")().compute(mctx)["m"][0] == pytest.approx(np.mean(comp), abs=1e-5)
    assert METRICS.get("sufficiency")().compute(mctx)["m"][0] == pytest.approx(np.mean(suff), abs=1e-5)
    assert METRICS.get("auprc")().compute(mctx)["m"] == [None]  # no rationale: not applicable
    occlusion = METHODS_REGISTRY.get("occlusion")().attribute(replace(ctx, encoded=[enc], targets=[ctx.targets[0]],
                                                                      target_logits=[ctx.target_logits[0]]))
    expected = spearman(word_scores(scores, enc), word_scores(occlusion[0].token_scores, enc))
    assert METRICS.get("loo_correlation")().compute(mctx)["m"][0] == pytest.approx(expected)


def _result(slug, words, word_scores, token_scores, segments, word_index):
    from reportgen.bundle import ExampleResult

    return ExampleResult(
        id=slug, slug=slug, line=1, text="", text_pair=None, label=None, note=None, rationale=[], rationale_pair=[],
        tokens=[""] * len(segments), offsets=[], segments=segments, word_index=word_index,
        words=[Word(w, 0, 0, 0) for w in words], unk_fraction=0.0, unreadable=False,
        truncated=False, probabilities=[1.0], predicted="a", target="a", target_source="predicted",
        methods={"integrated_gradients": MethodScores(token_scores, word_scores, MethodInfo())},
        attention=AttentionRef("", [], []),
    )


def test_findings_special_share_and_spurious_cue():
    # The findings are drawn from the streaming aggregate now (examples are added one by one, then dropped).
    from reportgen.compute.aggregate import _special_share, summarise
    from reportgen.compute.findings import _spurious_cues, at_or_above, finding
    from reportgen.render.wording import finding_message, titles_of

    # [CLS] good . [SEP]: |scores| 1 + 1 + 6 + 2 -> specials and punctuation hold 9 of 10
    r = _result("x", ["good", "."], [1.0, 6.0], [1.0, 1.0, 6.0, 2.0], [-1, 0, 0, -1], [-1, 0, 1, -1])
    assert _special_share(r, "integrated_gradients") == pytest.approx(0.9)
    many = [_result(f"e{i}", ["cue", "other"], [2.0, 1.0], [0, 2.0, 1.0, 0], [-1, 0, 0, -1], [-1, 0, 1, -1])
            for i in range(5)]
    methods = [MethodDecl("integrated_gradients", "Integrated Gradients", "gradient", True, "", "")]
    cues = _spurious_cues(summarise(many, ["a"], methods, {})[1])
    assert len(cues) == 1 and len(cues[0]["examples"]) == 5
    assert cues[0]["params"] == {"word": "cue", "method": "integrated_gradients", "count": 5, "readable": 5}
    assert finding_message(Finding(**cues[0]), titles_of(methods)) == (
        "“cue” is the top Integrated Gradients word of 5 of 5 examples: a candidate spurious cue; check that the "
        "model does not predict from it alone.")
    assert _spurious_cues(summarise(many[:4], ["a"], methods, {})[1]) == []  # fewer than 5: not reported
    found = [finding("a", "info", {}), finding("b", "warning", {}), finding("c", "error", {})]
    assert [f["code"] for f in at_or_above(found, "warning")] == ["b", "c"]


def test_findings_weigh_faithfulness_against_counted_cost():
    """Every decomposition method, and any cheaper method at least as comprehensive, is set against the first
    method with a completeness check; a costlier or less faithful non-decomposition method is not mentioned."""
    from reportgen.compute.findings import _faithfulness_for_cost
    from reportgen.render.wording import finding_message, titles_of

    def declared(name, family, completeness=None):
        return MethodDecl(name, name.upper(), family, True, "", "", completeness=completeness)

    methods = [declared("ig", "gradient", Completeness()), declared("dx", "decomposition"), declared("gxi", "gradient"),
               declared("alt", "decomposition"), declared("occ", "perturbation"), declared("rnd", "reference")]
    comp = {"ig": 0.6, "dx": 0.7, "gxi": 0.3, "alt": 0.4, "occ": 0.8, "rnd": 0.1}
    summary = {
        "metrics": {"comprehensiveness": {k: {"mean": v} for k, v in comp.items()},
                    "sufficiency": {k: {"mean": -v} for k, v in comp.items()}},
        "cost": {"relative_to": "ig", "methods": {name: {"flops": flops, "share": flops / 100.0} for name, flops in
                                                  {"ig": 100.0, "dx": 25.0, "gxi": 2.0, "alt": 5.0, "occ": 200.0,
                                                   "rnd": 0.0}.items()}},
    }
    from reportgen.compute.metrics import METRICS

    metrics = [METRICS.get(name).declaration() for name in ("comprehensiveness", "sufficiency")]
    found = [finding_message(Finding(**f), titles_of(methods))
             for f in _faithfulness_for_cost(summary, methods, metrics)]
    assert found == [
        "DX: comprehensiveness 0.700 against IG's 0.600 and sufficiency −0.700 against −0.600, at 0.25× its "
        "counted arithmetic per example (as comprehensive, for less arithmetic).",
        "ALT: comprehensiveness 0.400 against IG's 0.600 and sufficiency −0.400 against −0.600, at 0.05× its "
        "counted arithmetic per example (less comprehensive).",
    ]
    assert _faithfulness_for_cost({**summary, "cost": None}, methods, metrics) == []  # an older bundle: nothing counted


def test_spread_over_pieces_keeps_word_sums():
    from reportgen.compute.words import spread_over_pieces, words_from_tokens

    word_index = [-1, 0, 0, 1, 2, 2, 2, -1]
    tokens = spread_over_pieces(np.array([1.0, -2.0, 3.0]), word_index)
    assert tokens.tolist() == pytest.approx([0, 0.5, 0.5, -2.0, 1.0, 1.0, 1.0, 0])
    assert words_from_tokens(tokens, word_index, 3) == pytest.approx([1.0, -2.0, 3.0])
