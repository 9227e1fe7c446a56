"""End-to-end builds on a tiny random BERT: safety, determinism, themes, re-render, atomic swap."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.bundle.store import read_results
from reportgen.bundle.summary import Finding
from reportgen.cli import cli
from reportgen.render.wording import finding_message
from tests.conftest import TINY_ROWS, run_cli, write_jsonl

XSS = "<script>window.__xss = 1</script>"


def build(*args: str) -> object:
    result = CliRunner().invoke(cli, ["build", *args], catch_exceptions=False)
    return result


@pytest.fixture()
def hostile_project(tmp_path) -> tuple[Path, Path]:
    rows = [dict(r) for r in TINY_ROWS]
    rows[0]["text"] = f"the film {XSS} was good"
    rows[0]["rationale"] = []
    rows[1]["note"] = f"A note with {XSS} and <b>raw</b> HTML."
    rows[2]["id"] = "../../evil"
    examples = write_jsonl(tmp_path / "examples.jsonl", rows)
    narrative = tmp_path / "narrative"
    narrative.mkdir()
    (narrative / "intro.md").write_text(f"---\ntitle: Intro <i>x</i>\norder: 1\n---\nHello {XSS}\n\n**bold**\n")
    return examples, narrative


def test_build_with_probe_writes_a_complete_safe_site(tmp_path, tiny_encoder, hostile_project):
    examples, narrative = hostile_project
    out = tmp_path / "site"
    result = build("--examples", str(examples), "--narrative", str(narrative), "--model", str(tiny_encoder),
                   "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in (out / "examples").iterdir())
    assert len(pages) == len(TINY_ROWS)
    assert all(".." not in p and "/" not in p for p in pages)
    for html_file in out.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        assert "<script>window" not in html
        assert "<b>raw</b>" not in html and "<i>x</i>" not in html
        assert 'src="http' not in html and 'href="http' not in html.replace('href="https://', "")
    first = (out / "examples" / "a1.html").read_text(encoding="utf-8")
    # Highlighted words are wrapped in <span>s; the text between them must be the escaped sentence.
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in re.sub(r"</?span[^>]*>", "", first)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Hello &lt;script&gt;" in index and "<strong>bold</strong>" in index
    assert "linear probe" in index and "cross-fitted" in index  # held-out predictions, said so
    chinese = (out / "examples" / "z1.html").read_text(encoding="utf-8")
    assert "unknown ([UNK])" in chinese and "meaningless" in chinese
    pair = re.sub(r"</?span[^>]*>", "", (out / "examples" / "p1.html").read_text(encoding="utf-8"))
    assert "premise / text" in pair and "hypothesis / text pair" in pair and "a man is playing" in pair

    results = read_results(out / "data")
    ex = results["examples"][0]
    for key in ("tokens", "offsets", "words", "probabilities", "predicted", "target", "attention"):
        assert key in ex
    ig = ex["methods"]["integrated_gradients"]
    assert len(ig["tokens"]) == len(ex["tokens"]) and len(ig["words"]) == len(ex["words"])
    assert set(ig["info"]) >= {"delta", "relative_delta", "f_end", "f_baseline", "steps"}
    assert results["model"]["probe"]["probes"][0]["weight"] and "z1" in results["summary"]["unreadable"]
    assert (out / "data" / "attention" / "a1.npz").is_file()

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"python", "torch", "transformers", "captum", "bokeh", "reportgen"} <= set(manifest["versions"])
    assert manifest["model"]["weights_sha256"] and manifest["inputs"]["examples"]["sha256"]
    assert manifest["config"]["compute"]["options"]["integrated_gradients"] == {"steps": "auto", "tolerance": 0.01}
    assert manifest["command"][0] == "reportgen"
    listed = set(manifest["files"])
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    assert sum(1 for f in listed if f.startswith("static/bokeh/")) == 2  # BokehJS once, not per page


def test_two_builds_are_byte_identical(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    args = ("build", "--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out), "-q")
    assert run_cli(*args).returncode == 0
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert run_cli(*args).returncode == 0
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    changed = [str(k) for k in first if first[k] != second[k]]
    assert changed == []


def test_classifier_head_is_explained_as_is(tmp_path, tiny_classifier, tiny_examples):
    out = tmp_path / "site"
    result = build("--examples", str(tiny_examples), "--model", str(tiny_classifier), "--out", str(out),
                   "--target", "gold", "--methods", "integrated_gradients,attention_rollout", "-q")
    assert result.exit_code == 0, result.output
    results = read_results(out / "data")
    assert results["labels"] == ["negative", "positive"] and results["model"]["probe"] is None
    assert [m["name"] for m in results["methods"]] == ["integrated_gradients", "attention_rollout"]
    assert all(ex["target"] == ex["label"] for ex in results["examples"])
    assert "own sequence-classification head" in (out / "index.html").read_text(encoding="utf-8")


def test_failed_build_leaves_the_previous_site(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    assert build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out), "-q").exit_code == 0
    before = (out / "index.html").read_bytes()
    broken_theme = tmp_path / "broken"
    (broken_theme / "templates").mkdir(parents=True)
    (broken_theme / "templates" / "methods.html").write_text("{{ no_such_variable.field }}")
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(tiny_encoder),
                                      "--out", str(out), "--theme", str(broken_theme), "-q"])
    assert result.exit_code != 0
    assert (out / "index.html").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_unknown_method_lists_the_available_ones(tmp_path, tiny_examples):
    result = run_cli("build", "--examples", str(tiny_examples), "--methods", "ig2", "--out", str(tmp_path / "s"))
    assert result.returncode == 2
    expected = "Unknown attribution method 'ig2'. Available: alti, attention_flow, attention_gradient, attention_raw"
    assert expected in result.stderr
    assert not (tmp_path / "s").exists()


def test_custom_theme_overrides_one_template_and_rerenders_without_the_model(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    assert build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out), "-q").exit_code == 0
    theme = tmp_path / "mytheme"
    (theme / "templates" / "partials").mkdir(parents=True)
    (theme / "templates" / "partials" / "_legend.html").write_text('<p class="legend">CUSTOM LEGEND</p>\n')
    (theme / "static").mkdir()
    (theme / "static" / "style.css").write_text("body { color: red; }\n")
    rerendered = tmp_path / "rerendered"
    result = CliRunner().invoke(cli, ["render", "--bundle", str(out), "--out", str(rerendered), "--theme", str(theme)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    page = (rerendered / "examples" / "a1.html").read_text(encoding="utf-8")
    assert "CUSTOM LEGEND" in page and "Integrated Gradients" in page  # override + fallback
    assert (rerendered / "static" / "style.css").read_text() == "body { color: red; }\n"
    assert (rerendered / "static" / "reportgen.js").is_file()
    same = tmp_path / "same"
    assert CliRunner().invoke(cli, ["render", "--bundle", str(out), "--out", str(same)]).exit_code == 0
    assert (same / "examples" / "a1.html").read_bytes() == (out / "examples" / "a1.html").read_bytes()
    assert (same / "data" / "results.json").read_bytes() == (out / "data" / "results.json").read_bytes()


def test_cli_help_and_methods():
    help_result = run_cli("build", "--help")
    assert help_result.returncode == 0 and "--examples" in help_result.stdout and "Examples:" in help_result.stdout
    from reportgen.compute.methods import METHODS

    methods = run_cli("methods")
    assert methods.returncode == 0
    lines = methods.stdout.splitlines()
    # one line per registered method, each followed by its own options (what --option METHOD.KEY=VALUE sets)
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == METHODS.names()
    options = [line.split()[1] for line in lines if line.startswith(" ")]
    assert "integrated_gradients.steps=auto" in options and "lime.samples=200" in options


def test_all_methods_and_metrics(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    result = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out),
                   "--methods", "all", "--metrics", "all", "--surrogate-samples", "40", "--sanity", "3", "-q")
    assert result.exit_code == 0, result.output
    results = read_results(out / "data")
    names = [m["name"] for m in results["methods"]]
    assert names[-1] == "random" and len(names) == 18
    assert {m["name"] for m in results["metrics"]} == {
        "auprc", "comprehensiveness", "sufficiency", "token_f1", "token_iou", "loo_correlation",
        "normalised_comprehensiveness", "normalised_sufficiency"}
    for ex in results["examples"]:
        assert set(ex["metrics"]) == set(names)
        for values in ex["metrics"].values():
            assert values["comprehensiveness"] is not None
            if not ex["unreadable"]:  # placed between the bounds of its own example
                assert 0.0 <= values["normalised_comprehensiveness"] <= 1.0
                assert 0.0 <= values["normalised_sufficiency"] <= 1.0
            assert (values["auprc"] is None) == (not ex["rationale"] and not ex["rationale_pair"])
    means = results["summary"]["metrics"]
    assert means["auprc"]["random"]["n"] == 3  # the three examples with rationales
    assert set(results["summary"]["agreement"]) == set(names)
    methods_page = (out / "methods.html").read_text(encoding="utf-8")
    assert 'class="reference"' in methods_page and "Agreement between methods" in methods_page
    sanity = results["summary"]["sanity"]
    assert sanity["examples"] == 3 and len(sanity["methods"]) == len(names) - 1 and "Sanity check" in methods_page
    assert "Random scores reach" in (out / "index.html").read_text(encoding="utf-8")
    # Cost, counted for every method on the same examples, beside the faithfulness columns.
    cost = results["summary"]["cost"]
    assert set(cost["methods"]) == set(names) and cost["examples"] == min(8, sum(not e["unreadable"]
                                                                                 for e in results["examples"]))
    assert cost["methods"]["random"]["flops"] == 0 and cost["methods"]["lime"]["forward_passes"] > 10
    assert 'id="cost"' in methods_page and "cost ↓" in methods_page
    assert len(re.findall(r"Cost per example:", methods_page)) == len(names)
    relative = [f for f in results["summary"]["findings"] if f["code"] == "faithfulness_for_cost"]
    decomposition = {m["title"] for m in results["methods"] if m["family"] == "decomposition"}
    worded = [finding_message(Finding(**f), {m["name"]: m["title"] for m in results["methods"]}) for f in relative]
    assert decomposition and decomposition <= {message.split(":")[0] for message in worded}
    no_metrics = tmp_path / "plain"
    assert build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(no_metrics),
                 "--metrics", "none", "-q").exit_code == 0
    assert read_results(no_metrics / "data")["metrics"] == []


def test_fail_on_exits_3_after_writing_the_site(tmp_path, tiny_encoder, tiny_classifier, tiny_examples):
    out = tmp_path / "site"
    result = run_cli("build", "--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out),
                     "--fail-on", "error")
    assert result.returncode == 3, result.stderr
    assert "error: unreadable" in result.stderr and (out / "index.html").is_file()
    findings = read_results(out / "data")["summary"]["findings"]
    unreadable = next(f for f in findings if f["code"] == "unreadable")
    assert unreadable["severity"] == "error" and "z1" in unreadable["examples"]
    assert 'id="alerts"' in (out / "index.html").read_text(encoding="utf-8")
    english = write_jsonl(tmp_path / "en.jsonl", [r for r in TINY_ROWS if r["id"] != "z1"])
    # The model's own head: a probe on a random tiny encoder is (rightly) an error of its own, at chance.
    # In process: the exit code of a real process is checked above.
    clean = build("--examples", str(english), "--model", str(tiny_classifier), "--out", str(tmp_path / "en"),
                  "--fail-on", "error", "-q")
    assert clean.exit_code == 0, clean.output


def test_attention_flow_says_when_it_skips_a_long_input(tmp_path, tiny_encoder, tiny_examples, monkeypatch):
    from reportgen.compute.methods import attention_flow

    monkeypatch.setattr(attention_flow, "MAX_FLOW_TOKENS", 6)  # a1 has 7 word pieces, a5 has 5
    out = tmp_path / "site"
    # --no-cache: the constant is changed at run time, which no cache key can see (the cache keys the code
    # on disk), and an earlier test built these examples with attention flow unpatched.
    result = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out),
                   "--methods", "attention_flow,integrated_gradients", "--metrics", "all", "-q", "--no-cache")
    assert result.exit_code == 0, result.output
    results = read_results(out / "data")
    by_id = {ex["id"]: ex for ex in results["examples"]}
    skipped, kept = by_id["a1"]["methods"]["attention_flow"], by_id["a5"]["methods"]["attention_flow"]
    assert skipped["info"]["skipped"] == {"code": "too_many_pieces", "params": {"size": 7, "limit": 6}}
    assert all(v is None for v in skipped["tokens"] + skipped["words"])
    assert all(v is None for v in by_id["a1"]["metrics"]["attention_flow"].values())
    assert by_id["a1"]["metrics"]["integrated_gradients"]["comprehensiveness"] is not None
    assert "skipped" not in kept["info"] and sum(kept["tokens"]) == pytest.approx(1.0, abs=1e-5)
    assert by_id["a5"]["metrics"]["attention_flow"]["comprehensiveness"] is not None
    page = (out / "examples" / "a1.html").read_text(encoding="utf-8")
    assert "Not computed for this example: 7 word pieces &gt; 6." in page


def test_init_scaffolds_a_project_that_builds_with_a_model_card(tmp_path, tiny_encoder):
    project = tmp_path / "inputs"
    result = run_cli("init", str(project))
    assert result.returncode == 0, result.stderr
    assert {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()} == {
        "examples.jsonl", "reportgen.toml", "narrative/00-model-card.md", "narrative/01-about.md"}
    assert "#" in (project / "examples.jsonl").read_text().splitlines()[0]  # commented
    again = run_cli("init", str(project))
    assert again.returncode == 2 and "not empty" in again.stderr
    out = tmp_path / "site"
    # --force: the tiny test vocabulary does not cover the scaffold's sentences (the default model reads them).
    built = build("--config", str(project / "reportgen.toml"), "--model", str(tiny_encoder), "--out", str(out), "-q",
                  "--force")
    assert built.exit_code == 0, built.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="model-card"' in index and "Intended use" in index and "Your team, someone@example.org" in index
    assert "Intended use" in (out / "model.html").read_text(encoding="utf-8")
    assert "Anything written here appears under the model card" in index
    assert 'id="narrative-00-model-card"' not in index  # shown once, as the card


def test_serve_previews_a_site(tmp_path, tiny_encoder, tiny_examples):
    import subprocess
    import sys
    import urllib.request

    out = tmp_path / "site"
    assert build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out), "-q").exit_code == 0
    server = subprocess.Popen([sys.executable, "-m", "reportgen", "serve", str(out), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url + "examples/a1.html", timeout=10) as response:
            assert response.status == 200 and b"Integrated Gradients" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)
    missing = run_cli("serve", str(tmp_path))
    assert missing.returncode == 2 and "no index.html" in missing.stderr


def test_single_file_and_theme_rerender(tmp_path, tiny_encoder, tiny_examples):
    report = tmp_path / "out" / "report.html"
    result = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(report),
                   "--single-file", "-q")
    assert result.exit_code == 0, result.output
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]
    html = report.read_text(encoding="utf-8")
    # index, model, methods, the glossary, the example view (for examples without a page of their own), every example
    assert html.count('<section class="page"') == 5 + len(TINY_ROWS)
    markup = re.sub(r"<script.*?</script>", "", html, flags=re.S)  # BokehJS's own code mentions href="..."
    assert not re.search(r'(src|href)="(?!#|data:|https?:)[^"]+"', markup)  # no reference to another file
    assert 'id="embedded-data-results.json"' in html
    site = tmp_path / "site"
    built = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(site), "-q")
    assert built.exit_code == 0
    folder = tmp_path / "folder"
    (folder).mkdir()
    (folder / "keep.txt").write_text("x")
    refused = CliRunner().invoke(cli, ["render", "--bundle", str(site), "--out", str(folder), "--single-file"])
    assert refused.exit_code == 0 and (tmp_path / "folder.html").is_file()  # .html added beside, folder untouched
    audit = tmp_path / "audit"
    rendered = CliRunner().invoke(cli, ["render", "--bundle", str(site), "--out", str(audit), "--theme", "audit"])
    assert rendered.exit_code == 0, rendered.output
    page = (audit / "index.html").read_text(encoding="utf-8")
    assert "Model explanation audit" in page and 'class="audit"' in page
    assert (audit / "static" / "style.css").read_text() == (site / "static" / "style.css").read_text()  # fallback
    assert "Georgia" in (audit / "static" / "audit.css").read_text() and 'static/audit.css"' in page
    assert (audit / "model.html").is_file() and "Head importance" in (audit / "model.html").read_text()
    assert (audit / "data" / "results.json").read_bytes() == (site / "data" / "results.json").read_bytes()


def test_reduced_precision_build_says_how_many_examples_were_recomputed(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    result = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out),
                   "--precision", "bf16", "--ig-steps", "auto", "--no-global", "-q")
    assert result.exit_code == 0, result.output
    results = read_results(out / "data")
    precision = results["summary"]["convergence"]["integrated_gradients"]["precision"]
    every = [ex["methods"]["integrated_gradients"]["info"] for ex in results["examples"]]
    assert all(info["precision"] == ("fp32" if info.get("recomputed_from") else "bf16") for info in every)
    assert all(info["relative_delta"] <= 0.01 for info in every if info["precision"] == "bf16")
    # The summary, like every data-set figure, counts the readable examples (the mostly-[UNK] z1 is left out).
    infos = [ex["methods"]["integrated_gradients"]["info"] for ex in results["examples"] if not ex["unreadable"]]
    recomputed = sum(1 for info in infos if info.get("recomputed_from") == "bf16")
    assert len(infos) == len(every) - 1
    assert precision == {"reduced": "bf16", "n": len(infos), "recomputed": recomputed}
    text = re.sub(r"\s+", " ", (out / "methods.html").read_text(encoding="utf-8"))
    assert f"{recomputed} of {len(infos)} examples failed the completeness check in bf16" in text
    assert f"{recomputed} of {len(infos)} examples failed that check in bf16" in \
        re.sub(r"\s+", " ", (out / "index.html").read_text(encoding="utf-8"))
