"""A content-addressed cache of computed chunks, so a killed build resumes and a grown data set computes only
what is new.

An entry's name is the sha256 of everything that determines its bytes (weights, tokenizer, the chunk's
examples, the probe each example goes through, every setting that changes a number, the schema). Its first
line is the sha256 of the rest: an entry that does not match (a disk error, a half-copied file) is deleted
and recomputed, never shown. Entries are written to a temporary name and renamed, so a SIGKILL leaves
either a whole entry or none.

Where: --cache-dir, else $REPORTGEN_CACHE, else $XDG_CACHE_HOME/reportgen, else ~/.cache/reportgen. It only
grows; deleting the folder is always safe (the next build recomputes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Optional

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    if os.environ.get("REPORTGEN_CACHE"):
        return Path(os.environ["REPORTGEN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reportgen"


def key_of(parts: Any) -> str:
    """The sha256 of a JSON-able description of what determines an entry."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


class ChunkCache:
    """root None: nothing is reused (--no-cache); entries still go to a folder, which the build removes."""

    def __init__(self, root: Path, reuse: bool = True):
        self.root, self.reuse = root, reuse
        self.hits = self.misses = 0

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    def has(self, kind: str, key: str) -> bool:
        """Whether an entry exists (unread: get() still checks it); counts neither a hit nor a miss."""
        return self.reuse and self.path(kind, key).is_file()

    def get(self, kind: str, key: str, counts: int = 1) -> Optional[bytes]:
        """counts: how many entries a hit stands for (an assembled chunk stands for its parts); a miss of an
        entry that stands for others (counts > 1) is not counted: its parts are looked up next."""
        if not self.reuse:
            return None
        path = self.path(kind, key)
        try:
            raw = path.read_bytes()
        except OSError:
            self.misses += counts == 1
            return None
        head, _, data = raw.partition(b"\n")
        if head.decode("ascii", "replace") != hashlib.sha256(data).hexdigest():
            log.warning("cache entry %s is damaged; recomputing it", path)
            path.unlink(missing_ok=True)
            self.misses += counts == 1
            return None
        self.hits += counts
        return data

    def put(self, kind: str, key: str, data: bytes) -> Path:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.writing-{os.getpid()}")
        partial.write_bytes(hashlib.sha256(data).hexdigest().encode("ascii") + b"\n" + data)
        os.replace(partial, path)
        return path

    @staticmethod
    def payload(path: Path) -> bytes:
        return path.read_bytes().partition(b"\n")[2]
