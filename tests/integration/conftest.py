"""Sites built once per test session with the real default model and the real shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    return _build(tmp_path_factory.mktemp("hx") / "site", "--examples", str(shared("hatexplain")))


@pytest.fixture(scope="session")
def esnli_site(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("esnli") / "site", "--examples", str(shared("esnli")))


@pytest.fixture(scope="session")
def chinese_site(tmp_path_factory) -> Path:
    """The 16 shortest ChnSentiCorp reviews (long reviews only add minutes, not coverage)."""
    rows = [json.loads(line) for line in shared("chnsenticorp").read_text(encoding="utf-8").splitlines()]
    short = sorted(rows, key=lambda r: (len(r["text"]), r["id"]))[:16]
    base = tmp_path_factory.mktemp("zh")
    return _build(base / "site", "--examples", str(write_jsonl(base / "zh.jsonl", short)))


def load_results(site: Path) -> dict:
    return json.loads((site / "data" / "results.json").read_text(encoding="utf-8"))
