"""Engines and devices, figures from one run (issue 9): where the per-example work runs and how fast.

    .venv/bin/python benchmarks/engines.py ray [--n 1000]       # local vs Ray on this machine, a worker killed
    .venv/bin/python benchmarks/engines.py device [--n 1000]    # default build here: examples per second
    python3 benchmarks/engines.py device --device cuda --n 10001  # the same on a GPU, then bf16 vs fp32
    python3 benchmarks/engines.py device --device cuda --n 10001 --extra --methods integrated_gradients --no-global
                                                                  # bf16 vs fp32 alone, in about 3 minutes

Every build is the default build (default methods, metrics and global analyses) of the first N AG News
snippets with the default model, in its own process with its own fresh cache folder. "device" then rebuilds
with --precision bf16 on the same cache, so only Integrated Gradients is computed again: its seconds in fp32
and in bf16 compare like for like, and the site says how many examples bf16 could not resolve. Nothing here
is a test; figures are printed as they are measured, and --json writes them to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import same_site  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
AGNEWS = ROOT.parent / "shared" / "data" / "agnews" / "dev.jsonl"
METHOD_LINE = re.compile(r"method (\w+): ([\d.]+) s, ([\d.]+) examples/s")


def head(source: Path, n: int, target: Path) -> Path:
    with source.open(encoding="utf-8") as f:
        target.write_text("".join(line for _, line in zip(range(n), f)), encoding="utf-8")
    return target


def build(args: list[str], cache: Path, log: Path, env: dict | None = None,
          kill_worker_after: float | None = None) -> dict:
    """One build in its own process; its log (INFO) kept for the per-method lines. kill_worker_after: SIGKILL
    one of its Ray workers after that many seconds."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "REPORTGEN_CACHE": str(cache), "SOURCE_DATE_EPOCH": "0", "PYTHONPATH": path,
           **(env or {})}
    started = time.perf_counter()
    killed: dict = {}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "reportgen", "build", *args], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
        if kill_worker_after is not None:
            killed["killed_pid"], killed["killed_at"] = kill_a_worker(kill_worker_after, started)
        proc.wait()
    seconds = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}): {' '.join(args)}\n{text[-3000:]}")
    methods = {m[1]: {"seconds": float(m[2]), "per_s": float(m[3])} for m in METHOD_LINE.finditer(text)}
    return {"seconds": seconds, "methods": methods, **killed}


def convergence(site: Path) -> dict:
    summary = json.loads((site / "data" / "results.json").read_text())["summary"]
    return summary.get("convergence", {})


def device_figures(args: argparse.Namespace, work: Path) -> dict:
    examples = head(args.data, args.n, work / f"examples-{args.n}.jsonl")
    model = ["--model", args.model] if args.model else []
    common = ["--examples", str(examples), *model, "--device", args.device, *args.extra]
    cache = work / "cache"
    fp32 = build([*common, "--out", str(work / "site-fp32")], cache, work / "fp32.log")
    config = json.loads((work / "site-fp32" / "manifest.json").read_text())["config"]
    figures = {"device": args.device, "n": args.n, "card": card(args.device),
               "batch_tokens": config["compute"]["batch_tokens"],
               "fp32": fp32, "examples_per_s": args.n / fp32["seconds"]}
    what = "build with " + " ".join(args.extra) if args.extra else "default build"
    print(f"{args.n} examples on {figures['card']}: {what} {fp32['seconds']:.1f} s = "
          f"{figures['examples_per_s']:.1f} examples/s (batch {figures['batch_tokens']} tokens); per method: "
          + ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in fp32["methods"].items()), flush=True)
    save(args, figures)  # a run cut short still leaves the fp32 figures
    if args.skip_bf16:
        return figures
    bf16 = build([*common, "--precision", "bf16", "--out", str(work / "site-bf16")], cache, work / "bf16.log")
    figures["bf16"] = bf16
    for name, conv in convergence(work / "site-bf16").items():
        precision = conv.get("precision") or {}
        figures["bf16_" + name] = {**precision, "flagged": len(conv["flagged"]),
                                   "flagged_fp32": len(convergence(work / "site-fp32")[name]["flagged"])}
        before, after = fp32["methods"].get(name), bf16["methods"].get(name)
        if before and after and precision:
            print(f"{name}: fp32 {before['seconds']:.1f} s, bf16 {after['seconds']:.1f} s (recomputations "
                  f"included) = {before['seconds'] / after['seconds']:.2f}x; {precision['recomputed']} of "
                  f"{precision['n']} examples ({precision['recomputed'] / precision['n']:.1%}) failed the "
                  f"completeness check in bf16 and were recomputed in fp32; flagged after: "
                  f"{len(conv['flagged'])} (fp32 build: {figures['bf16_' + name]['flagged_fp32']})", flush=True)
    return figures


def card(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")), "CPU")
    return f"{name}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["device", "ray"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=AGNEWS)
    parser.add_argument("--model", help="model folder [default: the packaged default model]")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--skip-bf16", action="store_true")
    parser.add_argument("--skip-kill", action="store_true", help="ray: leave out the build with a worker killed")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further build options for every build (e.g. --methods gradient_x_input)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--work", type=Path, help="folder for the builds, their logs and caches [default: a new "
                                                  "temporary folder]")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="reportgen-engines-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", flush=True)
    figures = device_figures(args, work) if args.part == "device" else ray_figures(args, work)
    save(args, figures)


def save(args: argparse.Namespace, figures: dict) -> None:
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


def ray_figures(args: argparse.Namespace, work: Path) -> dict:
    """Local vs Ray on this machine (a local Ray of its CPUs), then a Ray build with one worker SIGKILLed half
    way: every site must equal the local one but for manifest.json."""
    examples = head(args.data, args.n, work / f"examples-{args.n}.jsonl")
    common = ["--examples", str(examples), *(["--model", args.model] if args.model else []), *args.extra]
    local = build([*common, "--out", str(work / "site-local")], work / "cache-local", work / "local.log")
    print(f"local engine: {args.n} examples in {local['seconds']:.1f} s = {args.n / local['seconds']:.2f} "
          f"examples/s on {card('cpu')}", flush=True)
    ray = build([*common, "--engine", "ray", "--out", str(work / "site-ray")], work / "cache-ray", work / "ray.log")
    same, differ = same_site(work / "site-local", work / "site-ray")
    figures = {"n": args.n, "card": card("cpu"), "local": local, "ray": ray, "ratio": ray["seconds"] / local["seconds"],
               "identical": same, "differ": differ[:5]}
    print(f"ray engine: {ray['seconds']:.1f} s = {figures['ratio']:.2f}x the local engine; sites identical "
          f"(manifest.json aside): {same}" + ("" if same else f"; differing: {differ[:5]}"), flush=True)
    save(args, figures)
    if args.skip_kill:
        return figures
    killed = build([*common, "--engine", "ray", "--out", str(work / "site-killed")], work / "cache-killed",
                   work / "killed.log", kill_worker_after=ray["seconds"] / 2)
    same, differ = same_site(work / "site-local", work / "site-killed")
    figures.update(killed=killed, killed_identical=same)
    print(f"one Ray worker (pid {killed['killed_pid']}) SIGKILLed after {killed['killed_at']:.1f} s: the build "
          f"completed in {killed['seconds']:.1f} s; site identical to the local engine's: {same}"
          + ("" if same else f"; differing: {differ[:5]}"), flush=True)
    return figures


def kill_a_worker(after: float, started: float) -> tuple[int, float]:
    """SIGKILL one Ray worker of this build (an actor process of ChunkWorker) once `after` seconds have passed."""
    while True:
        time.sleep(max(0.0, started + after - time.perf_counter()) or 0.5)
        found = subprocess.run(["pgrep", "-f", "ray::MapWorker"], capture_output=True, text=True).stdout.split()
        if found:
            pid = int(found[0])
            os.kill(pid, signal.SIGKILL)
            return pid, time.perf_counter() - started
        after = 0.0


if __name__ == "__main__":
    main()
