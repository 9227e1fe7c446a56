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
import shutil
from pathlib import Path
from typing import Any, Callable, Optional

from reportgen.errors import ConfigError
from reportgen.safe_files import read_regular, writable_problem

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

    def check_writable(self) -> None:
        """Before the model loads: a cache folder that cannot be made or written is one line now, not after the
        first chunk has been computed."""
        problem = writable_problem(self.root)
        if problem is not None:
            raise ConfigError(f"cache folder {self.root}: {problem}; pass --cache-dir DIR elsewhere, or --no-cache")

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    def has(self, kind: str, key: str) -> bool:
        """Whether an entry exists (unread: get() still checks it); counts neither a hit nor a miss."""
        return self.reuse and self.path(kind, key).is_file()

    def get(self, kind: str, key: str, counts: int = 1, parse: Optional[Callable[[bytes], Any]] = None) -> Any:
        """The entry's bytes, or parse(bytes) when given; None for a miss. counts: how many entries a hit stands
        for (an assembled chunk stands for its parts); a miss of an entry that stands for others (counts > 1) is
        not counted: its parts are looked up next. Whatever is not a whole entry of the expected kind (a pipe, a
        folder, a link, damaged bytes, content that parse refuses) is removed and recomputed, with a log line:
        a cache can be tampered with, and recomputing is always safe."""
        if not self.reuse:
            return None
        path = self.path(kind, key)
        try:
            raw = read_regular(path, self.root)
        except (FileNotFoundError, NotADirectoryError):
            self.misses += counts == 1
            return None
        except (OSError, ValueError) as err:
            return self._discard(path, f"unreadable ({err})", counts)
        head, _, data = raw.partition(b"\n")
        if head.decode("ascii", "replace") != hashlib.sha256(data).hexdigest():
            return self._discard(path, "damaged", counts)
        if parse is not None:
            try:
                data = parse(data)
            except Exception as err:  # noqa: BLE001 - numpy, zip and json raise many kinds; each means "recompute"
                return self._discard(path, f"not what a {kind} entry holds ({type(err).__name__})", counts)
        self.hits += counts
        return data

    def _discard(self, path: Path, why: str, counts: int) -> None:
        log.warning("cache entry %s is %s; recomputing it", path, why)
        _remove(path)
        self.misses += counts == 1
        return None

    def put(self, kind: str, key: str, data: bytes) -> Path:
        path = self.path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(path) and not path.is_file():
                _remove(path)  # a folder or a pipe where the entry goes: replaced, never written through
            partial = path.with_name(f".{path.name}.writing-{os.getpid()}")
            partial.write_bytes(hashlib.sha256(data).hexdigest().encode("ascii") + b"\n" + data)
            os.replace(partial, path)
        except OSError as err:
            raise ConfigError(f"cannot write the cache in {self.root} ({err.strerror or err}); free some space, pass "
                              "--cache-dir DIR elsewhere, or --no-cache") from None
        return path

    @staticmethod
    def payload(path: Path) -> bytes:
        return read_regular(path, path.parent).partition(b"\n")[2]


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError as err:
        log.warning("cache entry %s could not be removed (%s)", path, err.strerror or err)
