"""Text highlighting: split a text into pieces, colour each word by its score on a diverging scale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

# PuOr (ColorBrewer), colour-blind safe: orange pushes toward the explained class, purple against it.
POSITIVE_RGB = (230, 97, 1)
NEGATIVE_RGB = (94, 60, 153)
MAX_ALPHA = 0.85


@dataclass(frozen=True)
class Piece:
    text: str
    score: Optional[float] = None  # None: not a word (spaces, punctuation outside words, unseen text)
    style: str = ""
    title: str = ""
    in_rationale: bool = False
    unseen: bool = False  # beyond the model's length limit


def colour(score: float, scale: float) -> str:
    """CSS for a score on a scale where |score| == scale is full colour."""
    if scale <= 0 or score == 0:
        return ""
    strength = min(abs(score) / scale, 1.0)
    r, g, b = POSITIVE_RGB if score > 0 else NEGATIVE_RGB
    alpha = round(MAX_ALPHA * strength, 3)
    ink = "#fff" if alpha > 0.5 else "#111"
    return f"background-color: rgba({r}, {g}, {b}, {alpha}); color: {ink}"


def highlight(
    text: str,
    words: Sequence[dict],  # {"text", "start", "end", "segment"} of this text's segment only
    scores: Sequence[float],  # one per word
    scale: float,
    rationale: Sequence[Sequence[int]] = (),
    label: str = "score",
) -> list[Piece]:
    pieces: list[Piece] = []
    cursor = 0
    seen_until = max((w["end"] for w in words), default=0)
    for word, score in sorted(zip(words, scores), key=lambda pair: pair[0]["start"]):
        start, end = word["start"], word["end"]
        if start > cursor:
            pieces.append(Piece(text[cursor:start]))
        pieces.append(
            Piece(
                text[start:end], score=score, style=colour(score, scale), title=f"{label}: {score:+.4f}",
                in_rationale=_overlaps(start, end, rationale),
            )
        )
        cursor = max(cursor, end)
    if cursor < len(text):
        tail = text[cursor:]
        pieces.append(Piece(tail, unseen=bool(tail.strip()) and cursor >= seen_until and bool(words)))
    return pieces


def rationale_pieces(text: str, spans: Sequence[Sequence[int]]) -> list[Piece]:
    pieces: list[Piece] = []
    cursor = 0
    for start, end in sorted(spans):
        if start > cursor:
            pieces.append(Piece(text[cursor:start]))
        pieces.append(Piece(text[start:end], in_rationale=True, title="marked by the annotators"))
        cursor = end
    if cursor < len(text):
        pieces.append(Piece(text[cursor:]))
    return pieces


def _overlaps(start: int, end: int, spans: Sequence[Sequence[int]]) -> bool:
    return any(start < s_end and s_start < end for s_start, s_end in spans)
