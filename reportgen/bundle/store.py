"""The bundle on disk: results.json, the examples in chunk files, attention maps of the paged examples.

    data/results.json            everything but the examples; "examples" indexes the chunks
    data/examples/00000.json     {"schema_version", "examples": [ExampleResult, ...]}, compact JSON; an
                                 example's "words" are columns: {"text": [...], "start", "end", "segment"}
    data/attention/<slug>.npz    layers x heads x seq x seq, 8-bit (bundle/attention_maps.py), only for bundle.pages

Chunks are plain JSON rather than Parquet: every per-example record is nested (tokens, words, a score per
word and method) and is read whole by the site, so a columnar file would buy nothing and cost pyarrow; any
language reads JSON. Each chunk's sha256 is in results.json, and a chunk that does not match is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from reportgen.bundle.attention_maps import decode_maps, encode_maps
from reportgen.bundle.records import (
    SCHEMA_VERSION,
    SLUG,
    ExampleResult,
    ReportBundle,
    dumps,
    example_from_payload,
    example_payload,
    example_record,
)
from reportgen.safe_files import inside, read_regular

RESULTS_FILE = "results.json"
CHUNK_DIR = "examples"
ATTENTION_DIR = "attention"


@dataclass(frozen=True)
class Chunk:
    path: Path  # where its bytes are now: the cache, a temporary folder or a site's data/
    sha256: str
    slugs: tuple[str, ...]
    ids: tuple[str, ...]


def chunk_bytes(results: Sequence[ExampleResult], curve_sums: Mapping[str, Any]) -> bytes:
    """curve_sums: metric -> method -> the deletion/insertion curve summed over this chunk's examples (the
    data-set curve is the sum over chunks over the number of examples)."""
    payload = {"schema_version": SCHEMA_VERSION, "examples": [example_payload(r) for r in results],
               "curve_sums": curve_sums}
    return dumps(payload).encode("utf-8")


def write_chunk(data: bytes, path: Path) -> str:
    """Atomically (a reader never sees half a chunk); returns the sha256 of the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.writing-{os.getpid()}")
    partial.write_bytes(data)
    os.replace(partial, path)
    return hashlib.sha256(data).hexdigest()


def parse_chunk(data: bytes) -> tuple[list[ExampleResult], dict[str, Any]]:
    payload = json.loads(data)
    if payload.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"chunk schema {payload.get('schema_version')}, this reportgen reads {SCHEMA_VERSION}")
    return [example_from_payload(ex) for ex in payload["examples"]], payload.get("curve_sums") or {}


def read_chunk(chunk: Chunk) -> list[ExampleResult]:
    try:
        data = read_regular(chunk.path, chunk.path.parent)
    except FileNotFoundError:
        raise ValueError(f"{chunk.path}: missing") from None
    if hashlib.sha256(data).hexdigest() != chunk.sha256:
        raise ValueError(f"{chunk.path}: checksum does not match results.json (changed or damaged)")
    return parse_chunk(data)[0]


class ExampleStore:
    """Every example of a bundle, in order, read one chunk at a time."""

    def __init__(self, chunks: Sequence[Chunk]):
        self._chunks = list(chunks)
        self.slugs = [slug for c in self._chunks for slug in c.slugs]
        self.ids = {slug: ex_id for c in self._chunks for slug, ex_id in zip(c.slugs, c.ids)}
        self.position = {slug: k for k, slug in enumerate(self.slugs)}
        self._where = {slug: n for n, c in enumerate(self._chunks) for slug in c.slugs}

    def __len__(self) -> int:
        return len(self.slugs)

    def chunk_number(self, slug: str) -> int:
        return self._where[slug]

    @property
    def chunk_list(self) -> list[Chunk]:
        return list(self._chunks)

    def chunks(self) -> Iterator[list[ExampleResult]]:
        for chunk in self._chunks:
            yield read_chunk(chunk)

    def __iter__(self) -> Iterator[ExampleResult]:
        for results in self.chunks():
            yield from results

    def get(self, slugs: Sequence[str]) -> dict[str, ExampleResult]:
        """The named examples, reading only the chunks that hold them."""
        wanted = set(slugs)
        found: dict[str, ExampleResult] = {}
        for n in sorted({self._where[s] for s in wanted if s in self._where}):
            found.update({r.slug: r for r in read_chunk(self._chunks[n]) if r.slug in wanted})
        return found

    def index(self) -> dict[str, Any]:
        return {"count": len(self), "chunks": [
            {"file": chunk_name(n), "sha256": c.sha256, "slugs": list(c.slugs), "ids": list(c.ids)}
            for n, c in enumerate(self._chunks)]}


class AttentionFiles(Mapping[str, np.ndarray]):
    """slug -> attention array, loaded from <folder>/<slug>.npz when asked for (never all at once)."""

    def __init__(self, folder: Path, slugs: Sequence[str]):
        self.folder, self._slugs = folder, list(slugs)

    def __getitem__(self, slug: str) -> np.ndarray:
        if slug not in self._slugs:
            raise KeyError(slug)
        return _load_maps(self.folder / window_file(slug, 0), self.folder)

    def windows(self, slug: str) -> Iterator[np.ndarray]:
        """Each window's maps of a text read in windows, one at a time (a one-window example: its maps)."""
        yield self[slug]
        for path in self.extra_files(slug):
            yield _load_maps(path, self.folder)

    def extra_files(self, slug: str) -> list[Path]:
        """The files of windows 1, 2, ... of a paged example (window 0 is <slug>.npz)."""
        files, k = [], 1
        while (self.folder / window_file(slug, k)).exists():
            files.append(self.folder / window_file(slug, k))
            k += 1
        return files

    def __iter__(self) -> Iterator[str]:
        return iter(self._slugs)

    def __len__(self) -> int:
        return len(self._slugs)


def _load_maps(path: Path, root: Path) -> np.ndarray:
    try:
        data = read_regular(path, root)  # its errors name the path already
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    try:
        return decode_maps(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def window_file(slug: str, k: int) -> str:
    """The attention maps of window k of a paged example: window 0 keeps the one-window name."""
    return f"{slug}.npz" if k == 0 else f"{slug}.w{k}.npz"


def chunk_name(n: int) -> str:
    return f"{CHUNK_DIR}/{n:05d}.json"


def save_bundle(bundle: ReportBundle, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / RESULTS_FILE).write_text(bundle.to_json(), encoding="utf-8")
    (data_dir / CHUNK_DIR).mkdir(exist_ok=True)
    for n, chunk in enumerate(bundle.examples.chunk_list):
        (data_dir / chunk_name(n)).write_bytes(read_regular(chunk.path, chunk.path.parent))
    attention_dir = data_dir / ATTENTION_DIR
    attention_dir.mkdir(exist_ok=True)
    for slug in bundle.pages:
        if isinstance(bundle.attention, AttentionFiles):  # stored already: copied as they are, every window
            source = bundle.attention.folder
            for path in [source / window_file(slug, 0), *bundle.attention.extra_files(slug)]:
                if path.parent.resolve() != attention_dir.resolve():
                    (attention_dir / path.name).write_bytes(read_regular(path, source))
        else:
            (attention_dir / window_file(slug, 0)).write_bytes(encode_maps(bundle.attention[slug]))


def read_results(data_dir: Path) -> dict[str, Any]:
    """results.json with "examples" as the list of every example record (read from the chunks, checksums
    verified; each example's words as a list of records): the whole bundle as plain JSON values, for scripts
    that re-derive the site's numbers."""
    bundle = load_bundle(data_dir)
    payload = json.loads(read_regular(data_dir / RESULTS_FILE, data_dir))
    payload["examples"] = [example_record(r) for r in bundle.examples]
    return payload


def load_bundle(data_dir: Path) -> ReportBundle:
    """Raises ValueError for a bundle it cannot trust: every slug becomes a file name, so a tampered
    results.json must not make render read (or write) outside the bundle and the site."""
    payload = json.loads(read_regular(data_dir / RESULTS_FILE, data_dir))
    if payload.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"results schema {payload.get('schema_version')}, this reportgen reads {SCHEMA_VERSION}")
    chunks = []
    if not inside(data_dir / CHUNK_DIR, data_dir) or not inside(data_dir / ATTENTION_DIR, data_dir):
        raise ValueError("its examples/ or attention/ folder is a symbolic link out of the bundle")
    for n, entry in enumerate(payload["examples"]["chunks"]):
        if entry["file"] != chunk_name(n):
            raise ValueError(f"chunk {n} is named {str(entry['file'])[:80]!r}, expected {chunk_name(n)}")
        chunks.append(Chunk(data_dir / entry["file"], entry["sha256"], tuple(entry["slugs"]), tuple(entry["ids"])))
    store = ExampleStore(chunks)
    for slug in [*store.slugs, *payload["pages"]]:
        if not isinstance(slug, str) or not SLUG.fullmatch(slug):
            raise ValueError(f"example slug {str(slug)[:80]!r} is not a safe file name")
    if len(set(store.slugs)) != len(store.slugs):
        raise ValueError("two examples share a slug")
    if not set(payload["pages"]) <= set(store.slugs):
        raise ValueError("a paged example is not among the examples")
    return ReportBundle.from_header(payload, store, AttentionFiles(data_dir / ATTENTION_DIR, payload["pages"]))
