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
    assert example.errors == [] and example.outside == []
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
    before = visit.page.evaluate(colour_of_weakest_row_max)
    assert before.endswith("0.85)")  # each row at full strength on its own scale
    visit.page.check("#shared-scale")
    after = visit.page.evaluate(colour_of_weakest_row_max)
    assert after != before and not after.endswith("0.85)")
    visit.page.uncheck("#shared-scale")
    assert visit.page.evaluate(colour_of_weakest_row_max) == before
    assert visit.errors == [] and visit.outside == []
    visit.page.close()
