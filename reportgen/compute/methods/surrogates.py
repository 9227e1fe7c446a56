"""LIME and KernelSHAP over words, through Captum: local surrogate models fitted on masked samples."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import torch
from pydantic import Field, Strict

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.words import spread_over_pieces
from reportgen.i18n import N_

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SurrogateOptions:
    samples: Annotated[int, Strict(), Field(ge=1)] = 200  # masked copies of the text per example


class _WordSurrogate(AttributionMethod):
    family = "perturbation"
    costly = True
    Options = SurrogateOptions
    signed = True

    def make_explainer(self, attr_module, forward):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        import captum.attr

        adapter = ctx.adapter
        filler = adapter.filler_id
        samples = self.options.samples

        seen: dict[bytes, torch.Tensor] = {}  # masked copy -> logits, for the example being explained
        stats = {"requested": 0, "computed": 0}

        def forward(ids: torch.Tensor, types: torch.Tensor | None) -> torch.Tensor:
            # Samplers draw the same coalition many times (KernelSHAP's kernel favours the few coalitions of
            # one word or all but one; short texts have few coalitions at all): each distinct copy runs once.
            keys = [row.cpu().numpy().tobytes() for row in ids]
            first_row: dict[bytes, int] = {}
            for r, key in enumerate(keys):
                if key not in seen and key not in first_row:
                    first_row[key] = r
            fresh = list(first_row.values())
            stats["requested"] += len(keys)
            stats["computed"] += len(fresh)
            if fresh:
                part = ids[fresh]
                part_types = None
                if types is not None:  # Captum passes the example's one row, or one per copy
                    part_types = types[fresh] if types.shape[0] == ids.shape[0] else types.expand(len(fresh), -1)
                logits = adapter.logits_from_embeddings(adapter.embed(part), torch.ones_like(part), part_types)
                for r, row in zip(fresh, logits):
                    seen[keys[r]] = row
            return torch.stack([seen[key] for key in keys])

        explainer = self.make_explainer(captum.attr, forward)
        outputs = []
        bar = ctx.progress(self.title, len(ctx.encoded))
        for i, enc in enumerate(ctx.encoded):
            seen.clear()
            ids = torch.tensor([enc.input_ids], device=adapter.device)
            word_index = np.array(enc.word_index)
            if len(enc.words) == 0:
                outputs.append(MethodOutput(np.zeros(enc.length, dtype=np.float32)))
                bar.update(1)
                continue
            # One feature per word; special tokens share one extra feature whose baseline is themselves.
            features = np.where(word_index >= 0, word_index, len(enc.words))
            special = torch.tensor([enc.special_mask], device=adapter.device)
            baseline = torch.where(special, ids, torch.full_like(ids, filler))
            types = None if enc.token_type_ids is None else torch.tensor([enc.token_type_ids], device=adapter.device)
            torch.manual_seed(ctx.config.seed + i)
            # On a randomised model (the sanity check) the surrogate's least-squares residuals can overflow;
            # they are never used, so the warning is noise.
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                attr = explainer.attribute(
                    ids, baselines=baseline, target=ctx.targets[i], additional_forward_args=(types,),
                    feature_mask=torch.from_numpy(features[None]).to(adapter.device), n_samples=samples,
                    perturbations_per_eval=min(samples, max(1, ctx.config.batch_tokens // enc.length)),
                )
            # Captum gives every piece its word's weight; share it so a word's score is the weight itself.
            scores = attr[0].float().cpu().numpy()
            weights = np.array([scores[word_index == w][0] for w in range(len(enc.words))])
            outputs.append(MethodOutput(spread_over_pieces(weights, enc.word_index), {"samples": samples}))
            bar.update(1)
        bar.close()
        if stats["requested"]:
            log.info("%s: %d of %d masked copies were distinct and ran through the model", self.title,
                     stats["computed"], stats["requested"])
        return outputs


@METHODS.register("lime")
class Lime(_WordSurrogate):
    title = N_("LIME")
    plain = N_("A simple model fitted to how the answer changes when random words are hidden; its weights are the "
             "scores.")

    def make_explainer(self, attr_module, forward):  # noqa: ANN001, ANN201
        from captum._utils.models.linear_model import SkLearnRidge

        # Ridge, as in the original LIME: Captum's default Lasso zeroes every word when effects are small.
        return attr_module.Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0))
    summary = N_("A weighted linear model fitted on word-masked samples around the input (Ribeiro et al. 2016).")
    description = N_("""\
LIME (Ribeiro et al., 2016) masks random subsets of words (`[MASK]` in place of their pieces), runs the
model on option `samples` such copies (200 by default), and fits a linear model, weighted by closeness to the
original, from "which words were kept" to the target logit. Its coefficients are the word scores.
Captum's implementation with a ridge model (as in the original LIME), one feature per word. Scores
change with the sample count and the seed: more samples, more stable scores.
""")


@METHODS.register("kernel_shap")
class KernelShap(_WordSurrogate):
    title = N_("KernelSHAP")
    plain = N_("Each word's fair share of the answer (Shapley values), estimated from answers with random words "
             "hidden.")

    def make_explainer(self, attr_module, forward):  # noqa: ANN001, ANN201
        return attr_module.KernelShap(forward)
    summary = N_("Shapley values of words estimated with a kernel-weighted linear model (Lundberg & Lee 2017).")
    description = N_("""\
KernelSHAP (Lundberg & Lee, 2017) is LIME with the Shapley kernel: the linear model's coefficients
estimate each word's Shapley value, the average change of the target logit when the word is added to a
random coalition of the others (missing words are `[MASK]`). Captum's implementation, one feature per
word, option `samples` coalitions (200 by default). An estimate: few samples on long texts give noisy values.
""")
