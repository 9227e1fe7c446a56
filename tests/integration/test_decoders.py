"""Decoders and encoder-decoders are refused before anything is computed (issue 11): their prediction reads the
last token under causal attention (or a decoder's last token), so rollout's first row, the attention statistics
and the probe's mean pool would explain something the prediction never used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from tests.conftest import shared


def _byte_level_bpe(directory: Path) -> int:
    """A byte-level BPE tokenizer (GPT-2's kind) trained here on real SST-2 sentences; returns its vocab size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [json.loads(line)["text"] for line in shared("sst2").read_text(encoding="utf-8").splitlines()]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   pad_token="<pad>")
    fast.save_pretrained(directory)
    return tokenizer.get_vocab_size()


def _gpt2(directory: Path, head: bool) -> Path:
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2Model

    vocab = _byte_level_bpe(directory)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=2, n_head=2, pad_token_id=1,
                        num_labels=2)
    (GPT2ForSequenceClassification(config) if head else GPT2Model(config)).save_pretrained(directory)
    return directory


def _bart(directory: Path) -> Path:
    import torch
    from transformers import BartConfig, BartForSequenceClassification

    vocab = _byte_level_bpe(directory)
    torch.manual_seed(0)
    config = BartConfig(vocab_size=vocab, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
                        pad_token_id=1, bos_token_id=0, eos_token_id=0, num_labels=2)
    BartForSequenceClassification(config).save_pretrained(directory)
    return directory


@pytest.mark.parametrize("make,what", [(lambda d: _gpt2(d, head=True), "a decoder with causal attention"),
                                       (lambda d: _gpt2(d, head=False), "a decoder with causal attention"),
                                       (_bart, "an encoder-decoder")])
def test_decoders_are_refused_in_one_line(tmp_path, tiny_examples, make, what):
    model = make(tmp_path / "model")
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(model),
                                      "--out", str(tmp_path / "site"), "-q"])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert what in message and "use an encoder" in message and len(message.splitlines()) == 1
    assert not (tmp_path / "site").exists()


def _distilbert(directory: Path) -> Path:
    """A tiny random bare DistilBERT (not BERT's block layout) with the tests' WordPiece vocabulary."""
    import torch
    from transformers import BertTokenizerFast, DistilBertConfig, DistilBertModel

    from tests.conftest import _save_tiny

    _save_tiny(directory, with_head=False)  # for its tokenizer files; the weights are replaced below
    for weights in directory.glob("*.safetensors"):
        weights.unlink()
    vocab = BertTokenizerFast.from_pretrained(directory).vocab_size
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=64)
    DistilBertModel(config).save_pretrained(directory)
    return directory


def test_methods_that_cannot_read_a_model_are_left_out_with_the_reason(tmp_path, tiny_examples):
    """--methods all on a model that is not laid out like BERT: the decomposition methods are left out and the
    methods page says why; naming one of them is exit 2 with the same reason."""
    model = _distilbert(tmp_path / "distilbert")
    site = tmp_path / "site"
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(model),
                                      "--out", str(site), "--methods", "all", "--no-global", "-q"])
    assert result.exit_code == 0, result.output
    page = (site / "methods.html").read_text(encoding="utf-8")
    assert "Methods left out for this model" in page
    for title in ("DecompX", "ALTI", "Value zeroing"):
        assert f"<strong>{title}</strong>: DistilBertModel is not laid out like BERT" in page
    named = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(model),
                                     "--out", str(tmp_path / "refused"), "--methods", "decompx", "-q"])
    assert named.exit_code == 2 and "decompx: DistilBertModel is not laid out like BERT" in named.output
