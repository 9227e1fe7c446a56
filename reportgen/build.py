"""The build: validate inputs, load the model, compute the bundle, render the site — in that order,
so bad input stops the build before the model is loaded or anything is written."""

from __future__ import annotations

import dataclasses
import logging
import platform
import shutil
import tempfile
import time
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from reportgen import __version__
from reportgen.bundle.reasons import Reason
from reportgen.bundle.sections import Provenance
from reportgen.bundle.typed import plain
from reportgen.checksums import sha256_file
from reportgen.config import DEFAULT_METHODS, ENGINE_FIELDS, BuildConfig, bundle_config, source_date_epoch
from reportgen.errors import ConfigError, InputError
from reportgen.i18n import catalogue, language
from reportgen.progress import progress_bar

log = logging.getLogger(__name__)

VERSIONED = ("torch", "transformers", "tokenizers", "captum", "bokeh", "numpy", "scikit-learn", "jinja2")


def run_build(cfg: BuildConfig, command_line: Sequence[str], model_object: Optional[tuple[Any, Any]] = None
              ) -> dict[str, Any]:
    """model_object: (model, tokenizer) already in memory (the Python API) instead of cfg.model's folder or id."""
    with ExitStack() as stack:
        if cfg.engine == "ray" and cfg.ray_address is None:
            from reportgen.compute.engines import private_ray_token

            # Before Ray is imported: it reads its authentication mode then (compute/engines.py).
            stack.enter_context(private_ray_token())
        return _run_build(cfg, command_line, model_object)


def _run_build(cfg: BuildConfig, command_line: Sequence[str], model_object: Optional[tuple[Any, Any]]
               ) -> dict[str, Any]:
    from reportgen.compute.methods import METHODS
    from reportgen.inputs import load_examples
    from reportgen.narrative import load_narrative
    from reportgen.progress import configure_memory
    from reportgen.render.templates import theme_dirs

    configure_memory()
    started = time.perf_counter()
    examples = load_examples(cfg.examples)
    narrative = load_narrative(cfg.narrative)
    probe_train = None
    if cfg.probe_train is not None:
        train_examples = load_examples(cfg.probe_train)
        unlabelled = next((ex for ex in train_examples if ex.label is None), None)
        if unlabelled is not None:
            raise InputError(f"{cfg.probe_train}:{unlabelled.line}: field 'label' is missing; every example of "
                             "--probe-train needs a gold label")
        probe_train = (train_examples, Path(cfg.probe_train).name)
    from reportgen.models.crossfit import check_probe_model, read_probe_source

    probe_from = read_probe_source(cfg.probe_from) if cfg.probe_from is not None else None
    from reportgen.compute.metrics import METRICS

    # Unknown names fail here, before the model loads; "all" expands to every registered name.
    # The defaults were not named: one that cannot explain this model (AttnLRP outside the BERT layout) is left
    # out with its reason on the methods page, as with --methods all.
    named_methods = set() if cfg.compute.methods == DEFAULT_METHODS else set(cfg.compute.methods) - {"all"}
    cfg = dataclasses.replace(cfg, compute=dataclasses.replace(
        cfg.compute, methods=expand_names(cfg.compute.methods, METHODS),
        metrics=expand_names(cfg.compute.metrics, METRICS)))
    theme_dirs(cfg.theme)
    catalogue(language(cfg.lang))  # a missing catalogue stops the build here, not after the compute
    if cfg.engine == "ray" and model_object is not None:
        raise ConfigError("engine ray loads the model in each worker from a folder or hub id: save the model object "
                          "with save_pretrained and pass its folder, or use the local engine")
    if cfg.engine == "ray":
        from reportgen.compute.engines import import_ray

        import_ray()  # a missing Ray is said now, in one line, not after the first pass over the data
    # The output is judged now, not after minutes of compute: a refused folder costs nothing.
    from reportgen.render.site import check_output

    narrative_files = sorted(cfg.narrative.glob("*.md")) if cfg.narrative and cfg.narrative.is_dir() else []
    check_output(cfg.out, cfg.single_file, [cfg.examples, cfg.probe_train, *narrative_files])
    build_epoch = source_date_epoch()
    log.info("%d examples from %s", len(examples), cfg.examples)

    from reportgen.compute.cache import ChunkCache, default_cache_dir
    from reportgen.compute.pipeline import compute_bundle
    from reportgen.models import load_adapter

    if cfg.cache:
        ChunkCache(cfg.cache_dir or default_cache_dir()).check_writable()

    if model_object is None:
        adapter = load_adapter(cfg.model, cfg.trust_remote_code, cfg.compute.device)
    else:
        from reportgen.models.loader import adapter_from_objects

        adapter = adapter_from_objects(*model_object, cfg.compute.device)
    from reportgen.models.memory import with_batch_tokens

    cfg = with_batch_tokens(cfg, adapter)  # before the manifest and the cache keys read it
    provenance = Provenance(versions())
    for option, given in (("--probe-train", probe_train), ("--probe-from", probe_from)):
        if given is not None and adapter.head.own:
            raise ConfigError(f"{option}: the model {adapter.name!r} has its own classification head, so no probe "
                              f"is used; leave {option} out")
    if probe_from is not None:
        check_probe_model(probe_from, adapter)
    cfg, not_applicable = _applicable_methods(cfg, adapter, named_methods)
    with _work_folder() as work:
        cache = ChunkCache(cfg.cache_dir or default_cache_dir(), reuse=cfg.cache) if cfg.cache else \
            ChunkCache(work / "cache", reuse=False)
        bundle = compute_bundle(cfg, examples, adapter, narrative, provenance, progress_bar, cache, work,
                                probe_train, probe_from, not_applicable).as_saved()
        return _render(cfg, bundle, provenance, command_line, build_epoch, started, len(examples))


def _render(cfg: BuildConfig, bundle: Any, provenance: Provenance, command_line: Sequence[str],
            build_epoch: Optional[int], started: float, n_examples: int) -> dict[str, Any]:
    from reportgen.compute.findings import at_or_above
    from reportgen.render.site import render_output
    from reportgen.render.wording import worded

    manifest = {
        "reportgen": __version__,
        "versions": provenance.versions,
        "model": {"name": bundle.model.name, "loaded_from": plain(bundle.model.loaded_from),
                  "revision": bundle.model.revision, "weights_sha256": bundle.model.weights_sha256},
        "inputs": _input_hashes(cfg.examples, cfg.narrative, cfg.probe_train, cfg.probe_from),
        "config": plain(bundle_config(cfg)),
        # Where the per-example work ran: the only part of a site that differs between engines.
        "engine": {name: getattr(cfg, name) for name in ENGINE_FIELDS},
        "command": list(command_line),
        "built": build_epoch,
    }
    written = render_output(bundle, cfg.out, cfg.theme, manifest, build_epoch, progress_bar, cfg.single_file,
                            language(cfg.lang))
    findings = worded(bundle.summary.findings, bundle.methods)
    failing = at_or_above(findings, cfg.fail_on) if cfg.fail_on else []
    return {"examples": n_examples, "seconds": time.perf_counter() - started, "out": str(written),
            "accuracy": bundle.summary.accuracy, "unreadable": len(bundle.summary.unreadable),
            "failing": failing, "findings": findings}


@contextmanager
def _work_folder() -> Iterator[Path]:
    """This build's chunk files and attention maps until the site is written; removed even on error."""
    folder = Path(tempfile.mkdtemp(prefix="reportgen-build-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _applicable_methods(cfg: BuildConfig, adapter: Any, named: set[str]) -> tuple[BuildConfig, dict[str, Reason]]:
    """The build without the methods that cannot explain this model: a method named on the command line is an
    error (exit 2, with the reason); one that came from --methods all is left out and the methods page says why."""
    from reportgen.compute.methods import METHODS
    from reportgen.render.wording import reason_text

    reasons = {name: why for name in cfg.compute.methods if (why := METHODS.get(name).does_not_apply(adapter))}
    for name in cfg.compute.methods:
        if name in reasons and name in named:
            raise ConfigError(f"{name}: {reason_text(reasons[name])}; leave {name} out of --methods for this model")
    kept = tuple(name for name in cfg.compute.methods if name not in reasons)
    # Every option of every method that runs, defaults included, so the site states what each method was given.
    options = {name: dataclasses.asdict(METHODS.get(name)(cfg.compute.options.get(name)).options) for name in kept}
    compute = dataclasses.replace(cfg.compute, methods=kept, options={k: v for k, v in options.items() if v},
                                  costly_sample=_costly_sample(cfg.compute.costly_sample, kept, named))
    return dataclasses.replace(cfg, compute=compute), reasons


def _costly_sample(asked: Any, methods: Sequence[str], named: set[str]) -> Any:
    """--costly-sample as the build records it: as given, else "all" when --methods named a costly method (the
    user asked for it), else COSTLY_SAMPLE (compute/plan.py decides whether a sample is used at all)."""
    from reportgen.bundle.vocabulary import COSTLY_SAMPLE
    from reportgen.compute.methods import METHODS

    if asked is not None:
        return asked
    return "all" if any(METHODS.get(name).costly for name in named & set(methods)) else COSTLY_SAMPLE


def expand_names(names: Sequence[str], registry: Any) -> tuple[str, ...]:
    if "all" in names:
        # A reference (the floor: random scores) goes last, so tables read from real methods down to it.
        return tuple(sorted(registry.names(), key=lambda n: (getattr(registry.get(n), "family", "") == "reference", n)))
    for name in names:
        registry.get(name)
    return tuple(names)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "reportgen": __version__}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _input_hashes(examples: Path, narrative: Optional[Path], probe_train: Optional[Path],
                  probe_from: Optional[Path]) -> dict[str, Any]:
    hashes: dict[str, Any] = {"examples": {"file": examples.name, "sha256": sha256_file(examples)}}
    if probe_train is not None:
        hashes["probe_train"] = {"file": probe_train.name, "sha256": sha256_file(probe_train)}
    if probe_from is not None:
        from reportgen.models.crossfit import probe_results_file

        hashes["probe_from"] = {"file": probe_from.name, "sha256": sha256_file(probe_results_file(probe_from))}
    if narrative is not None:
        hashes["narrative"] = {p.name: sha256_file(p) for p in sorted(narrative.glob("*.md"))}
    return hashes
