"""reportgen's AttnLRP against the authors' implementation (lxt 2.1, github.com/rachtibat/LRP-eXplains-Transformers,
its efficient BERT), same weights, same inputs, figures from one run.

lxt's BERT is a patched copy of an older transformers' modeling_bert.py, so it runs in its own virtual environment
(`make lxt-venv`: torch, transformers 4.51, lxt without its optional dependencies). Both sides compute Gradient x
Input at the word-piece embeddings under AttnLRP's rules (LayerNorm's scale held constant, the identity rule on
GELU and the pooler's tanh, the uniform rule at both products of the attention); reportgen places them with hooks
and an attention function on transformers 5's unmodified BERT, lxt in its copy of the model's source.

Models and inputs are benchmarks/vs_decompx.py's: a tiny random BertForSequenceClassification and the default model
with a seeded random two-class head; the first N SST-2 sentences, one at a time.

    python benchmarks/vs_attn_lrp.py [--python .bench/lxt-venv/bin/python] [--n 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from vs_decompx import add_case_arguments, compare_with_reference, require

ROOT = Path(__file__).resolve().parents[1]
SIDE = Path(__file__).with_name("attn_lrp_side.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", type=Path, default=ROOT / ".bench" / "lxt-venv" / "bin" / "python")
    add_case_arguments(parser)
    args = parser.parse_args()
    require(args.python, "lxt-venv", "lxt's BERT needs transformers 4.51")
    compare_with_reference(args, "reportgen-attn-lrp-", our_relevance, [str(args.python), str(SIDE)], "relevance")


def our_relevance(folder: Path, texts: list[str]) -> tuple[list[dict], float]:
    """Each sentence's AttnLRP relevance for every class, float[seq, classes], through reportgen's rules."""
    from reportgen.compute.methods.lrp_rules import relevance_rules
    from reportgen.models import load_adapter

    adapter = load_adapter(str(folder), False, "cpu")
    found = []
    started = time.perf_counter()
    with relevance_rules(adapter, "uniform"):
        for text in texts:
            ids = torch.tensor([adapter.tokenizer(text, truncation=True, max_length=64)["input_ids"]])
            x = adapter.embed(ids).detach().requires_grad_(True)
            logits = adapter.logits_from_embeddings(x, torch.ones_like(ids), torch.zeros_like(ids))
            per_class = [(torch.autograd.grad(logits[0, c], x, retain_graph=True)[0] * x).sum(-1)[0].detach().numpy()
                         for c in range(logits.shape[1])]
            found.append({"ids": ids[0].numpy(), "values": np.stack(per_class, axis=1)})
    return found, time.perf_counter() - started


if __name__ == "__main__":
    main()
