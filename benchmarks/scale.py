"""Audit-scale figures from one run (issue 8): memory, time and site size at 1k and 10k AG News snippets,
resume after SIGKILL, an incremental rebuild, a re-render, cached vs uncached bytes, and the index in
headless Chromium.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,10001] [--methods gradient_x_input,attention_rollout]

Every build runs in its own process (peak RSS is that process's ru_maxrss) with its own fresh cache folder,
--no-global (the global analyses run on a fixed-size sample, so they add a constant, not a slope) and the
default model. Figures are printed as they are measured; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGNEWS = ROOT.parent / "shared" / "data" / "agnews" / "dev.jsonl"
SST2_TRAIN = ROOT.parent / "shared" / "data" / "sst2" / "train.jsonl"
# Runs the CLI and appends its own peak RSS (KiB, Linux) to the file named by REPORTGEN_RSS_FILE.
WRAPPER = """
import os, resource, sys
from reportgen.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="reportgen", standalone_mode=False)
finally:
    with open(os.environ["REPORTGEN_RSS_FILE"], "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def build(args: list[str], cache: Path, work: Path, kill_after: float | None = None) -> dict:
    rss_file = work / f"rss-{time.monotonic_ns()}"
    env = {**os.environ, "REPORTGEN_CACHE": str(cache), "REPORTGEN_RSS_FILE": str(rss_file),
           "SOURCE_DATE_EPOCH": "0"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, "build", *args, "-q"], env=env, cwd=ROOT)
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return {"seconds": time.perf_counter() - started, "killed": True}
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}): {' '.join(args)}")
    return {"seconds": time.perf_counter() - started, "rss_mb": int(rss_file.read_text()) / 1024, "killed": False}


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def head(n: int, target: Path) -> Path:
    with AGNEWS.open(encoding="utf-8") as source:
        lines = [line for _, line in zip(range(n), source)]
    target.write_text("".join(lines), encoding="utf-8")
    return target


def same_site(a: Path, b: Path) -> tuple[bool, list[str]]:
    files_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    differ = sorted(f for f in files_a & files_b
                    if f != "manifest.json" and (a / f).read_bytes() != (b / f).read_bytes())
    return files_a == files_b and not differ, differ + sorted(files_a ^ files_b)


def browser(site: Path, page_name: str = "index.html") -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = chromium.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        started = time.perf_counter()
        page.goto((site / page_name).as_uri() if site.is_dir() else site.as_uri(), timeout=120_000)
        page.wait_for_selector("#example-table tbody tr", timeout=120_000)
        interactive = time.perf_counter() - started
        total = page.inner_text("#example-filters output")
        started = time.perf_counter()
        page.fill("#example-filters input[name=q]", "oil")
        page.wait_for_function("() => !document.querySelector('#example-filters output').value.startsWith("
                               f"'{total.split()[0]} of')")
        filtered = time.perf_counter() - started
        answer = page.inner_text("#example-filters output")
        chromium.close()
    return {"interactive_s": interactive, "filter_s": filtered, "filter_answer": answer, "console_errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10001")
    parser.add_argument("--methods", default="gradient_x_input,attention_rollout")
    parser.add_argument("--skip-resume", action="store_true", help="leave out the SIGKILL/resume and add-100 runs")
    parser.add_argument("--sst2-train", action="store_true",
                        help="only the build of the 60,321-row SST-2 training file (peak RSS, time, site size)")
    args = parser.parse_args()
    if args.sst2_train:
        return sst2_train(args.methods)
    small, large = (int(v) for v in args.sizes.split(","))
    work = Path(tempfile.mkdtemp(prefix="reportgen-scale-"))
    common = ["--methods", args.methods, "--no-global"]
    figures: dict[str, dict] = {}
    for n in (small, large):
        examples = head(n, work / f"agnews-{n}.jsonl")
        out = work / f"site-{n}"
        figures[str(n)] = run = build(["--examples", str(examples), "--out", str(out), *common], work / f"cache-{n}",
                                      work)
        run["site_mb"] = size_mb(out)
        run["pages"] = len(list((out / "examples").glob("*.html")))
        print(f"{n} examples: {run['seconds']:.1f} s, peak RSS {run['rss_mb']:.0f} MB, site {run['site_mb']:.1f} MB "
              f"({run['pages']} full pages)", flush=True)
    a, b = figures[str(small)], figures[str(large)]
    print(f"ratios {large}/{small}: RSS {b['rss_mb'] / a['rss_mb']:.2f}x, time {b['seconds'] / a['seconds']:.2f}x",
          flush=True)
    site = work / f"site-{large}"
    print("index in headless Chromium:", json.dumps(browser(site)), flush=True)

    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(site),
                    "--out", str(work / "rerender")], check=True, cwd=ROOT, capture_output=True)
    render_s = time.perf_counter() - started
    print(f"re-render of the {large}-example bundle: {render_s:.1f} s = {render_s / b['seconds']:.1%} of the build",
          flush=True)
    single = work / "single.html"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(site), "--out", str(single),
                    "--single-file"], check=True, cwd=ROOT, capture_output=True)
    print(f"--single-file of the {large}-example bundle: {single.stat().st_size / 1e6:.1f} MB in "
          f"{time.perf_counter() - started:.1f} s; in headless Chromium: {json.dumps(browser(single))}", flush=True)
    if args.skip_resume:
        return
    examples = work / f"agnews-{large}.jsonl"
    resume_cache, resumed = work / "cache-resume", work / "site-resumed"
    first = build(["--examples", str(examples), "--out", str(resumed), *common], resume_cache, work,
                  kill_after=b["seconds"] / 2)
    second = build(["--examples", str(examples), "--out", str(resumed), *common], resume_cache, work)
    total = first["seconds"] + second["seconds"]
    print(f"SIGKILL after {first['seconds']:.1f} s, then the same command: {second['seconds']:.1f} s; total "
          f"{total:.1f} s = {total / b['seconds']:.2f}x the uninterrupted build", flush=True)
    identical, differ = same_site(site, resumed)
    print(f"uncached and resumed (partly cached) sites byte-identical (manifest.json aside): {identical}"
          + ("" if identical else f"; differing: {differ[:5]}"), flush=True)
    # The same file name in another folder: a user appending to their examples file (the name is part of every
    # record, so a renamed file is a different input).
    (work / "plus").mkdir(exist_ok=True)
    grown = work / "plus" / examples.name
    with AGNEWS.open(encoding="utf-8") as source:
        lines = source.readlines()
    extra = lines[large:large + 100] or [line.replace('"id": "', '"id": "extra-', 1) for line in lines[:100]]
    grown.write_text(examples.read_text(encoding="utf-8") + "".join(extra), encoding="utf-8")
    plus = build(["--examples", str(grown), "--out", str(work / "site-plus"), "--probe-from", str(resumed), *common],
                 resume_cache, work)
    print(f"adding 100 examples with the earlier report's probes (--probe-from): rebuild {plus['seconds']:.1f} s = "
          f"{plus['seconds'] / b['seconds']:.1%} of the full build", flush=True)
    refit = build(["--examples", str(grown), "--out", str(work / "site-refit"), *common], resume_cache, work)
    print(f"adding 100 examples with probes cross-fitted anew: rebuild {refit['seconds']:.1f} s = "
          f"{refit['seconds'] / b['seconds']:.1%} of the full build (every probe changes, so every explanation "
          "through it is recomputed)", flush=True)
    print(f"work folder: {work}")


def sst2_train(methods: str) -> None:
    """The largest real file here, to show memory stays flat at 60k rows (compare the 10k peak RSS above)."""
    work = Path(tempfile.mkdtemp(prefix="reportgen-sst2-"))
    rows = sum(1 for _ in SST2_TRAIN.open(encoding="utf-8"))
    run = build(["--examples", str(SST2_TRAIN), "--out", str(work / "site"), "--methods", methods, "--no-global"],
                work / "cache", work)
    print(f"{rows} SST-2 training rows: {run['seconds']:.1f} s = {rows / run['seconds']:.1f} examples/s, peak RSS "
          f"{run['rss_mb']:.0f} MB, site {size_mb(work / 'site'):.1f} MB; work folder: {work}", flush=True)


if __name__ == "__main__":
    main()
