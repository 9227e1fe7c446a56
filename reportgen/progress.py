"""Progress bars on long loops: a live bar on a terminal, one log line per stage otherwise."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator

log = logging.getLogger("reportgen")


class _LogProgress:
    """Off a terminal (CI, a log file): one line per stage, and a line every LOG_EVERY seconds of a long one,
    so a build over thousands of examples never looks hung."""

    LOG_EVERY = 30.0

    def __init__(self, description: str, total: int) -> None:
        self.description, self.total, self.done = description, total, 0
        self.started = self.logged = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.logged >= self.LOG_EVERY and self.done < self.total:
            self.logged = now
            rate = self.done / (now - self.started)
            log.info("%s: %d of %d (%.0f s, about %.0f s left)", self.description, self.done, self.total,
                     now - self.started, (self.total - self.done) / rate if rate else float("nan"))

    def close(self) -> None:
        log.info("%s: %d in %.1f s (peak memory so far %s)", self.description, self.total,
                 time.perf_counter() - self.started, peak_memory())


def peak_memory() -> str:
    """This process's peak resident memory, for the stage lines (a build's memory should not grow with its
    number of examples; the stage lines show where it does)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return "unknown"
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f"{kib / 1024:.0f} MB" if sys.platform != "darwin" else f"{kib / 2**20:.0f} MB"


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter numbers
M_ARENA_MAX = -8


def configure_memory() -> None:
    """glibc only: serve every block of 1 MB or more by mmap (returned to the system when freed) instead of
    letting the threshold grow with the largest block freed, and keep the malloc arenas few. Without this a
    build's peak memory grows with its number of examples although it keeps nothing of them."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
        libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc
        pass


@contextmanager
def settled_heap() -> Iterator[None]:
    """For a loop over chunks that calls release_memory(): what exists before the loop (the examples, the model,
    the aggregates' containers) lives through it, so it is frozen out of the cyclic collector and each chunk's
    collection walks only what that chunk made. Over 10k examples a full collection per chunk took 0.3 s, and a
    rebuild from the cache was mostly collections. Unfrozen afterwards, so nothing stays uncollectable."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def release_memory() -> None:
    """Hand freed memory back to the system after a chunk: glibc keeps freed blocks of numpy/torch buffers in
    its heaps (its mmap threshold grows with the largest block freed), so without this a long build's
    resident memory creeps up chunk after chunk although nothing is kept."""
    import gc

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass


class _Quiet:
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def quiet(description: str, total: int) -> _Quiet:
    """A bar that says nothing: for work inside a stage whose own bar already says how far it is (a chunk's
    methods, the sanity check's passes on a randomised model)."""
    return _Quiet()


def progress_bar(description: str, total: int) -> Any:
    if sys.stderr.isatty() and log.isEnabledFor(logging.INFO):
        from tqdm import tqdm

        return tqdm(total=total, desc=description, leave=False, file=sys.stderr)
    return _LogProgress(description, total)
