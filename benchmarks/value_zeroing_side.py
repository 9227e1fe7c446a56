"""The authors' value zeroing on a saved model folder, for benchmarks/vs_value_zeroing.py; runs in the reference
environment (transformers 4.x; the DecompX one serves), never imports reportgen. Their demo.py's loop, as it is:
each layer run on the previous layer's original output with one token's value zeroed, cosine distances, rows
normalised, rollout without the identity.

    python value_zeroing_side.py VALUEZEROING_ROOT MODEL_FOLDER   # reads ours.npz (ids), writes theirs.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    root, folder = Path(sys.argv[1]), Path(sys.argv[2])
    sys.path.insert(0, str(root))
    from modeling.customized_modeling_bert import BertForSequenceClassification  # the authors' code
    from safetensors.torch import load_file
    from sklearn.metrics.pairwise import cosine_distances
    from transformers import BertConfig

    config = BertConfig.from_json_file(str(folder / "config.json"))
    model = BertForSequenceClassification(config).eval()
    missing, unexpected = model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
    model.double()  # float64, as the reportgen side of the comparison
    if [k for k in missing if not k.endswith("position_ids")] or unexpected:
        sys.exit(f"weights do not fit the reference model: {missing[:3]}, {unexpected[:3]}")
    ours = np.load(folder / "ours.npz")
    rows = []
    for k in range(len(ours.files)):
        ids = torch.tensor(ours[f"arr_{k}"][None, :])
        mask = torch.ones_like(ids)
        with torch.no_grad():
            outputs = model(ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids), output_hidden_states=True)
        original = torch.stack(outputs["hidden_states"]).squeeze(1)
        seq = ids.shape[1]
        scores = np.zeros((config.num_hidden_layers, seq, seq))
        for layer, module in enumerate(model.bert.encoder.layer):
            for t in range(seq):
                extended = model.bert.get_extended_attention_mask(mask, ids.size(), ids.device)
                with torch.no_grad():
                    out = module(original[layer].unsqueeze(0), attention_mask=extended, output_attentions=False,
                                 zero_value_index=t)
                x = out[0].squeeze(0).numpy()
                scores[layer, :, t] = cosine_distances(x, original[layer + 1].numpy()).diagonal()
        scores = scores / scores.sum(axis=-1, keepdims=True)
        joint = scores[0]
        for layer in range(1, scores.shape[0]):
            joint = scores[layer].dot(joint)
        rows.append(joint[0])
    np.savez(folder / "theirs.npz", *rows)


if __name__ == "__main__":
    main()
