"""The authors' DecompX on a saved model folder, for benchmarks/vs_decompx.py; runs in the DecompX environment
(transformers 4.17), never imports reportgen.

    python decompx_side.py DECOMPX_SRC MODEL_FOLDER   # reads ours.npz (token ids), writes theirs.npz (shares)
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    source, folder = Path(sys.argv[1]), Path(sys.argv[2])
    package = Path(tempfile.mkdtemp()) / "decompx_reference"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("modeling_bert.py", "decompx_utils.py"):  # their module imports its sibling relatively
        shutil.copy(source / name, package / name)
    sys.path.insert(0, str(package.parent))
    modeling = importlib.import_module("decompx_reference.modeling_bert")
    utils = importlib.import_module("decompx_reference.decompx_utils")
    from safetensors.torch import load_file
    from transformers import BertConfig

    config = BertConfig.from_json_file(str(folder / "config.json"))
    model = modeling.BertForSequenceClassification(config).eval()
    missing, unexpected = model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        sys.exit(f"weights do not fit the reference model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    settings = utils.DecompXConfig(
        include_biases=True, bias_decomp_type="absdot", include_LN1=True, include_FFN=True,
        FFN_approx_type="GeLU_ZO", include_LN2=True, aggregation="vector", include_classifier_w_pooler=True,
        tanh_approx_type="ZO", output_all_layers=False, output_attention=None, output_res1=None, output_LN1=None,
        output_FFN=None, output_res2=None, output_encoder=None, output_aggregated=None, output_pooler=None,
        output_classifier=True)
    ours = np.load(folder / "ours.npz")
    shares = []
    for k in range(len(ours.files)):
        ids = torch.tensor(ours[f"arr_{k}"][None, :])
        with torch.no_grad():
            outputs = model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                            output_attentions=False, return_dict=False, decompx_config=settings)
        shares.append(outputs[-1].classifier[0].numpy())  # [seq, classes]
    np.savez(folder / "theirs.npz", *shares)


if __name__ == "__main__":
    main()
