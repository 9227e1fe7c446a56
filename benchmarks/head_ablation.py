"""Benchmark: model.html's head ablation (one pass per head with that head removed) on the default model and the
global analyses' default sample size, restarted at the ablated layer from its recorded input, against the same
ablation run as whole forward passes, in the same run. Prints both times, their ratio and the largest
difference between the two sets of results (they should be equal).

    python benchmarks/head_ablation.py [--n 200] [--data ../shared/data/agnews/dev.jsonl]

The probe is fitted here on the same examples' features (a logistic regression, as a build fits it); the
examples are the first --n of the file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "agnews" / "dev.jsonl")
    args = parser.parse_args()

    import importlib

    import torch

    from reportgen.compute.encode import encode_examples
    from reportgen.compute.forward import pooled_features
    from reportgen.config import ComputeConfig
    from reportgen.models import load_adapter
    from reportgen.models.memory import CPU_BATCH_TOKENS
    from reportgen.models.probe import fit_linear
    from reportgen.progress import quiet
    from reportgen.types import Example

    # The package re-exports the function under the module's name: the module itself, to switch the restart off.
    module = importlib.import_module("reportgen.compute.global_analysis.head_importance")
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()[: args.n]]
    adapter = load_adapter(None, False, "cpu")
    examples = [Example(id=str(i), text=r["text"], text_pair=r.get("text_pair")) for i, r in enumerate(rows)]
    encoded = encode_examples(adapter.tokenizer, examples, adapter.details["max_length"])
    labels = sorted({r["label"] for r in rows})
    y = np.array([labels.index(r["label"]) for r in rows])
    features = pooled_features(adapter, encoded, ComputeConfig(batch_tokens=CPU_BATCH_TOKENS), quiet)
    adapter.probe = fit_linear(features, y, len(labels), seed=0)

    def timed() -> tuple[float, dict]:
        started = time.perf_counter()
        out = module.head_importance(adapter, encoded, y.tolist(), CPU_BATCH_TOKENS, quiet)
        return time.perf_counter() - started, out

    replayed_seconds, replayed = timed()
    restart = module._replayed_below
    module._replayed_below = lambda blocks, layer, outputs: contextlib.nullcontext()  # every pass runs whole
    try:
        whole_seconds, whole = timed()
    finally:
        module._replayed_below = restart
    difference = max(float(np.abs(np.asarray(replayed[k]) - np.asarray(whole[k])).max())
                     for k in ("ablation_accuracy", "ablation_loss"))
    print(f"examples: {len(encoded)} ({args.data.name}), {adapter.num_layers} layers x {adapter.num_heads} heads, "
          f"torch threads: {torch.get_num_threads()}")
    print(f"head importance with every ablation pass whole: {whole_seconds:.1f} s")
    print(f"head importance, ablations restarted at the ablated layer: {replayed_seconds:.1f} s")
    print(f"ratio whole / restarted: {whole_seconds / replayed_seconds:.2f}x")
    print(f"largest difference in ablation accuracy or loss: {difference:.1e}")


if __name__ == "__main__":
    main()
