"""Every encoder family of the architecture table, with and without a classification head (issue 11).

Each model is tiny and random, built here from its transformers config, with a tokenizer trained here by the
`tokenizers` library on ../shared/data (WordPiece, byte-level BPE or Unigram, as the family ships): no download.
Each builds with --methods all and the global analyses; every method gives finite scores, or the methods page
says in one sentence why it does not apply."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from reportgen.bundle.reasons import Reason
from reportgen.bundle.store import read_results
from reportgen.bundle.typed import parse
from reportgen.cli import cli
from reportgen.compute.methods import METHODS
from reportgen.render.wording import reason_text
from tests.conftest import TINY_ROWS, shared, write_jsonl

SPECIALS = {"wordpiece": ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
            "bpe": ("<pad>", "<unk>", "<s>", "</s>", "<mask>"),
            "unigram": ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")}

# family -> (tokenizer model, config class name, extra config fields)
FAMILIES = {
    "bert": ("wordpiece", "BertConfig", {}),
    "distilbert": ("wordpiece", "DistilBertConfig", {}),
    "electra": ("wordpiece", "ElectraConfig", {"embedding_size": 16}),
    "mpnet": ("wordpiece", "MPNetConfig", {}),
    "roberta": ("bpe", "RobertaConfig", {}),
    "modernbert": ("bpe", "ModernBertConfig", {"local_attention": 8}),
    "xlm-roberta": ("unigram", "XLMRobertaConfig", {}),
    "albert": ("unigram", "AlbertConfig", {"embedding_size": 16}),
    "deberta-v2": ("unigram", "DebertaV2Config", {}),
}


def _texts() -> list[str]:
    lines = shared("sst2").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines] + [r["text"] for r in TINY_ROWS]


def _tokenizer(kind: str):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    pad, unk, cls, sep, mask = SPECIALS[kind]
    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=unk))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=list(SPECIALS[kind]))
    elif kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=unk))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=list(SPECIALS[kind]),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=list(SPECIALS[kind]), unk_token=unk)
    tok.train_from_iterator(_texts(), trainer)
    ids = {t: tok.token_to_id(t) for t in (cls, sep)}
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1", special_tokens=list(ids.items()))
    if kind == "bpe":  # byte-level pieces carry their leading space: offsets trimmed to the word
        tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=True), tok.post_processor])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=pad, unk_token=unk, cls_token=cls,
                                   sep_token=sep, mask_token=mask, bos_token=cls, eos_token=sep, model_max_length=64)


def _model(directory, family: str, with_head: bool):
    import torch
    import transformers

    kind, config_class, extra = FAMILIES[family]
    tokenizer = _tokenizer(kind)
    tokenizer.save_pretrained(directory)
    sizes = ({"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64} if family == "distilbert" else
             {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64})
    config = getattr(transformers, config_class)(
        vocab_size=len(tokenizer), max_position_embeddings=80, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, **sizes, **extra)
    for name, value in (("cls_token_id", tokenizer.cls_token_id), ("sep_token_id", tokenizer.sep_token_id)):
        if hasattr(config, name):
            setattr(config, name, value)
    torch.manual_seed(0)
    if with_head:
        config.num_labels, config.id2label = 2, {0: "negative", 1: "positive"}
        config.label2id = {"negative": 0, "positive": 1}
        model = transformers.AutoModelForSequenceClassification.from_config(config)
    else:
        model = transformers.AutoModel.from_config(config)
    model.save_pretrained(directory)
    return directory


def _worded(reason: dict) -> str:
    """A reason as the bundle stores it (a code), in the words the pages show."""
    return reason_text(parse(Reason, reason, "reason"))


@pytest.mark.parametrize("with_head", [False, True], ids=["bare", "head"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_method_and_analysis_runs_or_says_why_not(tmp_path, family, with_head):
    model = _model(tmp_path / "model", family, with_head)
    examples = write_jsonl(tmp_path / "examples.jsonl", TINY_ROWS)
    site = tmp_path / "site"
    result = CliRunner().invoke(cli, ["build", "--examples", str(examples), "--model", str(model), "--out", str(site),
                                      "--methods", "all", "--metrics", "all", "--surrogate-samples", "20",
                                      "--sanity", "2", "--ig-steps", "8", "-q"])
    assert result.exit_code == 0, result.output
    results = read_results(site / "data")
    page = re.sub(r"\s+", " ", html.unescape((site / "methods.html").read_text(encoding="utf-8")))
    ran = [m["name"] for m in results["methods"]]
    for left_out in results["summary"]["not_applicable"]:  # each with its one sentence on the methods page
        assert f"<strong>{left_out['title']}</strong>: {_worded(left_out['reason'])}." in page
    assert len(ran) + len(results["summary"]["not_applicable"]) == len(METHODS.names())
    for ex in results["examples"]:
        for name in ran:
            scores = np.array(ex["methods"][name]["tokens"], dtype=float)
            assert np.isfinite(scores).all() or "skipped" in ex["methods"][name]["info"], (family, name, ex["id"])
    analyses = results["summary"]["global_analysis"]
    model_page = re.sub(r"\s+", " ", html.unescape((site / "model.html").read_text(encoding="utf-8")))
    for name, analysis in analyses.items():  # computed, or skipped with the reason shown on model.html
        if isinstance(analysis, dict) and "skipped" in analysis:
            assert _worded(analysis["skipped"]) in model_page, (family, name)


def test_a_default_method_that_cannot_explain_the_model_is_left_out_and_a_named_one_refused(tmp_path):
    """AttnLRP is a default but needs its rules' places in the architecture table: on MPNet, whose attention adds
    a relative bias outside transformers' attention interface, a default build leaves it out with its reason on
    the methods page, and Integrated Gradients, leading, explains every example (no costly sample); naming AttnLRP
    is an error that says what to change."""
    model = _model(tmp_path / "model", "mpnet", False)
    examples = write_jsonl(tmp_path / "examples.jsonl", TINY_ROWS)
    common = ["build", "--examples", str(examples), "--model", str(model), "--ig-steps", "8", "--no-global", "-q"]
    result = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    results = read_results(tmp_path / "site" / "data")
    assert [m["name"] for m in results["methods"]] == ["integrated_gradients", "attention_rollout"]
    assert [m["name"] for m in results["summary"]["not_applicable"]] == ["attn_lrp"]
    assert "plan" not in results["summary"]
    assert all("skipped" not in ex["methods"]["integrated_gradients"]["info"] for ex in results["examples"])
    named = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "named"), "--methods", "attn_lrp"])
    assert named.exit_code == 2 and "leave attn_lrp out of --methods" in named.output


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_head_ablation_from_recorded_layer_inputs_equals_whole_passes(tmp_path, family):
    """Head ablation starts each pass at the ablated layer, from that layer's input recorded in the intact pass
    (head_importance._replayed_below). For every family, over several batches, each (layer, head) gives the
    same accuracy and loss as a whole forward pass with that head removed."""
    import torch
    from torch import nn

    from reportgen.compute.encode import encode_examples, token_batches
    from reportgen.compute.global_analysis.head_importance import head_importance, head_mask
    from reportgen.compute.methods.base import padded_batch
    from reportgen.models import load_adapter
    from reportgen.progress import quiet
    from reportgen.types import Example

    adapter = load_adapter(str(_model(tmp_path / "model", family, True)), False, "cpu")
    encoded = encode_examples(adapter.tokenizer, [Example(id=str(i), text=r["text"]) for i, r in
                                                  enumerate(TINY_ROWS)], 64)
    labels = [i % 2 for i in range(len(encoded))]
    batch_tokens = 3 * max(e.length for e in encoded)  # several batches: recordings are per batch
    batches = token_batches([e.length for e in encoded], batch_tokens)
    assert len(batches) > 1

    out = head_importance(adapter, encoded, labels, batch_tokens, quiet)
    assert not any("forward" in block.__dict__ for block in adapter.blocks() or [])  # the class's forward again
    if "skipped" in out:
        assert adapter.output_projections() is None
        return
    layers, heads = adapter.num_layers, adapter.num_heads
    y = torch.tensor(labels)
    whole = np.zeros((layers, heads, 2))
    with torch.no_grad():
        for batch in batches:
            ids, attn_mask, types = padded_batch(encoded, batch, "cpu")
            for layer in range(layers):
                for head in range(heads):
                    mask = torch.ones(layers, heads)
                    mask[layer, head] = 0
                    with head_mask(adapter, mask):
                        logits = adapter.logits_from_embeddings(adapter.embed(ids), attn_mask, types).float()
                    whole[layer, head] += [int((logits.argmax(-1) == y[batch]).sum()),
                                           float(nn.functional.cross_entropy(logits, y[batch], reduction="sum"))]
    n = len(encoded)
    np.testing.assert_allclose(np.asarray(out["ablation_accuracy"]) + out["accuracy"], whole[..., 0] / n, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(out["ablation_loss"]) + out["loss"], whole[..., 1] / n, rtol=1e-12)


# The families whose attention runs through transformers' attention interface: the LRP rules go in all of them.
LRP_FAMILIES = ("albert", "bert", "distilbert", "electra", "modernbert", "roberta", "xlm-roberta")


def test_the_lrp_rules_are_placed_in_seven_of_the_nine_families(tmp_path):
    from reportgen.compute.methods.lrp_rules import rules_problem
    from reportgen.models import load_adapter

    placed = [family for family in sorted(FAMILIES)
              if rules_problem(load_adapter(str(_model(tmp_path / family, family, True)), False, "cpu")) is None]
    assert tuple(placed) == LRP_FAMILIES


@pytest.mark.parametrize("with_head", [False, True], ids=["bare", "head"])
@pytest.mark.parametrize("family", LRP_FAMILIES)
def test_lrp_rules_keep_the_logits_and_conserve_relevance_in_every_family(tmp_path, family, with_head):
    """In every family the table places the rules in: under them the model computes its own logits; and with every
    bias and position embedding zero the model under CP-LRP's rules is linear in the word-piece embeddings, so
    the relevance adds up to the logit exactly. That holds only if every nonlinear step (each LayerNorm, the
    feed-forward activation, a gated feed-forward's product, the head's activation, inline or not) has its rule:
    one left out breaks the sum. AttnLRP's uniform rule differs only inside the attention function, which the
    unit tests check against a forward pass written out."""
    import copy

    import torch

    from reportgen.compute.encode import encode_examples
    from reportgen.compute.methods import METHODS, MethodContext
    from reportgen.compute.methods.base import padded_batch
    from reportgen.compute.methods.lrp_rules import relevance_rules
    from reportgen.config import ComputeConfig
    from reportgen.models import load_adapter
    from reportgen.models.probe import LinearProbe
    from reportgen.progress import quiet
    from reportgen.types import Example

    adapter = load_adapter(str(_model(tmp_path / "model", family, with_head)), False, "cpu")
    if not with_head:  # a bare encoder is explained through a probe: a random one serves here
        adapter = adapter.with_labels(["negative", "positive"])
        width = adapter.model.config.to_dict().get("dim") or adapter.model.config.hidden_size
        adapter.probe = LinearProbe(np.random.default_rng(1).normal(size=(2, width)), np.array([0.3, -0.2]))
    encoded = encode_examples(adapter.tokenizer, [Example(id=str(i), text=r["text"]) for i, r in
                                                  enumerate(TINY_ROWS[:6])], 64)
    ids, mask, types = padded_batch(encoded, list(range(len(encoded))), "cpu")
    for rule in ("uniform", "stop"):
        with torch.no_grad():
            before = adapter.logits_from_embeddings(adapter.embed(ids), mask, types)
            with relevance_rules(adapter, rule):
                under = adapter.logits_from_embeddings(adapter.embed(ids), mask, types)
        torch.testing.assert_close(under, before, atol=1e-5, rtol=1e-4)

    linear = copy.copy(adapter)
    linear.model = copy.deepcopy(adapter.model)
    with torch.no_grad():
        for name, module in linear.model.named_modules():
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()
            if isinstance(module, torch.nn.Embedding) and "word" not in name and "tok_" not in name:
                module.weight.zero_()  # positions and token types: only the word pieces carry relevance
        if linear.probe is not None:
            linear.probe = copy.deepcopy(adapter.probe)
            linear.probe.linear.bias.zero_()
    with torch.no_grad():
        logits = [linear.logits_from_embeddings(linear.embed(torch.tensor([e.input_ids])),
                                                torch.ones(1, e.length, dtype=torch.long), None)[0] for e in encoded]
    targets = [int(row.argmax()) for row in logits]
    ctx = MethodContext(linear, encoded, targets, [float(row[t]) for row, t in zip(logits, targets)],
                        [np.empty(0)] * len(encoded), ComputeConfig(batch_tokens=4096), quiet)
    for out, row, t in zip(METHODS.get("cp_lrp")().attribute(ctx), logits, targets):
        # To float32's rounding: a rule left out of these tiny random models moves the sum by 1e-4 to 1e-2 of it.
        assert out.token_scores.sum() == pytest.approx(float(row[t]), rel=5e-5, abs=5e-7), (family, with_head)
