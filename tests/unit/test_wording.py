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
