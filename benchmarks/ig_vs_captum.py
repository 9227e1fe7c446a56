"""Benchmark: a whole `reportgen build --methods integrated_gradients` on N SST-2 sentences against a plain
Captum LayerIntegratedGradients loop over one sentence at a time, measured in the same run; then the same
build with adaptive IG (`--ig-steps auto`), whose IG pass is compared with the same Captum loop.

Both explain the same function (the default encoder + the probe reportgen fitted, read back from the
build's results so both use identical weights) for the same target class, with 50 Gauss-Legendre steps
and the same [PAD] baseline. Prints both times, their ratio and the largest attribution difference.

    python benchmarks/ig_vs_captum.py [--n 100] [--data ../shared/data/sst2/sample.jsonl]
    python benchmarks/ig_vs_captum.py --default [--data FILE]   # the whole default build against the loop
    python benchmarks/ig_vs_captum.py --default --data FILE --also="--costly-sample 25 --no-global"
        # and a build with other settings, timed in the same run against the same loop
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

import numpy as np

from reportgen.bundle.store import read_results

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sst2" / "sample.jsonl")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--demo", action="store_true",
                        help="instead: the whole default build of the demo (inputs/, no cache) against the Captum "
                             "loop alone on the same examples")
    parser.add_argument("--default", action="store_true",
                        help="instead: the whole default build of every example of --data (no cache) against the "
                             "Captum loop alone on the same examples (issue 25: at most 0.5x on 200 HateXplain posts)")
    parser.add_argument("--also", action="append", default=[], metavar="OPTIONS",
                        help="with --default or --demo: also time a build with these options added, against the "
                             "same loop; repeatable; as --also=\"--costly-sample 25 --no-global\"")
    args = parser.parse_args()
    if args.demo or args.default:
        default_against_captum(args.steps, args.data if args.default else None, [a.split() for a in args.also])
        return

    work = Path(tempfile.mkdtemp(prefix="reportgen-bench-"))
    examples = work / "examples.jsonl"
    lines = args.data.read_text(encoding="utf-8").splitlines()[: args.n]
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # 1. The whole build, as a user runs it: a fresh process, model load, compute, pages.
    build_seconds, ig_pass, results = run_build(examples, work / "site", str(args.steps))

    # 2. The baseline: Captum, one sentence at a time, on the same encoder + probe.
    captum_seconds, captum_scores, captum_deltas = captum_loop(results, args.steps)

    ours = [np.array(ex["methods"]["integrated_gradients"]["tokens"]) for ex in results["examples"]]
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, captum_scores))
    our_deltas = [abs(ex["methods"]["integrated_gradients"]["info"]["delta"]) for ex in results["examples"]]
    print(f"sentences: {len(ours)}, steps: {args.steps}, torch threads: {torch_threads()}")
    print(f"captum LayerIntegratedGradients loop (compute only): {captum_seconds:.1f} s")
    print(f"reportgen build, whole (process start, model, compute, pages): {build_seconds:.1f} s")
    print(f"ratio captum_loop / reportgen_build: {captum_seconds / build_seconds:.2f}x")
    print(f"reportgen IG pass alone (from the build log): {ig_pass:.1f} s, "
          f"ratio captum_loop / ig_pass: {captum_seconds / ig_pass:.2f}x")
    print(f"largest |attribution difference|: {max_diff:.2e}")
    print(f"max |delta|: reportgen {max(our_deltas):.2e}, captum {max(captum_deltas):.2e}")

    # 3. Adaptive IG: steps per example until |delta| <= 1% of |f(x) - f(baseline)|.
    auto_seconds, auto_pass, auto = run_build(examples, work / "auto", "auto")
    gaps = [abs(ex["methods"]["integrated_gradients"]["info"]["f_end"]
                - ex["methods"]["integrated_gradients"]["info"]["f_baseline"]) for ex in results["examples"]]
    captum_rel = [d / g if g else 0.0 for d, g in zip(captum_deltas, gaps)]
    auto_rel = [ex["methods"]["integrated_gradients"]["info"]["relative_delta"] for ex in auto["examples"]]
    summary = auto["summary"]["convergence"]["integrated_gradients"]
    print(f"adaptive IG pass: {auto_pass:.1f} s (whole build {auto_seconds:.1f} s), mean steps "
          f"{summary['mean_steps']:.1f}, steps used {summary['steps_histogram']}")
    print(f"ratio captum_loop / adaptive_ig_pass: {captum_seconds / auto_pass:.2f}x")
    print(f"share with |delta| <= 1% of |f(x) - f(baseline)|: adaptive {np.mean(np.array(auto_rel) <= 0.01):.0%}, "
          f"captum 50 steps {np.mean(np.array(captum_rel) <= 0.01):.0%}")
    print("relative |delta| per sentence (adaptive vs captum 50 steps), first 10:")
    for a, c in list(zip(auto_rel, captum_rel))[:10]:
        print(f"  {a:.2e}  {c:.2e}")


def default_against_captum(steps: int, data: Path | None, variants: list[list[str]]) -> None:
    """Issues 13 and 25: `reportgen build` as a user runs it (every default method, metric, global analysis and
    page, no cache) on the demo (data None) or on a data file, against only the Captum IG loop over the same
    examples. Also the start-up any build pays before it explains anything (process, imports, model load), the
    build's own log of where the rest went, so the ratio can be read against its floor, and each variant (the
    default's options plus some of its own) timed and logged the same way in the same run."""
    given = [] if data is None else ["--examples", str(data.resolve())]
    builds = [timed_build(given, options) for options in ([], *variants)]
    results = read_results(builds[0][1] / "data")
    captum_seconds, _, _ = captum_loop(results, steps)
    print(f"{data or 'demo'}: {len(results['examples'])} examples, torch threads: {torch_threads()}")
    print(f"captum LayerIntegratedGradients loop alone, {steps} steps (compute only): {captum_seconds:.1f} s")
    start_up = start_up_seconds()
    print(f"start-up before any explaining (process, imports, default model loaded): {start_up:.1f} s "
          f"= {start_up / captum_seconds:.2f} of the captum loop")
    for options, (seconds, _, log) in zip(([], *variants), builds):
        print(f"reportgen build, whole ({' '.join(options) or 'defaults'}, no cache): {seconds:.1f} s = "
              f"{seconds / captum_seconds:.2f}x the captum loop")
        print("  the build's log, phase by phase:")
        for line in log.splitlines():
            if re.search(r" in [0-9.]+ s|^method |^plan:", line):
                print(f"    {line}")


def timed_build(given: list[str], options: list[str]) -> tuple[float, Path, str]:
    """Seconds, site folder and log of one `reportgen build` in a fresh process, without the cache."""
    out = Path(tempfile.mkdtemp(prefix="reportgen-bench-")) / "site"
    started = time.perf_counter()
    build = subprocess.run([sys.executable, "-m", "reportgen", "build", *given, *options, "--out", str(out),
                            "--no-cache", "-v"], cwd=ROOT / "inputs", check=True,
                           env={**os.environ, "SOURCE_DATE_EPOCH": "0"}, capture_output=True, text=True)
    return time.perf_counter() - started, out, build.stderr


def start_up_seconds() -> float:
    """A fresh process that imports reportgen's loader and loads the default model, as every build does first."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from reportgen.models import load_adapter; "
                    "load_adapter(None, False, 'auto')"], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - started


def run_build(examples: Path, out: Path, steps: str) -> tuple[float, float, dict]:
    started = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "reportgen", "build", "--examples", str(examples), "--out", str(out),
         "--methods", "integrated_gradients", "--metrics", "none", "--ig-steps", steps,
         "--no-global"],  # the model.html analyses are not part of explaining with IG; the loop does none
        check=True, env={**os.environ, "SOURCE_DATE_EPOCH": "0"}, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    ig_pass = re.search(r"Integrated Gradients(?: \(adaptive\))?: \d+ in ([0-9.]+) s", build.stderr)
    results = read_results(out / "data")
    return seconds, float(ig_pass.group(1)), results


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def captum_loop(results: dict, steps: int) -> tuple[float, list[np.ndarray], list[float]]:
    import torch
    from captum.attr import LayerIntegratedGradients
    from transformers import AutoModel, AutoTokenizer

    from reportgen.models.loader import default_model_dir

    path = default_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path).eval()
    probe = load_probe(results)

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return probe((hidden * weights).sum(1) / weights.sum(1))

    lig = LayerIntegratedGradients(forward, encoder.embeddings.word_embeddings)
    labels = results["labels"]
    scores, deltas = [], []
    started = time.perf_counter()
    for ex in results["examples"]:
        probe.use(ex["slug"])
        enc = tokenizer(ex["text"], ex["text_pair"], return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        baseline = ids.clone()
        baseline[0, 1:-1] = tokenizer.pad_token_id
        attributions, delta = lig.attribute(
            ids, baselines=baseline, additional_forward_args=(mask,), target=labels.index(ex["target"]),
            n_steps=steps, return_convergence_delta=True,
        )
        scores.append(attributions.sum(-1)[0].detach().numpy())
        deltas.append(abs(float(delta)))
    return time.perf_counter() - started, scores, deltas


def load_probe(results: dict) -> "ProbePerExample":
    """The probes the build fitted, from their saved weights, so both sides explain the same function."""
    return ProbePerExample(results)


class ProbePerExample:
    """Each example through the probe the build used for it: with cross-fitting, the probe of its fold (the
    one not fitted on it). Call use(slug) before an example's forward passes."""

    def __init__(self, results: dict) -> None:
        import numpy as np

        from reportgen.models.probe import LinearProbe

        self.by_slug = {}
        for saved in results["model"]["probe"]["probes"]:
            probe = LinearProbe(np.array(saved["weight"]), np.array(saved["bias"]))
            self.by_slug.update(dict.fromkeys(saved["examples"], probe))
        self.current = None

    def use(self, slug: str) -> None:
        self.current = self.by_slug[slug]

    def __call__(self, pooled):  # noqa: ANN001, ANN204 - a tensor in, logits out, like the probe itself
        return self.current(pooled)


if __name__ == "__main__":
    main()
