"""Builds with the real all-MiniLM-L6-v2 on the demo project and on ../shared/data."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT, run_cli
from tests.integration.conftest import load_results

pytestmark = pytest.mark.integration


def visible(html: str) -> str:
    return re.sub(r"</?span[^>]*>", "", html)


def test_demo_site(demo_site):
    results = load_results(demo_site)
    demo_lines = (ROOT / "inputs" / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(results["examples"]) == len(demo_lines) >= 28
    assert len(list((demo_site / "examples").glob("*.html"))) == len(demo_lines)
    model = results["model"]
    assert model["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (model["layers"], model["heads"], model["head_kind"]) == (6, 12, "probe")
    assert model["probe"]["cv_accuracy"] > 0.6  # the probe learns sentiment from real embeddings
    zh = [ex for ex in results["examples"] if ex["id"].startswith("zh-")]
    assert zh and all(ex["unreadable"] for ex in zh)
    assert not any(ex["unreadable"] for ex in results["examples"] if not ex["id"].startswith("zh-"))
    index = (demo_site / "index.html").read_text(encoding="utf-8")
    accuracy = results["summary"]["accuracy"]
    assert f"({accuracy:.0%})" in index  # the findings are written from the numbers
    assert f"{model['probe']['cv_accuracy']:.0%}" in index
    assert "About this report" in index and "How to read the highlights" in index
    assert "mostly unknown word pieces" in index


def test_demo_ig_converges_and_deltas_are_shown(demo_site):
    results = load_results(demo_site)
    for ex in results["examples"]:
        info = ex["methods"]["integrated_gradients"]["info"]
        assert info["steps"] == 50
        assert abs(sum(ex["methods"]["integrated_gradients"]["tokens"]) - (info["f_input"] - info["f_baseline"])
                   - info["delta"]) < 1e-3
    page = (demo_site / "examples" / "neg-07.html").read_text(encoding="utf-8")
    delta = results["examples"][[e["id"] for e in results["examples"]].index("neg-07")]["methods"][
        "integrated_gradients"]["info"]["delta"]
    assert f"{delta:+.2e}" in page


def test_demo_builds_are_byte_identical(demo_site, tmp_path):
    again = tmp_path / "again"
    result = run_cli("build", "--config", str(ROOT / "inputs" / "reportgen.toml"), "--out", str(again))
    assert result.returncode == 0, result.stderr
    first = json.loads((demo_site / "manifest.json").read_text())
    second = json.loads((again / "manifest.json").read_text())
    assert first["files"] == second["files"]  # sha256 of every file


def test_hatexplain_200_posts(hatexplain_site):
    results = load_results(hatexplain_site)
    assert len(results["examples"]) == 200 and results["labels"] == ["hatespeech", "normal", "offensive"]
    with_user = [ex for ex in results["examples"] if "<user>" in ex["text"]]
    assert with_user
    page = (hatexplain_site / "examples" / f"{with_user[0]['slug']}.html").read_text(encoding="utf-8")
    assert "<user>" not in page and "&lt;user&gt;" in visible(page)
    assert sum(1 for ex in results["examples"] if ex["rationale"]) == 133
    rationale_page = next(ex for ex in results["examples"] if ex["rationale"])
    html = (hatexplain_site / "examples" / f"{rationale_page['slug']}.html").read_text(encoding="utf-8")
    assert "Human rationale" in html and 'class="rationale"' in html


def test_esnli_pairs(esnli_site):
    results = load_results(esnli_site)
    assert len(results["examples"]) == 45
    for ex in results["examples"]:
        assert {w["segment"] for w in ex["words"]} == {0, 1}
        for w in ex["words"]:
            source = ex["text"] if w["segment"] == 0 else ex["text_pair"]
            assert source[w["start"] : w["end"]] == w["text"]


def test_chinese_reviews_are_flagged_as_unreadable(chinese_site):
    results = load_results(chinese_site)
    assert all(ex["unreadable"] for ex in results["examples"])
    assert len(results["summary"]["unreadable"]) == len(results["examples"])
    page = (chinese_site / "examples" / f"{results['examples'][0]['slug']}.html").read_text(encoding="utf-8")
    assert "meaningless" in page
    assert "mostly unknown word pieces" in (chinese_site / "index.html").read_text(encoding="utf-8")
    ex = results["examples"][0]
    for w in ex["words"]:  # highlights still fall on the original characters
        assert ex["text"][w["start"] : w["end"]] == w["text"]


def test_default_model_by_directory_path(tmp_path):
    """The hub-id path goes through the same Auto classes; a local directory exercises it offline."""
    from reportgen.models.loader import default_model_dir

    rows = (ROOT / "inputs" / "examples.jsonl").read_text(encoding="utf-8").splitlines()[:4] + \
        (ROOT / "inputs" / "examples.jsonl").read_text(encoding="utf-8").splitlines()[14:18]
    examples = tmp_path / "e.jsonl"
    examples.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "site"
    result = run_cli("build", "--examples", str(examples), "--model", str(default_model_dir()), "--out", str(out),
                     "--methods", "gradient_x_input", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert load_results(out)["model"]["loaded_from"].startswith("local directory")
