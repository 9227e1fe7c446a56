"""One number everywhere (issue 28): every figure that appears on more than one page of a built report is the same
value on each, and the value results.json holds. Read from the built pages' visible text and chart titles, on the
demo and on a 4-class AG News build (16 held-out news snippets, 4 per class).

Before this test the two builds read in issue 28 disagreed on: the layer with most attention on [CLS]/[SEP] (3 on
the index, 5 on model.html), the plausibility means' n (32 against the 28 readable examples), Gradient x Input
against IG (-0.23 in the text, -0.20 in the matrix), the projection's variance (12% + 11% in its title, 22% in
its text) and a word's example count (8 on the index, 7 on model.html, a per-class count without saying so)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli, shared, write_jsonl
from tests.integration.conftest import load_results

pytestmark = pytest.mark.integration

PER_CLASS = 4


@pytest.fixture(scope="module")
def agnews_site(tmp_path_factory) -> Path:
    """The first 4 snippets of each of AG News' 4 classes, in file order."""
    rows, seen = [], {}
    for line in shared("agnews").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if seen.get(row["label"], 0) < PER_CLASS:
            seen[row["label"]] = seen.get(row["label"], 0) + 1
            rows.append(row)
        if len(rows) == 4 * PER_CLASS:
            break
    base = tmp_path_factory.mktemp("agnews4")
    result = run_cli("build", "--examples", str(write_jsonl(base / "agnews.jsonl", rows)), "--out", str(base / "site"))
    assert result.returncode == 0, result.stderr[-3000:]
    return base / "site"


def visible(path: Path) -> str:
    """What a reader sees of a page: its text without scripts and tags, and the titles of its charts."""
    page = path.read_text(encoding="utf-8")
    titles = re.findall(r'"name":"Title","id":"[^"]+","attributes":\{"text":"([^"]*)"', page)
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", " ", page, flags=re.S)))
    return re.sub(r"\s+", " ", text + " " + " ".join(titles))


def figure(value: float, digits: int) -> str:
    """A figure as the pages write it: fixed digits, a negative one with the minus sign (U+2212)."""
    return f"{value:.{digits}f}".replace("-", "\u2212")


def pages_of(site: Path) -> dict[str, str]:
    names = ["index.html", "model.html", "methods.html", "glossary.html"]
    names += sorted(str(p.relative_to(site)) for p in (site / "examples").glob("*.html"))[:3]
    return {name: visible(site / name) for name in names if (site / name).is_file()}


@pytest.mark.parametrize("site_name", ["demo_site", "agnews_site"])
def test_every_figure_on_several_pages_has_one_value(request, site_name):
    site = request.getfixturevalue(site_name)
    results, pages = load_results(site), pages_of(site)
    summary = results["summary"]
    index, model, methods = pages["index.html"], pages.get("model.html", ""), pages["methods.html"]

    # The held-out accuracy: one string, the same on every page that states it, and results.json's figure.
    accuracy = re.compile(r"\d+\.\d%, \d+ of \d+(?:, held out)?(?:; 95% interval [\d.]+–[\d.]+%)?")
    stated = {name: set(accuracy.findall(text)) for name, text in pages.items()}
    values = set().union(*stated.values())
    assert len(values) == 1, stated
    assert values.pop().startswith(f"{summary['accuracy']:.1%}, {summary['n_correct']} of {summary['n_labelled']}")
    assert all(stated[name] for name in pages if name != "glossary.html"), stated

    # The layer with most attention on [CLS]/[SEP]: the index's finding and model.html's head statistics.
    said = [re.search(r"in layer (\d+) lands on \[CLS\]/\[SEP\]", index),
            re.search(r"the share is highest in layer (\d+)", model)]
    assert all(said) and said[0].group(1) == said[1].group(1)

    # Every metric mean the index names is the methods table's, over the same examples.
    metric_names = {m["title"]: m["name"] for m in results["metrics"]}
    method_names = {m["title"]: m["name"] for m in results["methods"]}
    named = re.findall(r"On ([\w ]+?) \(\w+, (\d+) examples\), (.+?) does best \(([−\d.]+)\)", index)
    assert len(named) == len(summary["metrics"])
    for metric_title, n, method_title, value in named:
        mean = summary["metrics"][metric_names[metric_title]][method_names[method_title]]
        assert (figure(mean["mean"], 3), mean["n"]) == (value, int(n)), (metric_title, method_title)
        assert re.search(rf"{re.escape(value)} \([^)]*n={n}\)", methods), (metric_title, value)

    # The verdict on the highlights: the same sentence on the index and the methods page.
    verdict = re.search(r"The highlights of .+? Measured on [^.]+\.", index)
    assert verdict and verdict.group(0) in methods

    # A method's rank agreement with the one it approximates: the text and the matrix.
    for name, lin in summary["linearisation"].items():
        assert f"mean Spearman {figure(lin['mean'], 2)})" in methods
        assert figure(lin["mean"], 2) in methods.split("Agreement between methods")[1]
        assert round(summary["agreement"][name][lin["of"]], 2) == round(lin["mean"], 2)

    # The projection: its title and its text give the components' shares the same way.
    if model:
        shares = re.search(r"hold (\d+% \+ \d+%) of the variance", model)
        assert shares and f"({shares.group(1)} of the variance)" in model

    # The top words' example counts on the index are the data set's (model.html's are per class, and say so).
    lead = next(m["name"] for m in sorted(results["methods"], key=lambda m: -m["lead"]) if m["signed"])
    for w in summary["top_words"][lead][:5]:
        assert f"“{w['word']}” ({w['examples']} example" in index
    if model:
        assert "examples of this class" in model

    # n: the readable examples every data-set figure covers.
    for per in summary["metrics"].values():
        assert all(m["n"] <= summary["n_readable"] for m in per.values())
    if summary.get("verdict"):
        assert summary["verdict"]["examples"] <= summary["n_readable"]


@pytest.mark.parametrize("site_name", ["demo_site", "agnews_site"])
def test_readers_meet_command_line_options_only_in_the_reproduce_box(request, site_name):
    site = request.getfixturevalue(site_name)
    for name, text in pages_of(site).items():
        if name == "methods.html":
            before, box = text.split("Reproduce or extend this report", 1)
            assert "--global-sample" in box or "--sanity" in box  # the box names options
            text = before + box.split("Re-deriving the pages", 1)[1]
        flag = re.search(r"(?<![\w-])--[a-z][a-z-]+", text)
        assert flag is None, f"{name}: {text[max(0, flag.start() - 80): flag.end() + 20]!r}"


def test_a_build_without_rationales_has_a_verdict_with_intervals(agnews_site):
    """AG News has no human rationales: the index still says whether the highlights beat random, with intervals,
    and offers no plausibility filter or column."""
    results = load_results(agnews_site)
    verdict = results["summary"]["verdict"]
    assert verdict["sampled"] and verdict["examples"] == results["summary"]["n_readable"]
    for figures in verdict["metrics"].values():
        assert figures["difference"]["interval"]["low"] <= figures["difference"]["mean"] \
            <= figures["difference"]["interval"]["high"]
    index = visible(agnews_site / "index.html")
    assert re.search(r"The highlights of AttnLRP are (better|worse|not clearly better) than random",
                     index)
    assert index.count("95% interval") >= 3  # the accuracy's and each metric's difference
    assert "Token F1" not in index
    assert "Sorts texts into 4 classes" in index
