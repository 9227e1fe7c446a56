"""Word pieces map back to words of the original text through the fast tokenizer's offsets."""

from __future__ import annotations

from transformers import AutoTokenizer

from reportgen.compute.encode import SPECIAL, encode_example, token_batches
from reportgen.types import Example


def test_words_fall_on_the_original_text(tiny_encoder):
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    ex = Example(id="x", text="The film  was GOOD!")
    enc = encode_example(tok, ex, 64)
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    assert enc.segments[0] == SPECIAL and enc.word_index[0] == SPECIAL
    assert [w.text for w in enc.words] == ["The", "film", "was", "GOOD", "!"]
    for w in enc.words:
        assert ex.text[w.start : w.end] == w.text
    assert len(enc.word_index) == len(enc.tokens) == len(enc.input_ids)


def test_subwords_join_into_one_word(tiny_encoder):
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    enc = encode_example(tok, Example(id="x", text="playing films"), 64)
    assert "##s" in enc.tokens
    film_pieces = [i for i, t in enumerate(enc.tokens) if t in ("film", "##s")]
    assert len({enc.word_index[i] for i in film_pieces}) == 1
    assert enc.words[enc.word_index[film_pieces[0]]].text == "films"


def test_pairs_keep_segments_apart(tiny_encoder):
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    ex = Example(id="x", text="a man sits", text_pair="a dog sits")
    enc = encode_example(tok, ex, 64)
    assert enc.tokens.count("[SEP]") == 2
    assert {w.segment for w in enc.words} == {0, 1}
    for w in enc.words:
        assert (ex.text if w.segment == 0 else ex.text_pair)[w.start : w.end] == w.text
    assert enc.token_type_ids[-1] == 1 and enc.token_type_ids[0] == 0


def test_unknown_script_is_measured(tiny_encoder):
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    enc = encode_example(tok, Example(id="x", text="这部电影很好看"), 64)
    assert enc.unk_fraction == 1.0
    assert len(enc.words) == 7  # each CJK character is its own word
    assert encode_example(tok, Example(id="y", text="good film"), 64).unk_fraction == 0.0


def test_truncation_is_recorded(tiny_encoder):
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    enc = encode_example(tok, Example(id="x", text=" ".join(["good"] * 40)), 16)
    assert enc.truncated and enc.length == 16


def test_token_batches_respect_budget_and_cover_all():
    lengths = [5, 30, 7, 12, 30, 3]
    batches = token_batches(lengths, budget_tokens=40)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= 40
