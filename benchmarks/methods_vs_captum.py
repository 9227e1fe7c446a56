"""Benchmark: every attribution method of one `reportgen build --methods all` against a plain Captum loop
over one sentence at a time, same run, same function (the default encoder + the probe the build fitted,
read back from its results), same targets, same settings.

For each method with a Captum counterpart it prints reportgen's time for the method (from the build's log),
Captum's loop time, their ratio, and how far the scores agree: the largest absolute difference for the
deterministic methods, the mean Spearman correlation per sentence for the sampled ones (their noise and
samples differ). Attention methods have no Captum counterpart; their time is printed alone.

Captum settings mirror reportgen's: Gauss-Legendre IG with 50 steps and the [PAD] baseline;
NoiseTunnel(smoothgrad) over InputXGradient (20 samples) and over IntegratedGradients (8 samples x 16 steps)
with noise 10% of the sentence's embedding range; FeatureAblation over words with [MASK]; Lime (ridge) and
KernelShap over words with 200 samples. Captum gets the same batching reportgen uses (all steps or samples of
a sentence in one pass where it allows it), so the baseline is as fast as Captum can be made, not its defaults.

    python benchmarks/methods_vs_captum.py [--n 100] [--data ../shared/data/sst2/sample.jsonl]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from ig_vs_captum import load_probe  # noqa: E402  (the same probe loader as the IG benchmark)

from reportgen.bundle.store import read_results  # noqa: E402

SAMPLED = {"smoothgrad", "noise_tunnel_ig", "lime", "kernel_shap"}
NO_CAPTUM = ("attention_raw", "attention_rollout", "attention_flow", "attention_gradient", "random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sst2" / "sample.jsonl")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportgen-methods-"))
    examples = work / "examples.jsonl"
    examples.write_text("\n".join(args.data.read_text(encoding="utf-8").splitlines()[: args.n]) + "\n")

    started = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "reportgen", "build", "--examples", str(examples), "--out", str(work / "site"),
         "--methods", "all", "--metrics", "none", "--no-global"],
        check=True, capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": "0"})
    build_seconds = time.perf_counter() - started
    ours_time = {m: float(t) for m, t in re.findall(r"method (\w+): ([0-9.]+) s", build.stderr)}
    results = read_results(work / "site" / "data")

    bench = CaptumBench(results)
    print(f"{len(results['examples'])} SST-2 sentences; whole build with --methods all: {build_seconds:.1f} s")
    print(f"{'method':<22}{'reportgen s':>12}{'captum s':>10}{'ratio':>8}  agreement")
    total_ours = total_captum = 0.0
    # Gradient x Input and saliency share one backward pass in reportgen: whichever runs first pays for it.
    shared = ours_time["gradient_x_input"] + ours_time["saliency"]
    ours_time["gradient_x_input"] = ours_time["saliency"] = shared / 2
    print("(gradient_x_input and saliency share one backward pass in reportgen; each row shows half of it)")
    for name, loop in bench.loops().items():
        seconds, scores = bench.time(loop)
        ours = [np.array(ex["methods"][name]["tokens"], dtype=float) for ex in results["examples"]]
        if name in SAMPLED:
            rhos = [_spearman(a, b) for a, b in zip(ours, scores)]
            agreement = f"mean Spearman {np.nanmean(rhos):.3f} (sampled: different noise)"
        else:
            agreement = f"max |diff| {max(float(np.abs(a - b).max()) for a, b in zip(ours, scores)):.1e}"
        total_ours += ours_time[name]
        total_captum += seconds
        print(f"{name:<22}{ours_time[name]:>12.1f}{seconds:>10.1f}{seconds / ours_time[name]:>7.2f}x  {agreement}")
    for name in NO_CAPTUM:
        print(f"{name:<22}{ours_time.get(name, float('nan')):>12.1f}{'—':>10}{'—':>8}  no Captum counterpart")
    print(f"{'all with a counterpart':<22}{total_ours:>12.1f}{total_captum:>10.1f}{total_captum / total_ours:>7.2f}x")


class CaptumBench:
    def __init__(self, results: dict) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from reportgen.models.loader import default_model_dir

        path = default_model_dir()
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path).eval()
        self.probe = load_probe(results)
        self.labels = results["labels"]
        self.examples = results["examples"]

    def logits(self, embeddings, mask):
        hidden = self.encoder(inputs_embeds=embeddings, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return self.probe((hidden * weights).sum(1) / weights.sum(1))

    def inputs(self, ex: dict):
        self.probe.use(ex["slug"])  # every loop starts here: the example's own (cross-fitted) probe
        enc = self.tokenizer(ex["text"], ex["text_pair"], return_tensors="pt")
        ids = enc["input_ids"]
        special = self.torch.tensor([[t in (self.tokenizer.cls_token, self.tokenizer.sep_token)
                                      for t in self.tokenizer.convert_ids_to_tokens(ids[0])]])
        return ids, enc["attention_mask"], special, self.labels.index(ex["target"])

    def time(self, loop: Callable) -> tuple[float, list[np.ndarray]]:
        started = time.perf_counter()
        scores = [loop(ex) for ex in self.examples]
        return time.perf_counter() - started, scores

    def loops(self) -> dict[str, Callable]:
        import captum.attr as ca
        from captum._utils.models.linear_model import SkLearnRidge

        torch, tok = self.torch, self.tokenizer
        embed = self.encoder.get_input_embeddings()

        def on_embeddings(method):  # attributions with respect to the word-piece embeddings, summed
            def run(ex):
                ids, mask, _, target = self.inputs(ex)
                x = embed(ids).detach()
                attr = method(x, mask, target)
                return attr.sum(-1)[0].detach().numpy()
            return run

        def forward_ids(ids, mask):
            return self.logits(embed(ids), mask.expand(ids.shape[0], -1))

        def word_mask(ex):
            enc = tok(ex["text"], ex["text_pair"])
            words, seq = enc.word_ids(), enc.sequence_ids()
            keys = {}
            feature = [keys.setdefault((s, w), len(keys)) if w is not None else -1 for w, s in zip(words, seq)]
            n = len(keys)
            return torch.tensor([[f if f >= 0 else n for f in feature]])

        def surrogate(kind):
            def run(ex):
                ids, mask, special, target = self.inputs(ex)
                baseline = torch.where(special, ids, torch.full_like(ids, tok.mask_token_id))
                explainer = (ca.Lime(forward_ids, interpretable_model=SkLearnRidge(alpha=1.0)) if kind == "lime"
                             else ca.KernelShap(forward_ids))
                features = word_mask(ex)
                with torch.no_grad():
                    attr = explainer.attribute(ids, baselines=baseline, target=target, additional_forward_args=(mask,),
                                               feature_mask=features, n_samples=200, perturbations_per_eval=200)
                return self._spread(attr[0].numpy(), features[0].numpy())
            return run

        def occlusion(ex):
            ids, mask, special, target = self.inputs(ex)
            baseline = torch.where(special, ids, torch.full_like(ids, tok.mask_token_id))
            features = word_mask(ex)
            with torch.no_grad():
                # FeatureAblation gives f(x) - f(x without the word): reportgen's leave-one-word-out drop
                attr = ca.FeatureAblation(forward_ids).attribute(
                    ids, baselines=baseline, target=target, additional_forward_args=(mask,), feature_mask=features,
                    perturbations_per_eval=64)
            return self._spread(attr[0].numpy(), features[0].numpy())

        lig = ca.LayerIntegratedGradients(lambda i, m: self.logits(embed(i), m), embed)

        def ig(ex):
            ids, mask, special, target = self.inputs(ex)
            baseline = torch.where(special, ids, torch.full_like(ids, tok.pad_token_id))
            attr = lig.attribute(ids, baselines=baseline, additional_forward_args=(mask,), target=target, n_steps=50)
            return attr.sum(-1)[0].detach().numpy()

        def noise_tunnel(inner, samples, **kwargs):
            def method(x, mask, target):
                spread = float(x.max() - x.min())
                return ca.NoiseTunnel(inner(lambda e: self.logits(e, mask.expand(e.shape[0], -1)))).attribute(
                    x, nt_type="smoothgrad", nt_samples=samples, nt_samples_batch_size=samples, stdevs=0.1 * spread,
                    target=target, **kwargs)
            return method

        def nt_ig(ex):
            ids, mask, special, target = self.inputs(ex)
            x = embed(ids).detach()
            x0 = embed(torch.where(special, ids, torch.full_like(ids, tok.pad_token_id))).detach()
            attr = noise_tunnel(ca.IntegratedGradients, 8, baselines=x0, n_steps=16)(x, mask, target)
            return attr.sum(-1)[0].detach().numpy()

        return {
            "saliency": lambda ex: self._saliency(ca, embed, ex),
            "gradient_x_input": on_embeddings(lambda x, m, t: ca.InputXGradient(
                lambda e: self.logits(e, m)).attribute(x, target=t)),
            "integrated_gradients": ig,
            # reportgen's SmoothGrad x Input multiplies the averaged gradient by the clean input
            "smoothgrad": on_embeddings(lambda x, m, t: noise_tunnel(ca.Saliency, 20, abs=False)(x, m, t) * x),
            "noise_tunnel_ig": nt_ig,
            "occlusion": occlusion,
            "lime": surrogate("lime"),
            "kernel_shap": surrogate("kernel_shap"),
        }

    def _saliency(self, ca, embed, ex):
        ids, mask, _, target = self.inputs(ex)
        x = embed(ids).detach()
        grad = ca.Saliency(lambda e: self.logits(e, mask)).attribute(x, target=target, abs=False)
        return grad[0].detach().double().norm(dim=-1).numpy()

    @staticmethod
    def _spread(attr: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Captum gives every piece its word's value; reportgen shares it among the pieces (a word's score is
        the sum of its pieces) and gives special tokens 0."""
        counts = np.bincount(features)
        out = attr / counts[features]
        out[features == features.max()] = 0.0  # the extra feature: [CLS]/[SEP]
        return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    value = spearmanr(a, b).statistic
    return float(value) if np.isfinite(value) else float("nan")


if __name__ == "__main__":
    main()
