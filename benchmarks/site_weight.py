"""What a report weighs on disk (issue 28), and what its attention maps would weigh stored as before.

Builds the default report of the first N AG News snippets (../shared/data/agnews/dev.jsonl, 4 classes) and prints
the size of the site, of its attention maps and of its example pages. The baseline, measured in the same run: the
same maps as float16 .npy files (what schema 12 and earlier stored), decoded from this build's stored maps.

    .venv/bin/python benchmarks/site_weight.py [--n 60]
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "agnews" / "dev.jsonl"
sys.path.insert(0, str(ROOT))

from reportgen.bundle.attention_maps import decode_maps  # noqa: E402


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportgen-weight-"))
    examples = work / "agnews.jsonl"
    with DATA.open(encoding="utf-8") as rows:
        examples.write_text("".join(itertools.islice(rows, args.n)), encoding="utf-8")
    site = work / "site"
    subprocess.run([sys.executable, "-m", "reportgen", "build", "--examples", str(examples), "--out", str(site),
                    "--no-cache", "-q"], check=True, cwd=ROOT, env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    maps = sorted((site / "data" / "attention").glob("*.npz"))
    stored = sum(p.stat().st_size for p in maps)
    float16 = 0
    for path in maps:
        buffer = io.BytesIO()
        np.save(buffer, decode_maps(path.read_bytes()).astype(np.float16), allow_pickle=False)
        float16 += len(buffer.getvalue())
    total, pages = size(site), size(site / "examples")
    mb = 1e6
    print(f"{args.n} AG News snippets, {len(maps)} paged examples, in {site}")
    print(f"site: {total / mb:.1f} MB; example pages: {pages / mb:.1f} MB "
          f"(largest {max(p.stat().st_size for p in (site / 'examples').glob('*.html')) / mb:.2f} MB)")
    print(f"attention maps: {stored / mb:.1f} MB stored, {float16 / mb:.1f} MB as float16 .npy "
          f"(ratio {stored / float16:.2f})")
    before = total - stored + float16
    print(f"site with float16 maps: {before / mb:.1f} MB (ratio {total / before:.2f})")


if __name__ == "__main__":
    main()
