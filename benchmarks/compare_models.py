"""`reportgen compare` on two genuinely different models (issue 23): the default encoder with its cross-fitted
probe (OLD) against a BertForSequenceClassification fine-tuned here from the same encoder on SST-2 training rows
(NEW), both explaining the same held-out SST-2 sentences. Prints the fine-tuning, both builds, the comparison's time
and peak RSS, and its headline figures. Nothing here is a test (a few minutes of CPU).

    .venv/bin/python benchmarks/compare_models.py [--train-rows 20000] [--data ../shared/data/sst2/sample.jsonl]
        [--keep DIR]   # keep the model, both reports and the comparison in DIR
        [--tuned DIR]  # the model an earlier run fine-tuned (its --keep DIR/finetuned) instead of tuning again
        [--metrics token_f1,comprehensiveness,sufficiency,normalised_comprehensiveness,normalised_sufficiency]
                       # both builds' metrics: raw AOPC beside the normalised one, which compares across models

    .venv/bin/python benchmarks/compare_models.py --sites OLD NEW   # only compare two built reports (e.g. two
        10,001-example AG News builds of benchmarks/default_build.py): time and peak RSS against one build's time
    .venv/bin/python benchmarks/compare_models.py --sites OLD OLD --perturb 0.3   # NEW: a copy of OLD whose
        predictions and word scores are changed on a seeded 30% of the examples (a stress test: 1,000 pages)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import WRAPPER  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2"


def fine_tune(out: Path, rows: int, epochs: int, seed: int) -> float:
    """The default encoder with a fresh 2-class head, trained on the first `rows` SST-2 training rows."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from reportgen.models.loader import default_model_dir

    torch.manual_seed(seed)
    source = default_model_dir()
    train = [json.loads(line) for line in (DATA / "train.jsonl").open(encoding="utf-8")][:rows]
    labels = sorted({r["label"] for r in train})
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForSequenceClassification.from_pretrained(
        source, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)})
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-5)
    started = time.perf_counter()
    model.train()
    order = list(range(len(train)))
    for _ in range(epochs):
        random.Random(seed).shuffle(order)
        for start in range(0, len(order), 32):
            batch = [train[i] for i in order[start : start + 32]]
            enc = tokenizer([r["text"] for r in batch], padding=True, truncation=True, max_length=64,
                            return_tensors="pt")
            loss = model(**enc, labels=torch.tensor([labels.index(r["label"]) for r in batch])).loss
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return time.perf_counter() - started


def run(args: list[str], rss_file: Path) -> tuple[float, float, str]:
    """A reportgen command in a fresh process: seconds, peak RSS in GB, its output."""
    env = {**os.environ, "REPORTGEN_RSS_FILE": str(rss_file), "SOURCE_DATE_EPOCH": "0"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):
        sys.exit(f"reportgen {' '.join(args[:2])} failed ({done.returncode})\n{done.stderr[-3000:]}")
    return seconds, int(rss_file.read_text()) / 1024 / 1024, done.stdout + done.stderr


def headline(site: Path) -> None:
    c = json.loads((site / "data" / "comparison.json").read_text(encoding="utf-8"))
    a, m = c["accuracy"], c["mcnemar"]
    print(f"examples {c['examples']}, readable {c['readable']}, labelled {c['labelled']}")
    if a:
        d = a["difference"]
        print(f"accuracy OLD {a['old']:.3f} NEW {a['new']:.3f}; NEW-OLD {d['mean']:+.3f} "
              f"[{d['interval']['low']:+.3f}, {d['interval']['high']:+.3f}]; McNemar b={m['b']} c={m['c']} "
              f"p={m['p_value']:.3g}; ECE OLD {c['ece']['old']:.3f} NEW {c['ece']['new']:.3f}")
    flips = len(c["flipped"])
    print(f"flips {flips} ({flips / max(c['readable'], 1):.1%}); agreement {c['agreement']:.3f}")
    for s in c["shift"]:
        print(f"shift {s['method']}: n {s['n']}, undefined {s['undefined']}, median rho {s['median']}, "
              f"IQR [{s['low']}, {s['high']}], top-{s['top_k']} overlap {s['top_overlap']}, flipped median "
              f"{s['flipped_median']} (n {s['flipped_n']}), kept median {s['kept_median']} (n {s['kept_n']})")
    for q in c["quality"]:
        def mean(side: dict) -> str:
            low, high = (side["interval"] or {}).get("low"), (side["interval"] or {}).get("high")
            return f"{side['mean']:.3f}" + (f" [{low:.3f}, {high:.3f}]" if low is not None else "") + f" n {side['n']}"
        print(f"{q['metric']}{' (model-scaled)' if q['model_scaled'] else ''} {q['method']}: OLD {mean(q['old'])}, "
              f"NEW {mean(q['new'])}")


def perturbed_copy(site: Path, out: Path, share: float) -> Path:
    """A copy of site's data/ in which a seeded share of the examples predict another class and have their word
    scores reversed (checksums kept true): a synthetic NEW for measuring the comparison at scale."""
    import hashlib
    import shutil

    data = out / "data"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(site / "data", data)
    results = json.loads((data / "results.json").read_text(encoding="utf-8"))
    labels, rng = results["labels"], random.Random(0)
    for entry in results["examples"]["chunks"]:
        chunk = data / entry["file"]
        payload = json.loads(chunk.read_text(encoding="utf-8"))
        for ex in payload["examples"]:
            if rng.random() < share:
                ex["predicted"] = labels[(labels.index(ex["predicted"]) + 1) % len(labels)]
                ex["probabilities"] = ex["probabilities"][-1:] + ex["probabilities"][:-1]
                for scores in ex["methods"].values():
                    scores["words"] = [None if w is None else -w for w in scores["words"]]
        chunk.write_text(json.dumps(payload), encoding="utf-8")
        entry["sha256"] = hashlib.sha256(chunk.read_bytes()).hexdigest()
    (data / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data", type=Path, default=DATA / "sample.jsonl")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--sites", nargs=2, type=Path, metavar=("OLD", "NEW"))
    parser.add_argument("--perturb", type=float, help="with --sites: NEW is a copy of OLD changed on this share")
    parser.add_argument("--tuned", type=Path, help="a model fine-tuned by an earlier run, used instead of tuning")
    parser.add_argument("--metrics", help="both builds' --metrics")
    parser.add_argument("--tune-into", type=Path, help=argparse.SUPPRESS)  # the fine-tuning's own process
    args = parser.parse_args()
    if args.tune_into:
        print(f"{fine_tune(args.tune_into, args.train_rows, args.epochs, seed=0):.1f}")
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="reportgen-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.sites:
        old, new = args.sites
        if args.perturb:
            new = perturbed_copy(old, work / "perturbed", args.perturb)
    else:
        tuned = args.tuned or work / "finetuned"
        if not args.tuned:
            # In a process of its own: a child forked from a parent holding the model would inherit its peak RSS.
            tuning = subprocess.run([sys.executable, __file__, "--tune-into", str(tuned), "--train-rows",
                                     str(args.train_rows), "--epochs", str(args.epochs)], capture_output=True,
                                    text=True)
            if tuning.returncode != 0:
                sys.exit(f"fine-tuning failed\n{tuning.stderr[-3000:]}")
            seconds = float(tuning.stdout.split()[-1])
            print(f"fine-tuned the default encoder + a 2-class head on {args.train_rows} SST-2 training rows, "
                  f"{args.epochs} epoch(s): {seconds:.1f} s")
        old, new = work / "old", work / "new"
        metrics = ["--metrics", args.metrics] if args.metrics else []
        for name, site, extra in (("OLD (default encoder + probe)", old, []),
                                  ("NEW (fine-tuned head)", new, ["--model", str(tuned)])):
            seconds, rss, _ = run(["build", "--examples", str(args.data.resolve()), "--out", str(site), "--no-cache",
                                   *metrics, *extra], work / "rss")
            print(f"build {name}: {seconds:.1f} s, peak RSS {rss:.2f} GB")
    seconds, rss, output = run(["compare", str(old), str(new), "--out", str(work / "comparison")], work / "rss")
    print(f"compare: {seconds:.1f} s, peak RSS {rss:.2f} GB ({output.strip().splitlines()[-1]})")
    headline(work / "comparison")
    print(f"files in {work}")


if __name__ == "__main__":
    main()
