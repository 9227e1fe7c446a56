"""Builds with the real all-MiniLM-L6-v2 on the demo project and on ../shared/data."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.conftest import ROOT, run_cli, shared, write_jsonl
from tests.integration.conftest import chinese_rows, load_results

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
    probe = model["probe"]
    assert probe["scheme"] == "cross_fitted" and probe["held_out_accuracy"] > 0.6  # it learns sentiment
    assert probe["p_value"] < 0.05 and probe["n_fitted"] == results["summary"]["n_labelled"]
    zh = [ex for ex in results["examples"] if ex["id"].startswith("zh-")]
    assert zh and all(ex["unreadable"] for ex in zh)
    assert not any(ex["unreadable"] for ex in results["examples"] if not ex["id"].startswith("zh-"))
    index = (demo_site / "index.html").read_text(encoding="utf-8")
    summary = results["summary"]
    # One held-out accuracy, written one way, on every page that states it.
    headline = f"{summary['accuracy']:.1%}, {summary['n_correct']} of {summary['n_labelled']}, held out"
    assert summary["accuracy"] == probe["held_out_accuracy"] == summary["global_analysis"]["quality"]["accuracy"]
    assert summary["global_analysis"]["probing"]["cv_accuracy"][-1] == summary["accuracy"]  # last layer: the same probe
    for page in ("index.html", "model.html", "methods.html", "examples/neg-07.html"):
        assert headline in (demo_site / page).read_text(encoding="utf-8"), page
    assert "in-sample" not in index
    # The unreadable examples are left out of every data-set figure, as the alert says: the metric means and the
    # convergence count too (they covered all 32 before), and the layer the index names for [CLS]/[SEP] is the
    # one model.html names (layer 3 against layer 5 before).
    readable = summary["n_readable"]
    assert readable < len(results["examples"])
    assert all(m["n"] <= readable for per in summary["metrics"].values() for m in per.values())
    assert summary["convergence"]["integrated_gradients"]["n"] == readable
    said = [re.search(r"in layer (\d+) lands on \[CLS\]/\[SEP\]", visible(index)),
            re.search(r"the share is highest in layer (\d+)", (demo_site / "model.html").read_text(encoding="utf-8"))]
    assert all(said) and said[0].group(1) == said[1].group(1)
    wrong = [ex for ex in results["examples"]
             if ex["label"] and not ex["unreadable"] and ex["label"] != ex["predicted"]]
    assert wrong, "held-out predictions of a real probe are not all right"
    assert "About this report" in index and "How to read the highlights" in index
    assert "mostly unknown word pieces" in index


def test_demo_ig_converges_and_deltas_are_shown(demo_site):
    results = load_results(demo_site)
    for ex in results["examples"]:
        info = ex["methods"]["integrated_gradients"]["info"]
        assert info["steps"] in (17, 33, 65, 129) and info["rule"] == "clenshaw-curtis (adaptive)"
        assert info["converged"] == (info["relative_delta"] <= 0.01)
        assert abs(sum(ex["methods"]["integrated_gradients"]["tokens"]) - (info["f_end"] - info["f_baseline"])
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
    # The global analyses read a sample (--global-sample 100), and model.html says so.
    assert results["summary"]["global_analysis"]["sample"] == {"size": 100, "of": 200, "seed": 0}
    model = visible((hatexplain_site / "model.html").read_text(encoding="utf-8"))
    assert "read a seeded random sample of 100 of the 200 examples (seed 0" in " ".join(model.split())


def test_esnli_pairs(esnli_site):
    results = load_results(esnli_site)
    assert len(results["examples"]) == 45
    # 45 pairs are too few for a probe on mean-pooled MiniLM states to learn NLI: held out it is at chance,
    # and the report says so as an error on every page instead of showing 97-99% confident "correct" rows.
    probe, summary = results["model"]["probe"], results["summary"]
    assert summary["accuracy"] == probe["held_out_accuracy"] < 0.5 and probe["p_value"] >= 0.05
    assert [f["severity"] for f in summary["findings"] if f["code"] == "probe_at_chance"] == ["error"]
    headline = f"{summary['accuracy']:.1%}, {summary['n_correct']} of {summary['n_labelled']}, held out"
    index = (esnli_site / "index.html").read_text(encoding="utf-8")
    assert headline in index
    for page in ["index.html", "model.html", "methods.html", *(f"examples/{e['slug']}.html" for e in
                                                               results["examples"][:3])]:
        assert "no better than always answering the most frequent class" in (esnli_site / page).read_text(), page
    for ex in results["examples"]:
        assert {w["segment"] for w in ex["words"]} == {0, 1}
        for w in ex["words"]:
            source = ex["text"] if w["segment"] == 0 else ex["text_pair"]
            assert source[w["start"] : w["end"]] == w["text"]


def test_chinese_reviews_are_flagged_as_unreadable(chinese_site):
    results = load_results(chinese_site)
    chinese = [ex for ex in results["examples"] if any("\u4e00" <= ch <= "\u9fff" for ch in ex["text"])]
    assert len(chinese) == 8 and all(ex["unreadable"] for ex in chinese)
    assert sorted(results["summary"]["unreadable"]) == sorted(ex["slug"] for ex in chinese)
    # Left out of the probe's fitting and of every data-set figure, with counts.
    assert results["model"]["probe"]["n_fitted"] == 12 and results["summary"]["n_labelled"] == 12
    analyses = results["summary"]["global_analysis"]
    assert analyses["n_examples"] == 12 and analyses["n_unreadable"] == 8
    assert results["data"]["n_unreadable"] == 8
    page = (chinese_site / "examples" / f"{chinese[0]['slug']}.html").read_text(encoding="utf-8")
    assert "meaningless" in page
    assert "mostly unknown word pieces" in (chinese_site / "index.html").read_text(encoding="utf-8")
    ex = chinese[0]
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
    assert load_results(out)["model"]["loaded_from"] == {"source": "directory", "location": str(default_model_dir())}


def test_mostly_unreadable_data_stops_before_the_expensive_methods(tmp_path):
    examples = write_jsonl(tmp_path / "zh.jsonl", chinese_rows(20))
    started = time.perf_counter()
    result = run_cli("build", "--examples", str(examples), "--out", str(tmp_path / "site"))
    seconds = time.perf_counter() - started
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "20 of 20 examples are mostly unknown word pieces" in result.stderr and "--force" in result.stderr
    assert "tokenizer covers this script" in result.stderr
    assert seconds < 60 and not (tmp_path / "site").exists()  # was 301 s of IG and head ablation


def test_fail_on_error_exits_3_for_a_probe_at_chance(tmp_path):
    result = run_cli("build", "--examples", str(shared("esnli")), "--out", str(tmp_path / "site"), "--no-global",
                     "--methods", "gradient_x_input", "--metrics", "none", "--fail-on", "error")
    assert result.returncode == 3 and "probe_at_chance" in result.stderr, result.stderr[-2000:]
    assert (tmp_path / "site" / "index.html").is_file()  # written first, then the exit status
