"""Where pass 2's chunks are computed: in this process (local) or on a Ray cluster (ray). The engine only
decides where a chunk's missing parts run; the cache, the chunk files and everything after are the driver's,
so both engines write the same site.

Ray: Ray Data's map_batches over an actor pool, one chunk per batch. Each actor loads the model once and
computes the parts a chunk lacks; the driver stores them in its cache as they arrive, in chunk order, so a
killed driver resumes from the cache, and a killed worker is restarted by Ray and its chunk run again."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import pickle
import secrets
import shutil
import sys
import tempfile
import warnings
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch

from reportgen.errors import ConfigError

log = logging.getLogger(__name__)

# The first Ray whose clusters can require a token (RAY_AUTH_MODE=token): before it, a local Ray accepted anyone's
# jobs on every interface (CVE-2023-48022). Ray 2.59 turns tokens on by default for local clusters; reportgen turns
# them on explicitly, with its own token, for every Ray it accepts.
RAY_FLOOR = (2, 52)
RAY_MISSING = ("--engine ray needs Ray, which is not installed: pip install 'reportgen[ray]' "
               "(or pip install 'ray[data]>=2.52')")
AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    engine: str = "local"  # "local" or "ray"
    ray_address: Optional[str] = None  # None: start a local Ray for this build
    workers: Optional[int] = None  # actors; None: one per CPU of the cluster (per GPU with gpus_per_worker)
    gpus_per_worker: Optional[float] = None  # None: 1 when the build runs on CUDA, else 0
    # torch threads (and Ray CPUs) per worker; None: the threads this process computes with. A float sum splits
    # across threads, so the thread count decides the last digits: equal counts give the local engine's bytes.
    threads_per_worker: Optional[int] = None
    model: Optional[str] = None  # what each worker loads (the build's --model)
    trust_remote_code: bool = False


def explained_chunks(explainer: Any, spans: Sequence[Sequence[int]], settings: EngineSettings) -> Iterator[bytes]:
    """Each span's chunk bytes, in span order."""
    if settings.engine == "local":
        for span in spans:
            yield explainer.chunk(span)
        return
    yield from _ray_chunks(explainer, spans, settings)


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError(RAY_MISSING) from None
    found = tuple(int(part) for part in ray.__version__.split(".")[:2] if part.isdigit())
    if found < RAY_FLOOR:
        raise ConfigError(f"--engine ray needs Ray {'.'.join(map(str, RAY_FLOOR))} or newer, whose clusters refuse "
                          f"clients without a token; this is Ray {ray.__version__}: pip install 'reportgen[ray]'")
    return ray


@contextlib.contextmanager
def private_ray_token() -> Iterator[str]:
    """Token authentication for the Ray this build starts, entered before Ray is imported (build.run_build): a
    token of its own, 256 random bits in a file only this user can read (a fresh 0700 folder), given to Ray and its
    workers through the environment and removed with the folder when the build ends. Ray's processes listen on
    every interface; the token is what keeps another machine's client (or another user's) from running jobs on
    it. Yields the token file's path."""
    folder = tempfile.mkdtemp(prefix="reportgen-ray-")
    path = os.path.join(folder, "auth_token")
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(handle, secrets.token_hex(32).encode("ascii"))
    finally:
        os.close(handle)
    saved = {name: os.environ.get(name) for name in AUTH_ENV}
    os.environ.pop("RAY_AUTH_TOKEN", None)  # it would win over the file
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": path})
    _refresh_ray_config()
    try:
        yield path
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _refresh_ray_config()
        shutil.rmtree(folder, ignore_errors=True)


def _refresh_ray_config() -> None:
    """Ray reads RAY_AUTH_MODE into its cached configuration when it is imported; a process that imported Ray
    before (a notebook) is told again, as Ray itself does when it turns tokens on (Config.initialize)."""
    raylet = sys.modules.get("ray._raylet")
    config = getattr(raylet, "Config", None)
    if config is not None and hasattr(config, "initialize"):
        config.initialize("")


def _ray_chunks(explainer: Any, spans: Sequence[Sequence[int]], settings: EngineSettings) -> Iterator[bytes]:
    todo = []  # chunks with a part to compute; the cached ones never leave the driver
    for number, span in enumerate(spans):
        missing = explainer.uncached(span)
        if missing is not None:
            todo.append({"number": number, "span": json.dumps(list(span)), "methods": json.dumps(missing[0]),
                         "records": missing[1]})
    sent = {task["number"] for task in todo}
    results = _run_on_ray(explainer, todo, settings) if todo else iter(())
    for number, span in enumerate(spans):
        keys = explainer.keys(span)
        whole = None if number in sent else explainer.whole(keys)
        if whole is not None:
            yield whole
            continue
        parts = explainer.read(keys)
        if number in sent:
            row = next(results)
            if int(row["number"]) != number:
                raise RuntimeError(f"Ray returned chunk {row['number']} where chunk {number} was expected")
            computed, seconds, counted = pickle.loads(row["parts"])
            explainer.store(keys, parts, computed)
            explainer.seconds.update(seconds)
            explainer.computed.update(counted)
        missing = explainer.missing(parts)
        if missing is not None:  # an entry found damaged when read: computed here, as the local engine would
            explainer.store(keys, parts, explainer.compute(span, *missing))
        yield explainer.assembled(keys, parts)


def _run_on_ray(explainer: Any, todo: list[dict], settings: EngineSettings) -> Iterator[dict]:
    ray = import_ray()
    # Ray Data narrates its plan and warns about idle actors on the terminal; this build has its own progress.
    for handler in logging.getLogger("ray.data").handlers:
        if not isinstance(handler, logging.FileHandler):  # its own log file in the Ray session keeps everything
            handler.setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"ray\.")
    started_here = not ray.is_initialized()
    with contextlib.ExitStack() as stack:
        if started_here:
            # A local Ray (with the token build.run_build set up before Ray was imported) unless an address is
            # given; its logs stay in its session folder, not on the terminal.
            ray.init(address=settings.ray_address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, configure_logging=False)
            stack.callback(ray.shutdown)
        yield from _map_on_ray(ray, explainer, todo, settings)


def _map_on_ray(ray: Any, explainer: Any, todo: list[dict], settings: EngineSettings) -> Iterator[dict]:
    """Ray Data's map_batches over an actor pool, one chunk per batch, results in chunk order."""
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # results in chunk order: the driver streams them
    context.enable_progress_bars = False
    gpus = settings.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if explainer.adapter.device.type == "cuda" else 0.0
    threads = settings.threads_per_worker or torch.get_num_threads()
    workers = settings.workers or _default_workers(ray, gpus, threads)
    log.info("Ray at %s: %d workers of %d threads (%s GPU each), %d chunks to compute",
             ray.get_runtime_context().gcs_address, workers, threads, gpus, len(todo))
    template = dataclasses.replace(explainer, adapter=None, cache=None)
    worker_args = {"template": template, "model": settings.model, "trust_remote_code": settings.trust_remote_code,
                   "device": "cuda" if gpus > 0 else "cpu", "labels": list(explainer.adapter.labels),
                   "threads": threads}
    # One block per chunk, made on the driver: no task needs a CPU the actors hold (a repartition would
    # wait for one forever when the actors take every CPU).
    dataset = ray.data.from_items(todo, override_num_blocks=len(todo))
    mapped = dataset.map_batches(ChunkWorker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
                                 num_cpus=threads, num_gpus=gpus, fn_constructor_kwargs=worker_args)
    yield from mapped.iter_rows()


def _default_workers(ray: Any, gpus: float, threads: int) -> int:
    resources = ray.cluster_resources()
    if gpus > 0:
        return max(1, int(resources.get("GPU", 0) // gpus))
    return max(1, int(resources.get("CPU", os.cpu_count() or 1) // threads))


class ChunkWorker:
    """A Ray actor: loads the model once, then computes the missing parts of one chunk per batch."""

    def __init__(self, template: Any, model: Optional[str], trust_remote_code: bool, device: str,
                 labels: list[str], threads: int) -> None:
        from reportgen.models import load_adapter
        from reportgen.progress import configure_memory

        torch.set_num_threads(threads)  # Ray's OMP_NUM_THREADS=1 would otherwise decide the last digits
        configure_memory()
        # the probe's classes, or the head's after --label-map
        adapter = load_adapter(model, trust_remote_code, device).with_labels(labels)
        self.explainer = dataclasses.replace(template, adapter=adapter)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from reportgen.progress import release_memory

        out = []
        for span, methods, records in zip(batch["span"], batch["methods"], batch["records"]):
            before, counted_before = dict(self.explainer.seconds), dict(self.explainer.computed)
            computed = self.explainer.compute(json.loads(span), json.loads(methods), bool(records))
            seconds = {k: v - before.get(k, 0.0) for k, v in self.explainer.seconds.items() if v != before.get(k)}
            counted = {k: v - counted_before.get(k, 0) for k, v in self.explainer.computed.items()}
            out.append(pickle.dumps((computed, seconds, counted)))
            release_memory()
        return {"number": batch["number"], "parts": np.array(out, dtype=object)}
