"""`reportgen compare` on two real builds of two tiny random models of different families (a BERT WordPiece and
a RoBERTa byte-level BPE tokenizer, both trained on ../shared/data): the words line up across tokenizers, unlabelled
and unreadable examples are left out where they must be, and in headless Chromium the comparison draws with no
console error and no request leaving its folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import shared, write_jsonl
from tests.integration.test_architectures import _model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory) -> tuple[Path, Path, Path]:
    import reportgen

    base = tmp_path_factory.mktemp("compare")
    rows = [json.loads(line) for line in shared("sst2").read_text(encoding="utf-8").splitlines()][:16]
    rows[3] = {**rows[3], "label": None}  # unlabelled: in the flips and the shift, not in the accuracy
    rows.append({"id": "ko-1", "text": "이 영화 정말 좋아요", "label": "positive"})  # [UNK] to WordPiece: in no figure
    examples = write_jsonl(base / "examples.jsonl", rows)
    sites = []
    for family in ("bert", "roberta"):  # in this process: the command line's runs are tested elsewhere
        model = _model(base / family, family, with_head=True)
        out = base / f"{family}-site"
        reportgen.build_report(str(examples), model=str(model), out=out, force=True,
                               methods=["attn_lrp", "attention_rollout"], cache=False)
        sites.append(out)
    out = base / "comparison"
    reportgen.api.compare_reports(sites[0], sites[1], out)
    return sites[0], sites[1], out


def test_two_families_compare_word_for_word(two_reports):
    _, _, out = two_reports
    c = json.loads((out / "data" / "comparison.json").read_text(encoding="utf-8"))
    assert c["examples"] == 17 and c["readable"] == 16  # the Korean review is unreadable to WordPiece
    assert c["labelled"] == 15 and c["accuracy"]["n"] == 15
    assert c["mcnemar"]["b"] + c["mcnemar"]["c"] <= 15
    assert c["provenance"]["old"]["architecture"] != c["provenance"]["new"]["architecture"]
    lrp = next(s for s in c["shift"] if s["method"] == "attn_lrp")
    assert lrp["n"] >= 15  # the words of both tokenizers lined up on (nearly) every readable example
    rho = c["attribution_shift"]["attn_lrp"]
    assert "ko-1" not in rho and all(r is None or -1 <= r <= 1 for r in rho.values())
    assert set(c["flipped"]) == {f["id"] for f in c["flips"]}


@pytest.mark.browser
def test_the_comparison_draws_in_chromium_from_disk(two_reports):
    from tests.integration.test_browser import CHROMIUM, FLAGS, Visit
    from tests.integration.test_reading import PAPER, PHONE

    _, _, out = two_reports
    from playwright.sync_api import sync_playwright

    prefix = out.resolve().as_uri() + "/"
    pages = ["index.html", "flips.html", *sorted(f"pairs/{p.name}" for p in (out / "pairs").glob("*.html"))[:2]]
    assert len(pages) == 4  # at least two side-by-side pages (flips or the most moved)
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for page in pages:
            visit = Visit(instance, prefix + page, prefix, plots=page == "index.html")
            assert visit.errors == [] and visit.outside == [] and visit.duplicate_ids == [], page
            if page == "index.html":
                assert visit.canvases() >= 1
            else:
                assert visit.page.locator("main").inner_text().strip()
            # On a phone and on paper: nothing wider than the screen or the page (tables scroll inside themselves).
            for viewport, media in ((PHONE, "screen"), (PAPER, "print")):
                visit.page.set_viewport_size(viewport)
                visit.page.emulate_media(media=media)
                visit.page.wait_for_timeout(300)
                width = visit.page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"{page}: {width} px wide in {media} at {viewport['width']} px"
            visit.page.close()
        instance.close()
