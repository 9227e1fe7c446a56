"""Tokenize examples once and map every word piece back to a word of the original text (via offsets)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from reportgen.bundle.records import Word  # a word as the bundle records it
from reportgen.types import Example

log = logging.getLogger(__name__)

SPECIAL = -1  # segment / word index of [CLS], [SEP] and other added tokens


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
    return _encoded(tokenizer, enc, 0, (example.text, example.text_pair or ""), truncated)


def _encoded(tokenizer: Any, enc: Any, row: int, texts: tuple[str, str], truncated: bool) -> EncodedExample:
    """Row `row` of a tokenizer's output as an EncodedExample: words from the pieces' offsets."""
    ids = list(enc["input_ids"][row] if row or _batched(enc) else enc["input_ids"])
    seq_ids = enc.sequence_ids(row)
    word_ids = enc.word_ids(row)
    offsets = [tuple(o) for o in (enc["offset_mapping"][row] if row or _batched(enc) else enc["offset_mapping"])]
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
    types = enc.get("token_type_ids")
    token_types = None if types is None else list(types[row] if row or _batched(enc) else types)
    return EncodedExample(
        input_ids=ids, token_type_ids=token_types, tokens=tokenizer.convert_ids_to_tokens(ids),
        offsets=offsets, segments=segments, word_index=word_index, words=words,
        unk_fraction=unk_fraction, truncated=truncated,
    )


def _batched(enc: Any) -> bool:
    ids = enc["input_ids"]
    return bool(ids) and isinstance(ids[0], list)


@dataclass(frozen=True)
class Document:
    """An example as the model reads it: one window when it fits, else overlapping windows of the text.

    whole: every piece of the text read, once, in order, between the first window's special tokens: what the
    record and the page show (never given to the model: it may be longer than the window). to_whole[k][t]:
    the index in whole of window k's piece t (a special token maps to the same special token of whole)."""

    whole: EncodedExample
    windows: list[EncodedExample]
    to_whole: list[list[int]]

    @classmethod
    def single(cls, enc: EncodedExample) -> "Document":
        return cls(enc, [enc], [list(range(enc.length))])

    @property
    def windowed(self) -> bool:
        return len(self.windows) > 1


# A text is read in at most this many windows (about 12k word pieces with a 512-piece window and a quarter
# overlap): the rest is cut and the example marked truncated, so one huge input cannot take the whole build.
MAX_WINDOWS = 32


def check_window(tokenizer: Any, window: int, long_inputs: str, stride: Optional[int]) -> None:
    """Before any text is read: a window must hold a word of a text pair beside the special tokens, and with
    windows, neighbours must share fewer pieces than a window holds (else a text would be read one piece a window
    and cut at MAX_WINDOWS)."""
    from reportgen.errors import ConfigError

    specials = tokenizer.num_special_tokens_to_add(pair=True)
    if window <= specials + 1:
        raise ConfigError(f"--max-length {window} leaves no room for words: the tokenizer adds {specials} special "
                          f"tokens to a text pair; give at least {specials + 2}")
    content = window - tokenizer.num_special_tokens_to_add(pair=False)
    if long_inputs == "window" and stride is not None and stride >= content:
        raise ConfigError(f"--window-stride {stride} must be smaller than the {content} word pieces a window of "
                          f"{window} holds beside its special tokens, so that each window reads new ones")


def window_stride(max_length: int, stride: Optional[int]) -> int:
    """Pieces two neighbouring windows share: --window-stride, else a quarter of the window."""
    return max(1, stride if stride is not None else max_length // 4)


def encode_documents(tokenizer: Any, examples: Sequence[Example], max_length: int, long_inputs: str = "truncate",
                     stride: Optional[int] = None) -> list[Document]:
    return [encode_document(tokenizer, ex, max_length, long_inputs, stride) for ex in examples]


def encode_document(tokenizer: Any, example: Example, max_length: int, long_inputs: str = "truncate",
                    stride: Optional[int] = None) -> Document:
    """The example in one window when it fits, or with --long-inputs truncate, or when it is a text pair (the
    tokenizer cannot window a pair and keep both texts); otherwise overlapping windows of `max_length` pieces,
    neighbours sharing `stride` pieces, from the fast tokenizer's overflow."""
    first = encode_example(tokenizer, example, max_length)
    if not first.truncated or long_inputs != "window" or example.text_pair is not None:
        return Document.single(first)
    overlap = min(window_stride(max_length, stride), max_length - tokenizer.num_special_tokens_to_add(False) - 1)
    budget = MAX_WINDOWS * max_length * CHARS_PER_PIECE
    text = _prefix(example.text, budget)
    enc = tokenizer(text, truncation=True, max_length=max_length, stride=overlap, return_overflowing_tokens=True,
                    return_offsets_mapping=True, add_special_tokens=True)
    rows = len(enc["input_ids"])
    kept = min(rows, MAX_WINDOWS)
    truncated = rows > MAX_WINDOWS or len(text) < len(example.text)
    windows = [_encoded(tokenizer, enc, k, (example.text, ""), truncated) for k in range(kept)]
    word_ids = [enc.word_ids(k) for k in range(kept)]  # the overflow numbers the words of the whole text
    try:
        return _joined(windows, word_ids, truncated, example.text, overlap, tokenizer.unk_token_id)
    except WindowMismatch as err:
        log.warning("%s: %s; its first window is explained", example.id, err)
        return Document.single(first)


class WindowMismatch(ValueError):
    pass


def _joined(windows: list[EncodedExample], word_ids: list[list[Optional[int]]], truncated: bool, text: str,
            overlap: int, unk: Optional[int]) -> Document:
    """The windows' pieces once each, between the first window's special tokens. The tokenizer's overflow
    starts window k at content piece k x (pieces per window - overlap); matching by position, not by character
    offsets, keeps byte-level pieces that share one character's span apart. A window's first piece is always
    one the window before it read (and whose offsets it gave: a byte-level window may not trim its first
    piece's leading space the way the whole text does)."""
    first = windows[0]
    content = [t for t, s in enumerate(first.segments) if s != SPECIAL]
    lead, trail = list(range(content[0])), list(range(content[-1] + 1, first.length))
    step = len(content) - overlap
    ids, tokens, offsets, piece_words = [], [], [], []
    to_whole: list[list[int]] = []
    tails: list[tuple[int, int, int]] = []  # (window, piece, j): its j-th trailing special token
    for k, w in enumerate(windows):
        inner = [t for t, s in enumerate(w.segments) if s != SPECIAL]
        mapping = [0] * w.length
        for j, t in enumerate(inner):
            position = k * step + j
            if position == len(ids):
                ids.append(w.input_ids[t])
                tokens.append(w.tokens[t])
                offsets.append(w.offsets[t])
                piece_words.append(word_ids[k][t])
            elif position > len(ids) or ids[position] != w.input_ids[t]:
                raise WindowMismatch(f"window {k} does not continue the text where the tokenizer's overflow "
                                     "should (a tokenizer with another overflow rule)")
            mapping[t] = len(lead) + position
        # a window's leading special tokens are whole's leading ones, the others whole's trailing ones
        for j, t in enumerate(range(inner[0])):
            mapping[t] = lead[min(j, len(lead) - 1)]
        tails.extend((k, t, j) for j, t in enumerate(range(inner[-1] + 1, w.length)))
        to_whole.append(mapping)
    for k, t, j in tails:  # whole's trailing special tokens follow every piece
        to_whole[k][t] = len(lead) + len(ids) + min(j, len(trail) - 1)
    all_ids = [first.input_ids[t] for t in lead] + ids + [first.input_ids[t] for t in trail]
    all_offsets = [first.offsets[t] for t in lead] + offsets + [first.offsets[t] for t in trail]
    all_segments = [SPECIAL] * len(lead) + [0] * len(ids) + [SPECIAL] * len(trail)
    all_tokens = [first.tokens[t] for t in lead] + tokens + [first.tokens[t] for t in trail]
    words, word_index = _words_of(offsets, piece_words, text, len(lead), len(trail))
    types = None if first.token_type_ids is None else [0] * len(all_ids)
    unk_fraction = sum(1 for i in ids if i == unk) / len(ids) if ids and unk is not None else 0.0
    whole = EncodedExample(input_ids=all_ids, token_type_ids=types, tokens=all_tokens, offsets=all_offsets,
                           segments=all_segments, word_index=word_index, words=words, unk_fraction=unk_fraction,
                           truncated=truncated)
    return Document(whole, windows, to_whole)


def _words_of(offsets, piece_words, text: str, lead: int, trail: int) -> tuple[list[Word], list[int]]:
    """The whole text's words from its pieces' word numbers; each word spans its pieces' offsets."""
    words: list[Word] = []
    number: dict[int, int] = {}
    word_index = [SPECIAL] * lead
    for (start, end), word in zip(offsets, piece_words):
        if word not in number:
            number[word] = len(words)
            words.append(Word("", start, end, 0))
        k = number[word]
        words[k] = Word("", min(words[k].start, start), max(words[k].end, end), 0)
        word_index.append(k)
    word_index += [SPECIAL] * trail
    return [Word(text[w.start : w.end], w.start, w.end, 0) for w in words], word_index


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


def window_rows(documents: Sequence[Document]) -> tuple[list[EncodedExample], list[int]]:
    """Every window of every document as one list of model inputs, and the document each one belongs to."""
    rows: list[EncodedExample] = []
    owner: list[int] = []
    for i, doc in enumerate(documents):
        rows.extend(doc.windows)
        owner.extend([i] * len(doc.windows))
    return rows, owner
