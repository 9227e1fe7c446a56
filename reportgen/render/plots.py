"""Bokeh figures, serialised with json_item and renumbered ids so rebuilds are byte-identical."""

from __future__ import annotations

import base64
import json
from typing import Any, Optional, Sequence

import numpy as np
from bokeh.embed import json_item
from bokeh.layouts import column, row
from bokeh.models import (
    BasicTickFormatter,
    ColorBar,
    ColumnDataSource,
    CustomJS,
    CustomJSHover,
    FixedTicker,
    HoverTool,
    InlineStyleSheet,
    LinearColorMapper,
    Range1d,
    Select,
    Span,
    Toolbar,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure
from markupsafe import Markup

from reportgen.attention import attention_rollout
from reportgen.bundle.attention_maps import quantise
from reportgen.bundle.summary import WordScore
from reportgen.i18n import _

# Beyond this many tokens a heatmap is unreadable and its page data grows with the square of the length.
MAX_HEATMAP_TOKENS = 128


def responsive(width: int) -> dict[str, Any]:
    """A chart that fills its box up to `width` px, so a 390 px phone never scrolls sideways."""
    return {"sizing_mode": "stretch_width", "max_width": width}


def attention_data(attention: np.ndarray, tokens: Sequence[str], segments: Sequence[int], label: str,
                   window: int = 0) -> Markup:
    """Per-page data for the shared heatmap: every layer's heads, their mean, and the rollout.

    attention: float[layers, heads, seq, seq]. Each map is quantised to 8 bits against its own maximum as the
    bundle stores it (bundle/attention_maps.py: levels of the square root, the scale travels with it), which
    keeps pages small. Layout of `maps`: for each layer, the mean over heads then each head, then the rollout;
    each map row-major [query, key]."""
    n_layers, n_heads, _, _ = attention.shape
    # Rollout needs the whole sequence; the page then shows the leading block that fits.
    rollout = attention_rollout(attention)
    n = min(attention.shape[-1], MAX_HEATMAP_TOKENS)
    att = attention[:, :, :n, :n].astype(np.float32)
    tokens = list(tokens)[:n]
    maps = []
    for layer in range(n_layers):
        maps.append(att[layer].mean(axis=0))
        maps.extend(att[layer, h] for h in range(n_heads))
    maps.append(rollout[:n, :n])
    stack = np.stack(maps)  # [views, n, n]
    scales = stack.reshape(len(maps), -1).max(axis=1)
    quantised = quantise(stack, scales)
    segments = list(segments)[:n]
    pair_start = next((i for i, seg in enumerate(segments) if seg == 1), None)
    payload = {
        "label": label,
        "tokens": [f"{i}: {t}" for i, t in enumerate(tokens)],
        "short": list(tokens),
        # [CLS]/[SEP] take most attention in many heads; the colour scale ends at the largest weight between
        # ordinary tokens so the rest stays readable (special cells above it are drawn at full colour).
        "special": [i for i, seg in enumerate(segments) if seg < 0],
        "pair_start": pair_start,
        "layers": n_layers,
        "heads": n_heads,
        "scales": [float(f"{v:.6g}") for v in scales],
        "maps": base64.b64encode(quantised.tobytes()).decode("ascii"),
    }
    return json_script(payload, f'class="attention-data" data-window="{int(window)}"')


def attention_heatmap(n_layers: int, n_heads: int, target_id: str) -> Markup:
    """One heatmap layout for every example page: static/reportgen.js fills it from the page's data
    block, so the Bokeh document is built once per site instead of once per page."""
    source = ColumnDataSource({"x": [], "y": [], "w": []}, name="attn-source")
    mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0, name="attn-mapper")
    fig = figure(
        width=600, height=520, x_range=Range1d(-0.5, 0.5, name="attn-x"), y_range=Range1d(0.5, -0.5, name="attn-y"),
        tools="hover,save,reset,box_zoom", toolbar_location="below", name="attn-figure", title=_("Attention"),
        x_axis_label=_("attended-to token (key)"), y_axis_label=_("attending token (query)"),
    )
    fig.rect("x", "y", 1, 1, source=source, fill_color={"field": "w", "transform": mapper}, line_color=None)
    token_label = CustomJSHover(code="return window.reportgen.tokenLabel(value)")
    hover = fig.select_one(HoverTool)
    hover.tooltips = [(_("query"), "@y{token}"), (_("key"), "@x{token}"), (_("weight"), "@w{0.0000}")]
    hover.formatters = {"@x": token_label, "@y": token_label}
    fig.xaxis[0].ticker = FixedTicker(ticks=[], name="attn-xticks")
    fig.yaxis[0].ticker = FixedTicker(ticks=[], name="attn-yticks")
    fig.xaxis[0].name, fig.yaxis[0].name = "attn-xaxis", "attn-yaxis"
    fig.xaxis.major_label_orientation = 1.2
    fig.grid.visible = False
    # Where the text pair starts (premise | hypothesis): set and shown by static/reportgen.js for pairs only.
    for dimension, name in (("height", "attn-sep-x"), ("width", "attn-sep-y")):
        fig.add_layout(Span(location=0, dimension=dimension, line_color="#ffffff", line_width=2,
                            line_dash="dashed", visible=False, name=name))
    fig.add_layout(ColorBar(color_mapper=mapper, width=12, title=_("attention weight"), name="attn-colorbar",
                            formatter=BasicTickFormatter(use_scientific=False)), "right")
    # The values are what static/reportgen.js reads ("rollout", "mean", numbers); the labels are the reader's.
    layer = Select(title=_("Layer"), value=str(n_layers), name="attn-layer",
                   options=[(str(i + 1), str(i + 1)) for i in range(n_layers)] + [("rollout", _("rollout"))])
    head = Select(title=_("Head"), value="mean", name="attn-head",
                  options=[("mean", _("mean"))] + [(str(h + 1), str(h + 1)) for h in range(n_heads)])
    update = CustomJS(code="window.reportgen.showAttention(cb_obj.document)")
    layer.js_on_change("value", update)
    head.js_on_change("value", update)
    return embed(column(row(layer, head), fig), target_id)


def top_words_chart(words: Sequence[WordScore], title: str, target_id: str) -> Markup:
    """Horizontal bars: the words with the most normalised attribution across the data set."""
    words = list(words)[::-1]  # largest at the top
    names = [w.word for w in words]
    source = ColumnDataSource(
        {"word": names, "score": [w.score for w in words], "examples": [w.examples for w in words]}
    )
    fig = figure(
        y_range=names, **responsive(620), height=int(60 + 24 * max(len(names), 1)), title=title,
        tools="hover", toolbar_location=None, x_axis_label=_("summed share of |attribution| per example"),
        y_axis_label=_("word"),
    )
    fig.hbar(y="word", right="score", height=0.7, source=source, color="#e66101")
    fig.select_one(HoverTool).tooltips = [(_("word"), "@word"), (_("score"), "@score{0.000}"),
                                          (_("examples"), "@examples")]
    fig.ygrid.visible = False
    return embed(fig, target_id)


def categorical(n: int) -> list[str]:
    """n distinct colours: Okabe-Ito (colour-blind safe) up to 8, Category20 up to 20, then Turbo sampled
    evenly, so 27 classes get 27 colours (a shorter palette greys the rest out)."""
    from bokeh.palettes import Category20, Colorblind, turbo

    if n <= 8:
        return list(Colorblind[8])[:n]
    if n <= 20:
        return list(Category20[20])[:n]
    return list(turbo(n))


def metric_distribution(values: dict[str, list[float]], title: str, target_id: str,
                        x_label: Optional[str] = None) -> Markup:
    """One dot per example and method (jittered), plus each method's mean as a bar mark."""
    from bokeh.transform import jitter

    names = list(values)[::-1]
    xs, ys = [], []
    for name in names:
        xs.extend(values[name])
        ys.extend([name] * len(values[name]))
    fig = figure(y_range=names, **responsive(620), height=int(70 + 30 * len(names)), title=title,
                 tools="hover", toolbar_location=None, x_axis_label=x_label or _("value"), y_axis_label=_("method"))
    fig.scatter(x="x", y=jitter("y", width=0.5, range=fig.y_range), source=ColumnDataSource({"x": xs, "y": ys}),
                size=4, alpha=0.35, color="#0072B2")
    means = [float(np.mean(values[n])) if values[n] else float("nan") for n in names]
    fig.scatter(x=means, y=names, marker="dash", size=22, line_width=3, color="#D55E00")
    fig.select_one(HoverTool).tooltips = [(_("method"), "@y"), (_("value"), "@x{0.000}")]
    fig.ygrid.visible = False
    return embed(fig, target_id)


CURVES_SHOWN = 6  # lines drawn at first; the others wait in the legend (a click shows one), so 18 do not overlap


def removal_curves(curves: dict[str, list[float]], title: str, target_id: str,
                   shown: Optional[Sequence[str]] = None) -> Markup:
    """Mean probability of the explained class as the top-ranked pieces are removed (or kept). shown: the curves
    drawn at first (every one when None); the legend lists all of them and is tall enough to."""
    steps = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    height = max(360, 60 + 22 * len(curves))
    fig = figure(**responsive(860), height=height, title=title,
                 x_axis_label=_("share of word pieces ranked highest (%)"),
                 y_axis_label=_("mean probability of the explained class"), tools="hover,save,reset",
                 toolbar_location="below")
    dashes = ["solid", "dashed", "dotted", "dotdash"]
    for k, (name, ys) in enumerate(curves.items()):
        fig.line(steps[: len(ys)], ys, legend_label=name, color=categorical(len(curves))[k], line_width=2,
                 line_dash=dashes[(k // 8) % len(dashes)], visible=shown is None or name in shown)
    fig.add_layout(fig.legend[0], "right")  # beside the plot, never over the lines
    fig.legend.label_text_font_size = "9pt"
    fig.legend.click_policy = "hide"
    fig.select_one(HoverTool).tooltips = [(_("share"), "@x%"), (_("probability"), "@y{0.000}")]
    return embed(fig, target_id)


def embed(model: Any, target_id: str) -> Markup:
    """The plot's <div> and a <script type="application/json"> block that static/reportgen.js hands to BokehJS."""
    _plain_ticks(model)
    _hidden_in_print(model)
    item = _stable_ids(json_item(model, target_id), prefix=target_id)
    return Markup(f'<div class="plot" id="{target_id}"></div>') + json_script(
        item, f'class="bokeh-item" data-target="{target_id}"'
    )


def _plain_ticks(model: Any) -> None:
    """Every axis and colour bar writes plain decimals: "0.004", never Bokeh's default "4.000e-3"."""
    for formatter in model.select({"type": BasicTickFormatter}):
        formatter.use_scientific = False
    for bar in model.select({"type": ColorBar}):
        if not isinstance(bar.formatter, BasicTickFormatter):
            bar.formatter = BasicTickFormatter(use_scientific=False)


SCREEN_ONLY = "@media print { :host { display: none !important; } }"


def _hidden_in_print(model: Any) -> None:
    """Toolbars and pickers are for the screen. They live in Bokeh's shadow DOM, out of the page's style sheet's
    reach, so each carries its own print rule."""
    for part in [*model.select({"type": Toolbar}), *model.select({"type": Select})]:
        part.stylesheets = [*part.stylesheets, InlineStyleSheet(css=SCREEN_ONLY)]


def json_script(payload: Any, attributes: str) -> Markup:
    # No sort_keys: BokehJS resolves a reference only after the object it names was defined, in order.
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    # Inside <script>, "</" would end the block; \u escapes keep the JSON identical once parsed.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" {attributes}>{text}</script>')


def _stable_ids(item: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Bokeh numbers models from a process-wide counter; renumber them in order of appearance."""
    mapping: dict[str, str] = {}

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key in ("id", "root_id") and isinstance(value, str):
                    value = mapping.setdefault(value, f"{prefix}-{len(mapping) + 1}")
                out[key] = visit(value)
            return out
        if isinstance(node, (list, tuple)):  # Bokeh uses tuples for map entries
            return [visit(v) for v in node]
        return node

    doc = visit(item["doc"])
    return {"target_id": item["target_id"], "root_id": mapping[item["root_id"]], "doc": doc}
