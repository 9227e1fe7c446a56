"""Rebuild the golden site: a tiny fixed build (a seeded random BERT classifier on the eight rows every tiny test
uses), its bundle and the pages `reportgen render` makes of it, written under tests/golden/.

    make golden        (after a change that is meant to change the pages; review `git diff tests/golden`)

tests/unit/test_golden_site.py renders bundle/ again and compares every page with site/, so a change to render,
a template or the bundle's reading shows up as a diff of the pages a reader sees. Static files (Bokeh, CSS) are
left out: the browser tests check what they draw."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import TINY_ROWS, _save_tiny, write_jsonl  # noqa: E402

BUILD = ["--methods", "integrated_gradients,attn_lrp,gradient_x_input,attention_rollout,random",
         "--metrics", "token_f1,comprehensiveness,sufficiency", "--pages", "3", "--global-sample", "8",
         "--ig-steps", "16", "--sanity", "2", "--seed", "0"]
EPOCH = "1700000000"


def pages(site: Path) -> list[Path]:
    """The files compared: every page. The data is the bundle itself, and the manifest names the folders."""
    return sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file() and p.suffix == ".html")


def main() -> None:
    import os

    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = _save_tiny(work / "model", with_head=True)
        examples = write_jsonl(work / "examples.jsonl", TINY_ROWS)
        out = work / "site"
        subprocess.run([sys.executable, "-m", "reportgen", "build", "--model", str(model), "--examples",
                        str(examples), "--out", str(out), "--no-cache", "--force", *BUILD], check=True, env=env,
                       cwd=work)
        for name in ("bundle", "site"):
            shutil.rmtree(HERE / name, ignore_errors=True)
        # What load_bundle reads; rows/ and view/ are scripts render writes from it.
        shutil.copytree(out / "data", HERE / "bundle", ignore=shutil.ignore_patterns("rows", "view"))
        rendered = work / "rendered"
        subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(out), "--out", str(rendered)],
                       check=True, env=env, cwd=work)
        for relative in pages(rendered):
            target = HERE / "site" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(rendered / relative, target)
    print(f"wrote {HERE / 'bundle'} and {len(pages(HERE / 'site'))} pages under {HERE / 'site'}")


if __name__ == "__main__":
    main()
