"""Issue 27, pages as a table: adding a page is its template plus one row in render/pages.py (it is written and
listed in the navigation of every page), and a theme overrides the blocks it changes instead of copying the page."""

from __future__ import annotations

import dataclasses

import pytest

import reportgen
from reportgen.render import pages
from tests.conftest import ROOT
from tests.integration.test_reliability import built_site

pytestmark = pytest.mark.integration


def test_a_new_page_is_one_template_and_one_row(tmp_path, tiny_encoder, tiny_examples, monkeypatch):
    site = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    # The one file: a template (in a theme folder here; in themes/default/templates/ for a built-in page).
    # (An appendix: the glossary this test once added is a built-in page now.)
    (theme / "templates" / "appendix.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Appendix</h1><p>{{ view.terms }} terms</p>{% endblock %}',
        encoding="utf-8")
    # The one row.
    row = pages.PageDecl("appendix.html", "appendix.html", lambda bundle, gathered: {"terms": 3}, nav="Appendix")
    monkeypatch.setattr(pages, "PAGES", (*pages.PAGES, row))

    out = reportgen.render_report(site, tmp_path / "with-glossary", theme=str(theme)).path
    assert "<h1>Appendix</h1><p>3 terms</p>" in (out / "appendix.html").read_text(encoding="utf-8")
    for page in ("index.html", "methods.html", "appendix.html", "examples/a1.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert ">Appendix</a>" in html, page
    assert 'href="appendix.html" aria-current="page">Appendix' in (out / "appendix.html").read_text(encoding="utf-8")


def test_a_page_that_does_not_apply_is_neither_written_nor_listed(tmp_path, tiny_encoder, tiny_examples):
    site = built_site(tmp_path / "site", tiny_encoder, tiny_examples)  # --no-global: no model page
    assert not (site / "model.html").exists()
    assert "model.html" not in (site / "index.html").read_text(encoding="utf-8")
    assert [p.name for p in pages.PAGES if dataclasses.asdict(p)["nav"]] == ["index.html", "model.html",
                                                                            "methods.html", "glossary.html"]


def test_the_audit_theme_overrides_blocks_instead_of_copying_the_page():
    audit = (ROOT / "themes" / "audit" / "templates" / "base.html").read_text(encoding="utf-8")
    assert '{% extends "default/base.html" %}' in audit
    assert "<html" not in audit and "{% block content %}" not in audit and "partials/_scripts.html" not in audit
