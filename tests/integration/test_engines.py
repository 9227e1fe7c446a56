"""--engine ray on this machine (a local Ray of its CPUs): the site is the local engine's, a SIGKILLed worker is
retried with no change to the site, and the options say what they need."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from tests.conftest import ROOT, TINY_ROWS, write_jsonl

pytest.importorskip("ray", reason="the Ray engine's tests need Ray (pip install 'reportgen[ray]')")

# Every method that is cheap on the tiny model, so each kind of part travels through Ray.
METHODS = "integrated_gradients,gradient_x_input,attention_rollout,occlusion,smoothgrad,random"


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def start_build(tmp_path: Path, examples: Path, model: Path, out: Path, cache: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "REPORTGEN_CACHE": str(cache), "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.Popen(
        [sys.executable, "-m", "reportgen", "build", "--examples", str(examples), "--model", str(model),
         "--out", str(out), "--methods", METHODS, "--chunk-size", "2", "-q", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    return output


def workers_of(cache: Path) -> list[int]:
    """This build's Ray workers: actor processes that inherited its REPORTGEN_CACHE (other Ray sessions on the
    machine have another)."""
    mine = f"REPORTGEN_CACHE={cache}".encode()
    found = []
    for pid in subprocess.run(["pgrep", "-f", "ray::MapWorker"], capture_output=True, text=True).stdout.split():
        try:
            if mine in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture()
def many_examples(tmp_path) -> Path:
    rows = [dict(r, id=f"{r['id']}-{k}") for k in range(4) for r in TINY_ROWS]  # chunks of 2 (--chunk-size 2)
    return write_jsonl(tmp_path / "many.jsonl", rows)


def test_a_ray_build_with_a_killed_worker_writes_the_local_engines_site(tmp_path, tiny_encoder, many_examples):
    """The Ray engine against the local one, with a worker SIGKILLed mid-build and retried: the same site but for
    the manifest's engine. (A separate build without the kill checked the same equality; it started a Ray of its
    own for 27 s and is covered here.)"""
    cache = tmp_path / "cache-ray"
    # Slow chunks (a 1000-step integral each) so that the kill lands while chunks remain to compute.
    proc = start_build(tmp_path, many_examples, tiny_encoder, tmp_path / "ray", cache, "--engine", "ray",
                       "--ig-steps", "1000")
    reference = start_build(tmp_path, many_examples, tiny_encoder, tmp_path / "ref", tmp_path / "cache-ref",
                            "--ig-steps", "1000")
    deadline = time.monotonic() + 300
    killed, done = None, 0
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        done = sum(1 for p in (cache / "records").rglob("*") if p.is_file()) if (cache / "records").exists() else 0
        workers = workers_of(cache)
        if workers and done >= 1:  # a chunk is stored and the worker is on a later one
            os.kill(workers[0], signal.SIGKILL)
            killed = workers[0]
        time.sleep(0.05)
    assert killed is not None, "the build ended before a worker could be killed"
    chunks = len(many_examples.read_text().splitlines()) // 2
    assert proc.poll() is None and done < chunks  # killed mid-build, chunks still to compute
    finish(proc)
    finish(reference)
    a, b = site_files(tmp_path / "ref"), site_files(tmp_path / "ray")
    assert a.keys() == b.keys() and [name for name in a if a[name] != b[name]] == ["manifest.json"]
    engine = json.loads(b["manifest.json"])["engine"]
    assert engine["engine"] == "ray" and json.loads(a["manifest.json"])["engine"]["engine"] == "local"
    assert "engine" not in json.loads(b["data/results.json"])["config"]  # results never depend on it


def test_engine_ray_without_ray_says_how_to_install_it(tmp_path, tiny_encoder, tiny_examples, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(tiny_encoder),
                                      "--out", str(tmp_path / "s"), "--engine", "ray"])
    assert result.exit_code == 2
    assert "pip install 'reportgen[ray]'" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_ray_options_need_the_ray_engine(tmp_path, tiny_examples):
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--workers", "2",
                                      "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "--workers applies to --engine ray" in result.output


def test_ray_engine_repairs_a_damaged_cache_entry(tmp_path, tiny_encoder, tiny_examples):
    cache, first, second = tmp_path / "cache", tmp_path / "first", tmp_path / "second"
    finish(start_build(tmp_path, tiny_examples, tiny_encoder, first, cache, "--engine", "ray"))
    entry = sorted(p for p in (cache / "method").rglob("*") if p.is_file())[0]
    # A part is read only when its assembled chunk is not in the cache: damage those too (they exist, so no
    # chunk is sent to Ray; both are found damaged when read, the part recomputed and the chunk assembled anew).
    damaged = [entry, *(p for p in (cache / "chunk").rglob("*") if p.is_file())]
    for path in damaged:
        path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    finish(start_build(tmp_path, tiny_examples, tiny_encoder, second, cache, "--engine", "ray"))
    a, b = site_files(first), site_files(second)
    assert a.keys() == b.keys() and [name for name in a if a[name] != b[name]] == ["manifest.json"]
    assert len(damaged) > 1 and not any(p.read_bytes().endswith(b"0123456789") for p in damaged)  # rewritten
