"""sha256 of files, streamed in 1 MiB blocks (weights and examples files can be gigabytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable


def sha256_files(paths: Iterable[Path]) -> str:
    """One digest over the files' bytes in order (a model's weights split across shards)."""
    digest = hashlib.sha256()
    for path in paths:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_files([path])
