"""Issue 29, the output: a folder that cannot take the site is refused before the model loads; a disk that fills
or a folder that turns read-only while the site is written is one line, with the earlier site intact and nothing
left behind."""

from __future__ import annotations

import errno
import os
from collections import namedtuple

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.render import writer as writer_module
from tests.integration.test_reliability import built_site, one_line_error, run_cli

pytestmark = pytest.mark.integration


def _build(tmp_path, model, examples, out, *extra):
    return CliRunner().invoke(cli, ["build", "--examples", str(examples), "--model", str(model), "--out", str(out),
                                    "--no-global", "--no-cache", *extra])


def test_a_parent_that_is_a_file_is_refused_before_the_model_loads(tmp_path, tiny_encoder, tiny_examples):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file" / "site", tmp_path / "file" / "deeper" / "site"):
        message = one_line_error(_build(tmp_path, "/nonexistent-model", tiny_examples, out))
        assert "is a file, not a folder" in message  # the model (which does not exist) was never loaded
    message = one_line_error(_build(tmp_path, "/nonexistent-model", tiny_examples, tmp_path / "file" / "one.html",
                                    "--single-file"))
    assert "is a file, not a folder" in message


def test_a_parent_that_cannot_be_written_is_refused_before_the_model_loads(tmp_path, tiny_examples, monkeypatch):
    # Tests run as root, for whom a read-only folder is writable: the check's own question is answered "no".
    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(writer_module.os, "access",
                        lambda path, mode: False if str(path) == str(locked) else real_access(path, mode))
    message = one_line_error(_build(tmp_path, "/nonexistent-model", tiny_examples, locked / "site"))
    assert "permission denied" in message


def test_too_little_free_space_is_refused_before_the_model_loads(tmp_path, tiny_examples, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(writer_module.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    message = one_line_error(_build(tmp_path, "/nonexistent-model", tiny_examples, tmp_path / "site"))
    assert "1 MB free" in message


def test_out_as_a_symbolic_link_is_refused_and_left_alone(tmp_path, tiny_encoder, tiny_examples):
    site = built_site(tmp_path / "v1", tiny_encoder, tiny_examples)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    link = tmp_path / "latest"
    link.symlink_to(site)
    message = one_line_error(_build(tmp_path, "/nonexistent-model", tiny_examples, link))
    assert f"pass --out {site}" in message
    assert link.is_symlink() and {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples.jsonl", "latest", "v1"]  # no debris


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EACCES])
def test_a_disk_that_fills_while_writing_is_one_line_and_the_earlier_site_stays(tmp_path, tiny_encoder, tiny_examples,
                                                                                 monkeypatch, failure):
    site = built_site(tmp_path / "site", tiny_encoder, tiny_examples)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    real_write = writer_module.SiteWriter.write_text
    calls = {"n": 0}

    def fills_up(self, relative, text):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(failure, os.strerror(failure), str(self.path(relative)))
        return real_write(self, relative, text)

    monkeypatch.setattr(writer_module.SiteWriter, "write_text", fills_up)
    message = one_line_error(_build(tmp_path, tiny_encoder, tiny_examples, site))
    assert os.strerror(failure) in message and "nothing was changed there" in message
    assert {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples.jsonl", "site"]  # no .site.building-PID


def test_init_into_a_file_is_one_line(tmp_path):
    (tmp_path / "taken").write_text("x")
    for target in (tmp_path / "taken", tmp_path / "taken" / "inputs"):
        result = run_cli("init", str(target))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "file" in result.stderr.strip().splitlines()[-1]
