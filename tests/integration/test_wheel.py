"""What users install: the sdist and the wheel built from it, installed non-editable with their dependencies into a
fresh virtual environment and run from a folder outside the repository (an editable install hides a module or a
template the wheel lacks)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from reportgen import __version__
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

# The CPU wheel on this project's machines; an open `torch` would pull a multi-GB CUDA build (README).
TORCH = os.environ.get("REPORTGEN_TEST_TORCH", "torch==2.13.0")


def _shipped_sources() -> list[str]:
    """Every file a user needs, as it lies in the repository: modules and each theme's files."""
    modules = [p.relative_to(ROOT).as_posix() for p in (ROOT / "reportgen").rglob("*.py")]
    themes = [f"reportgen/themes/{p.relative_to(ROOT / 'themes').as_posix()}"
              for p in (ROOT / "themes").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(modules + themes)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh environment's bin/, the built wheel)."""
    work = tmp_path_factory.mktemp("wheel")
    # sdist first, then the wheel built from the unpacked sdist: what a user building from PyPI's sdist gets.
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, text=True)
    wheel = next((work / "dist").glob("reportgen-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # --no-compile: byte-compiling every installed module (torch's thousands) took 30 of the 52 s of this install
    # and changes nothing a test checks; Python compiles what it imports.
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                           "--disable-pip-version-check", TORCH, str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin", wheel


def test_sdist_and_wheel_carry_every_module_and_theme_file(installed) -> None:
    _, wheel = installed
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in _shipped_sources() if name not in in_wheel]
    assert not missing, f"the wheel lacks {missing}"
    sdist = next(wheel.parent.glob("reportgen-*.tar.gz"))
    top = f"reportgen-{__version__}/"
    in_sdist = {name.removeprefix(top) for name in tarfile.open(sdist).getnames()}
    repo_paths = [p.relative_to(ROOT).as_posix() for p in (ROOT / "themes").rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts]
    missing = [name for name in repo_paths if name not in in_sdist]
    assert not missing, f"the sdist lacks {missing}"


def test_installed_wheel_inits_builds_and_rerenders_outside_the_repository(installed, tmp_path) -> None:
    bin_dir, _ = installed
    outside = tmp_path / "user"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SOURCE_DATE_EPOCH"] = "1700000000"

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(bin_dir / "reportgen"), *args], cwd=outside, capture_output=True, text=True,
                              env=env)
        assert done.returncode == 0, f"reportgen {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    probe = "import reportgen, reportgen.api; print(reportgen.__file__)"
    where = subprocess.run([str(bin_dir / "python"), "-c", probe], cwd=outside, capture_output=True, text=True,
                           env=env, check=True).stdout.strip()
    assert Path(where).is_relative_to(bin_dir.parent), f"imported {where}, not the installed wheel"
    assert run("--version").stdout.strip() == f"reportgen, version {__version__}"
    run("init", "project")
    run("build", "--config", "project/reportgen.toml", "--out", "site", "--no-global", "--no-cache")
    assert (outside / "site" / "index.html").is_file() and (outside / "site" / "data" / "results.json").is_file()
    rendered = run("render", "--bundle", "site", "--out", "audit", "--theme", "audit")
    assert "Rendered 6 examples" in rendered.stdout
    assert (outside / "audit" / "static" / "audit.css").is_file()
    assert (outside / "audit" / "index.html").read_text(encoding="utf-8").count("audit.css") >= 1
