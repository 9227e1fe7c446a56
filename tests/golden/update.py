"""Rebuild the golden site: a tiny fixed build (a seeded random BERT classifier on the eight rows every tiny test
uses), its bundle and the pages `reportgen render` makes of it, written under tests/golden/.

    make golden        (after a change that is meant to change the pages; review `git diff tests/golden`)
    python tests/golden/update.py --pages-only   (the pages again from the bundle as it is: for a change to
                       render alone, on a machine whose CPU rounds the tiny build's last bits differently)

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

BUILD = ["--methods", "integrated_gradients,attn_lrp,gradient_x_input,attention_rollout,random",
         "--metrics", "token_f1,comprehensiveness,sufficiency", "--pages", "3", "--global-sample", "8",
         "--option", "integrated_gradients.steps=16", "--sanity", "2", "--seed", "0"]


def _fixtures():
    """tests/conftest.py by its path: under pytest the name `conftest` may be another folder's."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("reportgen_tests_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
EPOCH = "1700000000"


def pages(site: Path) -> list[Path]:
    """The files compared: every page. The data is the bundle itself, and the manifest names the folders."""
    return sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file() and p.suffix == ".html")


def main(pages_only: bool = False) -> None:
    import os

    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out = work / "site"
        if pages_only:
            shutil.copytree(HERE / "bundle", out / "data")
        else:
            fixtures = _fixtures()
            model = fixtures._save_tiny(work / "model", with_head=True)
            examples = fixtures.write_jsonl(work / "examples.jsonl", fixtures.TINY_ROWS)
            # Relative paths from the build's folder: the pages name the model as given, the same on every run.
            subprocess.run([sys.executable, "-m", "reportgen", "build", "--model", model.name, "--examples",
                            examples.name, "--out", str(out), "--no-cache", "--force", *BUILD], check=True, env=env,
                           cwd=work)
            shutil.rmtree(HERE / "bundle", ignore_errors=True)
            # What load_bundle reads; rows/ and view/ are scripts render writes from it.
            shutil.copytree(out / "data", HERE / "bundle", ignore=shutil.ignore_patterns("rows", "view"))
        shutil.rmtree(HERE / "site", ignore_errors=True)
        rendered = work / "rendered"
        subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(out), "--out", str(rendered)],
                       check=True, env=env, cwd=work)
        for relative in pages(rendered):
            target = HERE / "site" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(rendered / relative, target)
    print(f"wrote {'' if pages_only else str(HERE / 'bundle') + ' and '}{len(pages(HERE / 'site'))} pages under "
          f"{HERE / 'site'}")


if __name__ == "__main__":
    main(pages_only="--pages-only" in sys.argv[1:])
