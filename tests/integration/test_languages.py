"""The report in Chinese (--lang zh) beside English, on the real default model and data: no English sentence of the
English pages survives in the Chinese ones (example texts, labels, ids, names, file names and citations stay as
written), every page says lang="zh-Hans", nothing errs or leaves the folder in headless Chromium, `render --lang zh`
writes the bytes a zh build writes, and a Chinese-reading tokenizer's highlights fall on the right characters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, shared

pytestmark = pytest.mark.integration

PAGES = ("index.html", "model.html", "methods.html")  # and an example page; the glossary is template text only
# Names a Chinese page keeps as they are: methods (beside their Chinese name), metrics, papers' authors, tools.
NAMES = {w.lower() for w in """AttnLRP CP-LRP DecompX ALTI LIME KernelSHAP NoiseTunnel IG Integrated Gradients Gradient
    Input Attention rollout Token F1 IOU AUPRC Spearman Wilson Captum ferret PyPI Hugging Face hub id all-MiniLM-L6-v2
    sentence-transformers et al""".split()}
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


def _data_strings(site: Path) -> list[str]:
    """What the pages show as written: texts, ids, labels, the narrative, method and model names."""
    from reportgen.bundle.store import read_results

    results = read_results(site / "data")
    out = [results["model"]["name"], results["title"], *results["labels"]]
    for ex in results["examples"]:
        out += [ex["id"], ex["text"], ex["text_pair"] or "", ex["note"] or "", *(w["text"] for w in ex["words"])]
    for section in results["narrative"]:
        out += [section["title"], section["markdown"], *map(str, section["meta"].values())]
    return [s for s in out if s]


def _prose(page, data_words: set[str]) -> list[str]:
    """The lines of a page's visible text with a sentence's worth of English words that are not the data's own
    (a table row of an example's words, a label, a method's name)."""
    text = page.evaluate("() => document.querySelector('main').innerText")
    return [line.strip() for line in text.splitlines()
            if len([w for w in WORD.findall(line) if w.lower() not in data_words]) >= 6]


def test_render_in_chinese_writes_the_bytes_a_chinese_build_writes(tmp_path, tiny_encoder, tiny_examples,
                                                                    monkeypatch):
    """The language is the renderer's alone: a zh build and an en build re-rendered in zh are the same site."""
    import reportgen

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    built, english, rendered = tmp_path / "zh", tmp_path / "en", tmp_path / "rendered"
    for out, lang in ((built, "zh"), (english, "en")):
        # One cheap method is enough: what is checked is that the language lives in the pages, not the bundle.
        reportgen.build_report(str(tiny_examples), model=str(tiny_encoder), out=out, lang=lang,
                               methods=["attention_rollout"], cache=False)
    reportgen.render_report(english, rendered, lang="zh-Hans")
    files = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(rendered).as_posix() for p in rendered.rglob("*") if p.is_file())
    differing = [f for f in files if f != "manifest.json" and (built / f).read_bytes() != (rendered / f).read_bytes()]
    assert differing == []


@pytest.mark.browser
def test_no_english_sentence_survives_in_the_chinese_pages(demo_site, tmp_path):
    """The demo (English sentences and Chinese ones its model cannot read, so its alerts and warnings too),
    rendered in Chinese from its English build. A 40-sentence SST-2 report was checked the same way by hand
    (docs/languages.md): building it twice more does not fit CI's time."""
    from playwright.sync_api import sync_playwright

    from tests.integration.test_browser import CHROMIUM, FLAGS, Visit

    en, zh = demo_site, tmp_path / "zh"
    done = run_cli("render", "--bundle", str(en), "--out", str(zh), "--lang", "zh")
    assert done.returncode == 0, done.stderr[-3000:]
    data = _data_strings(en)
    data_words = {w.lower() for s in data for w in WORD.findall(s)} | NAMES
    example = sorted((en / "examples").glob("*.html"))[0].relative_to(en).as_posix()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for page in [*PAGES, example]:
            prefix_en, prefix_zh = en.resolve().as_uri() + "/", zh.resolve().as_uri() + "/"
            english = Visit(instance, prefix_en + page, prefix_en)
            chinese = Visit(instance, prefix_zh + page, prefix_zh)
            assert chinese.errors == [] and chinese.outside == [] and chinese.duplicate_ids == [], page
            assert chinese.page.evaluate("() => document.documentElement.lang") == "zh-Hans"
            assert chinese.canvases() >= 1, page
            zh_text = chinese.page.evaluate("() => document.querySelector('main').innerText")
            survivors = [line for line in _prose(english.page, data_words) if line in zh_text
                         and not any(line in s or s in line for s in data if len(s) > 12)]
            assert survivors == [], f"{page}: English lines left in the Chinese page"
            english.page.close()
            chinese.page.close()
        instance.close()


def _chinese_model(directory: Path) -> Path:
    """A tiny random BERT with a WordPiece tokenizer trained on ChnSentiCorp (one piece per character)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    texts = [json.loads(line)["text"] for line in shared("chnsenticorp").read_text(encoding="utf-8").splitlines()]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)
    fast.save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=130, num_labels=2,
                        id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    BertForSequenceClassification(config).save_pretrained(directory)
    return directory


def test_chinese_examples_explained_in_chinese_highlight_the_right_characters(tmp_path):
    import reportgen
    from reportgen.bundle.store import read_results
    from tests.integration.conftest import chinese_rows

    rows = chinese_rows(12)
    model = _chinese_model(tmp_path / "model")
    out = tmp_path / "site"
    reportgen.build_report(rows, model=str(model), out=out, lang="zh", methods=["attn_lrp", "attention_rollout"],
                           global_analysis=False, cache=False)

    results = read_results(out / "data")
    ex = results["examples"][0]
    assert not ex["unreadable"]  # the tokenizer reads Chinese: one word per character
    assert all(ex["text"][w["start"]:w["end"]] == w["text"] for w in ex["words"])
    page = (out / "examples" / f"{ex['slug']}.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page and "哪些词驱动了预测" in page
    # Every highlighted span is one of the text's own words, in order, on its own characters.
    spans = re.findall(r'<span class="w[^"]*" style="[^"]*" title="[^"]*" data-s="[^"]*">([^<]*)</span>', page)
    first_row = spans[: len(ex["words"])]
    assert first_row == [w["text"] for w in ex["words"]]
    assert (ROOT / "reportgen" / "locale" / "zh_Hans" / "LC_MESSAGES" / "reportgen.mo").is_file()
