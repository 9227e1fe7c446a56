"""Tokenize examples once and map every word piece back to a word of the original text (via offsets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from reportgen.types import Example

SPECIAL = -1  # segment / word index of [CLS], [SEP] and other added tokens


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # character offsets in the text of its segment
    end: int
    segment: int  # 0: text, 1: text_pair


@dataclass(frozen=True)
class EncodedExample:
    input_ids: list[int]  # [seq]
    token_type_ids: Optional[list[int]]  # [seq], None for models without segment embeddings
    tokens: list[str]  # [seq] word pieces as the tokenizer writes them
    offsets: list[tuple[int, int]]  # [seq] character span of each piece in its segment's text
    segments: list[int]  # [seq] 0, 1 or SPECIAL
    word_index: list[int]  # [seq] index into words, or SPECIAL
    words: list[Word]
    unk_fraction: float  # share of non-special pieces that are the unknown token
    truncated: bool  # the text was longer than the model's limit and was cut

    @property
    def length(self) -> int:
        return len(self.input_ids)

    @property
    def special_mask(self) -> list[bool]:
        return [s == SPECIAL for s in self.segments]


@dataclass(frozen=True)
class TokenIds:
    """Just what a forward pass needs: for texts that are only learnt from (--probe-train), never shown."""

    input_ids: list[int]
    token_type_ids: Optional[list[int]]

    @property
    def length(self) -> int:
        return len(self.input_ids)


def encode_ids(tokenizer: Any, examples: Sequence[Example], max_length: int, chunk: int = 2048) -> list[TokenIds]:
    """Batched tokenisation without offsets or words: far faster than encode_example on a 60k-row set."""
    out: list[Optional[TokenIds]] = [None] * len(examples)
    budget = max_length * CHARS_PER_PIECE
    for paired in (False, True):
        rows = [i for i, ex in enumerate(examples) if (ex.text_pair is not None) == paired]
        for start in range(0, len(rows), chunk):
            part = [examples[i] for i in rows[start : start + chunk]]
            enc = tokenizer([_prefix(ex.text, budget) for ex in part],
                            [_prefix(ex.text_pair, budget) for ex in part] if paired else None,
                            truncation=True, max_length=max_length)
            types = enc.get("token_type_ids")
            for k, i in enumerate(rows[start : start + chunk]):
                out[i] = TokenIds(list(enc["input_ids"][k]), None if types is None else list(types[k]))
    return out  # type: ignore[return-value]


def encode_examples(tokenizer: Any, examples: Sequence[Example], max_length: int) -> list[EncodedExample]:
    return [encode_example(tokenizer, ex, max_length) for ex in examples]


# A word piece rarely spans more than a few characters, so max_length * CHARS_PER_PIECE characters hold the
# window with room to spare; a text is cut there before tokenising (a 20 MB text costs no more than a page).
CHARS_PER_PIECE = 16
# Cut texts are extended until the window is full or this many characters are read (one giant "word").
MAX_READ_CHARS = 1 << 21


def encode_example(tokenizer: Any, example: Example, max_length: int) -> EncodedExample:
    budget = max_length * CHARS_PER_PIECE
    full = (example.text, example.text_pair)
    while True:
        texts = [None if t is None else _prefix(t, budget) for t in full]
        enc = tokenizer(
            texts[0], texts[1], truncation=True, max_length=max_length,
            return_offsets_mapping=True, add_special_tokens=True,
        )
        if budget >= MAX_READ_CHARS or _window_settled(enc, texts, full):
            break
        budget *= 4
    cut = any(t is not None and len(t) < len(whole) for t, whole in zip(texts, full))
    truncated = cut or bool(enc.encodings[0].overflowing)
    ids = list(enc["input_ids"])
    seq_ids = enc.sequence_ids(0)
    word_ids = enc.word_ids(0)
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    texts = (example.text, example.text_pair or "")
    words: list[Word] = []
    word_key: dict[tuple[int, int], int] = {}
    word_index: list[int] = []
    segments: list[int] = []
    for seq, wid, (start, end) in zip(seq_ids, word_ids, offsets):
        if seq is None or wid is None:
            segments.append(SPECIAL)
            word_index.append(SPECIAL)
            continue
        segments.append(seq)
        key = (seq, wid)
        if key not in word_key:
            word_key[key] = len(words)
            words.append(Word("", start, end, seq))
        idx = word_key[key]
        w = words[idx]
        words[idx] = Word("", min(w.start, start), max(w.end, end), seq)
        word_index.append(idx)
    words = [Word(texts[w.segment][w.start : w.end], w.start, w.end, w.segment) for w in words]
    content = [i for i, s in zip(ids, segments) if s != SPECIAL]
    unk = tokenizer.unk_token_id
    unk_fraction = (sum(1 for i in content if i == unk) / len(content)) if content and unk is not None else 0.0
    token_types = list(enc["token_type_ids"]) if "token_type_ids" in enc else None
    return EncodedExample(
        input_ids=ids, token_type_ids=token_types, tokens=tokenizer.convert_ids_to_tokens(ids),
        offsets=offsets, segments=segments, word_index=word_index, words=words,
        unk_fraction=unk_fraction, truncated=truncated,
    )


def _prefix(text: str, budget: int) -> str:
    return text if len(text) <= budget else text[:budget]


def _window_settled(enc: Any, prefixes: list, texts: tuple) -> bool:
    """Whether the window read from the prefixes is the one the whole texts would give: every cut segment
    still overflows the window, and its last piece read ends before the word the cut may have split."""
    if not any(p is not None and len(p) < len(t) for p, t in zip(prefixes, texts)):
        return True
    if not enc.encodings[0].overflowing:
        return False  # the window is not full: the model would read more of the text
    read_until = {0: 0, 1: 0}
    for seq, (_, end) in zip(enc.sequence_ids(0), enc["offset_mapping"]):
        if seq is not None:
            read_until[seq] = max(read_until[seq], end)
    for seq, (prefix, text) in enumerate(zip(prefixes, texts)):
        if prefix is None or len(prefix) == len(text):
            continue
        last_space = max(prefix.rfind(" "), prefix.rfind("\n"), prefix.rfind("\t"))
        boundary = last_space if last_space > 0 else len(prefix) - 1
        if read_until[seq] > boundary:
            return False
    return True


# Attention memory grows with batch x tokens^2 (every layer keeps [batch, heads, tokens, tokens] for the
# output or the backward pass): batches also stay within CELLS_PER_TOKEN x the token budget batch x tokens^2
# cells (2^19 for 4096 tokens), so one long text does not make a batch of it and its neighbours cost gigabytes
# (a 4096-token budget alone allows 13 texts of 300 word pieces: 9 GB of attention cells in float32 across
# 6 layers x 12 heads).
CELLS_PER_TOKEN = 128


def batch_rows(length: int, budget_tokens: int, rows_per_example: int = 1) -> int:
    """How many examples of this length go in one batch: within the token and the attention-cell budget."""
    rows = max(rows_per_example, 1)
    cells = budget_tokens * CELLS_PER_TOKEN
    return max(1, min(budget_tokens // (rows * length), cells // (rows * length * length)))


def token_batches(lengths: Sequence[int], budget_tokens: int) -> list[list[int]]:
    """Group example indices of similar length so padded batches stay near `budget_tokens` tokens (and within
    the attention-cell budget)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and len(current) + 1 > batch_rows(lengths[i], budget_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
