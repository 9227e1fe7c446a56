"""Text highlighting: split a text into pieces, colour each word by its score on a diverging scale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from reportgen.bundle.records import Word
from reportgen.i18n import _

# PuOr (ColorBrewer), colour-blind safe: orange pushes toward the explained class, purple against it.
POSITIVE_RGB = (230, 97, 1)
NEGATIVE_RGB = (94, 60, 153)
# Unsigned methods (attention, saliency) say "how much", not "for or against": a separate teal scale (BrBG),
# so nobody reads them as "for the class".
UNSIGNED_RGB = (1, 102, 94)
MAX_ALPHA = 0.85
# Text on a background of relative luminance L: black reaches WCAG AA (4.5:1) for L >= 0.175, white for
# L <= 0.183, so the ink is chosen at the midpoint and every word meets AA (static/reportgen.js does the same).
INK_THRESHOLD = 0.179


@dataclass(frozen=True)
class Piece:
    text: str
    score: Optional[float] = None  # None: not a word (spaces, punctuation outside words, unseen text)
    style: str = ""
    title: str = ""
    in_rationale: bool = False
    unseen: bool = False  # beyond the model's length limit


def colour(score: float, scale: float, signed: bool = True) -> str:
    """CSS for a score on a scale where |score| == scale is full colour: an opaque background (it prints, and
    its contrast is exact) and black or white ink, whichever meets WCAG AA on it."""
    if scale <= 0 or score == 0:
        return ""
    rgb = (POSITIVE_RGB if score > 0 else NEGATIVE_RGB) if signed else UNSIGNED_RGB
    return shade(abs(score) / scale, rgb)


def shade(strength: float, rgb: Sequence[int]) -> str:
    """CSS for a table cell: rgb over white at `strength` (0..1), with the ink that meets WCAG AA on it."""
    alpha = MAX_ALPHA * min(max(strength, 0.0), 1.0)
    r, g, b = (round(255 + (c - 255) * alpha) for c in rgb)
    ink = "#000" if relative_luminance((r, g, b)) >= INK_THRESHOLD else "#fff"
    return f"background-color: rgb({r}, {g}, {b}); color: {ink}"


def relative_luminance(rgb: Sequence[int]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (0-255 channels)."""
    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Sequence[int], b: Sequence[int]) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def highlight(
    text: str,
    words: Sequence[Word],  # this text's segment's words only
    scores: Sequence[float],  # one per word
    scale: float,
    rationale: Sequence[Sequence[int]] = (),
    label: str = "score",
    signed: bool = True,
) -> list[Piece]:
    pieces: list[Piece] = []
    cursor = 0
    seen_until = max((w.end for w in words), default=0)
    for word, score in sorted(zip(words, scores), key=lambda pair: pair[0].start):
        start, end = word.start, word.end
        if start > cursor:
            pieces.append(Piece(text[cursor:start]))
        pieces.append(
            Piece(
                text[start:end], score=score, style=colour(score, scale, signed), title=f"{label}: {score:+.4g}",
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
        pieces.append(Piece(text[start:end], in_rationale=True, title=_("marked by the annotators")))
        cursor = end
    if cursor < len(text):
        pieces.append(Piece(text[cursor:]))
    return pieces


def _overlaps(start: int, end: int, spans: Sequence[Sequence[int]]) -> bool:
    return any(start < s_end and s_start < end for s_start, s_end in spans)
