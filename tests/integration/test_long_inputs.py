"""Texts longer than the model's window (--long-inputs window, the default): read in overlapping windows, the
prediction the mean of the windows' logits, every method's scores merged so the whole text is explained."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from reportgen.bundle.store import read_results
from reportgen.cli import cli
from tests.conftest import SHARED_DATA, TINY_ROWS, write_jsonl

LONG = " ".join(f"the film number {k} was very good but the plot was terrible" for k in range(40))


def build(*args: str) -> Path:
    result = CliRunner().invoke(cli, ["build", *args, "-q"])
    assert result.exit_code == 0, result.output
    return Path(args[args.index("--out") + 1])


def page_text(path: Path) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))))


def test_every_method_explains_the_windows_of_a_long_text(tmp_path, tiny_classifier):
    rows = [{"id": "long", "text": LONG, "label": "positive"}, *TINY_ROWS]
    out = build("--examples", str(write_jsonl(tmp_path / "ex.jsonl", rows)), "--model", str(tiny_classifier),
                "--out", str(tmp_path / "site"), "--max-length", "24", "--window-stride", "6", "--methods", "all",
                "--no-global", "--pages", "20")
    results = read_results(out / "data")
    ex = next(e for e in results["examples"] if e["id"] == "long")
    windows = ex["windows"]
    assert len(windows) > 10 and not ex["truncated"] and len(ex["words"]) == len(LONG.split())
    # The prediction is the mean of the windows' logits, computed here from the windows the record names.
    tokenizer = AutoTokenizer.from_pretrained(tiny_classifier)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_classifier).eval()
    logits = []
    for w in windows:
        start, end = w["tokens"]
        pieces = [ex["tokens"][0], *ex["tokens"][start:end], ex["tokens"][-1]]
        assert len(pieces) == w["length"] <= 24
        with torch.no_grad():
            logits.append(model(torch.tensor([tokenizer.convert_tokens_to_ids(pieces)])).logits[0].numpy())
    mean = np.mean(logits, axis=0)
    np.testing.assert_allclose(ex["probabilities"], np.exp(mean) / np.exp(mean).sum(), atol=2e-5)
    for name, out_ in ex["methods"].items():
        assert len(out_["tokens"]) == len(ex["tokens"]) and len(out_["words"]) == len(ex["words"]), name
        assert np.isfinite(out_["words"]).all() or "skipped" in out_["info"], name
    ig = ex["methods"]["integrated_gradients"]
    info = ig["info"]
    assert len(info["windows"]) == len(windows)
    # Completeness carries over: the scores add up to the windows' mean f(x) - f(baseline), plus the mean delta.
    assert sum(ig["tokens"]) == pytest.approx(info["f_end"] - info["f_baseline"] + info["delta"], abs=1e-4)
    assert info["relative_delta"] == max(w["relative_delta"] for w in info["windows"])
    assert results["summary"]["windowed"] == ["long"]
    page = (out / "examples" / "long.html").read_text(encoding="utf-8")
    assert page.count('class="attention-data"') == len(windows)
    assert page.count("<option value=") >= len(windows)
    text = page_text(out / "examples" / "long.html")
    assert f"read it in {len(windows)} overlapping windows" in text
    assert f"window {len(windows)} delta" in text  # IG's completeness per window
    for k in range(1, len(windows)):
        assert (out / "data" / "attention" / f"long.w{k}.npz").is_file()


@pytest.mark.integration
def test_a_3000_word_document_is_explained_to_its_last_word(tmp_path):
    """Real sentences (AG News "World" snippets joined into one document) and the real default model."""
    parts, words = [], 0
    with (SHARED_DATA / "agnews" / "dev.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    for row in rows[200:]:
        if row["label"] == "World" and words < 3000:
            parts.append(row["text"])
            words += len(row["text"].split())
    document = "\n\n".join(parts)
    short = [{"id": r["id"], "text": r["text"], "label": r["label"]} for r in rows[:24]]
    examples = write_jsonl(tmp_path / "ex.jsonl", [{"id": "document", "text": document, "label": "World"}, *short])
    out = build("--examples", str(examples), "--out", str(tmp_path / "site"), "--methods",
                "integrated_gradients,gradient_x_input", "--ig-steps", "4", "--no-global", "--pages", "25",
                "--cache-dir", str(tmp_path / "cache"))
    ex = next(e for e in read_results(out / "data")["examples"] if e["id"] == "document")
    assert len(ex["words"]) >= 3000 and len(ex["windows"]) >= 6 and not ex["truncated"]
    ig = np.asarray(ex["methods"]["integrated_gradients"]["words"])
    assert np.count_nonzero(ig[-1000:]) == 1000  # the last 1,000 words are explained too
    assert ex["text"] == document and ex["excerpt"] is None
    text = page_text(out / "examples" / "document.html")
    tail = " ".join(document.split()[-40:])
    assert re.sub(r"\s+", "", tail) in re.sub(r"\s+", "", text)  # the whole text is on the page, to its end
    info = ex["methods"]["integrated_gradients"]["info"]
    assert len(info["windows"]) == len(ex["windows"])
    for k in range(1, len(ex["windows"]) + 1):
        assert f"window {k} delta" in text


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_windows_join_back_into_the_text_for_every_kind_of_tokenizer(kind):
    """Byte-level BPE gives each byte of a Chinese character its own piece, all with the character's span:
    the windows are joined by position, so none is lost or doubled where a window starts inside a character."""
    from reportgen.compute.encode import encode_document
    from reportgen.types import Example
    from tests.conftest import shared
    from tests.integration.test_architectures import _tokenizer

    tokenizer = _tokenizer(kind)
    texts = [json.loads(line)["text"] for name in ("sst2", "chnsenticorp", "hatexplain")
             for line in shared(name).read_text(encoding="utf-8").splitlines()[:3]]
    text = " ".join(texts)[:1000]
    for stride in (3, 7):
        doc = encode_document(tokenizer, Example(id="x", text=text), 64, "window", stride)
        assert doc.windowed and not doc.whole.truncated
        assert doc.whole.input_ids[1:-1] == tokenizer(text, add_special_tokens=False)["input_ids"]
        for w, mapping in zip(doc.windows, doc.to_whole):
            assert [doc.whole.input_ids[t] for t in mapping] == w.input_ids
