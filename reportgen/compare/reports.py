"""Opening the two reports and checking that they hold the same examples, before any figure is computed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator, Optional

from reportgen.bundle import ReportBundle, load_bundle
from reportgen.bundle.records import ExampleResult
from reportgen.bundle.store import read_chunk
from reportgen.errors import InputError, first_line
from reportgen.safe_files import read_regular


def data_dir(report: Path) -> Path:
    """A site folder's data/, or the bundle folder itself."""
    return report / "data" if (report / "data").is_dir() else report


def open_report(report: Path, which: str) -> ReportBundle:
    folder = data_dir(report)
    try:
        return load_bundle(folder)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
        raise InputError(f"{which} {report}: not a reportgen report this version can read "
                         f"({first_line(err)})") from None


def manifest_sha256(report: Path) -> Optional[str]:
    folder = data_dir(report).parent
    try:
        return hashlib.sha256(read_regular(folder / "manifest.json", folder)).hexdigest()
    except OSError:
        return None


def check_same_examples(old: ReportBundle, new: ReportBundle) -> None:
    """Same ids (their texts are checked as the examples are read) and label sets that map onto each other."""
    old_ids, new_ids = list(old.examples.ids.values()), list(new.examples.ids.values())
    if set(old_ids) != set(new_ids) or len(old_ids) != len(new_ids):
        only_old = [i for i in old_ids if i not in set(new_ids)]
        only_new = [i for i in new_ids if i not in set(old_ids)]
        first = (f"first only in OLD: {only_old[0]!r}" if only_old else
                 f"first only in NEW: {only_new[0]!r}" if only_new else "an id occurs twice")
        raise InputError(f"the reports hold different examples: {len(only_old):,} ids only in OLD, {len(only_new):,} "
                         f"only in NEW ({first}); compare reports built from the same examples file")
    if set(old.labels) != set(new.labels):
        raise InputError(f"the reports predict different classes: OLD {', '.join(old.labels)}; NEW "
                         f"{', '.join(new.labels)} (rebuild one with --labels or --label-map so the names agree)")


def text_hashes(ex: ExampleResult) -> tuple[Optional[str], ...]:
    """The sha256 of the whole text and pair, as an excerpt records them."""
    if ex.excerpt is not None:
        return tuple(ex.excerpt.sha256)
    return tuple(None if t is None else hashlib.sha256(t.encode("utf-8")).hexdigest() for t in (ex.text, ex.text_pair))


def paired_examples(old: ReportBundle, new: ReportBundle) -> Iterator[tuple[ExampleResult, ExampleResult]]:
    """Both reports' record of each example, in NEW's order, one chunk of each in memory at a time when the two
    share an order (the usual case: both built from one file); a shuffled OLD is read a chunk at a time too,
    only more often. Raises InputError at the first example whose texts differ."""
    old_slug = {ex_id: slug for slug, ex_id in old.examples.ids.items()}
    held: tuple[int, dict[str, ExampleResult]] = (-1, {})
    chunks = old.examples.chunk_list
    for records in new.examples.chunks():
        for ex in records:
            slug = old_slug[ex.id]
            number = old.examples.chunk_number(slug)
            if number != held[0]:
                held = (number, {r.slug: r for r in read_chunk(chunks[number])})
            before = held[1][slug]
            if text_hashes(before) != text_hashes(ex):
                raise InputError(f"the reports hold different texts for the example {ex.id!r} (OLD line {before.line}, "
                                 f"NEW line {ex.line}); compare reports built from the same examples file")
            yield before, ex
