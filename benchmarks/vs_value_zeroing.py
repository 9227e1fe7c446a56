"""reportgen's value zeroing against the authors' code (github.com/hmohebbi/ValueZeroing), same weights, same
inputs, figures from one run.

Their modeling/customized_modeling_bert.py (transformers 4.15's BERT with a zero_value_index argument) runs in
the reference environment (`make decompx-venv` serves: transformers 4.18, plus scikit-learn for their cosine
distances) from a checkout given by --vz-root; benchmarks/value_zeroing_side.py runs their demo's loop. The
[CLS] row of the last layer's rollout is compared, both sides in float64: zeroing one value often moves an
output by 1e-3 of its length, and a cosine distance that small is mostly rounding in float32 (their
sklearn distances included). Models and inputs as in benchmarks/vs_decompx.py.

    python benchmarks/vs_value_zeroing.py --vz-root ../ValueZeroing [--python .bench/decompx-venv/bin/python]
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from vs_decompx import add_case_arguments, cases  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
SIDE = Path(__file__).with_name("value_zeroing_side.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vz-root", type=Path, required=True, help="the authors' repository root")
    parser.add_argument("--python", type=Path, default=ROOT / ".bench" / "decompx-venv" / "bin" / "python")
    add_case_arguments(parser)
    args = parser.parse_args()
    from reportgen.compute.methods.bert_layout import bert_layout
    from reportgen.compute.methods.value_zeroing import ValueZeroing
    from reportgen.models import load_adapter

    work, texts, models = cases(args, "reportgen-vz-")
    for name, folder in models:
        adapter = load_adapter(str(folder), False, "cpu")
        adapter.model.double()  # both sides in float64: small cosine distances are rounding in float32
        layout = bert_layout(adapter, "value_zeroing", head=False)
        ours, ids_list, seconds = [], [], 0.0
        for text in texts:
            ids = torch.tensor([adapter.tokenizer(text, truncation=True, max_length=64)["input_ids"]])
            started = time.perf_counter()
            with torch.no_grad():
                ours.append(ValueZeroing.rollout(layout, ids, torch.zeros_like(ids))[0, 0].numpy())
            seconds += time.perf_counter() - started
            ids_list.append(ids[0].numpy())
        np.savez(folder / "ours.npz", *ids_list)
        subprocess.run([str(args.python), str(SIDE), str(args.vz_root), str(folder)], check=True)
        theirs = np.load(folder / "theirs.npz")
        worst = max(float(np.abs(o - theirs[f"arr_{k}"]).max()) for k, o in enumerate(ours))
        print(f"{name}: {len(texts)} sentences; largest |difference| in a token's score {worst:.2e} (scores sum to "
              f"1); reportgen {seconds:.2f} s", flush=True)
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
