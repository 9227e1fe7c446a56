"""The default build as a user runs it, on a whole data file (issue 25: all 10,001 AG News snippets within 1,200 s
on the 2-core machine, peak RSS no higher than 1.69 GB): wall time, the process's peak RSS, the site's size and
the build's own log of where the time went. No cache, so every number is computed; one run, nothing here is a
test.

    .venv/bin/python benchmarks/default_build.py [--data ../shared/data/agnews/dev.jsonl] [-- extra build options]
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

from scale import WRAPPER, size_mb  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "agnews" / "dev.jsonl")
    parser.add_argument("extra", nargs="*", help="more build options, after --")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportgen-default-"))
    rss_file, site = work / "rss", work / "site"
    env = {**os.environ, "REPORTGEN_RSS_FILE": str(rss_file), "SOURCE_DATE_EPOCH": "0"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, "build", "--examples", str(args.data.resolve()),
                           "--out", str(site), "--no-cache", "-v", *args.extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"build failed ({done.returncode})\n{done.stderr[-3000:]}")
    lines = sum(1 for _ in args.data.open(encoding="utf-8"))
    print(f"{args.data.name}: {lines} examples, options {' '.join(args.extra) or '(defaults)'}")
    print(f"default build, whole: {seconds:.1f} s; peak RSS {int(rss_file.read_text()) / 1024 / 1024:.2f} GB; "
          f"site {size_mb(site):.1f} MB ({len(list((site / 'examples').glob('*.html')))} full pages)")
    for line in done.stderr.splitlines():
        if re.search(r" in [0-9.]+ s|^method |^plan:", line):
            print(f"  {line}")


if __name__ == "__main__":
    main()
