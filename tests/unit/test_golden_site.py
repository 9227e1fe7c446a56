"""The golden site: tests/golden/bundle rendered again gives tests/golden/site, page for page, byte for byte.

A change to render, a template, the wording or the reading of a bundle shows up here as the diff of a page a
reader sees. When the change is meant, `make golden` rebuilds both (see tests/golden/update.py) and the diff of
tests/golden/ is what a reviewer reads."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _update_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("reportgen_golden_update", GOLDEN / "update.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPDATE = _update_module()
EPOCH, pages = UPDATE.EPOCH, UPDATE.pages


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    import os

    from reportgen.api import render_report

    bundle = tmp_path_factory.mktemp("golden") / "data"
    shutil.copytree(GOLDEN / "bundle", bundle)
    out = tmp_path_factory.mktemp("golden-site") / "site"
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        render_report(bundle, out)
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    return out


def test_the_same_pages_are_written(rendered):
    assert pages(rendered) == pages(GOLDEN / "site"), "pages added or gone: run `make golden` if that is meant"
    assert len(pages(rendered)) >= 7  # index, methods, model, view and the paged examples


@pytest.mark.parametrize("page", [p.as_posix() for p in pages(GOLDEN / "site")])
def test_every_page_matches_the_golden_site(rendered, page):
    expected = (GOLDEN / "site" / page).read_text(encoding="utf-8")
    actual = (rendered / page).read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), f"golden/{page}", page, lineterm="",
                                    n=1)
        pytest.fail(f"{page} differs from the golden site (`make golden` if meant):\n" + "\n".join(list(diff)[:40]))


def test_methods_page_explains_gradient_x_input_against_ig():
    """Declared by capability (Gradient x Input approximates Integrated Gradients), not by name (schema 5): the
    golden build names both (Gradient x Input is no longer a default, so the demo has no such section)."""
    import json

    results = json.loads((GOLDEN / "bundle" / "results.json").read_text(encoding="utf-8"))
    gxi = results["summary"]["linearisation"]["gradient_x_input"]
    assert gxi["of"] == "integrated_gradients"
    html = (GOLDEN / "site" / "methods.html").read_text(encoding="utf-8")
    assert 'id="linearisation-gradient_x_input"' in html
    assert f"on {gxi['negative']} of {gxi['n']} examples" in html
