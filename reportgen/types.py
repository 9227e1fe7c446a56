"""Plain data shared by inputs, compute and render (no torch here, so render never needs it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

Span = tuple[int, int]  # [start, end) in Python str indices


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    text_pair: Optional[str] = None
    label: Optional[str] = None
    rationale: tuple[Span, ...] = ()
    rationale_pair: tuple[Span, ...] = ()
    note: Optional[str] = None
    line: int = 0  # 1-based line (JSONL) or row (CSV) in the input file, for error messages


@dataclass(frozen=True)
class NarrativeSection:
    slug: str
    title: str
    order: int
    markdown: str
    meta: dict = field(default_factory=dict)
