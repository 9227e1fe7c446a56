"""Write a site into a temporary folder, add manifest.json, then swap it in: a failed build leaves the old site."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from reportgen.errors import ConfigError

MANIFEST = "manifest.json"
GENERATOR = "reportgen"


class SiteWriter:
    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        check_replaceable(self.out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
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
            p.relative_to(self.tmp).as_posix(): _sha256(p)
            for p in sorted(self.tmp.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }
        payload = {"generator": GENERATOR, **manifest, "files": files}
        self.write_text(MANIFEST, json.dumps(payload, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
        self._keep_dotfiles()
        old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
        if self.out.exists():
            self.out.rename(old)
        self.tmp.rename(self.out)
        if old.exists():
            shutil.rmtree(old)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _keep_dotfiles(self) -> None:
        """Files such as .gitkeep or .nojekyll that the user put in the site folder survive rebuilds."""
        if self.out.is_dir():
            for p in self.out.iterdir():
                if p.name.startswith(".") and p.is_file():
                    shutil.copyfile(p, self.tmp / p.name)


def check_replaceable(out: Path) -> None:
    """Only an empty folder or an earlier reportgen site may be replaced: never someone's other files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    entries = [p for p in out.iterdir() if not p.name.startswith(".")]
    if not entries:
        return
    manifest = out / MANIFEST
    try:
        if json.loads(manifest.read_text(encoding="utf-8")).get("generator") == GENERATOR:
            return
    except (OSError, ValueError):
        pass
    raise ConfigError(
        f"--out {out}: the folder has files that reportgen did not write; choose a new or empty folder"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
