"""Bokeh figures of model.html: layer x head grids, curves by layer, the PCA scatter, the reliability
diagram. Colour-blind-safe palettes (Cividis for magnitudes, Okabe-Ito for categories)."""

from __future__ import annotations

from typing import Any, Sequence

from bokeh.layouts import column
from bokeh.models import (
    BasicTickFormatter,
    CDSView,
    ColorBar,
    ColumnDataSource,
    CustomJS,
    GroupFilter,
    HoverTool,
    LinearColorMapper,
    Select,
)
from bokeh.palettes import Cividis256, PuOr11
from bokeh.plotting import figure
from bokeh.transform import factor_cmap, factor_mark
from markupsafe import Markup

from reportgen.i18n import _
from reportgen.render.plots import categorical, embed, responsive

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def head_grid(values: Sequence[Sequence[float]], title: str, target_id: str, colour_title: str,
              diverging: bool = False, fmt: str = "0.000", harm_positive: bool = False) -> Markup:
    """A layers x heads heatmap (layer 1 at the top), value in the hover. A diverging map draws harm in orange
    whichever sign means harm (harm_positive: a rise, as of the loss; else a fall, as of the accuracy), so maps set
    side by side give one colour one meaning."""
    layers, heads = len(values), len(values[0]) if values else 0
    xs, ys, vs = [], [], []
    for layer in range(layers):
        for head in range(heads):
            xs.append(str(head + 1))
            ys.append(str(layer + 1))
            vs.append(float(values[layer][head]))
    high = max((abs(v) for v in vs), default=1.0) or 1.0
    if diverging:
        palette = list(PuOr11) if harm_positive else list(PuOr11)[::-1]  # PuOr11 runs purple (low) to orange (high)
        mapper = LinearColorMapper(palette=palette, low=-high, high=high)
    else:
        mapper = LinearColorMapper(palette=Cividis256, low=min(vs, default=0.0), high=max(vs, default=1.0))
    fig = figure(x_range=[str(h + 1) for h in range(heads)], y_range=[str(layer) for layer in range(layers, 0, -1)],
                 width=max(260, 30 + 24 * heads), height=max(170, 60 + 24 * layers), title=title,
                 x_axis_label=_("head"), y_axis_label=_("layer"), tools="hover", toolbar_location=None)
    fig.rect("x", "y", 1, 1, source=ColumnDataSource({"x": xs, "y": ys, "v": vs}),
             fill_color={"field": "v", "transform": mapper}, line_color=None)
    # Plain decimals on the colour bar ("0.004", never "4.000e-3"), and a title saying what the colour is.
    fig.add_layout(ColorBar(color_mapper=mapper, width=8, title=colour_title, title_text_font_size="8pt",
                            formatter=BasicTickFormatter(use_scientific=False)), "right")
    fig.select_one(HoverTool).tooltips = [(_("layer"), "@y"), (_("head"), "@x"), (_("value"), f"@v{{{fmt}}}")]
    fig.grid.visible = False
    fig.axis.major_tick_line_color = None
    fig.title.text_font_size = "10pt"
    return embed(fig, target_id)


def by_layer(series: dict[str, Sequence[float | None]], title: str, y_label: str, target_id: str,
             reference: float | None = None, reference_label: str = "") -> Markup:
    """Lines over layers 0 (embeddings) .. L, optionally with a horizontal reference line."""
    fig = figure(**responsive(620), height=320, title=title, x_axis_label=_("layer (0 = embeddings)"),
                 y_axis_label=y_label, tools="hover", toolbar_location=None)
    for k, (name, ys) in enumerate(series.items()):
        pts = [(i, v) for i, v in enumerate(ys) if v is not None]
        fig.line([p[0] for p in pts], [p[1] for p in pts], legend_label=name, color=OKABE_ITO[k % 8], line_width=2)
        fig.scatter([p[0] for p in pts], [p[1] for p in pts], color=OKABE_ITO[k % 8], size=6)
    if reference is not None:
        n = max((len(v) for v in series.values()), default=1)
        fig.line([0, n - 1], [reference, reference], color="#777777", line_dash="dashed", legend_label=reference_label)
    fig.legend.location = "bottom_right"
    fig.select_one(HoverTool).tooltips = [(_("layer"), "@x"), (_("value"), "@y{0.000}")]
    return embed(fig, target_id)


def pruning_curve(points: Sequence[dict[str, Any]], title: str, target_id: str) -> Markup:
    xs = [100 * p.fraction for p in points]
    fig = figure(**responsive(620), height=320, title=title, x_axis_label=_("heads removed, least important first (%)"),
                 y_axis_label=_("accuracy"), y_range=(0, 1.02), tools="hover", toolbar_location=None)
    fig.line(xs, [p.accuracy for p in points], color=OKABE_ITO[0], line_width=2)
    fig.scatter(xs, [p.accuracy for p in points], color=OKABE_ITO[0], size=6)
    fig.select_one(HoverTool).tooltips = [(_("removed"), "@x{0}%"), (_("accuracy"), "@y{0.000}")]
    return embed(fig, target_id)


def projection_scatter(coords: Sequence[Sequence[Sequence[float]]], explained: Sequence[Sequence[float]],
                       gold: Sequence[str], status: Sequence[str], texts: Sequence[str], ids: Sequence[str],
                       labels: Sequence[str], target_id: str) -> Markup:
    """PCA of every layer's pooled states; a Select switches the layer in the browser (no server)."""
    layers = len(coords)
    last = layers - 1
    # status is a code ("correct", "wrong", "no gold label") the markers and the error layer filter on; the hover
    # shows it in the reader's words.
    columns: dict[str, Any] = {"gold": list(gold), "status": list(status), "text": list(texts), "id": list(ids),
                               "status_text": [_(s) for s in status]}
    for layer in range(layers):
        columns[f"x{layer}"] = [c[0] for c in coords[layer]]
        columns[f"y{layer}"] = [c[1] for c in coords[layer]]
    columns["x"], columns["y"] = columns[f"x{last}"], columns[f"y{last}"]
    source = ColumnDataSource(columns, name="pca-source")
    factors = list(labels) + ([_("(no label)")] if _("(no label)") in gold else [])
    fig = figure(**responsive(620), height=460, title=_pca_title(last, explained[last]),
                 tools="hover,pan,wheel_zoom,save,reset", toolbar_location="below",
                 x_axis_label=_("first principal component"), y_axis_label=_("second principal component"))
    points = fig.scatter("x", "y", source=source, size=9, alpha=0.8, legend_field="gold",
                         color=factor_cmap("gold", categorical(len(factors)), factors),
                         marker=factor_mark("status", ["circle", "triangle"], ["correct", "no gold label"]))
    hover = fig.select_one(HoverTool)
    hover.tooltips = [("id", "@id"), (_("gold"), "@gold"), (_("prediction"), "@status_text"), (_("text"), "@text")]
    # The errors are what a reader looks for: drawn last (on top), large, in ink no class has, with an entry of
    # their own in the legend (a class's entry never takes the error's marker).
    if "wrong" in status:
        fig.scatter("x", "y", source=source, view=CDSView(filter=GroupFilter(column_name="status", group="wrong")),
                    size=15, marker="x", line_width=3, color="#000000", legend_label=_("misclassified"))
    hover.renderers = [points]
    fig.legend.title = _("gold label")
    # Beside the points, never over them (a legend inside hid 2 of the demo's 3 misclassified points).
    fig.add_layout(fig.legend[0], "right")
    if len(factors) > 8:
        fig.legend.label_text_font_size = "8pt"
    select = Select(title=_("Layer"), value=str(last), width=160, name="pca-layer",
                    options=[(str(k), _("embeddings") if k == 0 else _("layer %(k)s") % {"k": k})
                             for k in range(layers)])
    titles = [_pca_title(k, explained[k]) for k in range(layers)]
    select.js_on_change("value", CustomJS(args={"source": source, "title": fig.title, "titles": titles}, code="""
        const k = this.value;
        const d = Object.assign({}, source.data);
        d.x = d["x" + k]; d.y = d["y" + k];
        source.data = d;
        title.text = titles[parseInt(k, 10)];
    """))
    return embed(column(select, fig, sizing_mode="stretch_width"), target_id)


def _pca_title(layer: int, explained: Sequence[float]) -> str:
    name = _("embeddings") if layer == 0 else _("layer %(k)s") % {"k": layer}
    return _("PCA of the mean-pooled states, %(layer)s (%(shares)s of the variance)") % {
        "layer": name, "shares": variance_shares(explained)}


def variance_shares(explained: Sequence[float]) -> str:
    """The two components' shares as every page writes them ("12% + 11%": a rounded sum could read 22%)."""
    return f"{explained[0]:.0%} + {explained[1]:.0%}"


def reliability_diagram(bins: Sequence[dict[str, Any]], target_id: str) -> Markup:
    filled = [b for b in bins if b.n]
    fig = figure(**responsive(460), height=480, title=_("Reliability diagram"), x_range=(0, 1), y_range=(0, 1),
                 x_axis_label=_("confidence (probability of the predicted class)"), y_axis_label=_("accuracy"),
                 tools="hover", toolbar_location=None)
    fig.line([0, 1], [0, 1], color="#777777", line_dash="dashed", legend_label=_("perfect calibration"))
    source = ColumnDataSource({
        "x": [(b.low + b.high) / 2 for b in filled], "top": [b.accuracy for b in filled],
        "conf": [b.confidence for b in filled], "n": [b.n for b in filled],
        "range": [f"{b.low:.1f}–{b.high:.1f}" for b in filled],
    })
    fig.vbar(x="x", top="top", width=0.09, source=source, color=OKABE_ITO[0], alpha=0.8, legend_label=_("accuracy"))
    fig.scatter("conf", "top", source=source, color=OKABE_ITO[5], size=7, legend_label=_("mean confidence"))
    fig.select_one(HoverTool).tooltips = [(_("bin"), "@range"), (_("examples"), "@n"), (_("accuracy"), "@top{0.000}"),
                                          (_("mean confidence"), "@conf{0.000}")]
    # Below the plot: inside, it covered the low-confidence bars; vertical, so it fits a phone's width.
    fig.add_layout(fig.legend[0], "below")
    fig.legend.label_text_font_size = "9pt"
    return embed(fig, target_id)
