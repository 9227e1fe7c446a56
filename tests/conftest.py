"""Shared fixtures: a tiny random BERT (fast tests) and paths to the real data (integration tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
WORDS = (
    "the a an is was and but not very good bad great terrible film movie acting story plot boring fun "
    "loved hated it this that of to in on with kid man woman dog plays playing sits park street . , ! ? "
    "< > user number"
).split()


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory) -> None:
    """Every build in the test session (in-process or a subprocess) caches in a fresh folder: no test reads
    what an earlier run left in ~/.cache, and none writes there."""
    os.environ["REPORTGEN_CACHE"] = str(tmp_path_factory.mktemp("reportgen-cache"))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m reportgen` as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "reportgen", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000", **(env or {})},
    )


def _save_tiny(directory: Path, with_head: bool) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["play", "##s", "##ing", "##ed"]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    assert tokenizer.is_fast
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )
    if with_head:
        config.num_labels = 2
        config.id2label = {0: "negative", 1: "positive"}
        config.label2id = {"negative": 0, "positive": 1}
        model = BertForSequenceClassification(config)
    else:
        model = BertModel(config)
    model.save_pretrained(directory)  # safetensors
    return directory


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A random bare BertModel (2 layers x 2 heads): reportgen fits a probe on it."""
    return _save_tiny(tmp_path_factory.mktemp("tiny-encoder"), with_head=False)


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory) -> Path:
    """A random BertForSequenceClassification with labels negative/positive."""
    return _save_tiny(tmp_path_factory.mktemp("tiny-classifier"), with_head=True)


TINY_ROWS = [
    {"id": "a1", "text": "the film was very good", "label": "positive", "rationale": [[17, 22]],
     "note": "A *plain* positive."},
    {"id": "a2", "text": "the acting was terrible", "label": "negative", "rationale": [[15, 23]]},
    {"id": "a3", "text": "loved it , great fun !", "label": "positive"},
    {"id": "a4", "text": "boring plot and bad acting", "label": "negative"},
    {"id": "a5", "text": "a great movie", "label": "positive"},
    {"id": "a6", "text": "hated this film", "label": "negative"},
    {"id": "p1", "text": "a man plays in the park", "text_pair": "a man is playing", "label": "positive",
     "rationale": [[6, 11]], "rationale_pair": [[9, 16]]},
    {"id": "z1", "text": "这部电影很好看", "label": "positive"},
]


@pytest.fixture()
def tiny_examples(tmp_path) -> Path:
    return write_jsonl(tmp_path / "examples.jsonl", TINY_ROWS)


def shared(name: str) -> Path:
    path = SHARED_DATA / name / "sample.jsonl"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the integration tests read ../shared/data beside the repository")
    return path
