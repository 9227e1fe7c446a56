"""Findings are data and render words them: every code compute can emit has its sentence, and compute writes none."""

from __future__ import annotations

import re
from pathlib import Path

from reportgen.bundle.summary import Finding
from reportgen.render.wording import SENTENCES, VALUE_LABELS, finding_message

ROOT = Path(__file__).resolve().parents[2]


def test_every_finding_code_has_a_sentence_and_compute_writes_no_prose():
    source = (ROOT / "reportgen" / "compute" / "findings.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'finding\("([a-z_]+)"', source))
    assert codes and codes <= set(SENTENCES), sorted(codes - set(SENTENCES))
    assert set(VALUE_LABELS) <= codes
    # No sentence is assembled in compute: the words a reader sees live in render/wording.py.
    assert not re.search(r'f"[^"]*\b(examples|the model|the probe)\b[^"]*"', source)


def test_a_finding_is_worded_from_its_parameters_with_the_methods_titles():
    titles = {"integrated_gradients": "Integrated Gradients", "attn_lrp": "AttnLRP"}
    finding = Finding("methods_disagree", "warning", {"methods": ["attn_lrp", "integrated_gradients"], "count": 3}, ())
    assert finding_message(finding, titles) == ("AttnLRP and Integrated Gradients rank the words in opposite orders "
                                                "(negative rank correlation) on 3 examples.")
    chance = Finding("probe_at_chance", "error", {"accuracy": 0.356, "majority": 1 / 3, "p_value": 0.43, "n": 45}, ())
    assert finding_message(chance, titles).startswith("The probe is no better than always answering the most "
                                                      "frequent class: held-out accuracy 35.6% against 33.3%")


def test_every_reason_code_is_worded_and_compute_writes_reasons_as_codes():
    from typing import get_args

    from reportgen.bundle.reasons import BlockDifference, Reason, ReasonCode
    from reportgen.bundle.summary import Skipped
    from reportgen.bundle.typed import parse, plain
    from reportgen.models.architecture import ARCHITECTURES
    from reportgen.render.wording import BLOCK_WORDS, REASON_WORDS, reason_text

    assert set(get_args(ReasonCode)) == set(REASON_WORDS)
    assert set(get_args(BlockDifference)) == set(BLOCK_WORDS)
    assert {a.not_bert_blocks for a in ARCHITECTURES if a.not_bert_blocks} <= set(BLOCK_WORDS)
    layout = Reason("layout_not_bert", {"architecture": "FooModel", "difference": "not_in_table", "model_type": "foo"})
    assert reason_text(layout) == "FooModel is not laid out like BERT (the architecture table has no foo row)"
    # Through the bundle's JSON and back, and an unknown code refused where the bundle is read.
    assert parse(Skipped, plain(Skipped(layout)), "s") == Skipped(layout)
    try:
        parse(Skipped, {"skipped": {"code": "because", "params": {}}}, "summary.probing")
    except ValueError as err:
        assert "summary.probing.skipped.code" in str(err)
    else:
        raise AssertionError("an unknown reason code was accepted")
    # Compute returns Reasons, never a sentence, wherever something is skipped or does not apply.
    compute = ROOT / "reportgen" / "compute"
    for path in [*compute.rglob("*.py"), ROOT / "reportgen" / "models" / "adapter.py"]:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r'"skipped":\s*f?"', source), path
        assert not re.search(r'return f"[^"]* (is not|does not|shares) ', source), path
