"""Write a site into a temporary folder beside --out, add manifest.json, then install it.

What reportgen promises about the output folder (docs/promises.md repeats it):
- it replaces only what it wrote: the files an earlier build's manifest.json lists. Hidden entries (.git/,
  .nojekyll, CNAME's dotted friends), files it did not write and symlinks stay exactly as they were;
- a folder that is not empty and has no reportgen manifest is refused unless everything in it is hidden (a
  fresh gh-pages checkout): then the site is written beside those entries;
- a file it did not write that sits where the site would write (examples/, data/, static/, the top pages) makes
  the build stop before the model is loaded;
- a folder that holds only what the old manifest lists is swapped whole (readers never see half a site);
  otherwise each file is replaced atomically in place;
- temporary folders of its own naming (.NAME.building-PID, .NAME.old-PID, .NAME.writing-PID) left by a killed
  build are removed by the next build into the same place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Optional

from reportgen.checksums import sha256_file
from reportgen.errors import ConfigError
from reportgen.safe_files import nearest_existing, writable_problem

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
GENERATOR = "reportgen"
# Every path a site writes lives under one of these, or is one of the top-level files.
SITE_FOLDERS = ("examples", "data", "static")
SITE_FILES = ("index.html", "model.html", "methods.html", MANIFEST)
_DEBRIS = re.compile(r"^\.(?P<name>.+)\.(?:building|old|writing)-(?P<pid>\d+)$")


class SiteWriter:
    def __init__(self, out: Path) -> None:
        self.out = out.absolute()
        self.plan = plan_output(self.out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        remove_debris(self.out)
        self.tmp = self.out.parent / f".{self.out.name}.building-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()

    def path(self, relative: str) -> Path:
        target = (self.tmp / relative).resolve()
        if self.tmp.resolve() not in target.parents:
            raise ValueError(f"refusing to write outside the site folder: {relative!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, relative: str, text: str) -> None:
        self.path(relative).write_text(text, encoding="utf-8", newline="\n")

    def copy(self, source: Path, relative: str) -> None:
        shutil.copyfile(source, self.path(relative))

    def finish(self, manifest: dict[str, Any]) -> None:
        files = {
            p.relative_to(self.tmp).as_posix(): sha256_file(p) for p in sorted(self.tmp.rglob("*")) if p.is_file()
        }
        payload = {"generator": GENERATOR, **manifest, "files": files}
        self.write_text(MANIFEST, json.dumps(payload, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
        # A Ctrl+C while the new site goes in would leave both or neither half-installed: the site is complete
        # at this point, so the interrupt waits until it is in place.
        with _interrupts_deferred():
            if self.plan.swap_whole:
                self._swap()
            else:
                self._merge(set(files) | {MANIFEST})

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _swap(self) -> None:
        old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
        if self.out.exists():
            self.out.rename(old)
        self.tmp.rename(self.out)
        if old.exists():
            shutil.rmtree(old)

    def _merge(self, new_files: set[str]) -> None:
        """Install file by file into a folder that also holds things reportgen did not write."""
        self.out.mkdir(exist_ok=True)
        for relative in sorted(new_files - {MANIFEST}):
            _install(self.tmp / relative, self.out / relative)
        for relative in sorted(self.plan.old_files - new_files):
            target = self.out / relative
            if target.is_file() or target.is_symlink():
                target.unlink()
            _remove_empty_parents(target.parent, self.out)
        _install(self.tmp / MANIFEST, self.out / MANIFEST)  # last: the manifest describes a complete site
        shutil.rmtree(self.tmp)


# The smallest site (a few examples, BokehJS, the styles) is about 5 MB and is written beside the earlier one: less
# free space than this fails mid-write for certain.
MIN_FREE_BYTES = 32 * 1024 * 1024


class OutputPlan:
    """What installing a site at `out` will do, decided before anything is computed."""

    def __init__(self, swap_whole: bool, old_files: set[str]) -> None:
        self.swap_whole = swap_whole  # the folder holds nothing but an earlier site (or does not exist)
        self.old_files = old_files  # files the earlier site's manifest lists: the only ones it may remove


def plan_output(out: Path, inputs: Iterable[Optional[Path]] = ()) -> OutputPlan:
    """Refuse (ConfigError) any output folder whose other files a build could touch; called before the model
    loads, and again when the site is installed."""
    out = out.absolute()
    if out.is_symlink():
        # A site is swapped in whole, which would replace the link by a folder and leave its target stale.
        target = os.path.realpath(out)
        raise ConfigError(f"--out {out}: is a symbolic link (to {target}); reportgen does not write through links: "
                          f"pass --out {target}")
    check_writable_parent(out)
    if not out.exists():
        return OutputPlan(swap_whole=True, old_files=set())
    if not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    old_files = _manifest_files(out)
    entries = list(out.iterdir())
    if old_files is None:
        visible = [p.name for p in entries if not p.name.startswith(".")]
        if visible:
            raise ConfigError(
                f"--out {out}: the folder has files that reportgen did not write (e.g. {sorted(visible)[0]!r}) "
                "and no reportgen manifest.json; choose a new or empty folder"
            )
        old_files = set()
    found = set(_files_below(out))
    foreign = sorted(found - old_files - {MANIFEST})
    in_the_way = [f for f in foreign if _site_path(f)]
    if in_the_way:
        raise ConfigError(
            f"--out {out}: {in_the_way[0]!r} is not from the earlier build (its manifest.json does not list it) but "
            "lies where the site is written; move it or choose another folder"
        )
    _check_inputs_outside(out, inputs, old_files)
    return OutputPlan(swap_whole=bool(old_files) and not foreign and not _has_empty_dirs(out), old_files=old_files)


def check_writable_parent(out: Path, need_bytes: int = MIN_FREE_BYTES) -> None:
    """The folder that will hold the output (and the temporary site built beside it) can be made, written and has
    room for a first estimate: refused now, before the model loads, not after the compute."""
    problem = writable_problem(out.parent)
    if problem is not None:
        raise ConfigError(f"--out {out}: {problem}; choose an output inside a folder you can write to")
    existing = nearest_existing(out.parent)
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise ConfigError(f"--out {out}: {existing} has {free / 1e6:.0f} MB free; a site needs at least "
                          f"{need_bytes / 1e6:.0f} MB beside the earlier one while it is written")


def plan_single_file(target: Path) -> None:
    """--single-file may overwrite only a file that an earlier --single-file build wrote."""
    from reportgen.render.single_file import is_single_file_report

    check_writable_parent(target)
    if target.is_dir():
        raise ConfigError(f"{target}: is a folder; --single-file writes one HTML file, name it e.g. report.html")
    if target.is_symlink():
        raise ConfigError(f"{target}: is a symbolic link; reportgen does not write through links")
    if target.exists() and not is_single_file_report(target):
        raise ConfigError(f"{target}: exists and is not a reportgen single-file report; choose another name")


def remove_debris(out: Path) -> None:
    """Remove .NAME.building-PID / .old-PID / .writing-PID entries of a build that no longer runs."""
    parent = out.parent
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        match = _DEBRIS.match(entry.name)
        if not match or match["name"] != out.name or _alive(int(match["pid"])):
            continue
        log.info("removing %s, left by an interrupted build", entry)
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _manifest_files(out: Path) -> Optional[set[str]]:
    """The files an earlier reportgen build lists in out/manifest.json, or None when there is no such manifest."""
    manifest = out / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return None
    try:
        payload = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or payload.get("generator") != GENERATOR:
        return None
    listed = payload.get("files")
    if not isinstance(listed, dict):
        return None
    # A tampered manifest must not name anything outside the folder.
    return {name for name in listed if isinstance(name, str) and _safe_relative(name)}


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _site_path(relative: str) -> bool:
    first = PurePosixPath(relative).parts[0]
    return first in SITE_FOLDERS or relative in SITE_FILES


def _files_below(out: Path) -> Iterator[str]:
    """Every non-directory entry below out, links included and never followed."""
    for root, dirs, files in os.walk(out, followlinks=False):
        base = Path(root)
        for name in files + [d for d in dirs if (base / d).is_symlink()]:
            yield (base / name).relative_to(out).as_posix()


def _has_empty_dirs(out: Path) -> bool:
    return any(not dirs and not files for root, dirs, files in os.walk(out) if Path(root) != out)


def _check_inputs_outside(out: Path, inputs: Iterable[Optional[Path]], old_files: set[str]) -> None:
    for path in inputs:
        if path is None:
            continue
        resolved = Path(path).resolve()
        try:
            relative = resolved.relative_to(out.resolve()).as_posix()
        except ValueError:
            continue
        if relative == "." or relative in old_files or _site_path(relative):
            raise ConfigError(f"--out {out}: the input {path} lies where the site is written; move it out first")


def _install(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        raise ConfigError(f"{target}: a folder stands where the site writes a file; move it and build again")
    os.replace(source, target)  # replaces a link itself, never what it points to


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            log.warning("interrupted while the finished site was being put in place; it is complete")
