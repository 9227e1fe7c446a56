"""The Python API as a notebook uses it: examples as a DataFrame or a list of dicts, a model as a path or an object
in memory, the report shown inline. Same one-line errors and the same bytes as the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import reportgen
from reportgen.errors import ConfigError, InputError
from tests.conftest import TINY_ROWS, run_cli, shared, write_jsonl

pytestmark = pytest.mark.integration


def test_dataframe_with_the_default_model_gives_headline_findings_and_an_inline_view(tmp_path, tmp_path_factory,
                                                                                     monkeypatch) -> None:
    rows = [json.loads(line) for line in shared("sst2").read_text(encoding="utf-8").splitlines()][:12]
    frame = pd.DataFrame(rows)
    frame.loc[3, "label"] = None  # a missing cell is an absent field, as in a JSONL line without it
    monkeypatch.chdir(tmp_path)
    report = reportgen.build_report(frame, out="report", methods=["attn_lrp"], global_analysis=False, cache=False)

    assert report.path == tmp_path / "report" and report.index.is_file() and report.examples == 12
    results = json.loads((report.path / "data" / "results.json").read_text(encoding="utf-8"))
    assert report.accuracy == results["summary"]["accuracy"] and 0 <= report.accuracy <= 1
    assert [f.code for f in report.findings] == [f["code"] for f in results["summary"]["findings"]]
    assert all(f.severity in ("info", "warning", "error") and f.message for f in report.findings)
    # Below the notebook's folder: an iframe of the site the notebook server can reach.
    shown = report._repr_html_()
    assert shown.startswith("<iframe") and 'src="report/index.html"' in shown
    # Elsewhere: the single-file report inline, which needs no server.
    monkeypatch.chdir(tmp_path_factory.mktemp("another-notebook"))
    inline = report._repr_html_()
    assert "srcdoc=" in inline and "&lt;html" in inline and rows[0]["text"][:20].replace("'", "&#x27;") in inline


def test_list_of_dicts_and_a_model_object_match_the_command_line_byte_for_byte(tiny_classifier, tmp_path,
                                                                                 monkeypatch) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    model = AutoModelForSequenceClassification.from_pretrained(tiny_classifier)
    tokenizer = AutoTokenizer.from_pretrained(tiny_classifier)
    model.train()  # as a training pipeline would hand it over
    options = {"methods": ["integrated_gradients", "attn_lrp"], "global_analysis": False, "cache": False}
    report = reportgen.build_report(TINY_ROWS, model=model, tokenizer=tokenizer, out=tmp_path / "api", **options)
    assert model.training and all(p.requires_grad for p in model.parameters()), "the caller's model was changed"
    assert report.examples == len(TINY_ROWS)

    # The same rows from a file named as the API names its own, and the same model from its folder.
    examples = write_jsonl(tmp_path / "examples.jsonl", TINY_ROWS)
    cli = run_cli("build", "--examples", str(examples), "--model", str(tiny_classifier), "--out",
                  str(tmp_path / "cli"), "--methods", "integrated_gradients,attn_lrp", "--no-global", "--no-cache")
    assert cli.returncode == 0, cli.stderr[-2000:]
    for page in ("index.html", "methods.html", "data/results.json"):
        api_text = (tmp_path / "api" / page).read_text(encoding="utf-8")
        cli_text = (tmp_path / "cli" / page).read_text(encoding="utf-8")
        # Where the model came from is the one difference: an object has no folder (its weights' hash is the same
        # kind of identity, taken from the tensors).
        api_text = api_text.replace(str(model.config._name_or_path), "MODEL").replace(
            "examples.jsonl (examples rows in memory)", "EXAMPLES")
        cli_text = cli_text.replace(str(tiny_classifier), "MODEL").replace(str(examples), "EXAMPLES")
        strip = ("loaded_from", "\"source\": \"", "\"location\": \"", "weights_sha256", "Weights sha256", "Loaded from")
        keep = [line for line in api_text.splitlines() if not any(s in line for s in strip)]
        assert keep == [line for line in cli_text.splitlines() if not any(s in line for s in strip)], page


def test_api_errors_are_the_same_one_line_exceptions(tiny_classifier, tmp_path) -> None:
    bad = [{"text": "fine"}, {"text": "", "label": "positive"}]
    with pytest.raises(InputError, match=r"^examples row 2: field 'text' must be a non-empty string$"):
        reportgen.build_report(bad, model=str(tiny_classifier), out=tmp_path / "x")
    with pytest.raises(ConfigError, match="Unknown option 'ig_stepz'"):
        reportgen.build_report(TINY_ROWS, model=str(tiny_classifier), out=tmp_path / "x", ig_stepz=3)
    with pytest.raises(InputError, match="expected a file path, a list of dicts"):
        reportgen.build_report({"text": "one dict"}, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_render_report_rerenders_without_the_model(tiny_classifier, tmp_path) -> None:
    built = reportgen.build_report(TINY_ROWS, model=str(tiny_classifier), out=tmp_path / "site",
                                   methods=["attn_lrp"], global_analysis=False, cache=False)
    single = reportgen.render_report(built.path, tmp_path / "one.html", theme="audit", single_file=True)
    assert single.single_file and single.index == tmp_path / "one.html" and single.examples == built.examples
    assert single.accuracy == built.accuracy and single.findings == built.findings
    assert "srcdoc=" in single._repr_html_()
