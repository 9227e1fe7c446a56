"""Issue 29, models: a broken config, head, vocabulary or set of weights is refused in one line naming the fix,
before any example is computed (the refusal comes before the forward pass's progress line)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.conftest import TINY_ROWS, _save_tiny, run_cli, write_jsonl

pytestmark = pytest.mark.integration


def _config(key, value):
    def edit(cfg):
        cfg[key] = value
    return edit


def _weights(fill):
    def edit(weights):
        name = next(k for k in weights if k.endswith(fill[0]))
        weights[name] = fill[1](weights[name])
    return edit


def _labels(id2label):
    def edit(cfg):
        cfg["id2label"] = id2label
        cfg["label2id"] = {v: int(k) for k, v in id2label.items()}
        cfg["num_labels"] = len(id2label)
    return edit


def _many_classes(cfg):
    _labels({str(i): f"c{i}" for i in range(100_000)})(cfg)


CASES = {
    # name: (with a head, config edit, weights edit, the message's telling part)
    "nan_logits": (True, None, _weights(("classifier.weight", lambda w: torch.full_like(w, float("nan")))),
                   "gives NaN or infinite logits on a plain sentence"),
    "inf_embeddings": (False, None, _weights(("word_embeddings.weight", lambda w: torch.full_like(w, float("inf")))),
                       "gives NaN or infinite pooled features"),
    "head_shape": (True, _labels({"0": "negative", "1": "positive", "2": "neutral"}), None,
                   "its weights do not fit its config.json"),
    "zero_heads": (False, _config("num_attention_heads", 0), None, "num_attention_heads = 0"),
    "heads_do_not_divide": (False, _config("num_attention_heads", 3), None, "does not split into 3 attention heads"),
    "vocab_past_embedding": (False, _config("vocab_size", 40),
                             _weights(("word_embeddings.weight", lambda w: w[:40].clone())),
                             "but the embedding only 40 rows"),
    "negative_label_ids": (True, _labels({"-1": "negative", "0": "positive"}), None,
                           "numbers its classes -1, 0; they must be 0 to 1"),
    "hundred_thousand_classes": (True, _many_classes,
                                 lambda w: w.update({"classifier.weight": torch.zeros(100_000, 32),
                                                     "classifier.bias": torch.zeros(100_000)}),
                                 "has 100,000 classes; reportgen explains classifiers of at most 1,000"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_model_is_one_line_before_any_example_is_computed(tmp_path, case):
    with_head, edit_config, edit_weights, message = CASES[case]
    folder = _save_tiny(tmp_path / "model", with_head)
    if edit_config:
        cfg = json.loads((folder / "config.json").read_text())
        edit_config(cfg)
        (folder / "config.json").write_text(json.dumps(cfg))
    if edit_weights:
        weights = load_file(folder / "model.safetensors")
        edit_weights(weights)
        save_file(weights, folder / "model.safetensors")
    examples = write_jsonl(tmp_path / "examples.jsonl", TINY_ROWS[:6])
    result = run_cli("build", "--examples", str(examples), "--model", str(folder), "--out", str(tmp_path / "site"),
                     "--no-global", "--no-cache")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and message in last, last
    assert "Forward pass" not in result.stderr  # refused before the first example
    assert len(last) < 400 and not (tmp_path / "site").exists()


def test_one_example_per_class_for_a_bare_encoder_is_one_line(tmp_path, tiny_encoder):
    rows = [{"id": "a", "text": "the film was very good", "label": "positive"},
            {"id": "b", "text": "the acting was terrible", "label": "negative"}]
    result = run_cli("build", "--examples", str(write_jsonl(tmp_path / "e.jsonl", rows)), "--model",
                     str(tiny_encoder), "--out", str(tmp_path / "site"), "--no-global", "--no-cache")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "cross-fitting needs at least 2 readable labelled examples of some class" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--max-length", "2"], "--max-length 2 leaves no room for words"),
    (["--max-length", "3"], "--max-length 3 leaves no room for words"),
    (["--max-length", "32", "--window-stride", "30"], "--window-stride 30 must be smaller than the 30 word pieces"),
])
def test_windows_that_cannot_work_are_refused_before_compute(tmp_path, tiny_encoder, tiny_examples, args, message):
    result = run_cli("build", "--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out",
                     str(tmp_path / "site"), "--no-global", "--no-cache", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert message in result.stderr and "Forward pass" not in result.stderr
