"""Build configuration: defaults, then the TOML file, then command-line options (only those given)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional

import tomllib

from reportgen.errors import ConfigError

# AttnLRP: more faithful than Integrated Gradients on HateXplain and SST-2 at a twentieth of its cost
# (docs/benchmarks.md, "One-pass methods"); Integrated Gradients stays first, the lead, for its completeness check.
DEFAULT_METHODS = ("integrated_gradients", "attn_lrp", "gradient_x_input", "attention_rollout")
# Plausibility needs no extra forward passes; comprehensiveness and sufficiency need 20 per example and
# method, so they are asked for by name (or with "all").
DEFAULT_METRICS = ("token_f1", "token_iou", "auprc")
DEFAULT_PROJECT = Path("inputs")
PRECISIONS = ("fp32", "bf16", "fp16")
# Where the per-example work runs: recorded in the manifest only (the results do not depend on it).
ENGINE_FIELDS = ("engine", "ray_address", "workers", "gpus_per_worker", "threads_per_worker")
CONFIG_NAME = "reportgen.toml"
PATH_FIELDS = ("examples", "narrative", "out", "probe_train", "probe_from", "cache_dir")
INTERNAL_FIELDS = ("compute", "examples_shown_as")


@dataclass(frozen=True)
class ComputeConfig:
    """Everything that changes the numbers (and so belongs in a cache key and the manifest)."""

    methods: tuple[str, ...] = DEFAULT_METHODS
    metrics: tuple[str, ...] = DEFAULT_METRICS
    target: str = "predicted"  # or "gold"
    # "auto": nested Clenshaw-Curtis rules (17, 33, 65, 129 points) until each example's delta is within
    # ig_tolerance, so easy examples cost few steps and hard ones get more; or a fixed Gauss-Legendre step count.
    ig_steps: int | str = "auto"
    smoothgrad_samples: int = 20  # noisy copies per example for SmoothGrad
    noise_tunnel_samples: int = 8  # noisy copies per example for NoiseTunnel IG (each a 16-step integral)
    sanity_examples: int = 0  # >0: model-randomisation sanity check on this many examples (costly)
    global_analysis: bool = True  # model.html: head statistics, head importance, layer probes, calibration
    surrogate_samples: int = 200  # masked samples per example for LIME and KernelSHAP
    ig_tolerance: float = 0.01  # adaptive IG: |delta| <= this share of |f(input) - f(baseline)|
    max_length: Optional[int] = None  # None: the model's own limit
    # A text longer than the window: "window" reads it in overlapping windows and merges them (compute/windows.py
    # states the rules); "truncate" explains its first window only.
    long_inputs: str = "window"
    window_stride: Optional[int] = None  # pieces neighbouring windows share; None: a quarter of the window
    # Tokens per forward/backward batch: bounds memory. "auto": 4096 on a CPU (about the fastest there), and on
    # a GPU as many as half its free memory holds, measured with one pass at build start (models/memory.py).
    batch_tokens: int | str = "auto"
    unk_threshold: float = 0.25  # fraction of [UNK] word pieces above which an explanation is flagged
    seed: int = 0
    device: str = "auto"
    # Arithmetic of the forward/backward passes of methods with a completeness check (Integrated Gradients):
    # "bf16" or "fp16" run them in reduced precision, and every example whose check fails is recomputed in fp32.
    precision: str = "fp32"
    # Examples per chunk: each chunk is computed, written to the bundle (and the cache) and dropped, so memory
    # stays flat in the number of examples; a killed build loses at most the chunk in flight.
    chunk_size: int = 256
    # Global analyses that need many examples at once (head statistics and importance, layer probes, the
    # projection) run on a seeded sample of this many examples; every other figure uses all of them.
    global_sample: int = 200


@dataclass(frozen=True)
class BuildConfig:
    examples: Path = DEFAULT_PROJECT / "examples.jsonl"
    narrative: Optional[Path] = None
    out: Path = Path("site")
    model: Optional[str] = None  # None: the packaged all-MiniLM-L6-v2
    theme: str = "default"
    title: Optional[str] = None
    labels: Optional[tuple[str, ...]] = None
    label_map: Optional[tuple[tuple[str, str], ...]] = None  # (model's label, name to show), for a model's own head
    trust_remote_code: bool = False
    single_file: bool = False  # one HTML file with everything inline instead of a site folder
    fail_on: Optional[str] = None  # "info", "warning" or "error": exit non-zero when such findings occur
    probe_train: Optional[Path] = None  # fit a bare encoder's probe on this file instead of cross-fitting
    probe_from: Optional[Path] = None  # reuse the probes of this earlier report (a site folder or its results.json)
    force: bool = False  # build even when most examples are unreadable to the model's tokenizer
    # Examples with a full page (attention heatmaps); every example is in the table and its view. "auto": as
    # many as fit PAGE_BUDGET_MB of float16 attention maps, at most MAX_AUTO_PAGES (a page costs layers x
    # heads x tokens^2 x 2 bytes, twice over with its heatmap: 0.5 MB for a 44-piece news snippet, 37 MB for a
    # 512-piece document), so the site stays a size one can publish.
    pages: int | str = "auto"
    cache: bool = True  # reuse computed chunks (resume after a kill, compute only new examples)
    cache_dir: Optional[Path] = None  # None: $REPORTGEN_CACHE, $XDG_CACHE_HOME/reportgen or ~/.cache/reportgen
    # Where pass 2's per-example work runs (compute/engines.py); none of it changes a number on the site.
    engine: str = "local"  # or "ray"
    ray_address: Optional[str] = None  # join this Ray cluster; None: a local Ray started for the build
    workers: Optional[int] = None  # Ray actors; None: one per CPU (or per GPU) of the cluster
    gpus_per_worker: Optional[float] = None  # None: 1 when the build runs on CUDA, else 0
    threads_per_worker: Optional[int] = None  # None: the threads of the local engine (same digits)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    # Set by the Python API for rows passed in memory: what the site records instead of their temporary file's path,
    # so the same rows give the same bytes. Not an option (INTERNAL_FIELDS).
    examples_shown_as: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, tuple):
                return list(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        return plain(dataclasses.asdict(self))


def bundle_config(cfg: BuildConfig) -> dict[str, Any]:
    """The settings a site records: not where it was written nor whether a cache was used, so the same inputs
    give the same bytes anywhere, cached or not."""
    recorded = {k: v for k, v in cfg.as_dict().items()
                if k not in ("out", "cache", "cache_dir", "examples_shown_as", *ENGINE_FIELDS)}
    if cfg.examples_shown_as is not None:
        recorded["examples"] = cfg.examples_shown_as
    return recorded


def find_config(explicit: Optional[Path], examples_given: bool) -> Optional[Path]:
    """The demo project's config is used only when the user names no examples of their own."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return explicit
    if examples_given:
        return None
    for candidate in (Path(CONFIG_NAME), DEFAULT_PROJECT / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(config_file: Optional[Path], overrides: Mapping[str, Any]) -> BuildConfig:
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_read_toml(config_file))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if config_file is None and "narrative" not in values and "examples" not in values:
        default_narrative = DEFAULT_PROJECT / "narrative"
        if default_narrative.is_dir():
            values["narrative"] = default_narrative
    return _build(values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    build = data.get("build", {})
    unknown = set(data) - {"build"}
    if unknown:
        raise ConfigError(f"{path}: unknown table {sorted(unknown)[0]!r}; put options under [build]")
    base = path.parent
    for key in PATH_FIELDS:
        if key in build:
            build[key] = Path(os.path.normpath(base / build[key]))
    return build


def _build(values: dict[str, Any]) -> BuildConfig:
    top = {f.name for f in fields(BuildConfig)} - set(INTERNAL_FIELDS)
    inner = {f.name for f in fields(ComputeConfig)}
    unknown = sorted(set(values) - top - inner)
    if unknown:
        raise ConfigError(f"Unknown option {unknown[0]!r}. Available: {', '.join(sorted(top | inner))}")
    compute_values = {k: v for k, v in values.items() if k in inner}
    for key in ("methods", "metrics"):
        if key in compute_values:
            compute_values[key] = _as_tuple(compute_values[key])
    compute = ComputeConfig(**compute_values)
    _validate(compute)
    top_values = {k: v for k, v in values.items() if k in top}
    for key in PATH_FIELDS:
        if top_values.get(key) is not None:
            top_values[key] = Path(top_values[key])
    _validate_top(top_values)
    if top_values.get("labels") is not None:
        top_values["labels"] = _as_tuple(top_values["labels"])
    if top_values.get("label_map") is not None:
        top_values["label_map"] = _label_map(top_values["label_map"])
    return BuildConfig(compute=compute, **top_values)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        if value.strip() == "none":
            return ()
        value = value.split(",")
    return tuple(v.strip() for v in value if v.strip())


def _label_map(value: Any) -> tuple[tuple[str, str], ...]:
    """'LABEL_0=negative,LABEL_1=positive' (command line) or a TOML table {LABEL_0 = "negative"}."""
    pairs = list(value.items()) if isinstance(value, dict) else []
    if isinstance(value, str):
        for item in filter(None, (v.strip() for v in value.split(","))):
            old, sep, new = item.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise ConfigError(f"--label-map: {item!r} is not MODEL_LABEL=NAME (e.g. LABEL_0=negative)")
            pairs.append((old.strip(), new.strip()))
    if not pairs:
        raise ConfigError("--label-map: give MODEL_LABEL=NAME pairs, e.g. LABEL_0=negative,LABEL_1=positive")
    names = [new for _, new in pairs]
    if len(set(names)) != len(names) or len({old for old, _ in pairs}) != len(pairs):
        raise ConfigError("--label-map: each model label and each new name may appear once")
    return tuple((str(old), str(new)) for old, new in pairs)


def _validate_top(values: dict[str, Any]) -> None:
    pages = values.get("pages", "auto")
    if pages != "auto" and (not isinstance(pages, int) or pages < 0):
        raise ConfigError(f"pages must be 'auto' or a whole number (0 or more), got {pages!r}")
    engine = values.get("engine", "local")
    if engine not in ("local", "ray"):
        raise ConfigError(f"engine must be local or ray, got {engine!r}")
    if engine == "local":
        given = [f"--{name.replace('_', '-')}" for name in ENGINE_FIELDS[1:] if values.get(name) is not None]
        if given:
            raise ConfigError(f"{given[0]} applies to --engine ray; add --engine ray or leave it out")
    for name in ("workers", "threads_per_worker"):
        if values.get(name) is not None and (not isinstance(values[name], int) or values[name] < 1):
            raise ConfigError(f"{name} must be a positive integer, got {values[name]!r}")
    if values.get("gpus_per_worker") is not None and not 0 <= values["gpus_per_worker"] <= 64:
        raise ConfigError(f"gpus_per_worker must be between 0 and 64, got {values['gpus_per_worker']!r}")
    if values.get("probe_train") is not None and values.get("probe_from") is not None:
        raise ConfigError("--probe-train fits new probes and --probe-from reuses a report's probes: give one")
    if values.get("fail_on") not in (None, "info", "warning", "error"):
        raise ConfigError(f"fail_on must be info, warning or error, got {values['fail_on']!r}")


def _validate(cfg: ComputeConfig) -> None:
    if cfg.target not in ("predicted", "gold"):
        raise ConfigError(f"target must be 'predicted' or 'gold', got {cfg.target!r}")
    if cfg.ig_steps != "auto" and not (isinstance(cfg.ig_steps, int) and 2 <= cfg.ig_steps <= 1000):
        raise ConfigError(f"ig_steps must be 'auto' or an integer between 2 and 1000, got {cfg.ig_steps!r}")
    if not 0 < cfg.ig_tolerance < 1:
        raise ConfigError(f"ig_tolerance must be between 0 and 1, got {cfg.ig_tolerance}")
    if cfg.batch_tokens != "auto" and not (isinstance(cfg.batch_tokens, int) and cfg.batch_tokens >= 16):
        raise ConfigError(f"batch_tokens must be 'auto' or an integer of at least 16, got {cfg.batch_tokens!r}")
    if cfg.precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {cfg.precision!r}")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    if not cfg.methods:
        raise ConfigError("methods must name at least one attribution method")
    if cfg.long_inputs not in ("window", "truncate"):
        raise ConfigError(f"long_inputs must be window or truncate, got {cfg.long_inputs!r}")
    if cfg.window_stride is not None and not (isinstance(cfg.window_stride, int) and cfg.window_stride >= 1):
        raise ConfigError(f"window_stride must be a positive integer (pieces two windows share), got "
                          f"{cfg.window_stride!r}")
    for name in ("chunk_size", "global_sample"):
        if not isinstance(getattr(cfg, name), int) or getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be a positive integer, got {getattr(cfg, name)!r}")
    if len(set(cfg.methods)) != len(cfg.methods):
        raise ConfigError(f"methods lists a method twice: {', '.join(cfg.methods)}")


def source_date_epoch() -> Optional[int]:
    """The only build time a site may carry (reproducible builds)."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"SOURCE_DATE_EPOCH must be an integer, got {value!r}") from None
