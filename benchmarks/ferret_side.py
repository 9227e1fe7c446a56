"""The ferret half of benchmarks/vs_ferret.py. Runs in ferret's own virtual environment (ferret-xai 0.4.2
needs transformers<5 and numpy<2), so it imports nothing from reportgen.

    python ferret_side.py MODEL_DIR EXAMPLES_JSONL RESULTS_JSON OUT_JSON

1. Times ferret's explain-and-evaluate (its six default explainers, its default evaluators) on every
   sentence, one at a time as ferret works, explaining the class the model predicts.
2. Scores reportgen's own explanations (read from RESULTS_JSON, a reportgen build of the same model and
   sentences) with ferret's comprehensiveness and sufficiency evaluators, so the two implementations of
   the metrics can be compared on identical scores.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import torch
from ferret import Benchmark
from ferret.evaluators.faithfulness_measures import AOPC_Comprehensiveness_Evaluation, AOPC_Sufficiency_Evaluation
from ferret.explainers.explanation import Explanation
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main() -> None:
    model_dir, examples_path, results_path, out_path = sys.argv[1:5]
    warnings.filterwarnings("ignore")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    bench = Benchmark(model, tokenizer)
    texts = [json.loads(line)["text"] for line in open(examples_path, encoding="utf-8") if line.strip()]

    per_sentence, explainers = [], None
    own_scores: dict[str, dict[str, list[float]]] = {}  # explainer -> ferret metric -> values
    started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        with torch.no_grad():
            target = int(model(**tokenizer(text, return_tensors="pt")).logits.argmax(-1))
        explanations = bench.explain(text, target=target, show_progress=False)
        evaluations = bench.evaluate_explanations(explanations, target=target, show_progress=False)
        per_sentence.append(time.perf_counter() - t0)
        explainers = [e.explainer for e in explanations]
        for evaluation in evaluations:
            for score in evaluation.evaluation_scores:
                own_scores.setdefault(evaluation.explanation.explainer, {}).setdefault(score.name, []).append(
                    float(score.score))
    ferret_seconds = time.perf_counter() - started

    results = json.load(open(results_path, encoding="utf-8"))
    labels = results["labels"]
    comp, suff = AOPC_Comprehensiveness_Evaluation(model, tokenizer), AOPC_Sufficiency_Evaluation(model, tokenizer)
    cross = {}  # method -> {"ours": {...}, "ferret": {...}} per example
    for method in ("integrated_gradients", "gradient_x_input", "saliency", "lime", "kernel_shap"):
        rows = []
        for ex in results["examples"]:
            scores = ex["methods"][method]["tokens"]
            if any(v is None for v in scores):
                continue
            target = labels.index(ex["target"])
            explanation = Explanation(ex["text"], ex["tokens"], torch.tensor(scores).numpy(), method, target)
            rows.append({
                "id": ex["id"],
                "ours": [ex["metrics"][method]["comprehensiveness"], ex["metrics"][method]["sufficiency"]],
                "ferret": [float(comp.compute_evaluation(explanation, target).score),
                           float(suff.compute_evaluation(explanation, target).score)],
            })
        cross[method] = rows

    json.dump({"ferret_seconds": ferret_seconds, "per_sentence": per_sentence, "explainers": explainers,
               "torch_threads": torch.get_num_threads(), "cross_check": cross,
               "ferret_metrics": own_scores}, open(out_path, "w"))


if __name__ == "__main__":
    main()
