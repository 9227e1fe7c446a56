"""Long texts read in overlapping windows: how the windows are cut and joined, and the stated merge rules."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from reportgen.compute.encode import SPECIAL, encode_document, encode_example, window_rows
from reportgen.compute.windows import mean_over_windows, merged_info, merged_metric, merged_scores
from reportgen.types import Example

TEXT = " ".join(f"the film number {k} was good but the plot was boring" for k in range(30))


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder):
    return AutoTokenizer.from_pretrained(tiny_encoder)


def test_a_long_text_is_cut_into_overlapping_windows_and_joined_once(tokenizer):
    doc = encode_document(tokenizer, Example(id="x", text=TEXT), 32, "window", stride=8)
    assert doc.windowed and not doc.whole.truncated and len(doc.windows) > 5
    assert all(w.length <= 32 for w in doc.windows)
    for w, mapping in zip(doc.windows, doc.to_whole):
        for t, target in enumerate(mapping):  # every piece of a window is the same piece in the whole text
            assert doc.whole.tokens[target] == w.tokens[t]
            if w.segments[t] != SPECIAL:
                assert doc.whole.offsets[target] == w.offsets[t]
    for before, after in zip(doc.to_whole, doc.to_whole[1:]):  # neighbours share 8 pieces
        assert len(set(before[1:-1]) & set(after[1:-1])) == 8
    covered = {t for mapping in doc.to_whole for t in mapping}
    assert covered == set(range(doc.whole.length))
    assert [w.text for w in doc.whole.words] == TEXT.split()  # every word once, in order
    whole_pieces = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    assert doc.whole.input_ids[1:-1] == whole_pieces  # nothing lost, nothing doubled


def test_what_fits_is_one_window_and_truncate_keeps_the_first(tokenizer):
    short = Example(id="s", text="the film was good")
    doc = encode_document(tokenizer, short, 32, "window")
    assert not doc.windowed and doc.whole == doc.windows[0] == encode_example(tokenizer, short, 32)
    cut = encode_document(tokenizer, Example(id="x", text=TEXT), 32, "truncate")
    assert not cut.windowed and cut.whole.truncated and cut.whole.length == 32
    pair = encode_document(tokenizer, Example(id="p", text=TEXT, text_pair="a short hypothesis"), 32, "window")
    assert not pair.windowed and pair.whole.truncated  # the tokenizer cannot window a pair: truncated


def test_window_rows_flatten_in_order(tokenizer):
    docs = [encode_document(tokenizer, Example(id=str(k), text=t), 32, "window", stride=8)
            for k, t in enumerate(["good film", TEXT, "bad film"])]
    rows, owner = window_rows(docs)
    assert owner == [0] + [1] * len(docs[1].windows) + [2]
    assert rows[0] is docs[0].windows[0] and rows[-1] is docs[2].windows[0]


def test_merged_scores_are_each_windows_attribution_to_the_mean_logit(tokenizer):
    doc = encode_document(tokenizer, Example(id="x", text=TEXT), 32, "window", stride=8)
    rng = np.random.default_rng(0)
    scores = [rng.normal(size=w.length).astype(np.float32) for w in doc.windows]
    merged = merged_scores(doc, scores)
    k = len(doc.windows)
    # completeness carries over: the total is the mean of the windows' totals
    assert merged.sum() == pytest.approx(np.mean([s.sum() for s in scores]), rel=1e-5)
    expected = np.zeros(doc.whole.length)
    for mapping, s in zip(doc.to_whole, scores):
        for t, target in enumerate(mapping):
            expected[target] += s[t] / k
    np.testing.assert_allclose(merged, expected, rtol=1e-5, atol=1e-7)


def test_merged_info_averages_values_and_keeps_the_worst_window():
    infos = [{"delta": 0.1, "relative_delta": 0.01, "steps": 17, "f_end": 2.0, "converged": True, "rule": "cc"},
             {"delta": -0.3, "relative_delta": 0.04, "steps": 65, "f_end": 1.0, "converged": False, "rule": "cc",
              "recomputed_from": "bf16"}]
    info = merged_info(infos)
    assert info["delta"] == pytest.approx(-0.1) and info["f_end"] == pytest.approx(1.5)
    assert info["relative_delta"] == 0.04 and info["steps"] == 65 and info["converged"] is False
    assert info["rule"] == "cc" and info["recomputed_from"] == "bf16" and info["windows"] == infos
    assert merged_info(infos[:1]) is infos[0]
    assert merged_metric([0.2, None, 0.4]) == pytest.approx(0.3) and merged_metric([None]) is None


def test_mean_over_windows():
    values = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    np.testing.assert_array_equal(mean_over_windows(values, [0, 0, 1], 2), [[2.0, 3.0], [5.0, 6.0]])


def test_the_window_is_bounded_by_the_attention_maps_one_input_may_take():
    from reportgen.compute.pipeline import input_window

    assert input_window(None, 512, 6, 12) == 512  # MiniLM: its own limit (37.7 MB of maps)
    assert input_window(None, 8192, 22, 12) == 1024  # ModernBERT-base: 8k pieces would be 35 GB of maps
    assert input_window(256, 8192, 22, 12) == 256 and input_window(4096, 512, 6, 12) == 512  # --max-length
