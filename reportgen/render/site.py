"""render_site(): bundle -> pages -> a complete site folder, swapped in only when everything is written."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import bokeh
from jinja2 import TemplateError

from reportgen import i18n
from reportgen.bundle import ReportBundle, save_bundle
from reportgen.errors import ConfigError, ThemeError
from reportgen.progress import release_memory, settled_heap
from reportgen.render import structure
from reportgen.render.pages import Gathered, navigation, written
from reportgen.render.single_file import single_file_html
from reportgen.render.templates import make_environment, static_files, theme_dirs
from reportgen.render.wording import js_words, localized
from reportgen.render.writer import SiteWriter, plan_output, plan_single_file, remove_debris

log = logging.getLogger(__name__)

BOKEH_FILES = ("bokeh.min.js", "bokeh-widgets.min.js")


def bokeh_scripts() -> list[str]:
    """Site-relative paths of BokehJS, written once per site (never a CDN, never inlined per page)."""
    return [f"static/bokeh/{name.replace('.min.js', '')}-{bokeh.__version__}.min.js" for name in BOKEH_FILES]


def render_output(
    bundle: ReportBundle,
    out: Path,
    theme: str,
    manifest: dict[str, Any],
    build_epoch: Optional[int],
    progress: Callable[[str, int], Any],
    single_file: bool,
    lang: str = "en",
) -> Path:
    """The site folder at out, or with single_file one HTML file (out, with .html added when it has no
    such suffix) folded from a site built in a temporary folder beside it, in the reader's language lang.
    Returns what was written."""
    with i18n.activated(lang):
        return output_site(lambda folder: render_site(bundle, folder, theme, manifest, build_epoch, progress), out,
                           single_file)


def output_site(write: Callable[[Path], None], out: Path, single_file: bool, fold: Callable[[Path], str] = lambda site:
                single_file_html(site, bokeh_scripts())) -> Path:
    """write(folder) writes a whole site; here it goes to out, or folded into one HTML file by fold. Returns what
    was written."""
    try:
        return _output_site(write, out, single_file, fold)
    except OSError as err:
        # A full disk or a folder that became read-only: what is written so far is removed, an earlier site or file
        # at out is as it was (the writer installs only a finished site).
        where = f" ({err.filename})" if err.filename else ""
        raise ConfigError(f"writing {out} failed: {err.strerror or err}{where}; nothing was changed there") from None


def _output_site(write: Callable[[Path], None], out: Path, single_file: bool, fold: Callable[[Path], str]) -> Path:
    if not single_file:
        write(out)
        return out / "index.html"
    target = single_file_target(out)
    plan_single_file(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_debris(target)
    # Named like every other temporary entry of reportgen's, so a later build removes it after a SIGKILL.
    work = target.parent / f".{target.name}.building-{os.getpid()}"
    try:
        write(work / "site")
        text = fold(work / "site")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    partial = target.with_name(f".{target.name}.writing-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)  # readers never see half a file
    finally:
        partial.unlink(missing_ok=True)
    return target


def single_file_target(out: Path) -> Path:
    return out if out.suffix == ".html" else out.with_name(out.name + ".html")


def check_output(out: Path, single_file: bool, inputs: Iterable[Optional[Path]] = ()) -> None:
    """Every refusal about the output happens here, before a model is loaded or anything is computed."""
    if single_file:
        plan_single_file(single_file_target(out))
    else:
        plan_output(out, inputs)


def render_site(
    bundle: ReportBundle,
    out: Path,
    theme: str,
    manifest: dict[str, Any],
    build_epoch: Optional[int],
    progress: Callable[[str, int], Any],
) -> None:
    dirs = theme_dirs(theme)
    env = make_environment(dirs)
    original, bundle = bundle, localized(bundle)  # pages in the active language; data/ as the bundle holds it
    pages = written(bundle)
    site = {**structure.site_view(bundle, build_epoch), "nav": navigation(bundle), "lang": i18n.html_lang(),
            "js_words": js_words(),
            "has_model_page": any(p.name == "model.html" for p in pages)}
    common = {"site": site, "bokeh_scripts": bokeh_scripts()}
    writer = SiteWriter(out)
    try:
        def page(template: str, relative: str, **context: Any) -> None:
            root = "../" * relative.count("/")
            try:
                html = env.get_template(template).render(root=root, page=relative, **common, **context)
            except TemplateError as err:  # a custom theme's mistake: say where, not a traceback
                where = f"{err.filename}:{err.lineno}" if getattr(err, "lineno", None) else template
                raise ThemeError(f"theme {theme!r}: {where}: {err.message or type(err).__name__}") from None
            writer.write_text(relative, html)

        # One chunk of examples in memory at a time: its table rows, its view data, the pages of its paged examples.
        bar = progress("Writing pages", len(bundle.examples))
        heatmap = structure.attention_plot(bundle)
        paged = set(bundle.pages)
        metric_values = structure.MetricValues(bundle)
        with settled_heap():
            for n, examples in enumerate(bundle.examples.chunks()):
                writer.write_text(structure.row_script_name(n), data_script("rows", n, structure.table_rows(
                    bundle, n, examples)))
                writer.write_text(structure.view_script_name(n), data_script("view", n, {
                    ex.slug: structure.view_record(bundle, ex) for ex in examples}))
                for ex in examples:
                    if ex.slug in paged:
                        page("example.html", f"examples/{ex.slug}.html",
                             view=structure.example_view(bundle, ex, heatmap))
                metric_values.add(examples)
                bar.update(len(examples))
                release_memory()
        bar.close()
        gathered = Gathered(metric_values)
        for declared in pages:
            page(declared.template, declared.name, view=declared.view(bundle, gathered))
        copy_assets(writer, dirs)
        save_bundle(original, writer.path("data"))
        writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise
    log.info("wrote %d example pages (of %d examples) to %s", len(bundle.pages), len(bundle.examples), out)


def copy_assets(writer: SiteWriter, dirs: list[Path]) -> None:
    """The theme's static files and BokehJS, into the site being written (a report's or a comparison's)."""
    for relative, source in static_files(dirs).items():
        writer.copy(source, f"static/{relative}")
    bokeh_js = Path(bokeh.__file__).parent / "server" / "static" / "js"
    for name, target in zip(BOKEH_FILES, bokeh_scripts()):
        writer.copy(bokeh_js / name, target)


def data_script(kind: str, n: int, payload: Any) -> str:
    """A chunk of data as a script (a page opened from file:// may load scripts but not fetch() JSON)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    # "</script" and "<!--" cannot occur inside the JSON (a text may hold either): "<" is escaped.
    safe = text.replace("<", "\\u003c")
    return f"(window.reportgenData=window.reportgenData||[]).push([{json.dumps(kind)},{n},{safe}]);\n"
