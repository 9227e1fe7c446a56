"""Build configuration: defaults, then the TOML file, then command-line options (only those given)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Optional, Union

import tomllib
from pydantic import Field, StrictBool, TypeAdapter, ValidationError
from pydantic.types import Strict

from reportgen.bundle.settings import (  # noqa: F401 (DEFAULT_* re-exported: the CLI and scaffold read them here)
    DEFAULT_METHODS,
    DEFAULT_METRICS,
    Auto,
    ComputeConfig,
    Count,
    Names,
    RecordedSettings,
    Size,
)
from reportgen.bundle.typed import adapter_for, parse
from reportgen.errors import ConfigError

DEFAULT_PROJECT = Path("inputs")
# Where the per-example work runs: recorded in the manifest only (the results do not depend on it).
ENGINE_FIELDS = ("engine", "ray_address", "workers", "gpus_per_worker", "threads_per_worker")
CONFIG_NAME = "reportgen.toml"
PATH_FIELDS = ("examples", "narrative", "out", "probe_train", "probe_from", "cache_dir")
INTERNAL_FIELDS = ("compute", "examples_shown_as")
# bundle_config leaves these out (the language too: one bundle renders in any, recomputing nothing)
NOT_RECORDED = ("out", "cache", "cache_dir", "examples_shown_as", "lang", *ENGINE_FIELDS)
# Options that had their own flag and [build] key before methods declared their options: each still works, as the
# option(s) it sets (one row per flag, so the rest of the code knows only [methods.NAME]).
OPTION_ALIASES = {
    "ig_steps": (("integrated_gradients", "steps"),),
    "ig_tolerance": (("integrated_gradients", "tolerance"),),
    "smoothgrad_samples": (("smoothgrad", "samples"),),
    "noise_tunnel_samples": (("noise_tunnel_ig", "samples"),),
    "surrogate_samples": (("lime", "samples"), ("kernel_shap", "samples")),
}


@dataclass(frozen=True)
class BuildConfig:
    examples: Path = DEFAULT_PROJECT / "examples.jsonl"
    narrative: Optional[Path] = None
    out: Path = Path("site")
    model: Optional[Annotated[str, Strict(), Field(min_length=1)]] = None  # None: the packaged all-MiniLM-L6-v2
    theme: Annotated[str, Strict(), Field(min_length=1)] = "default"
    lang: Annotated[str, Strict(), Field(min_length=1)] = "en"  # the reader's language (i18n.language); not recorded
    title: Optional[Annotated[str, Strict()]] = None
    labels: Optional[Names] = None
    label_map: Optional[tuple[tuple[str, str], ...]] = None  # (model's label, name to show), for a model's own head
    trust_remote_code: StrictBool = False
    single_file: StrictBool = False  # one HTML file with everything inline instead of a site folder
    fail_on: Optional[Literal["info", "warning", "error"]] = None  # exit 3 when findings this severe occur
    probe_train: Optional[Path] = None  # fit a bare encoder's probe on this file instead of cross-fitting
    probe_from: Optional[Path] = None  # reuse the probes of this earlier report (a site folder or its results.json)
    force: StrictBool = False  # build even when most examples are unreadable to the model's tokenizer
    # Examples with a full page (attention heatmaps); every example is in the table and its view. "auto": as
    # many as fit PAGE_BUDGET_MB of float16 attention maps, at most MAX_AUTO_PAGES (a page costs layers x
    # heads x tokens^2 x 2 bytes, twice over with its heatmap: 0.5 MB for a 44-piece news snippet, 37 MB for a
    # 512-piece document), so the site stays a size one can publish.
    pages: Union[Auto, Size] = "auto"
    cache: StrictBool = True  # reuse computed chunks (resume after a kill, compute only new examples)
    cache_dir: Optional[Path] = None  # None: $REPORTGEN_CACHE, $XDG_CACHE_HOME/reportgen or ~/.cache/reportgen
    # Where pass 2's per-example work runs (compute/engines.py); none of it changes a number on the site.
    engine: Literal["local", "ray"] = "local"
    ray_address: Optional[Annotated[str, Strict(), Field(min_length=1)]] = None  # None: a local Ray for the build
    workers: Optional[Count] = None  # Ray actors; None: one per CPU (or per GPU) of the cluster
    gpus_per_worker: Optional[Annotated[float, Field(ge=0, le=64, allow_inf_nan=False)]] = None  # None: 1 on CUDA
    threads_per_worker: Optional[Count] = None  # None: the threads of the local engine (same digits)
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


def bundle_config(cfg: BuildConfig) -> RecordedSettings:
    """The settings a site records: not where it was written nor whether a cache was used, so the same inputs
    give the same bytes anywhere, cached or not."""
    recorded = {k: v for k, v in cfg.as_dict().items() if k not in NOT_RECORDED}
    if cfg.examples_shown_as is not None:
        recorded["examples"] = cfg.examples_shown_as
    return parse(RecordedSettings, recorded, "config")


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
    origin: dict[str, str] = {}  # where each value came from, for the one-line error
    if config_file is not None:
        from_file = _read_toml(config_file)
        values.update(from_file)
        origin.update({key: f"{config_file}: {key}" for key in from_file})
    given = {k: v for k, v in overrides.items() if v is not None}
    if "options" in given and "options" in values:  # the command line's options over the file's, key by key
        merged = {name: dict(table) for name, table in values["options"].items()}
        for name, table in given["options"].items():
            merged.setdefault(name, {}).update(table)
        given["options"] = merged
    values.update(given)
    origin.update({key: f"--{key.replace('_', '-')}" for key in given})
    if config_file is None and "narrative" not in values and "examples" not in values:
        default_narrative = DEFAULT_PROJECT / "narrative"
        if default_narrative.is_dir():
            values["narrative"] = default_narrative
    return _build(values, origin)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror or err})") from None
    unknown = set(data) - {"build", "methods"}
    if unknown:
        raise ConfigError(f"{path}: unknown table {sorted(unknown)[0]!r}; put options under [build], and a "
                          "method's own options under [methods.NAME]")
    build = data.get("build", {})
    if not isinstance(build, dict):
        raise ConfigError(f"{path}: build must be a table ([build] followed by key = value lines)")
    methods = data.get("methods", {})
    if not isinstance(methods, dict) or not all(isinstance(v, dict) for v in methods.values()):
        raise ConfigError(f"{path}: methods must hold one table per method ([methods.NAME] followed by "
                          "key = value lines)")
    if methods:
        build["options"] = {name: {key: (value, f"{path}: [methods.{name}] {key}") for key, value in table.items()}
                            for name, table in methods.items()}
    base = path.parent
    for key in PATH_FIELDS:
        if isinstance(build.get(key), str):  # a path relative to the file; anything else is refused by _build
            build[key] = Path(os.path.normpath(base / build[key]))
    return build


_COMPUTE = TypeAdapter(ComputeConfig)
_BUILD = TypeAdapter(BuildConfig)
# What a union's errors mean in one phrase (pydantic reports each member of a union separately).
_ALLOWED = {"batch_tokens": "'auto' or a whole number of at least 16", "pages": "'auto' or a whole number (0 or more)"}


_PLAIN = {"tuple_type": "it should be a list of names (or one comma-separated string)",
          "path_type": "it should be a path (a string)", "string_too_short": "it should not be empty"}


def _build(values: dict[str, Any], origin: Optional[Mapping[str, str]] = None) -> BuildConfig:
    top = {f.name for f in fields(BuildConfig)} - set(INTERNAL_FIELDS)
    inner = {f.name for f in fields(ComputeConfig)}
    unknown = sorted(set(values) - top - inner - set(OPTION_ALIASES))
    if unknown:
        raise ConfigError(f"Unknown option {unknown[0]!r}. "
                          f"Available: {', '.join(sorted(top | inner | set(OPTION_ALIASES)))}")
    values = dict(values)
    values["options"] = method_options(values, origin or {})
    compute_values = {k: v for k, v in values.items() if k in inner}
    for key in ("methods", "metrics"):
        if key in compute_values:
            compute_values[key] = _as_tuple(compute_values[key])
    top_values = {k: v for k, v in values.items() if k in top}
    if top_values.get("labels") is not None:
        top_values["labels"] = _as_tuple(top_values["labels"])
    if top_values.get("label_map") is not None:
        top_values["label_map"] = _label_map(top_values["label_map"])
    try:
        compute = _COMPUTE.validate_python(compute_values)
        cfg = _BUILD.validate_python({**top_values, "compute": compute})
    except ValidationError as err:
        raise ConfigError(_one_line(err, values, origin or {})) from None
    _check_together(cfg)
    return cfg


def method_options(values: Mapping[str, Any], origin: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every method option given ([methods.NAME] tables, --option NAME.KEY=VALUE, the old flags of OPTION_ALIASES),
    each checked against its method's declared Options: method -> {key: value}."""
    given: dict[str, dict[str, tuple[Any, str]]] = {}
    for name, table in (values.get("options") or {}).items():
        for key, entry in table.items():
            value, where = entry if isinstance(entry, tuple) else (entry, f"--option {name}.{key}")
            given.setdefault(name, {})[key] = (value, where)
    for flag, targets in OPTION_ALIASES.items():
        if flag in values:
            where = origin.get(flag, flag)
            for name, key in targets:
                given.setdefault(name, {}).setdefault(key, (values[flag], where))
    if not given:
        return {}
    from reportgen.compute.methods import METHODS  # the methods declare their options (torch is loaded here)

    checked: dict[str, dict[str, Any]] = {}
    for name, table in sorted(given.items()):
        options = METHODS.get(name).Options
        known = {f.name for f in fields(options)}
        for key, (value, where) in table.items():
            if key not in known:
                raise ConfigError(f"{where}: {name} has no option {key!r}; its options: "
                                  f"{', '.join(sorted(known)) or 'none'}")
            try:
                adapter_for(options).validate_python({key: value})
            except ValidationError as err:
                problem = err.errors(include_url=False)[0]
                described = _described(options, key)
                allowed = (f"it should be {described}" if described else
                           _PLAIN.get(problem["type"]) or problem["msg"].replace("Input should be", "it should be"))
                raise ConfigError(f"{where} = {_short(value)}: {allowed}") from None
        checked[name] = {key: value for key, (value, _) in table.items()}
    return checked


def _described(options: type, key: str) -> Optional[str]:
    """An option's allowed values in words, where it declares them (a union's errors name each member)."""
    from typing import get_type_hints

    hint = get_type_hints(options, include_extras=True).get(key)
    return next((m.description for m in getattr(hint, "__metadata__", ()) if getattr(m, "description", None)), None)


def _one_line(err: ValidationError, values: Mapping[str, Any], origin: Mapping[str, str]) -> str:
    """The first problem: where the value came from, the value, and what is allowed."""
    problem = err.errors(include_url=False)[0]
    key = next((str(part) for part in problem["loc"] if isinstance(part, str) and part != "compute"), "?")
    given = values.get(key, problem.get("input"))
    if key in _ALLOWED:
        allowed = f"it should be {_ALLOWED[key]}"
    else:
        allowed = _PLAIN.get(problem["type"]) or problem["msg"].replace("Input should be", "it should be")
    where = origin.get(key, key)
    return f"{where} = {_short(given)}: {allowed}"


def _short(value: Any) -> str:
    text = repr(str(value) if isinstance(value, Path) else value)
    return text if len(text) <= 80 else text[:77] + "..."


def _as_tuple(value: Any) -> Any:
    """A comma-separated string (command line) or a list (TOML) as a tuple; anything else is left for the schema
    to refuse with its type."""
    if isinstance(value, str):
        if value.strip() == "none":
            return ()
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        return value
    return tuple(v.strip() if isinstance(v, str) else v for v in value if not isinstance(v, str) or v.strip())


def _label_map(value: Any) -> tuple[tuple[str, str], ...]:
    """'LABEL_0=negative,LABEL_1=positive' (command line) or a TOML table {LABEL_0 = "negative"}."""
    pairs = list(value.items()) if isinstance(value, dict) else []
    if isinstance(value, str):
        for item in filter(None, (v.strip() for v in value.split(","))):
            old, sep, new = item.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise ConfigError(f"--label-map: {item!r} is not MODEL_LABEL=NAME (e.g. LABEL_0=negative)")
            pairs.append((old.strip(), new.strip()))
    if not pairs or not all(isinstance(new, str) and new.strip() for _, new in pairs):
        raise ConfigError("--label-map: give MODEL_LABEL=NAME pairs, e.g. LABEL_0=negative,LABEL_1=positive")
    names = [new for _, new in pairs]
    if len(set(names)) != len(names) or len({old for old, _ in pairs}) != len(pairs):
        raise ConfigError("--label-map: each model label and each new name may appear once")
    return tuple((str(old), str(new)) for old, new in pairs)


def _check_together(cfg: BuildConfig) -> None:
    """Options that are each valid but cannot work together."""
    if cfg.engine == "local":
        given = [f"--{name.replace('_', '-')}" for name in ENGINE_FIELDS[1:] if getattr(cfg, name) is not None]
        if given:
            raise ConfigError(f"{given[0]} applies to --engine ray; add --engine ray or leave it out")
    if cfg.probe_train is not None and cfg.probe_from is not None:
        raise ConfigError("--probe-train fits new probes and --probe-from reuses a report's probes: give one")
    methods = cfg.compute.methods
    if not methods:
        raise ConfigError("methods must name at least one attribution method")
    if len(set(methods)) != len(methods):
        raise ConfigError(f"methods lists a method twice: {', '.join(methods)}")
    stride, window = cfg.compute.window_stride, cfg.compute.max_length
    if stride is not None and window is not None and stride >= window:
        raise ConfigError(f"--window-stride {stride} must be smaller than the window (--max-length {window}): "
                          "neighbouring windows share that many pieces, so each window must add new ones")


def source_date_epoch() -> Optional[int]:
    """The only build time a site may carry (reproducible builds)."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"SOURCE_DATE_EPOCH must be an integer, got {value!r}") from None
