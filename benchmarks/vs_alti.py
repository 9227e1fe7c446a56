"""reportgen's ALTI against the authors' code (github.com/mt-upc/transformer-contributions), same weights, same
inputs, figures from one run.

Their `src/contributions.py` (ModelWrapper: forward hooks on a BertForSequenceClassification) runs here as it
is, from a checkout given by --alti-src (the repository's root, commit d0f1468 measured); it needs captum,
which reportgen's test extra installs, and pyaml_env, whose one call is served by PyYAML here. The two steps
their notebook applies after it, written out below from their utils_contributions.py
(which imports notebook packages): "min_sum" normalisation with the resultant's L1 norm, then the product of the
layers' matrices (compute_joint_attention); the [CLS] row of the last layer is compared.

Models: a tiny random BertForSequenceClassification (2 x 2, seeded) and the default model (all-MiniLM-L6-v2)
with a seeded random two-class head. Inputs: the first N SST-2 sentences, one at a time.

    .venv/bin/python benchmarks/vs_alti.py --alti-src ../transformer-contributions [--n 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
import yaml
from vs_decompx import add_case_arguments, cases  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alti-src", type=Path, required=True, help="the authors' repository root (holds src/)")
    add_case_arguments(parser)
    args = parser.parse_args()
    sys.path.insert(0, str(args.alti_src))
    # Their module reads ./src/config.yaml through pyaml_env at import; PyYAML reads the same file.
    sys.modules["pyaml_env"] = types.SimpleNamespace(parse_config=lambda path: yaml.safe_load(Path(path).read_text()))
    os.chdir(args.alti_src)
    from src.contributions import ModelWrapper  # the authors' code

    from reportgen.compute.methods.alti import ALTI
    from reportgen.compute.methods.bert_layout import bert_layout
    from reportgen.models import load_adapter

    work, texts, models = cases(args, "reportgen-alti-")
    for name, folder in models:
        adapter = load_adapter(str(folder), False, "cpu")
        layout = bert_layout(adapter, "alti", head=False)
        adapter.model.set_attn_implementation("eager")  # their wrapper reads output_attentions
        wrapper = ModelWrapper(adapter.model)
        worst, ours_s, theirs_s = 0.0, 0.0, 0.0
        for text in texts:
            batch = adapter.tokenizer(text, return_tensors="pt", truncation=True, max_length=64)
            started = time.perf_counter()
            with torch.no_grad():
                ours = ALTI.rollout(layout, batch["input_ids"], batch["token_type_ids"])[0, 0].numpy()
            ours_s += time.perf_counter() - started
            started = time.perf_counter()
            _, _, _, data = wrapper(dict(batch))
            theirs = their_cls_row(data)
            theirs_s += time.perf_counter() - started
            worst = max(worst, float(np.abs(ours - theirs).max()))
        print(f"{name}: {len(texts)} sentences; largest |difference| in a token's ALTI score {worst:.2e} (scores "
              f"sum to 1); reportgen {ours_s:.2f} s, theirs {theirs_s:.2f} s", flush=True)
    print(f"work folder: {work}")


def their_cls_row(data: dict) -> np.ndarray:
    """utils_contributions.normalize_contributions(scaling='min_sum', resultant_norm=...) and
    compute_joint_attention, as their notebook calls them, then the last layer's [CLS] row."""
    contributions = data["contributions"]  # [layers, seq, seq] (squeezed): -L1 distance
    if contributions.dim() == 2:  # a one-token input squeezed further
        contributions = contributions[:, None, None]
    resultant_norm = torch.norm(torch.squeeze(data["resultants"]), p=1, dim=-1)
    normalised = torch.zeros(contributions.size())
    for layer in range(contributions.size(0)):
        c = torch.clip(contributions[layer] + torch.abs(resultant_norm[layer].unsqueeze(1)), min=0)
        normalised[layer] = c / c.sum(dim=-1, keepdim=True)
    joint = normalised[0]
    for layer in range(1, normalised.size(0)):
        joint = torch.matmul(normalised[layer], joint)
    return joint[0].numpy()


if __name__ == "__main__":
    main()
