"""Occlusion (leave one word out): how much the target logit drops when a word is masked."""

from __future__ import annotations

import numpy as np
import torch

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.words import spread_over_pieces
from reportgen.i18n import N_


@METHODS.register("occlusion")
class Occlusion(AttributionMethod):
    title = N_("Occlusion (leave one word out)")
    plain = N_("How much the answer changes when each word alone is hidden.")
    family = "perturbation"
    costly = True
    signed = True
    summary = N_("Drop of the target logit when each word's pieces are replaced by [MASK] (Zeiler & Fergus 2014).")
    description = N_("""\
Occlusion replaces every word piece of one word by `[MASK]` (the padding token for models without one),
keeps everything else, and records how much the target class logit drops. A positive score means the
prediction leans on that word; a negative one that the word argued against it. Each word's drop is
shared equally among its pieces, so word scores are exact drops. It needs one forward pass per word
(no gradients) and is blind to words that matter only together, since it removes one at a time.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        adapter = ctx.adapter
        filler = adapter.filler_id
        # One example at a time: its masked copies (one per word) are already a batch of equal length.
        outputs = []
        bar = ctx.progress("Occlusion", len(ctx.encoded))
        for i in range(len(ctx.encoded)):
            outputs.append(self._one(ctx, i, filler))
            bar.update(1)
        bar.close()
        return outputs

    def _one(self, ctx: MethodContext, i: int, filler: int) -> MethodOutput:
        adapter, enc = ctx.adapter, ctx.encoded[i]
        word_index = np.array(enc.word_index)
        n_words = len(enc.words)
        if n_words == 0:
            return MethodOutput(np.zeros(enc.length, dtype=np.float32))
        ids = torch.tensor(enc.input_ids, device=adapter.device)
        variants = ids.repeat(n_words, 1)
        for w in range(n_words):
            variants[w, torch.from_numpy(word_index == w).to(adapter.device)] = filler
        types = None if enc.token_type_ids is None else torch.tensor(
            [enc.token_type_ids], device=adapter.device).repeat(n_words, 1)
        drops = np.zeros(n_words, dtype=np.float32)
        per_batch = max(1, ctx.config.batch_tokens // enc.length)
        with torch.no_grad():
            for start in range(0, n_words, per_batch):
                part = variants[start : start + per_batch]
                logits = adapter.logits_from_embeddings(
                    adapter.embed(part), torch.ones_like(part),
                    None if types is None else types[start : start + per_batch],
                )
                drops[start : start + part.shape[0]] = (
                    ctx.target_logits[i] - logits[:, ctx.targets[i]].float().cpu().numpy()
                )
        return MethodOutput(spread_over_pieces(drops, enc.word_index))
