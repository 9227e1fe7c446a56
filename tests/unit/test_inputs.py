"""Every bad-input case stops with `file:line: field ...`, exit status 2, no traceback, nothing written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.errors import InputError
from reportgen.inputs import load_examples
from tests.conftest import run_cli, shared, write_jsonl

GOOD = '{"id": "x", "text": "hello world", "label": "a"}\n'

BAD_CASES = [
    ("malformed", GOOD + '{"id": "y", "text": "oops"\n', ":2:", "not valid JSON"),
    ("missing_text", GOOD + '{"id": "y", "label": "a"}\n', ":2:", "field 'text' is missing"),
    ("span_outside", GOOD + '{"id": "y", "text": "abc", "rationale": [[1, 9]]}\n', ":2:", "field 'rationale'"),
    ("span_empty", '{"id": "y", "text": "abc", "rationale": [[2, 2]]}\n', ":1:", "field 'rationale'"),
    ("pair_span_no_pair", '{"text": "abc", "rationale_pair": [[0, 1]]}\n', ":1:", "'rationale_pair'"),
    ("duplicate_id", GOOD + GOOD, ":2:", "duplicate id 'x' (first used on line 1)"),
    ("empty_file", "", "", "no examples found"),
    ("blank_lines_only", "\n\n", "", "no examples found"),
    ("not_object", '["text"]\n', ":1:", "expected a JSON object"),
    ("unknown_field", '{"text": "abc", "lable": "a"}\n', ":1:", "unknown field 'lable'"),
    ("text_not_string", '{"text": 5}\n', ":1:", "field 'text' must be a non-empty string"),
    ("label_empty", '{"text": "abc", "label": ""}\n', ":1:", "field 'label' must not be empty"),
]


@pytest.mark.parametrize("name,content,where,message", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_jsonl_is_one_clean_line(tmp_path, name, content, where, message):
    path = tmp_path / f"{name}.jsonl"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "site"
    # In-process: the same command and exit status without a fresh interpreter per case (the fresh-process path is
    # checked by test_invalid_utf8_names_the_line below).
    result = CliRunner().invoke(cli, ["build", "--examples", str(path), "--out", str(out)])
    assert result.exit_code == 2
    error_lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(error_lines) == 1, result.output
    assert "Traceback" not in result.output and error_lines[0].startswith("Error: ")
    assert f"{path}{where}" in error_lines[0]
    assert message in error_lines[0]
    assert not out.exists()


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(GOOD.encode() + '{"text": "caf\u00e9"}\n'.encode("latin-1"))
    result = run_cli("build", "--examples", str(path), "--out", str(tmp_path / "site"))
    assert result.returncode == 2
    assert f"{path}:2: not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_label_against_the_models_head(tmp_path, tiny_classifier):
    path = write_jsonl(tmp_path / "e.jsonl", [{"text": "good film", "label": "positive"},
                                               {"text": "bad film", "label": "neutral"}])
    out = tmp_path / "site"
    result = run_cli("build", "--examples", str(path), "--model", str(tiny_classifier), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{path}:2: field 'label': unknown label 'neutral'" in result.stderr
    assert "negative, positive" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_label_against_labels_option(tmp_path, tiny_encoder):
    path = write_jsonl(tmp_path / "e.jsonl", [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}])
    result = run_cli("build", "--examples", str(path), "--model", str(tiny_encoder), "--labels", "pos,neu",
                     "--out", str(tmp_path / "site"))
    assert result.returncode == 2
    assert f"{path}:2: field 'label': unknown label 'neg'" in result.stderr


def test_csv_rows_load_with_rationale_json(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text('id,text,label,rationale\nr1,"good, really",pos,"[[0, 4]]"\nr2,bad,neg,\n', encoding="utf-8")
    examples = load_examples(path)
    assert [e.id for e in examples] == ["r1", "r2"]
    assert examples[0].text == "good, really" and examples[0].rationale == ((0, 4),)
    assert examples[1].rationale == ()


def test_csv_errors_name_the_row(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("id,text,rationale\nr1,good,[[0, 40]]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"e\.csv:2: field 'rationale'"):
        load_examples(path)


@pytest.mark.parametrize("name,count", [("hatexplain", 200), ("esnli", 45), ("sst2", 200), ("chnsenticorp", 200)])
def test_shared_data_loads_as_is(name, count):
    examples = load_examples(shared(name))
    assert len(examples) == count
    assert all(e.label for e in examples)
    if name == "esnli":
        assert all(e.text_pair for e in examples)
        assert any(e.rationale_pair for e in examples)
    if name == "hatexplain":
        assert any("<user>" in e.text for e in examples)
        assert sum(1 for e in examples if e.rationale) == 133


def test_missing_ids_get_line_numbers(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [{"text": "a"}, {"text": "b"}])
    assert [e.id for e in load_examples(path)] == ["line-1", "line-2"]


def test_jsonl_comment_lines_are_skipped(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('# a comment\n  # indented comment\n{"id": "a", "text": "good"}\n\n{"id": "b", "text": "bad"}\n')
    assert [ex.id for ex in load_examples(path)] == ["a", "b"]
    assert load_examples(path)[1].line == 5
