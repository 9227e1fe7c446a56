"""Audit scale on tiny models (issue 8): chunked compute, the cache (resume, damage, byte-identity), pages for a
subset with every other example in the view, and `reportgen render` without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reportgen.bundle.store import read_results
from reportgen.cli import cli
from reportgen.config import DEFAULT_METHODS
from tests.conftest import ROOT, TINY_ROWS, write_jsonl


def build(*args: str) -> str:
    result = CliRunner().invoke(cli, ["build", "--no-global", *args])
    assert result.exit_code == 0, result.output
    return result.output


def files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def many(tmp_path: Path, n: int) -> Path:
    rows = [{**TINY_ROWS[i % len(TINY_ROWS)], "id": f"r{i}"} for i in range(n)]
    return write_jsonl(tmp_path / "many.jsonl", rows)


def test_chunks_cache_and_byte_identity(tmp_path, tiny_encoder):
    examples = many(tmp_path, 23)
    common = ["--examples", str(examples), "--model", str(tiny_encoder), "--chunk-size", "5", "--pages", "4"]
    cache = tmp_path / "cache"
    build(*common, "--out", str(tmp_path / "cold"), "--cache-dir", str(cache))
    build(*common, "--out", str(tmp_path / "uncached"), "--no-cache")
    build(*common, "--out", str(tmp_path / "warm"), "--cache-dir", str(cache))
    cold = files(tmp_path / "cold")
    assert cold == files(tmp_path / "uncached") == files(tmp_path / "warm")
    results = read_results(tmp_path / "cold" / "data")
    index = json.loads((tmp_path / "cold" / "data" / "results.json").read_text())["examples"]
    assert len(results["examples"]) == 23 and index["count"] == 23 and len(index["chunks"]) == 5
    # Four full pages (and attention maps); every other example opens in the view, from its chunk.
    assert len(results["pages"]) == 4 and len(list((tmp_path / "cold" / "examples").glob("*.html"))) == 4
    assert len(list((tmp_path / "cold" / "data" / "attention").glob("*.npz"))) == 4
    rows = "".join(p.read_text() for p in sorted((tmp_path / "cold" / "data" / "rows").glob("*.js")))
    assert rows.count('"slug":') == 23 and rows.count('"href":"view.html#') == 19
    # A damaged cache entry is recomputed, never shown: the site stays the same. Every assembled chunk is damaged
    # too, or the damaged part under it would never be read; one entry of every other kind as well.
    kinds = sorted(p.name for p in cache.iterdir())
    assert kinds == ["attention", "chunk", "cost", "features", "method", "records"]
    victims = [*(p for p in (cache / "chunk").rglob("*") if p.is_file())]
    victims += [next(p for p in sorted((cache / kind).rglob("*")) if p.is_file()) for kind in kinds if kind != "chunk"]
    for victim in victims:
        victim.write_bytes(victim.read_bytes()[:-20] + b"x" * 20)
    build(*common, "--out", str(tmp_path / "repaired"), "--cache-dir", str(cache))
    assert files(tmp_path / "repaired") == cold
    assert not any(v.read_bytes().endswith(b"x" * 20) for v in victims)  # each one computed and written again


def _reused_and_computed(reused_chunks: int, computed_chunks: int) -> str:
    """The build's cache line for a default build: per chunk, its features, its records and one part per method."""
    parts = 2 + len(DEFAULT_METHODS)
    return f"cache: {reused_chunks * parts} entries reused, {computed_chunks * parts} computed"


def test_adding_examples_reuses_earlier_chunks_when_the_probe_is_fixed(tmp_path, tiny_encoder, caplog):
    """With a fixed probe (--probe-train) the first four chunks of 5 are unchanged: only the new one computes."""
    train = write_jsonl(tmp_path / "train.jsonl", [{**r, "id": f"t{i}"} for i, r in enumerate(TINY_ROWS)])
    first = many(tmp_path, 20)
    rows = [json.loads(line) for line in first.read_text().splitlines()]
    grown = tmp_path / "later"
    grown.mkdir()  # the same file name, two more rows: a user appending to their examples file
    grown = write_jsonl(grown / first.name, rows + [{**TINY_ROWS[0], "id": "new-1"}, {**TINY_ROWS[1], "id": "new-2"}])
    common = ["--model", str(tiny_encoder), "--probe-train", str(train), "--chunk-size", "5",
              "--cache-dir", str(tmp_path / "cache")]
    build("--examples", str(first), "--out", str(tmp_path / "a"), *common)
    caplog.set_level("INFO")
    caplog.clear()  # only the second build's log
    build("--examples", str(grown), "--out", str(tmp_path / "b"), *common)
    # Per chunk the cache holds its features, its records and one part per default method: the first 4 chunks'
    # parts are reused, the fifth chunk's (the 2 new examples) computed.
    assert _reused_and_computed(4, 1) in caplog.text


def test_adding_examples_with_the_earlier_reports_probes(tmp_path, tiny_encoder, caplog):
    """Cross-fitted probes change with every added example, and every explanation through them with it;
    --probe-from keeps the earlier report's probes: only the new chunk computes, every earlier example's record
    is unchanged, and the two new examples go through fold probes that never saw them."""
    first = many(tmp_path, 20)
    rows = [json.loads(line) for line in first.read_text().splitlines()]
    grown = tmp_path / "later"
    grown.mkdir()
    grown = write_jsonl(grown / first.name, rows + [{**TINY_ROWS[0], "id": "new-1"}, {**TINY_ROWS[1], "id": "new-2"}])
    common = ["--model", str(tiny_encoder), "--chunk-size", "5", "--cache-dir", str(tmp_path / "cache")]
    build("--examples", str(first), "--out", str(tmp_path / "a"), *common)
    caplog.set_level("INFO")
    caplog.clear()
    build("--examples", str(grown), "--out", str(tmp_path / "b"), *common, "--probe-from", str(tmp_path / "a"))
    assert _reused_and_computed(4, 1) in caplog.text
    before, after = read_results(tmp_path / "a" / "data"), read_results(tmp_path / "b" / "data")
    earlier = {e["slug"]: e for e in before["examples"]}
    assert len(after["examples"]) == 22
    assert all(e == earlier[e["slug"]] for e in after["examples"] if e["slug"] in earlier)
    old, new = before["model"]["probe"], after["model"]["probe"]
    assert new["reused_from"] == "a" and new["n_new"] == 2 and new["folds"] == old["folds"]
    for p, q in zip(old["probes"], new["probes"]):  # the same probes, bit for bit, each with its old examples
        assert (q["weight"], q["bias"], q["fold"]) == (p["weight"], p["bias"], p["fold"])
        assert set(q["examples"]) - set(p["examples"]) <= {"new-1", "new-2"}
    assert {"new-1", "new-2"} <= {s for q in new["probes"] if q["fold"] is not None for s in q["examples"]}
    said = "reused here: the examples that report explained keep their probes"
    assert said in (tmp_path / "b" / "index.html").read_text()
    # Reproducible: the same command without a cache writes the same site.
    build("--examples", str(grown), "--out", str(tmp_path / "c"), "--model", str(tiny_encoder), "--chunk-size", "5",
          "--no-cache", "--probe-from", str(tmp_path / "a"))
    assert files(tmp_path / "b") == files(tmp_path / "c")


def test_probe_from_refuses_what_it_cannot_reuse(tmp_path, tiny_encoder, tiny_classifier, tiny_examples):
    build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(tmp_path / "a"))
    other = tmp_path / "other" / "data"
    other.mkdir(parents=True)
    results = json.loads((tmp_path / "a" / "data" / "results.json").read_text())
    results["model"]["weights_sha256"] = "0" * 64
    (other / "results.json").write_text(json.dumps(results))
    cases = [(["--model", str(tiny_encoder), "--probe-from", str(tmp_path / "other")], "probes only apply"),
             (["--model", str(tiny_classifier), "--probe-from", str(tmp_path / "a")], "own classification head"),
             (["--model", str(tiny_encoder), "--probe-from", str(tmp_path / "a"), "--probe-train", str(tiny_examples)],
              "give one"),
             (["--model", str(tiny_encoder), "--probe-from", str(tmp_path / "nowhere")], "no data/results.json")]
    for args, message in cases:
        result = CliRunner().invoke(cli, ["build", "--no-global", "--examples", str(tiny_examples),
                                          "--out", str(tmp_path / "refused"), *args])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "refused").exists()


def test_changing_one_methods_setting_recomputes_that_method_alone(tmp_path, tiny_encoder, caplog):
    examples = many(tmp_path, 10)
    common = ["--examples", str(examples), "--model", str(tiny_encoder), "--chunk-size", "5",
              "--methods", "integrated_gradients,gradient_x_input", "--cache-dir", str(tmp_path / "cache")]
    build(*common, "--out", str(tmp_path / "a"), "--ig-steps", "8")
    caplog.set_level("INFO")
    caplog.clear()  # only the second build's log
    build(*common, "--out", str(tmp_path / "b"), "--ig-steps", "12")
    # Reused: 2 chunks' features, records and Gradient x Input; computed: 2 chunks of Integrated Gradients.
    assert "cache: 6 entries reused, 2 computed" in caplog.text
    assert "method integrated_gradients:" in caplog.text and "method gradient_x_input:" not in caplog.text
    build(*common, "--out", str(tmp_path / "c"), "--ig-steps", "12", "--no-cache")
    assert files(tmp_path / "b") == files(tmp_path / "c")


def test_render_runs_without_torch(tmp_path, tiny_encoder, tiny_examples):
    build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(tmp_path / "site"))
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    # A torch that cannot be imported: render must not need it (nor transformers, which imports it).
    (blocker / "torch.py").write_text("raise ImportError('torch is blocked in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(tmp_path / "site"),
                           "--out", str(tmp_path / "again")], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert files(tmp_path / "again") == files(tmp_path / "site")


def test_examples_without_a_page_open_in_the_view_and_the_table_pages(tmp_path, tiny_encoder):
    """Headless Chromium from file://: the table pages through every row, search covers rows not drawn, and an
    example without a full page opens in view.html, drawn from its data chunk, with no console error."""
    from playwright.sync_api import sync_playwright

    from tests.integration.test_browser import CHROMIUM, FLAGS, Visit

    examples = many(tmp_path, 300)
    site = tmp_path / "site"
    build("--examples", str(examples), "--model", str(tiny_encoder), "--out", str(site), "--chunk-size", "64",
          "--pages", "5", "--methods", "gradient_x_input,attention_rollout")
    prefix = site.resolve().as_uri() + "/"
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        visit = Visit(instance, prefix + "index.html", prefix)
        page = visit.page
        assert page.locator("#example-table tbody tr").count() == 250  # one page of rows drawn
        assert page.inner_text(".table-pager .page-of") == "page 1 of 2"
        page.click(".table-pager [data-step='1']")
        assert page.locator("#example-table tbody tr").count() == 50
        page.fill("#example-filters input[name=q]", "r299")  # a row on the second page, found from the first
        assert page.inner_text("#example-filters output") == "1 of 300 examples"
        link = page.locator("#example-table tbody tr a").first
        href = link.get_attribute("href")
        assert href.startswith("view.html#") and href.endswith(":r299")
        link.click()
        page.wait_for_selector("#example-view .method-row span.w", state="attached")
        assert page.inner_text("#view-id") == "r299"
        coloured = page.eval_on_selector_all("#example-view span.w",
                                             "(s) => s.filter((x) => x.style.backgroundColor).length")
        assert coloured > 0
        assert page.locator("#example-view .method-row").count() == 2
        assert visit.errors == [] and [u for u in visit.requests if not u.startswith(prefix)] == []
        instance.close()
