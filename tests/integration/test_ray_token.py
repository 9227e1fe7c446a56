"""Issue 30: the Ray a build starts refuses clients without its token, with the lowest Ray the package accepts
and with the one installed. Every connection goes to 127.0.0.1 only."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen.compute.engines import RAY_FLOOR
from tests.conftest import ROOT, TINY_ROWS, write_jsonl

pytestmark = pytest.mark.integration

FLOOR = ".".join(map(str, RAY_FLOOR)) + ".0"
CONNECT = ("import sys, ray\n"
           "ray.init(address=sys.argv[1], log_to_driver=False)\n"
           "print('CONNECTED', ray.cluster_resources().get('CPU'))\n")


@pytest.fixture(scope="module", params=["installed", FLOOR])
def ray_path(request, tmp_path_factory) -> str:
    """PYTHONPATH for the build and its clients: nothing (the test environment's Ray), or a folder with the
    lowest Ray pyproject.toml accepts (its dependencies are the installed Ray's)."""
    if request.param == "installed":
        return ""
    target = tmp_path_factory.mktemp("ray-floor")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-deps", "--target", str(target), f"ray=={request.param}"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return str(target)


def _env(home: Path, ray_path: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != "PYTHONPATH"}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), SOURCE_DATE_EPOCH="1700000000", **extra)
    if ray_path:
        env["PYTHONPATH"] = ray_path
    return env


def _token_path_of(build_pid: int) -> str:
    """The token file the build's Ray processes (its children: GCS, raylet) were started with."""
    for proc in Path("/proc").iterdir():
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent != build_pid:
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        found = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"RAY_AUTH_TOKEN_PATH=")]
        if found:
            return found[0]
    raise AssertionError(f"no Ray process of the build {build_pid} holds a token path")


def _client(address: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CONNECT, address], env=env, capture_output=True, text=True,
                          timeout=180)


def test_a_client_without_the_token_is_refused(ray_path, tmp_path, tiny_encoder):
    rows = [{**{k: row[k] for k in ("text", "label")}, "id": f"{row['id']}-{k}"}
            for k in range(2) for row in TINY_ROWS[:6]]
    examples = write_jsonl(tmp_path / "examples.jsonl", rows)
    log = tmp_path / "build.log"
    with log.open("w") as out:
        build = subprocess.Popen(
            [sys.executable, "-m", "reportgen", "build", "--examples", str(examples), "--model", str(tiny_encoder),
             "--out", str(tmp_path / "site"), "--engine", "ray", "--chunk-size", "4", "--no-global", "--no-cache",
             "--methods", "integrated_gradients,attn_lrp"],
            cwd=ROOT, env=_env(tmp_path / "build-home", ray_path), stdout=out, stderr=subprocess.STDOUT)
    frozen = False
    try:
        deadline = time.monotonic() + 240
        found = None
        while found is None and time.monotonic() < deadline and build.poll() is None:
            found = re.search(r"Ray at [\d.]+:(\d+):", log.read_text())
            time.sleep(0.2)
        assert found, log.read_text()[-3000:]
        # The driver is paused while the clients knock, so its cluster is up however fast the build would finish;
        # Ray's own processes (GCS, raylet) keep answering.
        build.send_signal(signal.SIGSTOP)
        frozen = True
        address = f"127.0.0.1:{found.group(1)}"  # the build's GCS, reached over loopback only

        stranger = _client(address, _env(tmp_path / "stranger-home", ray_path))
        assert stranger.returncode != 0 and "CONNECTED" not in stranger.stdout, stranger.stdout
        assert re.search(r"AuthenticationError|[Aa]uthentication token|token", stranger.stderr), stranger.stderr[-2000:]
        # Asking for token mode without the token is refused too.
        no_token = _client(address, _env(tmp_path / "stranger-home", ray_path, RAY_AUTH_MODE="token"))
        assert no_token.returncode != 0 and "CONNECTED" not in no_token.stdout

        # The same address with the build's token is accepted: the refusals above are the token's doing. The token
        # lives only in the environment the build gave its Ray (a file in a private folder); the same user can read
        # it from the environment of the build's Ray processes.
        token_path = _token_path_of(build.pid)
        assert oct(os.stat(token_path).st_mode & 0o777) == "0o600"
        assert oct(os.stat(os.path.dirname(token_path)).st_mode & 0o777) == "0o700"
        token = Path(token_path).read_text()
        holder = _client(address, _env(tmp_path / "holder-home", ray_path, RAY_AUTH_MODE="token",
                                       RAY_AUTH_TOKEN=token))
        assert holder.returncode == 0 and "CONNECTED" in holder.stdout, holder.stderr[-2000:]
    except BaseException:
        build.kill()  # a failed check leaves no build behind
        raise
    finally:
        if frozen and build.poll() is None:
            build.send_signal(signal.SIGCONT)
    # The build goes on and finishes with its own token, then removes it.
    assert build.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    assert not os.path.exists(os.path.dirname(token_path)), "the token outlived the build"
    assert not (tmp_path / "build-home" / ".ray" / "auth_token").exists()  # nothing written to the user's ~/.ray


def test_a_ray_older_than_the_floor_is_refused_in_one_line(tmp_path, tiny_encoder, tiny_examples, monkeypatch):
    import ray
    from click.testing import CliRunner

    from reportgen.cli import cli

    monkeypatch.setattr(ray, "__version__", "2.40.0")
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(tiny_encoder),
                                      "--out", str(tmp_path / "s"), "--engine", "ray", "--no-global"])
    assert result.exit_code == 2 and f"needs Ray {FLOOR[:-2]} or newer" in result.output
    assert "RAY_AUTH_MODE" not in os.environ  # the token's environment is undone with the build
