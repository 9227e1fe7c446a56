"""Benchmark: reportgen against ferret (the only other tool that both explains and evaluates), same run,
same model, same sentences.

The model is the default encoder (all-MiniLM-L6-v2) with a sequence-classification head fitted here by
logistic regression on the pooled output of SST-2 sentences that are *not* benchmarked, saved as an
ordinary BertForSequenceClassification folder that both tools load. Then, on the first N SST-2 sentences:

1. `reportgen build` with the nearest equivalents of ferret's six explainers (saliency = Gradient,
   gradient_x_input = Gradient x Input, integrated_gradients = IG and IG x Input, lime, kernel_shap = SHAP)
   and ferret's metrics (comprehensiveness, sufficiency, rank correlation with leave-one-out);
2. `reportgen build --methods all --metrics all` (every method, every metric);
3. ferret 0.4.2's explain-and-evaluate loop (`Benchmark.explain` + `evaluate_explanations`, its defaults),
   in its own virtual environment (`make ferret-venv`): ferret needs transformers<5 and numpy<2;
4. ferret's comprehensiveness and sufficiency evaluators applied to reportgen's own scores, to check the
   metric code against ferret's on identical explanations.

Times are whole commands for reportgen (process start, model load, compute, pages) and the explain +
evaluate loop alone for ferret (its imports and model load not counted).

    python benchmarks/vs_ferret.py [--n 100] [--ferret-python .bench/ferret-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reportgen.bundle.store import read_results

ROOT = Path(__file__).resolve().parents[1]
SIX = "saliency,gradient_x_input,integrated_gradients,lime,kernel_shap"
FERRET_METRICS = "comprehensiveness,sufficiency,loo_correlation"
# ferret's LIME draws min(tokens^2, 5000) samples (about 400 for these sentences) and its Partition SHAP
# 500 evaluations; reportgen's LIME and KernelSHAP get 400 each here instead of the default 200.
SURROGATE_SAMPLES = "400"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sst2" / "sample.jsonl")
    parser.add_argument("--ferret-python", type=Path, default=ROOT / ".bench" / "ferret-venv" / "bin" / "python")
    args = parser.parse_args()
    if not args.ferret_python.exists():
        sys.exit(f"{args.ferret_python}: not found; run `make ferret-venv` first (ferret needs its own environment)")

    work = Path(tempfile.mkdtemp(prefix="reportgen-ferret-"))
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    bench_rows, head_rows = rows[: args.n], rows[args.n :]
    examples = work / "examples.jsonl"
    examples.write_text("".join(json.dumps(r) + "\n" for r in bench_rows), encoding="utf-8")
    model_dir = work / "minilm-sst2-head"
    head_accuracy = make_classifier(head_rows, model_dir)
    print(f"model: all-MiniLM-L6-v2 + a logistic-regression head fitted on {len(head_rows)} other SST-2 sentences "
          f"(training accuracy {head_accuracy:.2f}); {len(bench_rows)} benchmarked sentences")

    # ferret does no global analysis, so the like-for-like builds skip model.html (--no-global); the
    # --methods all build does everything reportgen does by default, model.html included.
    six_seconds, six = build(examples, model_dir, work / "six", SIX, FERRET_METRICS, SURROGATE_SAMPLES, "--no-global")
    default_seconds, default = build(examples, model_dir, work / "six-default", SIX, FERRET_METRICS, None,
                                     "--no-global")
    # The same with adaptive IG (steps per sentence until |delta| <= 1%; Captum's 50 steps also reach 1% here).
    auto_seconds, auto = build(examples, model_dir, work / "six-auto", SIX, FERRET_METRICS, None, "--no-global",
                               "--ig-steps", "auto")
    all_seconds, _ = build(examples, model_dir, work / "all", "all", "all", None)

    ferret_out = work / "ferret.json"
    # The ferret side runs without reportgen: give it the bundle as one plain JSON file (examples included).
    joined = work / "six-results.json"
    joined.write_text(json.dumps(read_results(work / "six" / "data")), encoding="utf-8")
    subprocess.run([str(args.ferret_python), str(ROOT / "benchmarks" / "ferret_side.py"), str(model_dir),
                    str(examples), str(joined), str(ferret_out)], check=True,
                   env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    ferret = json.loads(ferret_out.read_text())
    ferret_seconds = ferret["ferret_seconds"]

    print(f"ferret explain + evaluate ({', '.join(ferret['explainers'])}; its default evaluators): "
          f"{ferret_seconds:.1f} s ({np.mean(ferret['per_sentence']):.2f} s per sentence)")
    print(f"reportgen build --no-global, ferret's explainers' equivalents ({SIX}; {FERRET_METRICS}), "
          f"{SURROGATE_SAMPLES} surrogate samples: {six_seconds:.1f} s")
    print(f"the same at reportgen's default 200 surrogate samples: {default_seconds:.1f} s")
    print(f"the same with --ig-steps auto: {auto_seconds:.1f} s")
    print(f"reportgen build --methods all --metrics all (defaults, model.html included): {all_seconds:.1f} s")
    print(f"ratio ferret / reportgen, same explainers and metrics, {SURROGATE_SAMPLES} samples: "
          f"{ferret_seconds / six_seconds:.2f}x")
    print(f"ratio ferret / reportgen, same explainers and metrics, default samples: "
          f"{ferret_seconds / default_seconds:.2f}x")
    print(f"ratio ferret / reportgen, same explainers and metrics, default samples, --ig-steps auto: "
          f"{ferret_seconds / auto_seconds:.2f}x")
    print(f"ratio ferret / reportgen --methods all --metrics all: {ferret_seconds / all_seconds:.2f}x")
    print("explanation quality, mean over sentences (comprehensiveness higher is better, sufficiency lower):")
    for name, metrics in ferret["ferret_metrics"].items():
        print(f"  ferret {name:<30} " + ", ".join(f"{k} {np.mean(v):+.4f}" for k, v in sorted(metrics.items())))
    ig_auto = [ex["methods"]["integrated_gradients"]["info"] for ex in auto["examples"]]
    print(f"--ig-steps auto: {np.mean([i['relative_delta'] <= 0.01 for i in ig_auto]):.0%} of sentences within 1%, "
          f"mean {np.mean([i['steps'] for i in ig_auto]):.1f} points")
    for label, results in ((f"{SURROGATE_SAMPLES} samples", six), ("default", default), ("ig auto", auto)):
        for method in SIX.split(","):
            values = {m: [ex["metrics"][method][m] for ex in results["examples"]
                          if ex["metrics"][method][m] is not None] for m in FERRET_METRICS.split(",")}
            print(f"  reportgen {method:<20} ({label:<11}) "
                  + ", ".join(f"{k} {np.mean(v):+.4f}" for k, v in values.items()))
    print(f"torch threads: reportgen {torch_threads()}, ferret {ferret['torch_threads']}")
    print("metric cross-check: ferret's evaluators on reportgen's scores vs reportgen's own values")
    for method, pairs in ferret["cross_check"].items():
        ours = np.array([p["ours"] for p in pairs], dtype=float)
        theirs = np.array([p["ferret"] for p in pairs], dtype=float)
        for k, metric in enumerate(("comprehensiveness", "sufficiency")):
            diff = np.abs(ours[:, k] - theirs[:, k])
            print(f"  {method:<22} {metric:<17} n={len(pairs)} mean ours {ours[:, k].mean():+.4f} ferret "
                  f"{theirs[:, k].mean():+.4f}; |diff| <= 1e-4 for {np.mean(diff <= 1e-4):.0%}, "
                  f"<= 0.01 for {np.mean(diff <= 0.01):.0%}, max {diff.max():.4f}")
    print(f"(reportgen's six-method results: {len(six['examples'])} examples; work folder {work})")


def make_classifier(rows: list[dict], out: Path) -> float:
    """The default encoder with a BertForSequenceClassification head (pooler output -> logits) fitted by
    logistic regression on rows; saved so that any transformers version can load it."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoTokenizer, BertForSequenceClassification

    from reportgen.models.loader import default_model_dir

    labels = sorted({r["label"] for r in rows})
    path = default_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = BertForSequenceClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={k: i for i, k in enumerate(labels)})
    model.eval()
    with torch.no_grad():
        enc = tokenizer([r["text"] for r in rows], padding=True, return_tensors="pt")
        pooled = model.bert(**enc).pooler_output.numpy()
    y = np.array([labels.index(r["label"]) for r in rows])
    fitted = LogisticRegression(max_iter=2000, C=1.0).fit(pooled, y)
    with torch.no_grad():
        if len(labels) == 2:  # sklearn's one binary row, as two logits with the same softmax
            weight = np.stack([-fitted.coef_[0] / 2, fitted.coef_[0] / 2])
            bias = np.array([-fitted.intercept_[0] / 2, fitted.intercept_[0] / 2])
        else:
            weight, bias = fitted.coef_, fitted.intercept_
        model.classifier.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        model.classifier.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return float(fitted.score(pooled, y))


def build(
    examples: Path, model: Path, out: Path, methods: str, metrics: str, samples: str | None, *extra: str
) -> tuple[float, dict]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reportgen", "build", "--examples", str(examples), "--model", str(model),
         "--out", str(out), "--methods", methods, "--metrics", metrics, "-q",
         *(["--surrogate-samples", samples] if samples else []), *extra],
        check=True, env={**os.environ, "SOURCE_DATE_EPOCH": "0"},
    )
    seconds = time.perf_counter() - started
    return seconds, read_results(out / "data")


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
