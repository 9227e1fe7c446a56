"""reportgen's DecompX against the authors' implementation (github.com/mohsenfayyaz/DecompX, src/), same weights,
same inputs, figures from one run.

The authors' code is a patched copy of transformers 4.17's modeling_bert.py, so it runs in its own virtual
environment (`make decompx-venv`: torch, transformers 4.17 without its tokenizers, numpy<2) from a checkout of
their repository (`--decompx-src`, the folder holding modeling_bert.py and decompx_utils.py). Their default
configuration is compared: biases shared out by |dot product|, both LayerNorms, the FFN with GELU as the ratio
at its input, vector aggregation, and the pooler + classifier with tanh as the ratio at its input.

Models: a tiny random BertForSequenceClassification (2 layers x 2 heads, seeded) and the default model
(all-MiniLM-L6-v2, 6 x 12) with a seeded random two-class head, each saved as an ordinary folder that both sides
load. Inputs: the first N SST-2 sentences, tokenised by each model's tokenizer, one at a time (no padding).

    python benchmarks/vs_decompx.py --decompx-src ../DecompX/src [--python .bench/decompx-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SIDE = Path(__file__).with_name("decompx_side.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decompx-src", type=Path, required=True, help="the authors' src/ folder")
    parser.add_argument("--python", type=Path, default=ROOT / ".bench" / "decompx-venv" / "bin" / "python")
    add_case_arguments(parser)
    args = parser.parse_args()
    require(args.python, "decompx-venv", "the authors' code needs transformers 4.18")
    compare_with_reference(args, "reportgen-decompx-", our_shares,
                           [str(args.python), str(SIDE), str(args.decompx_src)], "logit share")


def require(python: Path, target: str, why: str) -> None:
    if not python.exists():
        sys.exit(f"{python}: not found; run `make {target}` first ({why})")


def compare_with_reference(args: argparse.Namespace, prefix: str, ours_of, side: list[str], what: str) -> None:
    """On each case model: reportgen's values (ours_of(folder, texts) -> ([{"ids", "values": float[seq, classes]}],
    seconds)), the reference side's on the same token ids (side + [folder] reads ours.npz, writes theirs.npz), and
    the largest difference between them."""
    work, texts, models = cases(args, prefix)
    for name, folder in models:
        ours, seconds = ours_of(folder, texts)
        np.savez(folder / "ours.npz", *[o["ids"] for o in ours])
        subprocess.run([*side, str(folder)], check=True)
        worst_abs, worst_rel = worst_difference([o["values"] for o in ours], np.load(folder / "theirs.npz"))
        print(f"{name}: {len(ours)} sentences; largest |difference| in a token's {what} {worst_abs:.2e} "
              f"({worst_rel:.2e} of that sentence's largest {what}); reportgen {seconds:.2f} s", flush=True)
    print(f"work folder: {work}")


def worst_difference(ours: list[np.ndarray], theirs) -> tuple[float, float]:
    """The largest |ours - theirs| over every sentence's float[seq, classes], absolute and as a fraction of that
    sentence's largest |value| on the reference side (theirs: the side script's npz, arr_k per sentence)."""
    worst_abs, worst_rel = 0.0, 0.0
    for k, o in enumerate(ours):
        t = theirs[f"arr_{k}"]
        diff = float(np.abs(o - t).max())
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(float(np.abs(t).max()), 1e-12))
    return worst_abs, worst_rel


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sst2" / "sample.jsonl")


def cases(args: argparse.Namespace, prefix: str) -> tuple[Path, list[str], list[tuple[str, Path]]]:
    """What every comparison with a reference implementation runs on: a work folder, the first N sentences and
    the two models (name, saved folder) that both sides load."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    texts = [json.loads(line)["text"] for line in args.data.read_text(encoding="utf-8").splitlines()][: args.n]
    return work, texts, [("tiny random BERT (2 x 2)", tiny(work / "tiny")),
                         ("all-MiniLM-L6-v2 + random head", minilm(work / "minilm"))]


def tiny(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.conftest import _save_tiny

    return _save_tiny(folder, with_head=True)


def minilm(folder: Path) -> Path:
    from transformers import AutoTokenizer, BertForSequenceClassification

    from reportgen.models.loader import default_model_dir

    source = default_model_dir()
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(source, num_labels=2)  # the head: seeded, random
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def our_shares(folder: Path, texts: list[str]) -> tuple[list[dict], float]:
    from reportgen.compute.methods.bert_layout import bert_layout
    from reportgen.compute.methods.decompx import logit_shares
    from reportgen.models import load_adapter

    adapter = load_adapter(str(folder), False, "cpu")
    layout = bert_layout(adapter, "decompx", head=True)
    found = []
    started = time.perf_counter()
    for text in texts:
        ids = torch.tensor([adapter.tokenizer(text, truncation=True, max_length=64)["input_ids"]])
        with torch.no_grad():
            shares = logit_shares(adapter, layout, ids, torch.zeros_like(ids))[0].numpy()
        found.append({"ids": ids[0].numpy(), "values": shares})
    return found, time.perf_counter() - started


if __name__ == "__main__":
    main()
