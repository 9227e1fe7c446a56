"""The AttnLRP authors' implementation (lxt 2.1, its efficient BERT) on a saved model folder, for
benchmarks/vs_attn_lrp.py; runs in the lxt environment (transformers 4.51), never imports reportgen.

    python attn_lrp_side.py MODEL_FOLDER   # reads ours.npz (token ids), writes theirs.npz (relevance per class)
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import torch


def patched_bert():
    """transformers' BERT module with lxt's AttnLRP patches (LayerNorm, dropout and its copy of modeling_bert).
    lxt's package __init__ imports every model it can patch (Qwen3, a torchvision ViT); only its rules, patches and
    BERT module are loaded here, by registering the two packages without running their __init__."""
    root = Path(importlib.util.find_spec("lxt").submodule_search_locations[0]) / "efficient"
    for name, folder in (("lxt.efficient", root), ("lxt.efficient.models", root / "models")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    lxt_bert = importlib.import_module("lxt.efficient.models.bert")
    for target, patch in lxt_bert.attnLRP.items():
        patch(target)
    return importlib.import_module("transformers.models.bert.modeling_bert")


def main() -> None:
    folder = Path(sys.argv[1])
    modeling = patched_bert()
    model = modeling.BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    ours = np.load(folder / "ours.npz")
    relevance = []
    for k in range(len(ours.files)):
        ids = torch.tensor(ours[f"arr_{k}"][None, :])
        x = model.bert.embeddings.word_embeddings(ids).detach().requires_grad_(True)
        ones, zeros = torch.ones_like(ids), torch.zeros_like(ids)
        logits = model(inputs_embeds=x, attention_mask=ones, token_type_ids=zeros).logits
        per_class = []
        for c in range(logits.shape[1]):
            (grad,) = torch.autograd.grad(logits[0, c], x, retain_graph=True)
            per_class.append((grad * x).sum(-1)[0].detach().numpy())
        relevance.append(np.stack(per_class, axis=1))  # [seq, classes]
    np.savez(folder / "theirs.npz", *relevance)


if __name__ == "__main__":
    main()
