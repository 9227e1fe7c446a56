"""--single-file: fold a built site into one HTML file (BokehJS, CSS, every page and the raw results inline),
for attaching to an audit. Pages become sections shown one at a time by a hash router (#/examples/x.html),
so links keep working from file:// with no other file beside it."""

from __future__ import annotations

import html
import json
import posixpath
import re
from pathlib import Path

from reportgen.render.pages import PAGES

SINGLE_FILE_MARK = '<body data-single="1">'
# In the first line of <head>, so recognising our own file never depends on how long a theme's CSS is.
GENERATOR_META = '<meta name="generator" content="reportgen single-file">'
MAIN = re.compile(r'<main id="main">(.*)</main>', re.S)
HREF = re.compile(r'href="([^"]*)"')
PLOT_ID = re.compile(r'(class="plot" id="|data-target=")([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)">')
SCRIPT_SRC = re.compile(r'<script src="[^"]*"></script>\n?')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
WORDS = re.compile(r'<script type="application/json" id="reportgen-words">.*?</script>', re.S)
ROUTED = (".html", ".json")  # links to these become routes (pages, or downloads of the embedded data)


REPORT_PAGES = (tuple(p.name for p in PAGES), "examples")
REPORT_DATA = ("data/results.json", "manifest.json")


def single_file_html(site: Path, bokeh_scripts: list[str], pages_of: tuple[tuple[str, ...], str] = REPORT_PAGES,
                     data_files: tuple[str, ...] = REPORT_DATA) -> str:
    """pages_of: the site's top-level pages in order, and the folder of its per-example pages; data_files: the
    JSON files embedded (a link to one downloads it)."""
    top, folder = pages_of
    pages = [name for name in top if (site / name).is_file()]
    pages += sorted(f"{folder}/{p.name}" for p in (site / folder).glob("*.html"))
    index_html = (site / "index.html").read_text(encoding="utf-8")
    head_title = TITLE.search(index_html).group(1)
    words = WORDS.search(index_html)  # what the script writes, in the pages' language
    found = re.search(r'<html lang="([^"]+)">', index_html)
    lang = found.group(1) if found else "en"  # the language the pages were rendered in
    header = re.search(r"(<header.*?</header>)", index_html, re.S).group(1)
    footer = re.search(r"(<footer.*?</footer>)", index_html, re.S).group(1)
    sections = []
    for k, page in enumerate(pages):
        text = (site / page).read_text(encoding="utf-8")
        main = SCRIPT_SRC.sub("", MAIN.search(text).group(1))  # data scripts are inlined once, below
        title = TITLE.search(text).group(1)
        main = _route_links(main, page)
        # Plot targets repeat across pages (every example page has "attention-plot"): make them unique.
        main = PLOT_ID.sub(lambda m, k=k: f'{m.group(1)}p{k}-{m.group(2)}"', main)
        sections.append(f'<section class="page" data-page="{html.escape(page)}" data-title="{title}" hidden>'
                        f"{main}</section>")
    # Every stylesheet the pages link, in order (a theme may add its own after the default one).
    head = index_html.split("</head>")[0]
    css = "\n".join((site / href).read_text(encoding="utf-8") for href in STYLESHEET.findall(head))
    js = (site / "static" / "reportgen.js").read_text(encoding="utf-8")
    data_scripts = sorted(p.relative_to(site).as_posix() for folder in ("data/rows", "data/view")
                          for p in (site / folder).glob("*.js"))
    scripts = "".join(f"<script>{_script_text((site / s).read_text(encoding='utf-8'))}</script>\n"
                      for s in [*bokeh_scripts, *data_scripts])
    embedded = "".join(
        f'<script type="application/json" id="embedded-{name.replace("/", "-")}">'
        f"{_json_text((site / name).read_text(encoding='utf-8'))}</script>\n"
        for name in data_files if (site / name).is_file()
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"{GENERATOR_META}\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{head_title}</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>{css}</style>\n"
        f"{words.group(0) if words else ''}\n</head>\n"
        f'{SINGLE_FILE_MARK}\n<a class="skip" href="#main">Skip to content</a>\n'
        f"{_route_links(header, 'index.html')}\n<main id=\"main\">\n" + "\n".join(sections) + "\n</main>\n"
        f"{_route_links(footer, 'index.html')}\n{embedded}{scripts}<script>{_script_text(js)}</script>\n"
        "</body>\n</html>\n"
    )


def is_single_file_report(path: Path) -> bool:
    """Whether path is a file an earlier --single-file build wrote (the only kind it may overwrite)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20).decode("utf-8", errors="replace")
    return GENERATOR_META in head[:4000] or SINGLE_FILE_MARK in head  # the mark: files from before the meta


def _route_links(fragment: str, page: str) -> str:
    """Page-relative links to pages or data files -> #/path[#anchor]; everything else unchanged."""
    base = posixpath.dirname(page)

    def route(match: re.Match) -> str:
        href = html.unescape(match.group(1))
        if "://" in href or href.startswith(("#", "data:", "mailto:")):
            return match.group(0)
        path, _, anchor = href.partition("#")
        if not path.endswith(ROUTED):
            return match.group(0)
        target = posixpath.normpath(posixpath.join(base, path))
        return f'href="#/{html.escape(target)}{"#" + html.escape(anchor) if anchor else ""}"'

    return HREF.sub(route, fragment)


def _script_text(text: str) -> str:
    return text.replace("</script", "<\\/script")


def _json_text(text: str) -> str:
    # Valid JSON that cannot end the <script> block; JSON.parse gives back the same values.
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
