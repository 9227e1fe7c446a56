"""`reportgen compare` on copies of the golden bundle (tests/golden/bundle), one of them changed by hand: what the
comparison counts, the refusals, --fail-on's exit codes, byte-identical reruns, and no torch anywhere in it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.compare.compute import compare_bundles
from reportgen.compare.gate import Policy, failure, parse_policy
from reportgen.compare.records import McNemar
from reportgen.compare.reports import open_report
from reportgen.errors import ConfigError, InputError

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bundle"
ROOT = Path(__file__).resolve().parents[2]


def report(tmp_path: Path, name: str, change=None, header=None) -> Path:
    """A copy of the golden bundle as site/data, its examples edited by change(examples) and results.json by
    header(payload), with the chunk checksum kept true."""
    data = tmp_path / name / "data"
    shutil.copytree(GOLDEN, data)
    chunk = data / "examples" / "00000.json"
    payload = json.loads(chunk.read_text(encoding="utf-8"))
    if change:
        change({ex["id"]: ex for ex in payload["examples"]})
    chunk.write_text(json.dumps(payload), encoding="utf-8")
    results = json.loads((data / "results.json").read_text(encoding="utf-8"))
    results["examples"]["chunks"][0]["sha256"] = hashlib.sha256(chunk.read_bytes()).hexdigest()
    if header:
        header(results)
    (data / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return tmp_path / name


def predict(ex: dict, label: str) -> None:
    ex["predicted"] = ex["target"] = label  # the golden build explains each example's predicted class
    ex["probabilities"] = [0.8, 0.2] if label == "negative" else [0.2, 0.8]


def changed(examples: dict) -> None:
    """a1 right -> wrong; a2, a4 wrong -> right; a1's and a2's AttnLRP word order reversed."""
    predict(examples["a1"], "negative")
    predict(examples["a2"], "negative")
    predict(examples["a4"], "negative")
    for ex_id in ("a1", "a2"):
        words = examples[ex_id]["methods"]["attn_lrp"]["words"]
        examples[ex_id]["methods"]["attn_lrp"]["words"] = [-w for w in words]


def compared(old: Path, new: Path):
    return compare_bundles(open_report(old, "OLD"), open_report(new, "NEW"), old, new)


def test_a_report_against_itself_changes_nothing(tmp_path):
    old, new = report(tmp_path, "old"), report(tmp_path, "new")
    c, pairs = compared(old, new)
    assert c.examples == 8 and c.readable == 7 and c.labelled == 7  # z1 is unreadable to the tiny tokenizer
    assert c.flipped == () and c.mcnemar == McNemar(b=0, c=0, p_value=1.0)
    assert c.accuracy.old == c.accuracy.new == 4 / 7 and c.accuracy.difference.mean == 0
    assert c.lead == "attn_lrp"
    assert all(s.median == 1.0 and s.moved == () for s in c.shift if s.n - s.undefined)
    assert pairs == {}  # nothing flipped or moved: no side-by-side page
    assert all(a.status == "unchanged" for a in c.alerts)


def test_flips_mcnemar_and_shift_of_a_changed_report(tmp_path):
    c, pairs = compared(report(tmp_path, "old"), report(tmp_path, "new", changed))
    assert c.flipped == ("a1", "a2", "a4")
    assert (c.mcnemar.b, c.mcnemar.c) == (1, 2) and c.mcnemar.p_value == 1.0  # 2 x P(X <= 1 | 3) = 1
    assert c.accuracy.old == pytest.approx(4 / 7) and c.accuracy.new == pytest.approx(5 / 7)
    assert c.confusion["new"]["negative"]["negative"] == 2 and c.confusion["old"]["negative"]["negative"] == 0
    # The largest fall of the followed class first: a1's gold class (positive) fell from 0.508 to 0.2.
    assert c.flips[0].id == "a1" and c.flips[0].change == pytest.approx(0.2 - 0.50785983)
    assert all(f.page for f in c.flips) and set(pairs) >= {"a1", "a2", "a4"}
    lrp = next(s for s in c.shift if s.method == "attn_lrp")
    assert c.attribution_shift["attn_lrp"]["a1"] == -1.0 and [m.id for m in lrp.moved] == ["a1", "a2"]
    assert lrp.moved[0].flipped and lrp.median == 1.0 and lrp.low == 0.0  # quartile of [-1, -1, 1, 1, 1, 1, 1]
    assert lrp.flipped_n == 3 and lrp.kept_n == 4 and lrp.flipped_median < lrp.kept_median
    assert lrp.other_class == 3  # each report explains its own prediction: the flipped ones explain other classes


def test_the_site_the_json_and_a_rerun_byte_for_byte(tmp_path):
    old, new = report(tmp_path, "old"), report(tmp_path, "new", changed)
    runner = CliRunner()
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    first = runner.invoke(cli, ["compare", str(old), str(new), "--out", str(tmp_path / "c1")], env=env)
    assert first.exit_code == 0, first.output
    assert "Compared 8 examples: 3 changed class" in first.output
    again = runner.invoke(cli, ["compare", str(old), str(new), "--out", str(tmp_path / "c2")], env=env)
    assert again.exit_code == 0
    files = sorted(p.relative_to(tmp_path / "c1").as_posix() for p in (tmp_path / "c1").rglob("*") if p.is_file())
    assert {"index.html", "flips.html", "pairs/a1.html", "data/comparison.json", "manifest.json"} <= set(files)
    for name in files:
        if name != "manifest.json":  # it names the output folder
            assert (tmp_path / "c1" / name).read_bytes() == (tmp_path / "c2" / name).read_bytes(), name
    data = json.loads((tmp_path / "c1" / "data" / "comparison.json").read_text(encoding="utf-8"))
    assert data["examples"] == 8 and data["flipped"] == ["a1", "a2", "a4"]
    assert data["accuracy"]["old"] == pytest.approx(4 / 7) and data["mcnemar"] == {"b": 1, "c": 2, "p_value": 1.0}
    assert data["attribution_shift"]["attn_lrp"]["a1"] == -1.0
    assert data["provenance"]["old"]["weights_sha256"] and data["provenance"]["new"]["manifest_sha256"] is None
    index = (tmp_path / "c1" / "index.html").read_text(encoding="utf-8")
    assert "went from right to wrong" in index and 'href="pairs/a1.html"' in index and "https://" not in index
    single = runner.invoke(cli, ["compare", str(old), str(new), "--out", str(tmp_path / "one"), "--single-file"],
                           env=env)
    assert single.exit_code == 0, single.output
    text = (tmp_path / "one.html").read_text(encoding="utf-8")
    assert 'data-page="pairs/a1.html"' in text and 'id="embedded-data-comparison.json"' in text


def test_fail_on_exit_codes(tmp_path):
    old, new = report(tmp_path, "old"), report(tmp_path, "new", changed)
    runner = CliRunner()
    args = ["compare", str(old), str(new), "--out", str(tmp_path / "c")]
    flips = runner.invoke(cli, [*args, "--fail-on", "flips:10%"])
    assert flips.exit_code == 3 and "flips: 3 of 7 examples changed class (42.9% > 10%)" in flips.output
    assert (tmp_path / "c" / "index.html").is_file()  # written before the gate fails
    assert runner.invoke(cli, [*args, "--fail-on", "flips:50%", "--fail-on", "regression"]).exit_code == 0
    assert runner.invoke(cli, [*args, "--fail-on", "shift:0.99"]).exit_code == 0  # the median is still 1

    def reversed_everywhere(examples):
        for ex in examples.values():
            ex["methods"]["attn_lrp"]["words"] = [-w for w in ex["methods"]["attn_lrp"]["words"]]

    turned = report(tmp_path, "turned", reversed_everywhere)
    shift = runner.invoke(cli, ["compare", str(old), str(turned), "--out", str(tmp_path / "t"), "--fail-on", "shift:0"])
    assert shift.exit_code == 3
    assert "shift: the median rank correlation of AttnLRP word scores is -1.000 < 0 over 7 examples" in shift.output
    bad = runner.invoke(cli, [*args, "--fail-on", "flips:lots"])
    assert bad.exit_code == 2 and "expected regression, flips:N%" in bad.output


def test_regression_needs_significance_and_lower_accuracy(tmp_path):
    c, _ = compared(report(tmp_path, "old"), report(tmp_path, "new", changed))
    worse = dataclasses.replace(c, accuracy=dataclasses.replace(c.accuracy, old=0.9, new=0.8),
                                mcnemar=McNemar(b=20, c=5, p_value=0.004))
    assert "regression: NEW is less accurate than OLD (80.0% against 90.0%" in failure(Policy("regression"), worse)
    assert failure(Policy("regression"), dataclasses.replace(worse, mcnemar=McNemar(b=8, c=5, p_value=0.58))) is None
    better = dataclasses.replace(worse, accuracy=dataclasses.replace(c.accuracy, old=0.8, new=0.9))
    assert failure(Policy("regression"), better) is None
    assert parse_policy("shift:0.5") == Policy("shift", 0.5)
    with pytest.raises(ConfigError):
        parse_policy("shift:2")


def test_refusals_name_what_differs(tmp_path):
    old = report(tmp_path, "old")

    def renamed(examples):
        examples["a3"]["id"] = "other"

    def rename_index(results):
        results["examples"]["chunks"][0]["ids"][2] = "other"

    with pytest.raises(InputError, match="1 ids only in OLD, 1 only in NEW \\(first only in OLD: 'a3'\\)"):
        compared(old, report(tmp_path, "ids", renamed, rename_index))

    def retexted(examples):
        examples["a5"]["text"] = "a great film"

    with pytest.raises(InputError, match="different texts for the example 'a5'"):
        compared(old, report(tmp_path, "texts", retexted))

    def relabelled(results):
        results["labels"] = ["neg", "pos"]

    with pytest.raises(InputError, match="different classes: OLD negative, positive; NEW neg, pos"):
        compared(old, report(tmp_path, "labels", header=relabelled))
    done = CliRunner().invoke(cli, ["compare", str(old), str(tmp_path), "--out", str(tmp_path / "c")])
    assert done.exit_code == 2 and "NEW" in done.output and "not a reportgen report" in done.output


def test_compare_never_imports_torch(tmp_path):
    old, new = report(tmp_path, "old"), report(tmp_path, "new", changed)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "torch.py").write_text("raise ImportError('torch is blocked in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "reportgen", "compare", str(old), str(new), "--out",
                           str(tmp_path / "c")], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def with_normalised(results: dict) -> None:
    """The golden header as if its build had also computed normalised comprehensiveness (its figures borrowed)."""
    raw = next(m for m in results["metrics"] if m["name"] == "comprehensiveness")
    results["metrics"].append({**raw, "name": "normalised_comprehensiveness", "title": "Normalised comprehensiveness",
                               "range": [0.0, 1.0], "model_scaled": False, "curve": None})
    results["summary"]["metrics"]["normalised_comprehensiveness"] = results["summary"]["metrics"]["comprehensiveness"]


def normalised_values(examples: dict) -> None:
    for ex in examples.values():
        for values in ex["metrics"].values():
            values["normalised_comprehensiveness"] = values["comprehensiveness"]


def test_raw_aopc_is_marked_as_not_comparing_and_the_normalised_rows_as_comparing(tmp_path):
    c, _pairs = compared(report(tmp_path, "old"), report(tmp_path, "new", changed))
    scaled = {q.metric for q in c.quality if q.model_scaled}
    assert scaled == {"comprehensiveness", "sufficiency"} and any(not q.model_scaled for q in c.quality)
    runner = CliRunner()
    out = tmp_path / "site"
    result = runner.invoke(cli, ["compare", str(tmp_path / "old"), str(tmp_path / "new"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Comprehensiveness †" in index and "these reports do not have them" in index

    old = report(tmp_path, "old2", normalised_values, header=with_normalised)
    new = report(tmp_path, "new2", lambda examples: (changed(examples), normalised_values(examples)),
                 header=with_normalised)
    c, _pairs = compared(old, new)
    normalised = next(q for q in c.quality if q.metric == "normalised_comprehensiveness" and q.method == "attn_lrp")
    assert not normalised.model_scaled and normalised.difference.n == 7  # paired over the examples both scored
    assert all(q.difference is None for q in c.quality if q.model_scaled)
    f1 = next(q for q in c.quality if q.metric == "token_f1" and q.method == "attn_lrp")
    assert f1.difference.n == 3 and f1.difference.mean == 0.0  # the three with rationales; their stored F1 is the same
    assert runner.invoke(cli, ["compare", str(old), str(new), "--out", str(tmp_path / "site2")]).exit_code == 0
    index = (tmp_path / "site2" / "index.html").read_text(encoding="utf-8")
    assert "Normalised comprehensiveness</th>" in index and "those compare" in index
    # Written from the paired difference of the shift's method (here nothing moved: the same stored values).
    assert "By Normalised comprehensiveness, AttnLRP explains NEW about as faithfully as OLD: 0.000" in index
