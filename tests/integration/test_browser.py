"""Open built sites in headless Chromium and check what a reader sees: plots drawn, no console errors,
no request leaving the site folder (from file:// and from a subpath of a local static server)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.integration.conftest import load_results

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = os.environ.get("REPORTGEN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
COUNT_CANVASES = """() => {
  let n = 0;
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    if (el.tagName === 'CANVAS' && el.width > 0 && el.height > 0) n++;
    if (el.shadowRoot) walk(el.shadowRoot);
  });
  walk(document);
  return n;
}"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`.ci/run` does) or set REPORTGEN_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


class Visit:
    def __init__(self, browser, url: str, allowed_prefix: str, plots: bool = True) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        if plots:
            self.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=20000)
        self.page.wait_for_timeout(500)
        self.outside = [u for u in self.requests if not u.startswith(allowed_prefix)]
        # A repeated id sends links, labels and Bokeh plots to the wrong element.
        self.duplicate_ids = self.page.evaluate("""() => { const seen = new Set(), dup = [];
          document.querySelectorAll('[id]').forEach((el) => { if (seen.has(el.id)) dup.push(el.id); seen.add(el.id); });
          return dup; }""")

    def canvases(self) -> int:
        return self.page.evaluate(COUNT_CANVASES)


def test_index_and_example_pages_from_disk(browser, demo_site):
    prefix = demo_site.resolve().as_uri() + "/"
    index = Visit(browser, prefix + "index.html", prefix)
    assert index.errors == [] and index.outside == []
    assert index.canvases() >= 1
    assert index.page.locator("table.examples tbody tr").count() == len(load_results(demo_site)["examples"])
    index.page.close()

    example = Visit(browser, prefix + "examples/neg-07.html", prefix)
    assert example.errors == [] and example.outside == [] and example.duplicate_ids == []
    assert example.canvases() >= 1
    n_tokens = len(load_results(demo_site)["examples"][[e["slug"] for e in load_results(demo_site)["examples"]]
                                                       .index("neg-07")]["tokens"])
    read = """(name) => { for (const d of Bokeh.documents) { const m = d.get_model_by_name(name);
               if (m) return m; } return null; }"""
    cells = example.page.evaluate(f"() => ({read})('attn-source').data.w.length")
    assert cells == n_tokens * n_tokens
    before = example.page.evaluate(f"() => Array.from(({read})('attn-source').data.w.slice(0, 50))")
    example.page.evaluate(f"() => {{ ({read})('attn-layer').value = 'rollout'; }}")
    example.page.wait_for_timeout(200)
    after = example.page.evaluate(f"() => Array.from(({read})('attn-source').data.w.slice(0, 50))")
    assert before != after  # the reader's choice of layer redraws the map
    assert example.page.evaluate(f"() => ({read})('attn-head').disabled") is True
    assert example.errors == []
    example.page.close()


def test_user_tokens_are_text_not_html(browser, hatexplain_site):
    results = load_results(hatexplain_site)
    ex = next(e for e in results["examples"] if "<user>" in e["text"])
    prefix = hatexplain_site.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + f"examples/{ex['slug']}.html", prefix)
    assert visit.errors == [] and visit.outside == []
    assert visit.canvases() >= 1
    assert "<user>" in visit.page.inner_text("#highlights")
    assert visit.page.evaluate("() => document.getElementsByTagName('user').length") == 0
    visit.page.close()


def test_scripts_in_user_text_never_run(browser, tmp_path, tiny_encoder):
    from tests.conftest import TINY_ROWS, run_cli, write_jsonl

    rows = [dict(r) for r in TINY_ROWS]
    rows[0]["text"] = "good <script>window.__xss = 1</script> <img src=x onerror='window.__xss = 2'>"
    rows[0]["rationale"] = []
    rows[1]["note"] = "<script>window.__xss = 3</script>"
    out = tmp_path / "site"
    result = run_cli("build", "--examples", str(write_jsonl(tmp_path / "e.jsonl", rows)), "--model",
                     str(tiny_encoder), "--out", str(out))
    assert result.returncode == 0, result.stderr
    prefix = out.resolve().as_uri() + "/"
    for page in ("index.html", "examples/a1.html", "examples/a2.html"):
        visit = Visit(browser, prefix + page, prefix)
        assert visit.page.evaluate("() => window.__xss === undefined")
        assert visit.errors == [] and visit.outside == []
        visit.page.close()


def test_window_picker_redraws_the_heatmap_from_another_window(browser, tmp_path, tiny_classifier):
    from tests.conftest import TINY_ROWS, run_cli, write_jsonl

    long_text = " ".join(f"the film number {k} was very good but the plot was terrible" for k in range(12))
    rows = [{"id": "long", "text": long_text, "label": "positive"}, *TINY_ROWS]
    out = tmp_path / "site"
    result = run_cli("build", "--examples", str(write_jsonl(tmp_path / "e.jsonl", rows)), "--model",
                     str(tiny_classifier), "--out", str(out), "--max-length", "24", "--no-global", "--pages", "20")
    assert result.returncode == 0, result.stderr
    prefix = out.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + "examples/long.html", prefix)
    page = visit.page
    page.wait_for_function(f"() => ({READ_MODEL})('attn-source') && ({READ_MODEL})('attn-source').data.w.length > 0",
                           timeout=20000)
    windows = page.locator("select.attention-window option").count()
    assert windows > 5
    title = f"() => ({READ_MODEL})('attn-figure').title.text"
    labels = f"() => Array.from(({READ_MODEL})('attn-xaxis').major_label_overrides.values())"
    assert f"window 1 of {windows}" in page.evaluate(title)
    first = page.evaluate(labels)
    page.select_option("select.attention-window", str(windows - 1))
    page.wait_for_timeout(300)
    assert f"window {windows} of {windows}" in page.evaluate(title)
    last = page.evaluate(labels)
    assert last != first and "terrible" in last  # the last window's own pieces label the axes
    assert visit.errors == [] and visit.outside == [] and visit.duplicate_ids == []


def test_served_from_a_subpath(browser, demo_site, tmp_path):
    root = tmp_path / "www"
    shutil.copytree(demo_site, root / "reports" / "v1")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        prefix = f"http://127.0.0.1:{server.server_address[1]}/reports/v1/"
        for page, plots in (("index.html", True), ("methods.html", False), ("examples/pos-01.html", True)):
            visit = Visit(browser, prefix + page, prefix, plots=plots)
            assert visit.errors == [] and visit.outside == []
            assert visit.canvases() >= (1 if plots else 0)
            visit.page.close()
    finally:
        server.shutdown()


def test_shared_colour_scale_toggle(browser, demo_site):
    prefix = demo_site.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + "examples/pos-04.html", prefix)
    rows = "document.querySelectorAll('.method-row[data-scale]')"
    colour_of_weakest_row_max = f"""() => {{
      const rows = Array.from({rows});
      const weakest = rows.reduce((a, b) => parseFloat(a.dataset.scale) < parseFloat(b.dataset.scale) ? a : b);
      const spans = Array.from(weakest.querySelectorAll('span.w[data-s]'));
      const top = spans.reduce((a, b) => Math.abs(parseFloat(a.dataset.s)) > Math.abs(parseFloat(b.dataset.s)) ? a : b);
      return top.style.backgroundColor;
    }}"""
    # Full strength (85% of orange, purple or, for unsigned methods, teal over white), as opaque colours.
    full = {"rgb(234, 121, 39)", "rgb(118, 89, 168)", "rgb(39, 125, 118)"}
    before = visit.page.evaluate(colour_of_weakest_row_max)
    assert before in full  # each row at full strength on its own scale
    visit.page.check("#shared-scale")
    after = visit.page.evaluate(colour_of_weakest_row_max)
    assert after != before and after not in full
    visit.page.uncheck("#shared-scale")
    assert visit.page.evaluate(colour_of_weakest_row_max) == before
    assert visit.errors == [] and visit.outside == []
    visit.page.close()


READ_MODEL = """(name) => { for (const d of Bokeh.documents) { const m = d.get_model_by_name(name);
                 if (m) return m; } return null; }"""


def _visible_rows(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('#example-table tbody tr'))
      .filter((tr) => !tr.hidden).map((tr) => ({wrong: tr.classList.contains('wrong'),
        text: tr.cells[1].innerText.toLowerCase(), conf: parseFloat(tr.cells[4].innerText),
        metric: tr.querySelector('td.metric-col').innerText}))""")


def test_examples_index_search_and_filters(browser, demo_site):
    prefix = demo_site.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + "index.html", prefix)
    page = visit.page
    assert visit.duplicate_ids == []
    total = len(load_results(demo_site)["examples"])
    assert len(_visible_rows(page)) == total
    page.fill("#example-filters input[name=q]", "plot")
    rows = _visible_rows(page)
    assert 0 < len(rows) < total and all("plot" in r["text"] for r in rows)
    assert page.inner_text("#example-filters output") == f"{len(rows)} of {total} examples"
    page.fill("#example-filters input[name=q]", "")
    examples = load_results(demo_site)["examples"]
    page.select_option("#example-filters select[name=correct]", "no")
    wrong = _visible_rows(page)
    # Held-out predictions: a real probe gets some wrong, and the filter finds them (it found none in-sample).
    # A mostly-[UNK] example is neither right nor wrong (it is in no figure), so it is not among them.
    assert len(wrong) == sum(1 for e in examples
                             if e["label"] and not e["unreadable"] and e["label"] != e["predicted"]) > 0
    assert all(r["wrong"] for r in wrong)
    page.select_option("#example-filters select[name=correct]", "yes")
    assert len(_visible_rows(page)) == sum(1 for e in examples if e["label"] == e["predicted"] and not e["unreadable"])
    page.select_option("#example-filters select[name=correct]", "")
    page.select_option("#example-filters select[name=gold]", "negative")
    assert len(_visible_rows(page)) == sum(1 for e in examples if e["label"] == "negative") > 0
    page.select_option("#example-filters select[name=gold]", "")
    confidences = sorted(max(e["probabilities"]) for e in examples)
    threshold = round(confidences[len(confidences) // 2], 4)
    page.fill("#example-filters input[name=cmin]", str(threshold))
    confident = _visible_rows(page)
    assert len(confident) == sum(1 for c in confidences if round(c, 6) >= threshold) < total
    page.click("#example-filters button[type=reset]")
    page.wait_for_timeout(100)
    assert len(_visible_rows(page)) == total
    page.select_option("#example-filters select[name=metric]", "integrated_gradients/auprc")
    page.fill("#example-filters input[name=mmin]", "0.5")
    scored = _visible_rows(page)
    assert scored and all(float(r["metric"]) >= 0.5 for r in scored)
    assert len(scored) < sum(1 for e in load_results(demo_site)["examples"] if e["rationale"])
    assert visit.errors == [] and visit.outside == []
    page.close()


@pytest.mark.parametrize("site_name", ["demo_site", "hatexplain_site"])
def test_model_page(browser, request, site_name):
    site = request.getfixturevalue(site_name)
    prefix = site.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + "model.html", prefix)
    page = visit.page
    page.wait_for_function("() => Bokeh.documents.length >= 15", timeout=20000)
    assert visit.duplicate_ids == []
    assert visit.canvases() >= 15  # 8 statistics, 3 importance grids, pruning, probes, PCA, reliability
    for section in ("quality", "heads", "patterns", "importance", "probing", "projection", "class-words"):
        assert page.locator(f"section#{section} p.auto").count() == 1, section
        assert page.locator(f"section#{section} details.how").count() == 1, section
    results = load_results(site)
    layers, heads = results["model"]["layers"], results["model"]["heads"]
    thumbs = page.evaluate("""() => Array.from(document.querySelectorAll('table.patterns img'))
                              .map((img) => img.complete && img.naturalWidth > 0)""")
    assert len(thumbs) == layers * heads and all(thumbs)
    points = f"() => Array.from(({READ_MODEL})('pca-source').data.x).slice(0, 5)"
    last_layer = page.evaluate(points)
    assert len(last_layer) == min(5, len(results["examples"]))
    page.evaluate(f"() => {{ ({READ_MODEL})('pca-layer').value = '0'; }}")
    page.wait_for_timeout(200)
    assert page.evaluate(points) != last_layer  # the layer menu moves the points
    assert page.locator("nav a[aria-current=page]").inner_text() == "Model"
    assert visit.errors == [] and visit.outside == []
    page.close()


def test_methods_page_draws_its_plots(browser, hatexplain_site):
    prefix = hatexplain_site.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + "methods.html", prefix)
    assert visit.canvases() >= 1 and visit.duplicate_ids == []
    assert visit.errors == [] and visit.outside == []
    visit.page.close()


def test_single_file_report_opens_alone_from_disk(browser, demo_site, tmp_path):
    from tests.conftest import run_cli

    alone = tmp_path / "alone"
    result = run_cli("render", "--bundle", str(demo_site), "--out", str(alone / "report.html"), "--single-file")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in alone.iterdir()] == ["report.html"]
    url = (alone / "report.html").resolve().as_uri()
    visit = Visit(browser, url, url)
    page = visit.page
    assert visit.canvases() >= 1
    assert page.locator("section.page:not([hidden])").get_attribute("data-page") == "index.html"
    page.click("#example-table a[href='#/examples/neg-07.html']")
    page.wait_for_function(f"() => ({READ_MODEL})('attn-source') && ({READ_MODEL})('attn-source').data.w.length > 0",
                           timeout=20000)
    assert page.locator("section.page:not([hidden])").get_attribute("data-page") == "examples/neg-07.html"
    n = len(next(e for e in load_results(demo_site)["examples"] if e["slug"] == "neg-07")["tokens"])
    assert page.evaluate(f"() => ({READ_MODEL})('attn-source').data.w.length") == n * n
    page.click("header nav a[href='#/model.html']")
    page.wait_for_function("() => Bokeh.documents.length >= 16", timeout=20000)
    assert page.locator("section.page:not([hidden])").get_attribute("data-page") == "model.html"
    assert visit.errors == []
    assert [u for u in visit.requests if not u.startswith(url) and not u.startswith(("data:", "blob:"))] == []
    page.close()


@pytest.mark.parametrize("fragment", ["#0:__proto__", "#0:constructor", "#0:toString", "#%E0%A4%A", "#x:y",
                                      "#0:no-such-example"])
def test_view_page_survives_odd_fragments(browser, demo_site, fragment):
    """Issue 29: an address a reader edits or a link mangles is an unknown example, never a page error."""
    prefix = demo_site.resolve().as_uri() + "/"
    visit = Visit(browser, prefix + "view.html" + fragment, prefix, plots=False)
    visit.page.wait_for_timeout(300)
    assert visit.errors == [] and visit.outside == []
    visit.page.close()
