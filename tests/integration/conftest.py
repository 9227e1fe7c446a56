"""Sites built once per test session with the real default model and the real shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportgen.bundle.store import read_results
from tests.conftest import ROOT, run_cli, shared, write_jsonl


def _build(out: Path, *args: str) -> Path:
    result = run_cli("build", *args, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> Path:
    """`reportgen build` on the demo project (inputs/), as the README's first command runs it."""
    return _build(tmp_path_factory.mktemp("demo") / "site", "--config", str(ROOT / "inputs" / "reportgen.toml"))


@pytest.fixture(scope="session")
def hatexplain_site(tmp_path_factory) -> Path:
    """200 real posts, with the global analyses on a seeded sample of 100 of them and Integrated Gradients on a
    seeded 50: the sampled paths on real data (the demo's examples are all analysed and explained), at half of head
    ablation's and of IG and the verdict's time (test_costly_sample.py checks the sample's rules, test_plan.py its
    default)."""
    return _build(tmp_path_factory.mktemp("hx") / "site", "--examples", str(shared("hatexplain")),
                  "--global-sample", "100", "--costly-sample", "50")


@pytest.fixture(scope="session")
def esnli_site(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("esnli") / "site", "--examples", str(shared("esnli")))


def chinese_rows(n: int) -> list[dict]:
    """The n shortest ChnSentiCorp reviews (long reviews only add minutes, not coverage)."""
    rows = [json.loads(line) for line in shared("chnsenticorp").read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda r: (len(r["text"]), r["id"]))[:n]


@pytest.fixture(scope="session")
def chinese_site(tmp_path_factory) -> Path:
    """8 Chinese reviews among 12 SST-2 sentences: a minority the English default cannot read, so the build
    goes on (a majority stops it, see test_real_builds) and flags them."""
    english = [json.loads(line) for line in shared("sst2").read_text(encoding="utf-8").splitlines()][:12]
    base = tmp_path_factory.mktemp("zh")
    rows = chinese_rows(8) + english
    return _build(base / "site", "--examples", str(write_jsonl(base / "zh.jsonl", rows)))


def load_results(site: Path) -> dict:
    return read_results(site / "data")
