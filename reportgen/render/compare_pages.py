"""The comparison site: an overview written from comparison.json, every flip, and a side-by-side page per flipped
or most-moved example; the report's theme, navigation, print and file:// rules, and its writer (the folder is
swapped in whole, with a manifest of checksums)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from reportgen import __version__, i18n
from reportgen.bundle import ReportBundle
from reportgen.bundle.records import Word, dumps
from reportgen.bundle.typed import plain
from reportgen.compare.align import Aligned, PairRecord
from reportgen.compare.records import COMPARISON_FILE, Comparison
from reportgen.i18n import N_, _
from reportgen.render import compare_wording as say
from reportgen.render.formatting import timestamp
from reportgen.render.highlight import highlight
from reportgen.render.model_plots import by_layer
from reportgen.render.plots import metric_distribution
from reportgen.render.single_file import single_file_html
from reportgen.render.site import bokeh_scripts, copy_assets
from reportgen.render.templates import make_environment, theme_dirs
from reportgen.render.wording import finding_message, js_words, report_title, titles_of
from reportgen.render.writer import SiteWriter

NAV = ((N_("Overview"), "index.html"), (N_("Flips"), "flips.html"), (N_("Raw data"), f"data/{COMPARISON_FILE}"))
ALERT_STATUS = {"new": N_("new"), "gone": N_("gone"), "unchanged": N_("unchanged")}
PAGES_OF = (("index.html", "flips.html"), "pairs")  # --single-file: the pages in order, and the per-example folder


def fold_comparison(site: Path) -> str:
    """--single-file: the comparison site as one HTML file."""
    return single_file_html(site, bokeh_scripts(), PAGES_OF, (f"data/{COMPARISON_FILE}", "manifest.json"))


def write_comparison_site(c: Comparison, pairs: dict[str, PairRecord], old: ReportBundle, new: ReportBundle,
                          out: Path, theme: str, build_epoch: Optional[int], manifest: dict[str, Any]) -> None:

    dirs = theme_dirs(theme)
    env = make_environment(dirs)
    site = _site(c, build_epoch)
    writer = SiteWriter(out)
    try:
        def page(template: str, relative: str, **view: Any) -> None:
            root = "../" * relative.count("/")
            writer.write_text(relative, env.get_template(template).render(
                root=root, page=relative, site=site, bokeh_scripts=bokeh_scripts(), view=view))

        page("compare.html", "index.html", **overview(c, old, new))
        page("compare_flips.html", "flips.html", flips=c.flips, text=say.flips_text(c))
        lead = c.lead
        for record in pairs.values():
            page("compare_pair.html", f"pairs/{record.slug}.html", **pair_view(c, record, lead, old, new))
        writer.write_text(f"data/{COMPARISON_FILE}", dumps(plain(c), indent=1) + "\n")
        copy_assets(writer, dirs)
        writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise


def _site(c: Comparison, build_epoch: Optional[int]) -> dict[str, Any]:
    built = None if build_epoch is None else timestamp(build_epoch)
    old, new = c.provenance.old, c.provenance.new
    title = (_("%(old)s → %(new)s: what changed") % {"old": old.model, "new": new.model} if old.model != new.model
             else _("Two reports of %(model)s") % {"model": old.model})
    return {"title": title, "version": __version__, "built": built,
            "model_name": f"{old.model} and {new.model}", "errors": [], "prediction_note": None,
            "nav": [{"title": _(t), "page": h, "href": h} for t, h in NAV], "lang": i18n.html_lang(),
            "js_words": js_words()}


def overview(c: Comparison, old: ReportBundle, new: ReportBundle) -> dict[str, Any]:
    shift_plot = None
    values = {s.title: [r for r in c.attribution_shift[s.method].values() if r is not None] for s in c.shift}
    if any(values.values()):
        shift_plot = metric_distribution({_(k): v for k, v in values.items() if v},
                                         _("Rank correlation of the two models' word scores, per example"),
                                         "shift-plot", x_label=_("Spearman rank correlation (1: same order)"))
    g = c.global_analysis
    layers_plot = None
    if g.old_layers and g.new_layers:
        layers_plot = by_layer({"OLD": list(g.old_layers), "NEW": list(g.new_layers)},
                               _("Held-out probe accuracy per layer"), _("accuracy"), "layers-plot")
    return {
        "c": c,
        "sides": [("OLD", c.provenance.old), ("NEW", c.provenance.new)],
        "titles": {side: report_title(s.title, s.model) for side, s in (("OLD", c.provenance.old),
                                                                      ("NEW", c.provenance.new))},
        "predictions": say.predictions_text(c),
        "flips_text": say.flips_text(c),
        "flips": c.flips[:20],
        "confusions": [("OLD", c.confusion.get("old")), ("NEW", c.confusion.get("new"))] if c.confusion else [],
        "labels": old.labels,
        "shift": [{"s": s, "text": say.shift_text(s)} for s in c.shift],
        "shift_plot": shift_plot,
        "quality_note": say.quality_note(c.quality),
        "quality_text": say.quality_text(c),
        "alerts": _alerts(c, old, new),
        "layers_text": say.layers_text(g.old_layers, g.new_layers),
        "layers_plot": layers_plot,
    }


def _alerts(c: Comparison, old: ReportBundle, new: ReportBundle) -> list[dict[str, str]]:
    """Each alert worded from the report it stands in (NEW's, or OLD's for one that is gone)."""
    out = []
    for alert in c.alerts:
        bundle = old if alert.status == "gone" else new
        finding = next(f for f in bundle.summary.findings if f.code == alert.code)
        out.append({"status": alert.status, "status_text": _(ALERT_STATUS[alert.status]), "severity": alert.severity,
                    "message": finding_message(finding, titles_of(bundle.methods))})
    return out


def pair_view(c: Comparison, record: PairRecord, lead: Optional[str], old: ReportBundle,
              new: ReportBundle) -> dict[str, Any]:
    methods = []
    titles = {**titles_of(old.methods), **titles_of(new.methods)}
    signed = {m.name: m.signed for m in new.methods}
    for name, aligned in record.aligned.items():
        rho = c.attribution_shift.get(name, {}).get(record.id)
        methods.append({"title": _(titles[name]), "rho": rho, "lead": name == lead,
                        "old": _pieces(record, aligned, aligned.old, signed[name]),
                        "new": _pieces(record, aligned, aligned.new, signed[name]),
                        "rows": [{"word": _word_text(record, span), "old": a, "new": b}
                                 for span, a, b in zip(aligned.spans, aligned.old, aligned.new)]})
    methods.sort(key=lambda m: not m["lead"])
    return {"r": record, "methods": methods,
            "predictions": [("OLD", record.old, old.labels), ("NEW", record.new, new.labels)]}


def _word_text(record: PairRecord, span: Word) -> str:
    text = record.text if span.segment == 0 else (record.text_pair or "")
    return text[span.start : span.end]


def _pieces(record: PairRecord, aligned: Aligned, scores: Sequence[float], signed: bool) -> list[list[Any]]:
    """The highlighted text (and pair) on one side, on that side's own scale."""
    scale = max((abs(s) for s in scores), default=0.0)
    segments = []
    for segment, text in enumerate((record.text, record.text_pair)):
        if text is None:
            continue
        keep = [(span, s) for span, s in zip(aligned.spans, scores) if span.segment == segment]
        segments.append(highlight(text, [w for w, _ in keep], [s for _, s in keep], scale, signed=signed))
    return segments
