"""The Python API: build and re-render reports from notebooks and pipelines. The command line is a thin layer over
build_report and render_report; both raise the same one-line ReportgenError exceptions the command line prints.

    import reportgen
    report = reportgen.build_report(df, out="report/", global_analysis=False)
    report.accuracy, report.findings, report.index   # headline numbers, alerts, the site's entry page
    report                                           # in Jupyter: the report inline
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from reportgen.errors import InputError, first_line

# The name of the file in-memory examples are written to: every record and the manifest carry it, so the same rows
# give the same bytes whichever temporary folder held them.
IN_MEMORY_EXAMPLES = "examples.jsonl"


@dataclass(frozen=True)
class Finding:
    """An alert of the report: severity (info, warning, error), a stable code and the sentence the site shows."""

    severity: str
    code: str
    message: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A built report: where it is, its headline numbers and its alerts."""

    path: Path  # the site folder, or the HTML file of a single-file report
    examples: int
    accuracy: Optional[float]  # held-out accuracy on the labelled, readable examples; None without labels
    unreadable: int  # examples mostly [UNK] to the model's tokenizer
    seconds: float
    findings: tuple[Finding, ...] = field(default=())
    failing: tuple[Finding, ...] = field(default=())  # the findings at or above fail_on, when it was given

    @property
    def single_file(self) -> bool:
        return self.path.is_file()

    @property
    def index(self) -> Path:
        """The page to open first."""
        return self.path if self.single_file else self.path / "index.html"

    def single_file_html(self) -> str:
        """The whole report as one self-contained HTML document (rendered from the site's data/ if needed)."""
        if self.single_file:
            return self.path.read_text(encoding="utf-8")
        with tempfile.TemporaryDirectory(prefix="reportgen-inline-") as work:
            return render_report(self.path, Path(work) / "report.html", single_file=True).path.read_text(
                encoding="utf-8")

    def _repr_html_(self) -> str:
        """Jupyter: an iframe of the site when the notebook's server can reach it (a folder below the working
        directory), else the single-file form inline, which needs no server."""
        relative = _below_cwd(self.index)
        if relative is not None and not self.single_file:
            return (f'<iframe src="{html.escape(relative.as_posix())}" title="reportgen report" '
                    'style="width:100%;height:720px;border:1px solid #ccc"></iframe>')
        return (f'<iframe srcdoc="{html.escape(self.single_file_html())}" title="reportgen report" '
                'style="width:100%;height:720px;border:1px solid #ccc"></iframe>')


def build_report(examples: Any = None, *, model: Any = None, tokenizer: Any = None, out: Any = None,
          config: Optional[os.PathLike | str] = None, command_line: Optional[Sequence[str]] = None,
          **options: Any) -> Report:
    """Compute explanations and write the report.

    examples: a JSONL or CSV path, a list of dicts (fields as in the examples file: text, id, label, text_pair,
      rationale, rationale_pair, note), a pandas DataFrame or a Hugging Face datasets.Dataset with those columns;
      None: the config file's, else the demo's.
    model: a folder or hub id, a transformers model object (with tokenizer=), or None for the default model.
    out: the site folder (or the HTML file with single_file=True).
    config: a reportgen.toml; options override it, as on the command line (None: ./reportgen.toml or
      inputs/reportgen.toml when no examples are given, as `reportgen build` does).
    options: every `reportgen build` option by its Python name (methods as a list or "all", metrics="all",
      global_analysis=False, pages=10, fail_on="warning", ...), and methods' own options as
      options={METHOD: {KEY: VALUE}} (what --option METHOD.KEY=VALUE sets; `reportgen methods` lists them).
    """
    from reportgen.build import run_build
    from reportgen.config import find_config, load_config

    if model is not None and not isinstance(model, (str, os.PathLike)):
        model_object: Optional[tuple[Any, Any]] = (model, tokenizer)
        model = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
    elif tokenizer is not None:
        raise InputError("tokenizer= goes with a model object; a model folder or hub id brings its own")
    else:
        model_object = None
    given = {**options, "model": None if model is None else str(model), "out": out}
    with _examples_file(examples) as (path, where):
        given["examples"] = path
        try:
            config_file = find_config(None if config is None else Path(config), examples is not None)
            cfg = load_config(config_file, given)
            if where is not None:
                cfg = dataclasses.replace(cfg, examples_shown_as=f"{IN_MEMORY_EXAMPLES} ({where} rows in memory)")
            with _model_kept_as_it_was(model_object):
                result = run_build(cfg, list(command_line or ["reportgen.build_report"]), model_object)
        except InputError as err:
            if where is not None:  # in-memory rows: say "row 7", not a temporary file's path
                err.message = err.message.replace(f"{path}:", f"{where} row ").replace(str(path), where)
            raise
    return Report(
        path=_site_path(Path(result["out"]), cfg.single_file), examples=result["examples"], accuracy=result["accuracy"],
        unreadable=result["unreadable"], seconds=result["seconds"],
        findings=tuple(_finding(f) for f in result["findings"]), failing=tuple(_finding(f) for f in result["failing"]))


def render_report(bundle: os.PathLike | str, out: os.PathLike | str, *, theme: str = "default",
                  single_file: bool = False, lang: str = "en",
                  command_line: Optional[Sequence[str]] = None) -> Report:
    """Re-render a built site (or its data/ folder) with another theme or as one file: no model, no recompute."""
    import time

    from reportgen.bundle import load_bundle
    from reportgen.config import source_date_epoch
    from reportgen.i18n import catalogue, language
    from reportgen.progress import progress_bar
    from reportgen.render.site import check_output, render_output
    from reportgen.render.wording import worded

    started = time.perf_counter()
    code = language(lang)
    catalogue(code)
    bundle_dir, out = Path(bundle), Path(out)
    check_output(out, single_file)
    data_dir = bundle_dir / "data" if (bundle_dir / "data").is_dir() else bundle_dir
    try:
        loaded = load_bundle(data_dir)
        manifest = _earlier_manifest(data_dir.parent / "manifest.json")
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
        raise InputError(f"{data_dir}: not a reportgen bundle this version can read ({first_line(err)})") from None
    manifest.pop("files", None)
    manifest.pop("generator", None)
    manifest["rendered_from"] = {"command": list(command_line or ["reportgen.render_report"]), "theme": theme}
    try:
        written = render_output(loaded, out, theme, manifest, source_date_epoch(), progress_bar, single_file, code)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        # Examples and attention maps are read while the pages are written: a damaged or tampered chunk, a link
        # out of the bundle or a missing field shows up here, and the earlier site at `out` is left as it was.
        raise InputError(f"{data_dir}: a damaged bundle, nothing written ({first_line(err)})") from None
    summary = loaded.summary
    return Report(path=_site_path(Path(written), single_file), examples=len(loaded.examples),
                  accuracy=summary.accuracy, unreadable=len(summary.unreadable),
                  seconds=time.perf_counter() - started,
                  findings=tuple(_finding(f) for f in worded(summary.findings, loaded.methods)))


@dataclass(frozen=True)
class ComparisonReport:
    """What `compare_reports` wrote and the figures a caller gates on."""

    path: Path  # the comparison site's folder, or its one HTML file
    examples: int
    flips: int
    accuracy: Optional[tuple[float, float]]  # (OLD, NEW) on the labelled examples both read
    p_value: Optional[float]  # exact McNemar
    failed: tuple[str, ...]  # one line per --fail-on policy that failed
    seconds: float


def compare_reports(old: os.PathLike | str, new: os.PathLike | str, out: os.PathLike | str, *,
                    theme: str = "default", single_file: bool = False, fail_on: Sequence[str] = (), lang: str = "en",
                    command_line: Optional[Sequence[str]] = None) -> ComparisonReport:
    """Compare two built reports of the same examples (site folders or their data/): no model, no torch. The
    comparison is written whatever the policies say; `failed` lists those it fails."""
    import time

    from reportgen.compare.compute import compare_bundles
    from reportgen.compare.gate import failure, parse_policy
    from reportgen.compare.reports import open_report
    from reportgen.config import source_date_epoch
    from reportgen.i18n import activated, catalogue, language
    from reportgen.render.compare_pages import fold_comparison, write_comparison_site
    from reportgen.render.site import check_output, output_site

    started = time.perf_counter()
    policies = [parse_policy(p) for p in fail_on]
    code = language(lang)
    catalogue(code)
    old_path, new_path, out = Path(old), Path(new), Path(out)
    check_output(out, single_file, [old_path, new_path])
    old_bundle, new_bundle = open_report(old_path, "OLD"), open_report(new_path, "NEW")
    try:
        comparison, pairs = compare_bundles(old_bundle, new_bundle, old_path, new_path)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise InputError(f"{old_path} or {new_path}: a damaged bundle ({first_line(err)})") from None
    manifest = {"command": list(command_line or ["reportgen.compare_reports"]),
                "compared": {"old": str(old_path), "new": str(new_path)}}
    with activated(code):
        written = output_site(lambda folder: write_comparison_site(
            comparison, pairs, old_bundle, new_bundle, folder, theme, source_date_epoch(), manifest), out,
            single_file, fold_comparison)
    a = comparison.accuracy
    return ComparisonReport(
        path=_site_path(written, single_file), examples=comparison.examples, flips=len(comparison.flips),
        accuracy=None if a is None else (a.old, a.new),
        p_value=None if comparison.mcnemar is None else comparison.mcnemar.p_value,
        failed=tuple(reason for reason in (failure(p, comparison) for p in policies) if reason),
        seconds=time.perf_counter() - started)


def _site_path(written: Path, single_file: bool) -> Path:
    """What the renderer wrote (a folder's index.html, or the one file), as the report's absolute path: a notebook
    may change its working directory later."""
    return (written if single_file else written.parent).absolute()


def _earlier_manifest(path: Path) -> dict[str, Any]:
    """The built site's manifest, whose provenance a re-rendered site keeps; none beside a bare data/ folder."""
    from reportgen.safe_files import read_regular

    if not os.path.lexists(path):
        return {}
    manifest = json.loads(read_regular(path, path.parent))
    if not isinstance(manifest, dict):
        raise ValueError("manifest.json is not a JSON object")
    return manifest


def _finding(raw: Mapping[str, Any]) -> Finding:
    return Finding(raw["severity"], raw["code"], raw["message"], tuple(raw.get("examples") or ()))


@contextmanager
def _examples_file(examples: Any) -> Iterator[tuple[Optional[Path], Optional[str]]]:
    """(the file to read, how to name a row in messages): a path as it is, in-memory rows written as JSONL."""
    if examples is None or isinstance(examples, (str, os.PathLike)):
        yield (None if examples is None else Path(examples)), None
        return
    rows, where = _rows(examples)
    work = Path(tempfile.mkdtemp(prefix="reportgen-examples-"))
    try:
        path = work / IN_MEMORY_EXAMPLES
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                handle.write(json.dumps(_plain_row(row), ensure_ascii=False, default=_plain_value) + "\n")
        yield path, where
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _rows(examples: Any) -> tuple[Iterable[Mapping[str, Any]], str]:
    """Duck-typed, so neither pandas nor datasets is a dependency."""
    if hasattr(examples, "to_dict") and hasattr(examples, "columns"):  # pandas.DataFrame
        return examples.to_dict(orient="records"), "DataFrame"
    if hasattr(examples, "to_list") and hasattr(examples, "features"):  # datasets.Dataset
        return examples.to_list(), "Dataset"
    if isinstance(examples, Mapping) or not isinstance(examples, Iterable):
        raise InputError(f"examples: expected a file path, a list of dicts, a pandas DataFrame or a datasets.Dataset, "
                         f"got {type(examples).__name__}")
    rows = list(examples)
    bad = next((i for i, row in enumerate(rows) if not isinstance(row, Mapping)), None)
    if bad is not None:
        raise InputError(f"examples row {bad + 1}: expected a dict with a 'text' field, got {type(rows[bad]).__name__}")
    return rows, "examples"


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A DataFrame fills a missing cell with NaN (or None): the field is absent, as in a JSONL line without it."""
    return {str(k): v for k, v in row.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}


def _plain_value(value: Any) -> Any:
    """numpy scalars and arrays (DataFrame cells) as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@contextmanager
def _model_kept_as_it_was(model_object: Optional[tuple[Any, Any]]) -> Iterator[None]:
    """A build puts the model in eval mode on its device with frozen parameters; a caller's model (mid-training,
    say) gets its mode, device and requires_grad flags back afterwards."""
    if model_object is None or not hasattr(model_object[0], "parameters"):
        yield
        return
    model = model_object[0]
    training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    device = next(model.parameters()).device if flags else None
    try:
        yield
    finally:
        model.train(training)
        for param, flag in zip(model.parameters(), flags):
            param.requires_grad_(flag)
        if device is not None:
            model.to(device)


def _below_cwd(path: Path) -> Optional[Path]:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return None

