"""Never lose a user's files, never explain a broken model, never crash on odd input (issue 12).

One test (or a few) per numbered case of the issue, each reproducing what was found and checking the fix.
Tiny random models keep the whole file well under three minutes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.bundle.store import read_results
from reportgen.cli import cli
from tests.conftest import TINY_ROWS, run_cli, write_jsonl

MISSING_MODEL = "/nonexistent/model-that-would-fail-to-load"


def build(*args: str):
    return CliRunner().invoke(cli, ["build", *args, "-q"])


def built_site(out: Path, model: Path, examples: Path, *extra: str) -> Path:
    result = build("--examples", str(examples), "--model", str(model), "--out", str(out), "--no-global", *extra)
    assert result.exit_code == 0, result.output
    return out


def one_line_error(result, code: int = 2) -> str:
    """The CLI's promise for a user mistake: exit status 2 and one 'Error: ...' line, no traceback."""
    output = result.output if hasattr(result, "output") else result.stderr
    status = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert status == code, output
    assert "Traceback" not in output, output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


def manifest_files(site: Path) -> set[str]:
    return set(json.loads((site / "manifest.json").read_text(encoding="utf-8"))["files"])


# 1. Data loss -------------------------------------------------------------------------------------------------

def test_hidden_entries_and_unknown_files_survive_a_rebuild(tmp_path, tiny_encoder, tiny_examples):
    out = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    # The gh-pages habit: the site folder is also a git checkout with a custom domain.
    (out / ".git" / "objects").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n")
    (out / ".well-known").mkdir()
    (out / ".well-known" / "security.txt").write_text("Contact: x@example.org\n")
    (out / "CNAME").write_text("report.example.org\n")
    (out / ".nojekyll").write_text("")
    target = tmp_path / "outside.txt"
    target.write_text("the link's target\n")
    (out / ".link").symlink_to(target)
    (out / "my-examples.jsonl").write_bytes(tiny_examples.read_bytes())
    old_pages = {p for p in manifest_files(out) if p.startswith("examples/")}

    fewer = write_jsonl(tmp_path / "fewer.jsonl", TINY_ROWS[:5])
    built_site(out, tiny_encoder, out / "my-examples.jsonl")  # the examples file lies inside --out
    built_site(out, tiny_encoder, fewer)

    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/gh-pages\n" and (out / ".git" / "objects").is_dir()
    assert (out / ".well-known" / "security.txt").is_file() and (out / "CNAME").read_text() == "report.example.org\n"
    assert (out / ".nojekyll").is_file()
    assert (out / ".link").is_symlink() and os.readlink(out / ".link") == str(target)  # a link, not a copy
    assert (out / "my-examples.jsonl").read_bytes() == tiny_examples.read_bytes()
    # What the earlier build wrote and this one does not is gone; what it lists now is there.
    pages_now = {p for p in manifest_files(out) if p.startswith("examples/")}
    assert len(pages_now) == 5 and all(not (out / p).exists() for p in old_pages - pages_now)
    assert all((out / p).is_file() for p in manifest_files(out))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_a_folder_of_hidden_entries_is_built_into_not_wiped(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "home"
    (out / ".ssh").mkdir(parents=True)
    (out / ".ssh" / "id_ed25519").write_text("PRIVATE\n")
    (out / ".git").mkdir()
    (out / ".git" / "config").write_text("[core]\n")
    built_site(out, tiny_encoder, tiny_examples)
    assert (out / ".ssh" / "id_ed25519").read_text() == "PRIVATE\n" and (out / ".git" / "config").is_file()
    assert (out / "index.html").is_file()


def test_folders_with_foreign_files_are_refused_before_the_model_loads(tmp_path, tiny_examples):
    # A model that cannot load: the refusal must come first, so it costs nothing.
    plain = tmp_path / "documents"
    plain.mkdir()
    (plain / "thesis.docx").write_text("years of work")
    message = one_line_error(build("--examples", str(tiny_examples), "--model", MISSING_MODEL, "--out", str(plain)))
    assert "did not write" in message and (plain / "thesis.docx").read_text() == "years of work"

    site = tmp_path / "site"
    site.mkdir()
    (site / "manifest.json").write_text(json.dumps({"generator": "reportgen", "files": {"index.html": "x"}}))
    (site / "index.html").write_text("old")
    (site / "examples").mkdir()
    (site / "examples" / "mine.html").write_text("hand-written")  # where example pages go, not listed
    message = one_line_error(build("--examples", str(tiny_examples), "--model", MISSING_MODEL, "--out", str(site)))
    assert "examples/mine.html" in message

    (site / "examples" / "mine.html").unlink()
    (site / "data").mkdir()
    inside = site / "data" / "examples.jsonl"
    inside.write_bytes(tiny_examples.read_bytes())
    message = one_line_error(build("--examples", str(inside), "--model", MISSING_MODEL, "--out", str(site)))
    assert "lies where the site is written" in message and inside.is_file()


def test_a_tampered_manifest_cannot_make_the_writer_delete_outside(tmp_path, tiny_encoder, tiny_examples):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["../victim.txt"] = "0" * 64
    manifest["files"]["/etc/hostname"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (out / ".keep").write_text("")  # forces the file-by-file install, where listed files are removed
    built_site(out, tiny_encoder, write_jsonl(tmp_path / "few.jsonl", TINY_ROWS[:3]))
    assert victim.read_text() == "keep me"


# 2. Output checked before compute; single file overwrites itself -----------------------------------------------

def test_single_file_report_can_be_rebuilt_over_itself(tmp_path, tiny_encoder, tiny_examples):
    report = tmp_path / "report.html"
    for _ in range(2):
        result = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(report),
                       "--single-file", "--no-global")
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["report.html", tiny_examples.name])
    other = tmp_path / "notes.html"
    other.write_text("<html><body>my notes</body></html>")
    message = one_line_error(build("--examples", str(tiny_examples), "--model", MISSING_MODEL, "--out", str(other),
                                   "--single-file"))
    assert "not a reportgen single-file report" in message and "my notes" in other.read_text()


# 3. and 4. Models that would be explained at random or through [UNK] -------------------------------------------

def _copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_classifier_config_without_head_weights_is_refused(tmp_path, tiny_encoder, tiny_examples):
    model = _copy_model(tiny_encoder, tmp_path / "fake-classifier")
    config = json.loads((model / "config.json").read_text())
    config.update(architectures=["BertForSequenceClassification"], id2label={"0": "negative", "1": "positive"},
                  label2id={"negative": 0, "positive": 1})
    (model / "config.json").write_text(json.dumps(config))
    message = one_line_error(build("--examples", str(tiny_examples), "--model", str(model),
                                   "--out", str(tmp_path / "site")))
    assert "classification head the weights do not have" in message and "classifier.weight" in message
    assert not (tmp_path / "site").exists()


def test_model_folder_without_tokenizer_is_refused(tmp_path, tiny_encoder, tiny_examples):
    model = _copy_model(tiny_encoder, tmp_path / "no-tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (model / name).unlink(missing_ok=True)
    message = one_line_error(build("--examples", str(tiny_examples), "--model", str(model),
                                   "--out", str(tmp_path / "site")))
    assert "no tokenizer files" in message and "model.safetensors" in message


def test_pickled_weights_are_refused_in_one_line_and_never_run(tmp_path, tiny_encoder, tiny_examples):
    import torch

    model = _copy_model(tiny_encoder, tmp_path / "pickled")
    (model / "model.safetensors").unlink()
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"embeddings.word_embeddings.weight": Payload()}, model / "pytorch_model.bin")
    message = one_line_error(build("--examples", str(tiny_examples), "--model", str(model),
                                   "--out", str(tmp_path / "site")))
    assert "pickle" in message and "safetensors" in message
    assert not marker.exists()


def test_tensorflow_only_folder_says_how_to_convert(tmp_path, tiny_encoder, tiny_examples):
    model = _copy_model(tiny_encoder, tmp_path / "tf-only")
    (model / "model.safetensors").rename(model / "tf_model.h5")
    message = one_line_error(build("--examples", str(tiny_examples), "--model", str(model),
                                   "--out", str(tmp_path / "site")))
    assert "TensorFlow" in message and "from_tf=True" in message


# 5. Odd input files: one line with file:line, exit 2, in validate and in build --------------------------------

ODD_INPUTS = {
    "deep.jsonl": "[" * 200_000 + "\n",
    "deep-rationale.jsonl": '{"text": "abc", "rationale": ' + "[" * 900 + "]" * 900 + "}\n",
    "surrogate.jsonl": '{"text": "fine"}\n{"text": "bad \\ud800 text", "label": "x"}\n',
    "surrogate-label.jsonl": '{"text": "fine", "label": "a\\udfffb"}\n',
}


@pytest.mark.parametrize("name", sorted(ODD_INPUTS))
def test_odd_input_files_are_one_line_errors(tmp_path, name):
    path = tmp_path / name
    path.write_text(ODD_INPUTS[name], encoding="utf-8")
    checked = one_line_error(CliRunner().invoke(cli, ["validate", "--examples", str(path)]))
    built = one_line_error(build("--examples", str(path), "--model", MISSING_MODEL, "--out", str(tmp_path / "s")))
    assert checked == built and re.match(rf"Error: {re.escape(str(path))}:\d+: ", checked)


def test_csv_cells_longer_than_the_csv_module_default_load(tmp_path):
    long_text = "word " * 40_000  # 200,000 characters; the csv module stops at 131,072 by default
    path = tmp_path / "long.csv"
    path.write_text(f'text,label\n"{long_text}",positive\n"short",negative\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--examples", str(path)])
    assert result.exit_code == 0 and "2 examples OK" in result.output
    broken = tmp_path / "broken.csv"
    broken.write_text('text,label\nfine,positive\n"a "stray" quote",positive\n', encoding="utf-8")
    assert re.match(rf"Error: {re.escape(str(broken))}:\d+: ", one_line_error(
        CliRunner().invoke(cli, ["validate", "--examples", str(broken)])))


# 6. YAML front matter ----------------------------------------------------------------------------------------

def test_yaml_alias_bomb_in_front_matter_is_refused(tmp_path, tiny_examples):
    narrative = tmp_path / "narrative"
    narrative.mkdir()
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    rows += [f"{k}: &{k} [{','.join(['*' + p] * 9)}]" for p, k in zip("abcdefgh", "bcdefghi")]
    (narrative / "bomb.md").write_text("---\n" + "\n".join(rows) + "\n---\nbody\n", encoding="utf-8")
    assert len((narrative / "bomb.md").read_bytes()) < 600
    started = time.perf_counter()
    message = one_line_error(build("--examples", str(tiny_examples), "--narrative", str(narrative),
                                   "--model", MISSING_MODEL, "--out", str(tmp_path / "site")))
    assert "YAML alias" in message and time.perf_counter() - started < 10


# 7. A text far longer than the model reads ----------------------------------------------------------------------

@pytest.mark.parametrize("long_inputs", ["truncate", "window"])
def test_a_20_mb_text_is_read_to_a_bound_and_shown_as_an_excerpt(tmp_path, tiny_encoder, long_inputs):
    """Truncated: the first window. Windowed (the default): at most MAX_WINDOWS windows, the rest cut; either way
    the page and results.json keep an excerpt, never the 20 MB."""
    from reportgen.compute.encode import MAX_WINDOWS

    words = "the film was very good but the plot was boring and ".split()
    huge = " ".join(words[i % len(words)] for i in range(4_400_000))  # ~20 MB
    assert len(huge) > 19_000_000
    rows = [{"id": "huge", "text": huge, "label": "positive", "rationale": [[4, 8], [len(huge) - 6, len(huge)]]},
            *TINY_ROWS[1:6]]
    examples = write_jsonl(tmp_path / "examples.jsonl", rows)
    out = built_site(tmp_path / "site", tiny_encoder, examples, "--long-inputs", long_inputs)
    results = read_results(out / "data")
    ex = next(e for e in results["examples"] if e["id"] == "huge")
    assert ex["truncated"]
    if long_inputs == "truncate":
        assert len(ex["tokens"]) == 64 and "windows" not in ex  # the tiny model's window
    else:
        assert len(ex["windows"]) == MAX_WINDOWS and all(w["length"] == 64 for w in ex["windows"])
        assert len(ex["tokens"]) == ex["windows"][-1]["tokens"][1] + 1  # every piece once, then [SEP]
    excerpt = ex["excerpt"]
    assert excerpt["chars"] == [len(huge), 0] and excerpt["source"] == "examples.jsonl:1"
    # what the model read and EXCERPT_TAIL characters after it
    assert excerpt["shown"][0] == len(ex["text"]) == ex["words"][-1]["end"] + 300 and huge.startswith(ex["text"])
    assert len(ex["text"]) < (1000 if long_inputs == "truncate" else 10_000)
    import hashlib
    assert excerpt["sha256"][0] == hashlib.sha256(huge.encode()).hexdigest()
    assert ex["rationale"] == [[4, 8]]  # the span past the excerpt is left out of the page, not mis-drawn
    assert (out / "data" / "results.json").stat().st_size < 2_000_000
    assert (out / "index.html").stat().st_size < 1_000_000
    page = (out / "examples" / "huge.html").read_text(encoding="utf-8")
    # Windowed: 32 windows' text, scores and heatmap data, still bounded whatever the input's size.
    assert len(page) < (1_000_000 if long_inputs == "truncate" else 3_000_000) and "examples.jsonl:1" in page
    assert f"of {len(huge):,} characters" in page


def test_cut_before_tokenising_reads_the_same_window_as_the_whole_text():
    from transformers import AutoTokenizer

    from reportgen.compute.encode import encode_example
    from reportgen.models.loader import default_model_dir
    from reportgen.types import Example

    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    long_word = "x" * 5000  # one [UNK] piece far longer than any budget per piece
    cases = [
        Example(id="a", text="a fairly ordinary sentence, " * 2000),
        Example(id="b", text="premise words here " * 3000, text_pair="a short hypothesis"),
        Example(id="c", text="short premise", text_pair="hypothesis words " * 3000),
        Example(id="d", text=" ".join([long_word] * 200)),
        Example(id="e", text="很好的电影" * 3000),
    ]
    for ex in cases:
        got = encode_example(tokenizer, ex, 128)
        whole = tokenizer(ex.text, ex.text_pair, truncation=True, max_length=128)
        assert got.input_ids == list(whole["input_ids"]), ex.id
        assert got.truncated, ex.id


# 8. Debris of interrupted builds --------------------------------------------------------------------------------

def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_debris_of_killed_builds_is_removed_by_the_next_build(tmp_path, tiny_encoder, tiny_examples):
    dead = _dead_pid()
    for name in (f".site.building-{dead}", f".site.old-{dead}", f".report.html.building-{dead}"):
        (tmp_path / name / "sub").mkdir(parents=True)
    (tmp_path / f".report.html.writing-{dead}").write_text("half a file")
    alive = tmp_path / f".site.building-{os.getpid()}-not-ours"  # not reportgen's naming: untouched
    alive.mkdir()
    live_build = tmp_path / f".site.building-{os.getppid()}"  # a build that still runs: untouched
    live_build.mkdir()
    built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    result = build("--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out",
                   str(tmp_path / "report.html"), "--single-file", "--no-global")
    assert result.exit_code == 0, result.output
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left == sorted([alive.name, live_build.name])


def test_sigkill_during_rendering_then_rebuild_leaves_nothing_behind(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    build_args = ["build", "--examples", str(tiny_examples), "--model", str(tiny_encoder), "--out", str(out),
                  "--no-global", "-q"]
    process = subprocess.Popen([sys.executable, "-m", "reportgen", *build_args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    debris = tmp_path / f".site.building-{process.pid}"
    while not debris.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert debris.exists(), "the build finished before it could be killed while rendering"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert debris.exists()
    assert run_cli(*build_args).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["site"] or sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["site", tiny_examples.name])
    assert not any(p.name.startswith(".site.") for p in tmp_path.iterdir())


def test_ctrl_c_during_the_final_swap_finishes_the_swap(tmp_path, monkeypatch):
    from reportgen.render import writer as writer_module

    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("old")
    (out / "manifest.json").write_text(json.dumps({"generator": "reportgen", "files": {"index.html": "x"}}))
    site = writer_module.SiteWriter(out)
    site.write_text("index.html", "new")
    real_rmtree = shutil.rmtree

    def interrupted_rmtree(path, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C while the old site is being removed
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(writer_module.shutil, "rmtree", interrupted_rmtree)
    site.finish({})
    assert (out / "index.html").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


# 9. serve and render stay inside the site ----------------------------------------------------------------------

def test_serve_refuses_links_out_of_the_site_and_listings(tmp_path, tiny_encoder, tiny_examples):
    out = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("TOP SECRET")
    (out / "leak.txt").symlink_to(secret / "key.txt")
    (out / "leakdir").symlink_to(secret)
    server = subprocess.Popen([sys.executable, "-m", "reportgen", "serve", str(out), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline()).group(0)
        with urllib.request.urlopen(url + "examples/a1.html", timeout=10) as response:
            assert response.status == 200
        for path in ("leak.txt", "leakdir/key.txt", "leakdir/", "examples/", "static/", "data/"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path, timeout=10)
            assert refused.value.code == 404, path
            assert b"TOP SECRET" not in refused.value.read()
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        busy = run_cli("serve", str(out), "--port", str(port))
        assert busy.returncode == 2 and "Traceback" not in busy.stderr
        assert busy.stderr.strip().splitlines() == [f"Error: port {port} on 127.0.0.1 is in use; pass --port N, "
                                                    "or --port 0 for any free one"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_on_a_port_it_cannot_take_is_one_line(tmp_path, tiny_encoder, tiny_examples):
    out = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = run_cli("serve", str(out), "--port", str(port))
    assert result.returncode == 2 and "in use" in result.stderr and "Traceback" not in result.stderr


def test_render_refuses_a_bundle_with_a_path_for_a_slug(tmp_path, tiny_encoder, tiny_examples):
    out = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    results_path = out / "data" / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8"))
    # Schema 5: the slugs are indexed in results.json (examples.chunks[].slugs) and listed in pages.
    results["examples"]["chunks"][0]["slugs"][0] = "../../../x"
    results["pages"][0] = "../../../x"
    results_path.write_text(json.dumps(results), encoding="utf-8")
    (tmp_path / "x.npy").write_bytes(b"not read")
    message = one_line_error(CliRunner().invoke(cli, ["render", "--bundle", str(out), "--out", str(tmp_path / "r")]))
    assert "not a safe file name" in message and not (tmp_path / "r").exists()
