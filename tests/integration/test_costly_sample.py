"""The cost-aware default (issue 25): AttnLRP, one pass, explains every example; Integrated Gradients, costly, a
seeded sample and the most needed paged examples; the report states the plan, and the data-set figures of IG are
the sample's. Real default model, 24 AG News snippets, a sample of 6 and 4 pages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, shared, write_jsonl
from tests.integration.conftest import load_results
from tests.integration.test_consistency import visible

pytestmark = pytest.mark.integration

SAMPLE, PAGES, N = 6, 4, 24


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("plan")
    rows = [json.loads(line) for line in shared("agnews").read_text(encoding="utf-8").splitlines()[:N]]
    examples = write_jsonl(base / "agnews.jsonl", rows)
    # --no-global: nothing here reads model.html, whose head ablation took 11.9 s of each of the two builds' 35 and
    # 26 s (5 probe folds of 5 examples: 360 small passes). The global analyses beside a costly sample are the
    # HateXplain site's (tests/integration/conftest.py); their cached rebuild, test_demo_builds_are_byte_identical.
    args = ("build", "--examples", str(examples), "--costly-sample", str(SAMPLE), "--pages", str(PAGES), "--no-global")
    env = {"REPORTGEN_CACHE": str(base / "cache")}
    first = run_cli(*args, "--out", str(base / "site"), env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    again = run_cli(*args, "--out", str(base / "again"), env=env)  # every part, the page pass's too, from the cache
    assert again.returncode == 0, again.stderr[-3000:]
    return base / "site", base / "again"


def test_the_lead_explains_every_example_and_ig_the_sample_and_the_pages(planned):
    site, _ = planned
    results = load_results(site)
    plan = results["summary"]["plan"]
    assert plan == {"lead": "attn_lrp", "every": ["attn_lrp", "attention_rollout"],
                    "sampled": ["integrated_gradients"], "sample": SAMPLE, "paged": plan["paged"], "of": N,
                    "seed": 1}
    assert results["config"]["compute"]["costly_sample"] == SAMPLE
    paged = set(results["pages"])
    with_ig, beyond = set(), set()
    for ex in results["examples"]:
        assert "skipped" not in ex["methods"]["attn_lrp"]["info"]
        info = ex["methods"]["integrated_gradients"]["info"]
        if "skipped" in info:
            assert info["skipped"]["code"] == "outside_costly_sample"
            assert all(v is None for v in ex["metrics"].get("integrated_gradients", {}).values())
            continue
        with_ig.add(ex["slug"])
        assert "delta" in info
        if info.get("beyond_sample"):
            beyond.add(ex["slug"])
    assert paged <= with_ig and len(beyond) == plan["paged"] and beyond <= paged
    assert len(with_ig - beyond) == SAMPLE
    # IG's data-set figures are the sample's: its convergence summary counts the sample, not the pages.
    assert results["summary"]["convergence"]["integrated_gradients"]["n"] == SAMPLE
    # The verdict compares the lead with IG on that same sample.
    against = results["summary"]["verdict"]["against"]
    assert [a["method"] for a in against] == ["integrated_gradients"]
    assert results["summary"]["verdict"]["examples"] == SAMPLE

    methods = visible(site / "methods.html")
    assert (f"explain every one of the {N} examples, at most one forward and one backward pass each. Integrated "
            "Gradients, which takes many "
            f"passes per example, explains a seeded sample of {SAMPLE} readable one-window examples") in methods
    assert "On the same examples, AttnLRP is" in methods
    page = visible(site / "examples" / f"{sorted(beyond or paged)[0]}.html")
    assert "Integrated Gradients" in page and "convergence delta" in page


def test_a_rebuild_from_the_cache_is_the_same_bytes(planned):
    site, again = planned

    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((root / "data").rglob("*")) if p.is_file()}

    assert digests(site) == digests(again)
