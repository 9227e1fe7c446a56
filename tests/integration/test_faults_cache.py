"""Issue 29: a cache entry that is not what it should be (a pipe, a folder, a link, content of the wrong kind under
a valid checksum) is a miss: recomputed with a log line, never a hang nor a traceback, and the site is the same."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.integration

KINDS = ("features", "records", "method", "chunk", "attention", "cost")


def _signed(data: bytes) -> bytes:
    """An entry with a valid checksum: what a hostile writer (or another program's bug) can leave."""
    return hashlib.sha256(data).hexdigest().encode("ascii") + b"\n" + data


def _object_array() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return buffer.getvalue()


DAMAGE = {
    "pipe": lambda path: (path.unlink(), os.mkfifo(path)),
    "folder": lambda path: (path.unlink(), path.mkdir(), (path / "x").write_text("x")),
    "link_out": lambda path: (path.unlink(), path.symlink_to("/etc/hostname")),
    "not_json": lambda path: path.write_bytes(_signed(b"\x00\xffnot json")),
    "object_array": lambda path: path.write_bytes(_signed(_object_array())),
    "wrong_json": lambda path: path.write_bytes(_signed(json.dumps({"schema_version": -1}).encode())),
}


def _build(tmp_path, tiny_encoder, tiny_examples, out, cache):
    return subprocess.run([sys.executable, "-m", "reportgen", "build", "--examples", str(tiny_examples), "--model",
                           str(tiny_encoder), "--out", str(out), "--cache-dir", str(cache), "--no-global",
                           "--methods", "integrated_gradients,attn_lrp"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_encoder):
    from tests.conftest import TINY_ROWS, write_jsonl

    base = tmp_path_factory.mktemp("cache-faults")
    examples = write_jsonl(base / "examples.jsonl", TINY_ROWS)
    done = _build(base, tiny_encoder, examples, base / "site", base / "cache")
    assert done.returncode == 0, done.stderr[-2000:]
    return base, examples


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_every_kind_of_entry_damaged_every_way_is_recomputed(reference, tiny_encoder, tmp_path, damage):
    base, examples = reference
    cache = tmp_path / "cache"
    import shutil

    shutil.copytree(base / "cache", cache, symlinks=True)
    damaged = []
    for kind in KINDS:
        entries = sorted(p for p in (cache / kind).rglob("*") if p.is_file())
        assert entries, kind
        DAMAGE[damage](entries[0])
        damaged.append(entries[0])
    done = _build(tmp_path, tiny_encoder, examples, tmp_path / "site", cache)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.count("recomputing it") >= len({"features", "chunk", "attention", "cost"}), done.stderr
    for name in ("index.html", "methods.html", "data/results.json"):
        assert (tmp_path / "site" / name).read_bytes() == (base / "site" / name).read_bytes(), name
    # The damaged entries were replaced by whole ones.
    assert all(p.is_file() and not p.is_symlink() for p in damaged if os.path.lexists(p))


def test_a_cache_that_cannot_be_written_is_one_line(reference, tiny_encoder, tmp_path):
    base, examples = reference
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should be")
    result = run_cli("build", "--examples", str(examples), "--model", str(tiny_encoder), "--out",
                     str(tmp_path / "site"), "--cache-dir", str(blocker), "--no-global")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "cache folder" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "site").exists()
