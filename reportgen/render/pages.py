"""The site's pages as a table: each page's file, template, view-model and when it exists, and the navigation
built from the same table. Adding a page is a template and a view function plus one row here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from reportgen.bundle import ReportBundle
from reportgen.i18n import N_, _
from reportgen.render import structure
from reportgen.render.model_page import has_model_page, model_view


@dataclass(frozen=True)
class Gathered:
    """What the pass over the examples collected for the data-set pages (one read of the chunks serves all)."""

    metric_values: structure.MetricValues


@dataclass(frozen=True)
class PageDecl:
    name: str  # the file in the site, also what `page` is while it renders
    template: str
    view: Callable[[ReportBundle, Gathered], dict[str, Any]]
    when: Callable[[ReportBundle], bool] = lambda bundle: True
    nav: Optional[str] = None  # its title in the site's navigation; None: not listed


PAGES: tuple[PageDecl, ...] = (  # in the navigation's order
    PageDecl("index.html", "index.html", lambda b, g: structure.index_view(b), nav=N_("Overview")),
    PageDecl("view.html", "view.html", lambda b, g: structure.view_page(b)),
    PageDecl("model.html", "model.html", lambda b, g: model_view(b), when=has_model_page, nav=N_("Model")),
    PageDecl("methods.html", "methods.html", lambda b, g: structure.methods_view(b, g.metric_values),
             nav=N_("Methods")),
    PageDecl("glossary.html", "glossary.html", lambda b, g: structure.glossary_view(b), nav=N_("Glossary")),
)

# Links in the navigation that are not pages of their own: (title, href, the page they follow; None: at the end).
LINKS: tuple[tuple[str, str, Optional[str]], ...] = (
    (N_("Examples"), "index.html#examples", "index.html"),
    (N_("Raw data"), "data/results.json", None),
)


def written(bundle: ReportBundle) -> list[PageDecl]:
    return [p for p in PAGES if p.when(bundle)]


def navigation(bundle: ReportBundle) -> list[dict[str, Any]]:
    """[{title, page, href}] in reading order: the written pages with a nav title, each followed by its links."""
    entries: list[dict[str, Any]] = []
    for declared in written(bundle):
        if declared.nav is not None:
            entries.append({"title": _(declared.nav), "page": declared.name, "href": declared.name})
        entries.extend({"title": _(title), "page": None, "href": href} for title, href, after in LINKS
                       if after == declared.name)
    entries.extend({"title": _(title), "page": None, "href": href} for title, href, after in LINKS if after is None)
    return entries
