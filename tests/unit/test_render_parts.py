"""Highlighting, Markdown sanitising, slugs, stable Bokeh ids, rollout, attention flow and the atomic writer."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reportgen.attention import attention_flow, attention_rollout, special_token_mass
from reportgen.bundle.records import MethodInfo, Word
from reportgen.bundle.summary import WordScore
from reportgen.errors import ConfigError
from reportgen.render.highlight import colour, highlight, rationale_pieces
from reportgen.render.markdown import render_markdown
from reportgen.render.plots import attention_heatmap, top_words_chart
from reportgen.render.writer import SiteWriter
from reportgen.slugs import unique_slugs


def test_highlight_pieces_rebuild_the_text_exactly():
    text = "Not  funny, really."
    words = [Word("Not", 0, 3, 0), Word("funny", 5, 10, 0), Word(",", 10, 11, 0)]
    pieces = highlight(text, words, [0.5, -1.0, 0.0], 1.0, rationale=[[5, 10]])
    assert "".join(p.text for p in pieces) == text
    scored = [p for p in pieces if p.score is not None]
    assert [p.text for p in scored] == ["Not", "funny", ","]
    assert scored[1].in_rationale and not scored[0].in_rationale
    # Opaque backgrounds on the PuOr scale: full strength is 85% of the pure colour over white.
    assert "rgb(118, 89, 168)" in scored[1].style  # negative: purple (94, 60, 153)
    assert "rgb(244, 188, 147)" in scored[0].style  # positive at half scale: orange (230, 97, 1)
    assert scored[2].style == ""


def test_colour_saturates_at_scale():
    assert colour(2.0, 1.0) == colour(1.0, 1.0)
    assert colour(0.1, 0.0) == ""


def _parse(style: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    import re

    background = tuple(int(v) for v in re.search(r"rgb\((\d+), (\d+), (\d+)\)", style).groups())
    ink = (0, 0, 0) if "color: #000" in style else (255, 255, 255)
    return background, ink


@pytest.mark.parametrize("signed", [True, False])
def test_every_highlight_meets_wcag_aa_contrast(signed):
    from reportgen.render.highlight import contrast

    for k in range(-100, 101):
        style = colour(k / 100, 1.0, signed)
        if style:
            background, ink = _parse(style)
            assert contrast(background, ink) >= 4.5, (k, style)


def test_unsigned_methods_use_their_own_scale():
    assert colour(1.0, 1.0, signed=False) != colour(1.0, 1.0, signed=True)
    assert colour(-1.0, 1.0, signed=False) == colour(1.0, 1.0, signed=False)  # magnitude only


def test_rationale_pieces_mark_spans():
    pieces = rationale_pieces("a bad film", [[2, 5]])
    assert [(p.text, p.in_rationale) for p in pieces] == [("a ", False), ("bad", True), (" film", False)]


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "hello <img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    '<a href="http://x" onclick="alert(1)">x</a>',
])
def test_markdown_neutralises_html(source):
    html = str(render_markdown(source))
    assert "<script" not in html and "<img" not in html
    assert not re.search(r"<[^>]*\bon\w+=", html)  # no real tag carries an event handler
    assert 'href="javascript' not in html


def test_markdown_keeps_formatting():
    html = str(render_markdown("# Title\n\nSome **bold** and a [link](https://example.org)."))
    assert "<h3>Title</h3>" in html and "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html


def test_slugs_are_safe_unique_and_stable():
    ids = ["../../etc/passwd", "a/b", "A B", "a-b", "", "中文", "x" * 200]
    slugs = unique_slugs(ids)
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert "/" not in slug and ".." not in slug and slug and len(slug) <= 64
    assert unique_slugs(ids) == slugs


def test_bokeh_items_have_stable_ids():
    first = str(attention_heatmap(2, 2, "attention-plot"))
    top_words_chart([WordScore("w", 1.0, 1)], "t", "other")  # advances Bokeh's id counter
    second = str(attention_heatmap(2, 2, "attention-plot"))
    assert first == second
    payload = json.loads(re.search(r'<script type="application/json"[^>]*>(.*)</script>', first).group(1))
    assert payload["root_id"].startswith("attention-plot-")


def test_json_in_script_cannot_close_the_block():
    html = str(top_words_chart([WordScore("</script><script>alert(1)</script>", 1.0, 1)],
                               "t", "w"))
    assert html.count("</script>") == 1
    assert "\\u003c/script\\u003e" in html


def test_rollout_rows_are_distributions():
    rng = np.random.default_rng(0)
    att = rng.random((3, 2, 5, 5)).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    rollout = attention_rollout(att)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-5)
    assert (rollout >= 0).all()
    uniform = np.full((1, 1, 4, 4), 0.25, dtype=np.float32)
    np.testing.assert_allclose(attention_rollout(uniform), 0.5 * np.eye(4) + 0.125, atol=1e-6)


def test_special_token_mass():
    att = np.zeros((1, 1, 3, 3), dtype=np.float32)
    att[..., 0] = 0.5
    att[..., 1] = 0.5
    assert special_token_mass(att, np.array([True, False, False])) == [0.5]


def test_writer_swaps_in_only_when_complete(tmp_path):
    out = tmp_path / "site"
    writer = SiteWriter(out)
    writer.write_text("index.html", "v1")
    writer.finish({})
    (out / ".nojekyll").write_text("")
    assert (out / "index.html").read_text() == "v1"
    failing = SiteWriter(out)
    failing.write_text("index.html", "half-written")
    failing.abort()
    assert (out / "index.html").read_text() == "v1"
    writer = SiteWriter(out)
    writer.write_text("index.html", "v2")
    writer.finish({})
    assert (out / "index.html").read_text() == "v2" and (out / ".nojekyll").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generator"] == "reportgen" and set(manifest["files"]) == {"index.html"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]


def test_writer_refuses_folders_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(ConfigError, match="did not write"):
        SiteWriter(tmp_path)
    with pytest.raises(ValueError, match="outside"):
        SiteWriter(tmp_path / "new").path("../escape.html")


def test_long_texts_show_the_leading_block_of_the_heatmap():
    from reportgen.render.plots import MAX_HEATMAP_TOKENS, attention_data

    n = MAX_HEATMAP_TOKENS + 40
    att = np.full((2, 3, n, n), 1.0 / n, dtype=np.float16)
    html = str(attention_data(att, [f"t{i}" for i in range(n)], [-1] + [0] * (n - 2) + [-1], "ex"))
    payload = json.loads(re.search(r">(.*)</script>", html).group(1))
    assert len(payload["tokens"]) == MAX_HEATMAP_TOKENS
    views = 2 * (3 + 1) + 1  # per layer: mean + heads; then rollout
    assert len(payload["scales"]) == views
    import base64

    assert len(base64.b64decode(payload["maps"])) == views * MAX_HEATMAP_TOKENS**2


def test_attention_flow_of_one_layer_is_the_mixed_attention_row():
    # One layer and the [CLS] output: the only paths from input token j to the sink are the single edges
    # (j -> CLS), so the max flow is 0.5 A[0, j] + 0.5 I[0, j], which already sums to 1.
    rng = np.random.default_rng(1)
    att = rng.random((1, 3, 5, 5))
    att /= att.sum(-1, keepdims=True)
    expected = 0.5 * att[0].mean(axis=0)[0] + 0.5 * np.eye(5)[0]
    np.testing.assert_allclose(attention_flow(att, np.eye(5)[0]), expected, atol=1e-5)


def test_attention_flow_takes_the_narrowest_edge_where_rollout_multiplies():
    # Two tokens, two layers, [CLS] output. Layer 1: both tokens attend token 0, so with the residual
    # M1 = [[1, 0], [.5, .5]]; layer 2: both attend token 1, so [CLS]'s row is M2[0] = [.5, .5].
    # Input j reaches the sink along j -> k -> CLS for k = 0, 1 (disjoint edges), so
    # flow_j = sum_k min(M1[k, j], M2[0, k]) = [.5 + .5, 0 + .5] = [1, .5] -> normalised [2/3, 1/3],
    # while rollout_j = sum_k M2[0, k] M1[k, j] = [.75, .25].
    att = np.array([[[[1.0, 0.0], [1.0, 0.0]]], [[[0.0, 1.0], [0.0, 1.0]]]])
    np.testing.assert_allclose(attention_flow(att, np.eye(2)[0]), [2 / 3, 1 / 3], atol=1e-5)
    np.testing.assert_allclose(attention_rollout(att)[0], [0.75, 0.25], atol=1e-6)
    # Mean pooling: uniform attention spreads the flow evenly.
    mean = np.full((3, 1, 4, 4), 0.25)
    np.testing.assert_allclose(attention_flow(mean, np.full(4, 0.25)), 0.25, atol=1e-5)


def _quoted_outside(names, own_folder: str, allowed: set[str]) -> list[str]:
    """Where a name is quoted in reportgen/ or a template outside its own folder and the allowed files."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*(root / "reportgen").rglob("*.py"), *(root / "themes").rglob("*.html")]:
        relative = path.relative_to(root).as_posix()
        if relative.startswith(own_folder) or relative in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{relative}: {n}" for n in names if f'"{n}"' in text or f"'{n}'" in text]
    return offenders


def test_no_method_is_recognised_by_its_name_outside_its_own_file():
    """Summaries, findings, pages and templates read what a method declares (lead, completeness, approximates,
    the reference family), so a new method with the same capabilities is treated the same way. The random
    reference included: it is found by its family."""
    from reportgen.compute.methods import METHODS

    # Defaults (bundle/settings.py), the old flags' aliases (config) and help text name methods; the leave-one-out
    # metric is defined against occlusion's scores.
    allowed = {"reportgen/bundle/settings.py", "reportgen/config.py", "reportgen/scaffold.py", "reportgen/cli.py",
               "reportgen/compute/metrics/loo.py"}
    assert _quoted_outside(METHODS.names(), "reportgen/compute/methods/", allowed) == []


def test_no_metric_is_recognised_by_its_name_outside_its_own_file():
    """Findings and pages read what a metric declares (family, direction, its curve), so a new metric with the
    same declaration is treated the same way. The default list (bundle/settings.py) and the help text (cli) name
    them."""
    from reportgen.compute.metrics import METRICS

    allowed = {"reportgen/bundle/settings.py", "reportgen/cli.py", "reportgen/scaffold.py"}
    assert _quoted_outside(METRICS.names(), "reportgen/compute/metrics/", allowed) == []


def test_every_setting_a_method_reads_is_declared_for_the_cache():
    """A method's cache key holds the settings it declares; one it reads but does not declare would let a
    changed setting reuse stale scores."""
    import inspect

    from reportgen.compute.methods import METHODS

    for name in METHODS.names():
        method = METHODS.get(name)
        source = "".join(inspect.getsource(cls) for cls in method.__mro__ if cls.__module__.startswith("reportgen"))
        source += inspect.getsource(inspect.getmodule(method))
        read = set(re.findall(r"ctx\.config\.(\w+)", source)) - {"batch_tokens", "seed"}
        assert read <= set(method.settings), f"{name} reads {sorted(read - set(method.settings))} undeclared"


def test_only_the_architecture_table_knows_an_architecture():
    """Module paths inside a model and model-type names live in models/architecture.py; everything else asks the
    adapter (blocks, output projections, readout, fillers), so a new encoder family is one row of that table."""
    root = Path(__file__).resolve().parents[2]
    table = root / "reportgen" / "models" / "architecture.py"
    known = ['"bert"', '"distilbert"', '"roberta"', '"xlm-roberta"', '"albert"', '"electra"', '"deberta', '"mpnet"',
             '"modernbert"', "encoder.layer", "transformer.layer", "albert_layer", "out_lin", "q_lin", "attn.Wo",
             "attention.attn", '"attention.self', '"attention.output']
    assert all(k in table.read_text(encoding="utf-8") for k in known if k != "q_lin")  # the table's own vocabulary
    offenders = [f"{path.relative_to(root).as_posix()}: {k}" for path in (root / "reportgen").rglob("*.py")
                 if path != table for k in known if k in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_decomposition_shows_its_sum_beside_the_logit():
    """DecompX, AttnLRP and CP-LRP say per example how much of the target logit their scores carry; a text read in
    windows shows the windows' mean (the merged scores are the windows' sums over their number)."""
    from reportgen.bundle.declarations import MethodDecl
    from reportgen.render.structure import _method_info

    decomposition = MethodDecl("d", "D", "decomposition", True, "", "")
    info = MethodInfo.from_dict
    # (what the figure is, for its glossary entry; its label in the page's language; its value)
    assert _method_info(decomposition, info({"sum": 1.23456, "logit": 2.5})) == [("sum", "sum of scores", "1.2346"),
                                                                                 ("logit", "target logit", "2.5000")]
    windowed = _method_info(decomposition, info({"sum": 1.0, "logit": 2.0, "windows": [{"sum": 0.5}, {"sum": 1.5}]}))
    assert [label for _key, label, _value in windowed] == ["sum of scores (mean over windows)",
                                                           "target logit (mean over windows)"]
    assert _method_info(decomposition, MethodInfo()) == []
    with pytest.raises(ValueError, match="undeclared key 'speed'"):  # the protocol is closed
        info({"sum": 1.0, "speed": 3})


def test_a_completeness_check_is_worded_by_what_the_path_ends_at():
    from reportgen.bundle.declarations import Completeness, MethodDecl
    from reportgen.render.structure import _method_info

    info = MethodInfo(delta=0.01, relative_delta=None, f_end=1.0, f_baseline=1.0, steps=16, rule="r")
    noisy = MethodDecl("n", "N", "gradient", True, "", "", completeness=Completeness("noisy_mean"))
    rows = {label: value for _key, label, value in _method_info(noisy, replace(info, samples=8))}
    # f(end) = f(baseline): the relative delta is undefined, shown as n/a (and flagged, not taken as 0)
    assert rows["relative to mean f(noisy x) − f(baseline)"] == "n/a" and rows["noisy copies × steps"] == "8 × 16"
    plain = MethodDecl("p", "P", "gradient", True, "", "", completeness=Completeness("input"))
    plain_rows = {label: value for _key, label, value in _method_info(plain, info)}
    assert "f(x)" in plain_rows and plain_rows["steps"] == "16"


def test_a_completeness_check_is_one_protocol():
    """Every method that declares Completeness writes its info through completeness_check(), so the relative
    delta has one definition; the keys render and the aggregate read are the ones it writes."""
    import inspect

    from reportgen.compute.methods import METHODS
    from reportgen.compute.methods.base import completeness_check

    keys = set(completeness_check(1.0, 2.0, 1.0, 16, "r"))
    assert keys == {"delta", "relative_delta", "f_end", "f_baseline", "steps", "rule"}
    assert completeness_check(0.5, 1.0, 1.0, 16, "r")["relative_delta"] == float("inf")  # undefined, not 0
    assert completeness_check(0.0, 1.0, 1.0, 16, "r")["relative_delta"] == 0.0
    for name in METHODS.names():
        method = METHODS.get(name)
        if method.completeness is not None:
            assert "completeness_check(" in inspect.getsource(inspect.getmodule(method)), name


def test_every_link_into_the_glossary_has_its_entry():
    """glossary.html#id links (from templates, the figures beside a method and the terms of the methods' and
    metrics' descriptions) land on an entry."""
    from reportgen.render.structure import GLOSSARY_OF, TERMS, glossary_terms

    root = Path(__file__).resolve().parents[2]
    glossary = (root / "themes" / "default" / "templates" / "glossary.html").read_text(encoding="utf-8")
    entries = set(re.findall(r'<dt id="([a-z-]+)"', glossary))
    linked = {anchor for path in (root / "themes").rglob("*.html")
              for anchor in re.findall(r'glossary\.html#([a-z-]+)', path.read_text(encoding="utf-8"))}
    assert linked and set(GLOSSARY_OF.values()) and (linked | set(GLOSSARY_OF.values())) <= entries
    assert set(TERMS.values()) <= entries
    assert [t["anchor"] for t in glossary_terms("The baseline's logit, then the BASELINE again; AOPC.")] == \
        ["baseline", "logit", "aopc"]


def test_alerts_lead_with_errors_then_warnings_that_single_examples_out_and_info_is_a_note(tmp_path):
    """The golden bundle's findings: an error on 1 of 8 examples, warnings on 7, 7, 4, 1 and 0 of them, an info
    note. Errors lead; a warning about nearly every example (7 of 8) comes after the specific ones and gives its
    count instead of a list of ids; info is not an alert."""
    import shutil

    from reportgen.bundle import load_bundle
    from reportgen.render.structure import alerts

    shutil.copytree(Path(__file__).resolve().parents[1] / "golden" / "bundle", tmp_path / "data")
    bundle = load_bundle(tmp_path / "data")
    shown = alerts(bundle, ("error", "warning"))
    assert [a["severity"] for a in shown][:1] == ["error"] and {a["severity"] for a in shown[1:]} == {"warning"}
    broad = [a["broad"] is not None for a in shown]
    assert broad == sorted(broad) and any(broad)  # the broad ones last
    assert all(a["examples"] == [] and a["broad"] == {"count": 7, "of": 8} for a in shown if a["broad"])
    assert [a["code"] for a in alerts(bundle, ("info",))] == ["faithfulness_for_cost"]
    assert "faithfulness_for_cost" not in [a["code"] for a in shown]
