"""Issue 29: nothing outside the site, and inputs read as written. A bundle's symbolic links never land in a
re-rendered site; `serve` serves only the files the manifest lists; JSONL lines hold any character JSON allows;
page names a Windows checkout accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.inputs import load_examples
from reportgen.slugs import unique_slugs
from tests.conftest import write_jsonl
from tests.integration.test_reliability import built_site, one_line_error

pytestmark = pytest.mark.integration

SECRET = "TOP SECRET 7f3a"


def _secret(tmp_path):
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture(scope="module")
def reference_site(tmp_path_factory, tiny_encoder):
    """One tiny site built once; each test damages its own copy (a build per case would cost seconds each)."""
    from tests.conftest import TINY_ROWS

    base = tmp_path_factory.mktemp("disclosure")
    return built_site(base / "site", tiny_encoder, write_jsonl(base / "examples.jsonl", TINY_ROWS))


def _copy_of(reference_site, tmp_path):
    import shutil

    return Path(shutil.copytree(reference_site, tmp_path / "site", symlinks=True))


def _render(site, out):
    return CliRunner().invoke(cli, ["render", "--bundle", str(site), "--out", str(out)])


@pytest.mark.parametrize("where", ["window", "map", "chunk", "results", "attention_folder"])
def test_render_never_copies_a_link_out_of_the_bundle(tmp_path, reference_site, where):
    site = _copy_of(reference_site, tmp_path)
    secret = _secret(tmp_path)
    data = site / "data"
    slug = json.loads((data / "results.json").read_text(encoding="utf-8"))["pages"][0]
    if where == "window":  # the file of a second window, which render copies when it exists
        (data / "attention" / f"{slug}.w1.npz").symlink_to(secret)
    elif where == "map":
        (data / "attention" / f"{slug}.npz").unlink()
        (data / "attention" / f"{slug}.npz").symlink_to(secret)
    elif where == "chunk":
        chunk = data / "examples" / "00000.json"
        chunk.rename(tmp_path / "outside" / "00000.json")
        chunk.symlink_to(tmp_path / "outside" / "00000.json")
    elif where == "results":
        (data / "results.json").rename(tmp_path / "outside" / "results.json")
        (data / "results.json").symlink_to(tmp_path / "outside" / "results.json")
    else:
        (data / "attention").rename(tmp_path / "outside" / "attention")
        (data / "attention").symlink_to(tmp_path / "outside" / "attention")
    message = one_line_error(_render(site, tmp_path / "rendered"))
    assert "symbolic link" in message or "not a regular file" in message, message
    assert not (tmp_path / "rendered").exists()


def test_render_of_a_chunk_replaced_by_a_pipe_is_one_line_not_a_hang(tmp_path, reference_site):
    import os

    site = _copy_of(reference_site, tmp_path)
    chunk = site / "data" / "examples" / "00000.json"
    chunk.unlink()
    os.mkfifo(chunk)
    done = subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(site), "--out",
                           str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert "not a regular file" in one_line_error(done)


def test_render_of_a_damaged_chunk_is_one_line(tmp_path, reference_site):
    site = _copy_of(reference_site, tmp_path)
    chunk = site / "data" / "examples" / "00000.json"
    chunk.write_bytes(chunk.read_bytes().replace(b'"a1"', b'"b1"', 1))
    assert "checksum does not match" in one_line_error(_render(site, tmp_path / "r"))
    (site / "manifest.json").write_text("[1, 2", encoding="utf-8")
    assert "not a reportgen bundle" in one_line_error(_render(site, tmp_path / "r"))


def test_serve_serves_the_manifest_files_only_and_answers_malformed_paths_with_400(tmp_path, reference_site):
    site = _copy_of(reference_site, tmp_path)
    # A site built into a gh-pages checkout: .git/ and an .env beside the pages.
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text(SECRET)
    (site / ".env").write_text(SECRET)
    (site / "notes.txt").write_text(SECRET)
    server = subprocess.Popen([sys.executable, "-m", "reportgen", "serve", str(site), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline()).group(0)
        for path in ("", "index.html", "examples/a1.html", "data/results.json", "manifest.json", "index.html?x=1"):
            with urllib.request.urlopen(url + path, timeout=10) as response:
                assert response.status == 200, path
        for path, code in ((".git/config", 404), (".env", 404), ("notes.txt", 404), (".git/", 404),
                           ("%00", 400), ("index.html%00.txt", 400), ("%2e%2e/outside", 400),
                           ("examples/%2e%2e/index.html", 400), ("examples//a1.html", 400), ("%ff", 400),
                           ("examples%5ca1.html", 400)):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path, timeout=10)
            assert refused.value.code == code, path
            assert SECRET.encode() not in refused.value.read()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_refuses_a_folder_without_a_manifest(tmp_path):
    (tmp_path / "index.html").write_text("<p>not reportgen's</p>")
    assert "no readable manifest.json" in one_line_error(CliRunner().invoke(cli, ["serve", str(tmp_path)]))


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c"])
def test_jsonl_lines_split_on_newline_only(tmp_path, char):
    path = tmp_path / "examples.jsonl"
    # ensure_ascii=False writes the character raw, as many JSON writers do; JSON allows it inside a string.
    path.write_text(json.dumps({"id": "a", "text": f"before{char}after"}, ensure_ascii=False) + "\r\n"
                    + json.dumps({"id": "b", "text": "second"}) + "\n", encoding="utf-8")
    examples = load_examples(path)
    assert [ex.text for ex in examples] == [f"before{char}after", "second"]
    assert [ex.line for ex in examples] == [1, 2]


def test_page_names_are_safe_on_windows():
    ids = ["CON", "aux", "nul", "com1", "LPT1", "prn", "con.txt", "Con", "a"]
    slugs = unique_slugs(ids)
    reserved = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))}
    assert not reserved & set(slugs) and len(set(slugs)) == len(slugs)
    assert all(s == s.lower() and not s.endswith((".", " ")) for s in slugs)


def test_reserved_ids_build_pages_with_safe_names(tmp_path, tiny_encoder):
    rows = [{"id": name, "text": text, "label": label} for name, text, label in (
        ("CON", "the film was very good", "positive"), ("aux", "the acting was terrible", "negative"),
        ("nul", "a great movie", "positive"), ("LPT1", "hated this film", "negative"))]
    site = built_site(tmp_path / "site", tiny_encoder, write_jsonl(tmp_path / "e.jsonl", rows), "--pages", "4")
    names = {p.stem for p in (site / "examples").glob("*.html")}
    assert names == {"con-id", "aux-id", "nul-id", "lpt1-id"}


def test_a_theme_file_linking_out_of_the_theme_is_not_published(tmp_path, tiny_encoder, tiny_examples):
    secret = _secret(tmp_path)
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "static" / "extra.css").write_text("p { color: black; }")
    (theme / "static" / "leak.css").symlink_to(secret)
    site = built_site(tmp_path / "site", tiny_encoder, tiny_examples, "--theme", str(theme))
    assert (site / "static" / "extra.css").is_file() and not (site / "static" / "leak.css").exists()
    assert not any(SECRET in p.read_text(errors="replace") for p in site.rglob("*") if p.is_file())


def _results(site):
    return json.loads((site / "data" / "results.json").read_text(encoding="utf-8"))


def _write_results(site, results):
    (site / "data" / "results.json").write_text(json.dumps(results), encoding="utf-8")


def _resign_chunk(site, data: bytes):
    """A chunk whose checksum in results.json is made to match: the tampering a checksum cannot catch."""
    import hashlib

    (site / "data" / "examples" / "00000.json").write_bytes(data)
    results = _results(site)
    results["examples"]["chunks"][0]["sha256"] = hashlib.sha256(data).hexdigest()
    _write_results(site, results)


def _first_map(site):
    return site / "data" / "attention" / f"{_results(site)['pages'][0]}.npz"


def _object_npz(path):
    """The stored maps' two arrays, the levels an array of Python objects (loading it would unpickle)."""
    import numpy as np

    with open(path, "wb") as handle:
        np.savez(handle, levels=np.array([{"a": 1}], dtype=object), scales=np.ones((1, 1), np.float32))


TAMPERED = {
    "results_not_json": lambda site: (site / "data" / "results.json").write_text("{not json"),
    "results_a_list": lambda site: (site / "data" / "results.json").write_text("[1, 2, 3]"),
    "results_without_summary": lambda site: _write_results(site, {k: v for k, v in _results(site).items()
                                                                 if k != "summary"}),
    "results_summary_a_string": lambda site: _write_results(site, {**_results(site), "summary": "x"}),
    "chunk_checksum": lambda site: (site / "data" / "examples" / "00000.json").write_text("{}"),
    "chunk_not_json_resigned": lambda site: _resign_chunk(site, b"\xff\xfe not json"),
    "chunk_wrong_records_resigned": lambda site: _resign_chunk(
        site, json.dumps({"schema_version": _results(site)["schema_version"], "examples": [{"id": 1}]}).encode()),
    "chunk_missing": lambda site: (site / "data" / "examples" / "00000.json").unlink(),
    "chunk_a_folder": lambda site: ((site / "data" / "examples" / "00000.json").unlink(),
                                    (site / "data" / "examples" / "00000.json").mkdir()),
    "attention_object_array": lambda site: _object_npz(_first_map(site)),
    "attention_missing": lambda site: _first_map(site).unlink(),
    "attention_not_npz": lambda site: _first_map(site).write_text("x"),
    "pages_unknown_slug": lambda site: _write_results(site, {**_results(site), "pages": ["nobody"]}),
    "manifest_not_json": lambda site: (site / "manifest.json").write_text("{"),
}


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_every_bundle_defect_in_render_is_one_line(tmp_path, reference_site, kind):
    site = _copy_of(reference_site, tmp_path)
    TAMPERED[kind](site)
    result = subprocess.run([sys.executable, "-m", "reportgen", "render", "--bundle", str(site), "--out",
                             str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    message = one_line_error(result)
    assert "a damaged bundle, nothing written" in message or "not a reportgen bundle" in message, message
    assert not (tmp_path / "r").exists()
