"""Reading files a bundle, a cache or a site names without leaving it and without hanging: a symbolic link to
/etc/passwd placed in a bundle must not land in a published site, and a named pipe in the cache must not block
a build forever."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO, Optional

NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
NON_BLOCKING = getattr(os, "O_NONBLOCK", 0)  # opening a pipe for reading would otherwise wait for a writer


def nearest_existing(path: Path) -> Path:
    """path itself when it exists, else the closest folder (or file) above it that does."""
    while not path.exists() and not path.is_symlink() and path != path.parent:
        path = path.parent
    return path


def writable_problem(folder: Path) -> Optional[str]:
    """Why files could not be written in folder (which may not exist yet), or None: the nearest existing path at or
    above it is a file, or cannot be written. Output folders and the cache are checked before the model loads."""
    existing = nearest_existing(folder)
    if existing.is_symlink() and not existing.exists():
        return f"{existing} is a broken symbolic link"
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write in {existing} (permission denied)"
    return None


def inside(path: Path, root: Path) -> bool:
    """Whether path, with every symbolic link on the way resolved, lies in root."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def open_regular(path: Path, root: Path) -> BinaryIO:
    """A regular file inside root, opened for reading; ValueError for anything else (a link leading out of root, a
    link in the last place, a pipe, a device, a folder), OSError when it is missing or unreadable."""
    if not inside(path, root):
        raise ValueError(f"{path}: leads out of {root} through a symbolic link")
    fd = os.open(path, os.O_RDONLY | NO_FOLLOW | NON_BLOCKING)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, root: Path) -> bytes:
    try:
        with open_regular(path, root) as handle:
            return handle.read()
    except OSError as err:
        if err.errno == getattr(os, "ELOOP", -1):  # O_NOFOLLOW met a link in the last place
            raise ValueError(f"{path}: is a symbolic link") from None
        raise
