"""One-pass decomposition methods against Integrated Gradients (issue 13), figures from one run.

For each data set (HateXplain, SST-2 and AG News samples, 200 each, from ../shared/data) one build with the
default model (a probe cross-fitted on the set): Integrated Gradients (adaptive, the default), the one-pass
methods and the random reference, scored by comprehensiveness and sufficiency (AOPC over ferret's deletion ratios,
the metric code that benchmarks/vs_ferret.py checks against ferret). Printed per method: both metrics and the seconds of
its own pass, from the build's log, and its counted arithmetic (the methods page's cost) as a multiple of IG's.
Comprehensiveness: higher is better; sufficiency: lower is better. Then the lead (AttnLRP, the default's) against
IG on the same examples: each metric's paired difference (IG minus the lead) with its 95% bootstrap interval, and
their mean rank agreement (Spearman over each example's words): issue 25's check that the one-pass lead loses no
faithfulness.

    .venv/bin/python benchmarks/one_pass.py [--methods attn_lrp,gradient_x_input] [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
METHOD_LINE = re.compile(r"method (\w+): ([\d.]+) s, ([\d.]+) examples/s")
METRICS = ("comprehensiveness", "sufficiency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="attn_lrp,gradient_x_input", help="the one-pass methods to compare")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sets", default="hatexplain,sst2,agnews")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportgen-one-pass-"))
    methods = ["integrated_gradients", *args.methods.split(","), "random"]
    figures = {}
    for name in args.sets.split(","):
        examples = work / f"{name}.jsonl"
        lines = (DATA / name / "sample.jsonl").read_text(encoding="utf-8").splitlines()[: args.n]
        examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log = work / f"{name}.log"
        env = {**os.environ, "REPORTGEN_CACHE": str(work / f"cache-{name}"), "SOURCE_DATE_EPOCH": "0"}
        started = time.perf_counter()
        with log.open("w") as out:
            done = subprocess.run([sys.executable, "-m", "reportgen", "build", "--examples", str(examples),
                                   "--out", str(work / f"site-{name}"), "--methods", ",".join(methods),
                                   "--metrics", ",".join(METRICS), "--no-global"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            sys.exit(f"{name}: build failed\n{log.read_text()[-3000:]}")
        seconds = {m[1]: float(m[2]) for m in METHOD_LINE.finditer(log.read_text())}
        summary = json.loads((work / f"site-{name}" / "data" / "results.json").read_text())["summary"]
        counted = summary["cost"]["methods"]  # FLOPs per example on the first 8 readable examples (the site's)
        figures[name] = {m: {"seconds": seconds.get(m), "flops": counted[m]["flops"],
                             **{k: summary["metrics"][k][m]["mean"] for k in METRICS},
                             "ig_minus_lead": {k: summary["metrics"][k][m].get("vs_lead") for k in METRICS},
                             "agreement_with_ig": summary["agreement"][m]["integrated_gradients"]}
                         for m in methods}
        print(f"{name} ({len(lines)} examples, build {time.perf_counter() - started:.0f} s):", flush=True)
        ig = figures[name]["integrated_gradients"]
        for method, row in figures[name].items():
            cost = "" if row["seconds"] is None or not ig["seconds"] else \
                f", {row['seconds']:.1f} s = {row['seconds'] / ig['seconds']:.2f}x IG's time"
            if ig["flops"]:
                cost += f", counted arithmetic {row['flops'] / ig['flops']:.2f}x IG's"
            print(f"  {method:<22} comprehensiveness {row['comprehensiveness']:.3f}, sufficiency "
                  f"{row['sufficiency']:.3f}{cost}, rank agreement with IG {row['agreement_with_ig']:.3f}",
                  flush=True)
        for metric, paired in ig["ig_minus_lead"].items():
            if paired:
                low, high = paired["interval"]["low"], paired["interval"]["high"]
                print(f"  IG minus the lead, {metric}: {paired['mean']:+.3f} [{low:+.3f}, {high:+.3f}] "
                      f"over {paired['n']} examples", flush=True)
    (work / "figures.json").write_text(json.dumps(figures, indent=1))
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
