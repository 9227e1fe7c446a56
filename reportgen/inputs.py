"""Load and validate the examples file (JSONL or CSV) up front; every problem names file:line and the field."""

from __future__ import annotations

import csv
import io
import json
import reprlib
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

from reportgen.errors import InputError
from reportgen.types import Example, Span

FIELDS = ("id", "text", "text_pair", "label", "rationale", "rationale_pair", "note")
# Carried by the shared data sets; accepted and not used.
IGNORED_FIELDS = ("source", "meta")


def load_examples(path: Path | str) -> list[Example]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: examples file not found")
    text = _decode(path)
    if path.suffix.lower() == ".csv":
        records = _csv_records(path, text)
    else:
        records = _jsonl_records(path, text)
    examples = [_to_example(path, line, rec) for line, rec in records]
    if not examples:
        raise InputError(f"{path}: no examples found (the file is empty); add one JSON object per line")
    _check_unique_ids(path, examples)
    return examples


def check_labels(path: Path | str, examples: Sequence[Example], allowed: Iterable[str], what: str,
                 remedy: str = "") -> None:
    """Stop at the first example whose gold label is not one the model (or --labels) knows."""
    allowed = list(allowed)
    for ex in examples:
        if ex.label is not None and ex.label not in allowed:
            raise InputError(
                f"{path}:{ex.line}: field 'label': unknown label {ex.label!r}; {what} knows {_listed(allowed)}"
                + (f". {remedy}" if remedy else "")
            )


def _listed(names: Sequence[str], limit: int = 20) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names):,} in all)" if len(names) > limit else "")


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not valid UTF-8 (byte {err.start}); save the file as UTF-8") from None


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[int, dict]]:
    # "\n" only: str.splitlines() also splits at U+2028, U+2029, U+0085 and other characters JSON allows raw
    # inside a string, and would refuse a valid line as broken JSON. A CRLF line keeps its "\r", which JSON skips.
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):  # blank lines and # comments are allowed
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{line_no}: not valid JSON ({err.msg} at column {err.colno})") from None
        except RecursionError:
            raise InputError(f"{path}:{line_no}: JSON nested too deeply; an example is a flat object whose "
                             "rationale is a list of [start, end] pairs") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{line_no}: expected a JSON object with a 'text' field")
        yield line_no, rec


def _csv_records(path: Path, text: str) -> Iterator[tuple[int, dict]]:
    # The csv module's default cell limit (131,072 characters) would make long documents unloadable; a cell
    # can be as long as the file.
    csv.field_size_limit(max(len(text), 1 << 17))
    # strict: a stray quote is an error with its line, not a silently merged or split cell.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        if not reader.fieldnames:
            return
        yield from _csv_rows(path, reader)
    except csv.Error as err:
        raise InputError(f"{path}:{reader.line_num}: not valid CSV ({err})") from None


def _csv_rows(path: Path, reader: csv.DictReader) -> Iterator[tuple[int, dict]]:
    for row in reader:
        rec: dict = {}
        for key, value in row.items():
            if key is None:
                raise InputError(f"{path}:{reader.line_num}: more cells than header columns")
            if value is None or value == "":
                continue
            if key in ("rationale", "rationale_pair"):
                try:
                    value = json.loads(value)
                except (json.JSONDecodeError, RecursionError):
                    raise InputError(
                        f"{path}:{reader.line_num}: field '{key}': expected JSON like [[0, 4]], got {_short(value)}"
                    ) from None
            rec[key] = value
        yield reader.line_num, rec


def _to_example(path: Path, line: int, rec: dict) -> Example:
    where = f"{path}:{line}"
    unknown = sorted(set(rec) - set(FIELDS) - set(IGNORED_FIELDS))
    if unknown:
        raise InputError(f"{where}: unknown field {_short(unknown[0])}; known fields: {', '.join(FIELDS)}")
    for key in FIELDS:
        _check_encodable(where, key, rec.get(key))
    text = rec.get("text")
    if text is None:
        raise InputError(f"{where}: field 'text' is missing")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: field 'text' must be a non-empty string")
    text_pair = _optional_str(where, rec, "text_pair", allow_empty=False)
    label = _optional_str(where, rec, "label", allow_empty=False)
    note = _optional_str(where, rec, "note", allow_empty=True)
    ex_id = rec.get("id", f"line-{line}")
    if isinstance(ex_id, int) and not isinstance(ex_id, bool):
        ex_id = str(ex_id)
    if not isinstance(ex_id, str) or not ex_id.strip():
        raise InputError(f"{where}: field 'id' must be a non-empty string")
    rationale = _spans(where, rec.get("rationale"), text, "rationale")
    if rec.get("rationale_pair") and text_pair is None:
        raise InputError(f"{where}: field 'rationale_pair' given but 'text_pair' is missing")
    rationale_pair = _spans(where, rec.get("rationale_pair"), text_pair or "", "rationale_pair")
    return Example(
        id=ex_id, text=text, text_pair=text_pair, label=label, rationale=rationale,
        rationale_pair=rationale_pair, note=note, line=line,
    )


def _optional_str(where: str, rec: dict, key: str, allow_empty: bool) -> Optional[str]:
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: field '{key}' must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InputError(f"{where}: field '{key}' must not be empty (leave it out or use null)")
    return value


def _spans(where: str, value: object, text: str, key: str) -> tuple[Span, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(f"{where}: field '{key}' must be a list of [start, end] pairs")
    spans = []
    for item in value:
        ok = (
            isinstance(item, (list, tuple)) and len(item) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        )
        if not ok:
            raise InputError(f"{where}: field '{key}': {_short(item)} is not a [start, end] pair of integers")
        start, end = item
        if not 0 <= start < end <= len(text):
            raise InputError(
                f"{where}: field '{key}': span [{start}, {end}] lies outside the text "
                f"(length {len(text)}) or is empty"
            )
        spans.append((start, end))
    return tuple(sorted(spans))


def _check_encodable(where: str, key: str, value: object) -> None:
    """JSON's \\ud800 escapes decode to lone surrogates, which no page, file name or tokenizer can take."""
    if not isinstance(value, str):
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InputError(
            f"{where}: field '{key}': character {err.start} is a lone UTF-16 surrogate "
            f"(\\u{ord(value[err.start]):04x}), not a character; fix the text's encoding"
        ) from None


def _short(value: object, limit: int = 80) -> str:
    """A bounded repr for messages: one line, never a megabyte and never a recursion."""
    short = reprlib.Repr()  # attributes, not keywords: Python 3.10 and 3.11 take no arguments here
    short.maxstring, short.maxother, short.maxlevel = limit, limit, 3
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_unique_ids(path: Path, examples: Sequence[Example]) -> None:
    seen: dict[str, int] = {}
    for ex in examples:
        if ex.id in seen:
            raise InputError(
                f"{path}:{ex.line}: field 'id': duplicate id {ex.id!r} (first used on line {seen[ex.id]})"
            )
        seen[ex.id] = ex.line
