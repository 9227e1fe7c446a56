"""--single-file: links become routes, plot targets become unique, nothing refers to another file."""

from __future__ import annotations

import re

from reportgen.render.single_file import _route_links, single_file_html


def test_links_to_pages_and_data_become_routes():
    fragment = ('<a href="../index.html">i</a> <a href="a2.html#method-ig">m</a> <a href="../data/results.json">r</a>'
                ' <a href="#local">l</a> <a href="https://example.org/x.html">e</a>')
    routed = _route_links(fragment, "examples/a1.html")
    assert 'href="#/index.html"' in routed
    assert 'href="#/examples/a2.html#method-ig"' in routed
    assert 'href="#/data/results.json"' in routed
    assert 'href="#local"' in routed and 'href="https://example.org/x.html"' in routed


def test_a_site_folds_into_one_file(tmp_path):
    site = tmp_path / "site"
    (site / "examples").mkdir(parents=True)
    (site / "static" / "bokeh").mkdir(parents=True)
    (site / "data").mkdir()
    page = ('<html><head><title>{t}</title><link rel="stylesheet" href="{r}static/style.css"></head><body>'
            '<header><nav><a href="{r}index.html">Overview</a></nav>'
            '</header><main id="main">{body}</main><footer>f</footer></body></html>')
    (site / "index.html").write_text(page.format(t="Home", r="", body='<a href="examples/x.html">x</a>'
                                                 '<div class="plot" id="top"></div>'))
    (site / "examples" / "x.html").write_text(page.format(
        t="X", r="../", body='<div class="plot" id="attention-plot"></div><script type="application/json" '
                             'class="bokeh-item" data-target="attention-plot">{}</script>'))
    (site / "static" / "style.css").write_text("body { color: black; }")
    (site / "static" / "reportgen.js").write_text("var s = '</script>';")
    (site / "static" / "bokeh" / "bokeh.js").write_text("window.Bokeh = {};")
    (site / "data" / "results.json").write_text('{"text": "</script><b>"}')
    html = single_file_html(site, ["static/bokeh/bokeh.js"])
    assert html.count("<section class=\"page\"") == 2
    assert 'data-page="examples/x.html"' in html and 'href="#/examples/x.html"' in html
    assert 'id="p1-attention-plot"' in html and 'data-target="p1-attention-plot"' in html
    assert "body { color: black; }" in html and "window.Bokeh = {};" in html
    assert html.count("</script>") == html.count("<script")  # no script block ended early by content
    assert not re.search(r'(src|href)="(?!#|data:|https?:)[^"]+"', html)  # no reference to another file
