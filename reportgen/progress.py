"""Progress bars on long loops: a live bar on a terminal, one log line per stage otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger("reportgen")


class _LogProgress:
    def __init__(self, description: str, total: int) -> None:
        self.description, self.total, self.done = description, total, 0
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        log.info("%s: %d in %.1f s", self.description, self.total, time.perf_counter() - self.started)


def progress_bar(description: str, total: int) -> Any:
    if sys.stderr.isatty() and log.isEnabledFor(logging.INFO):
        from tqdm import tqdm

        return tqdm(total=total, desc=description, leave=False, file=sys.stderr)
    return _LogProgress(description, total)
