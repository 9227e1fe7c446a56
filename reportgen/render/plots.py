"""Bokeh figures, serialised with json_item and renumbered ids so rebuilds are byte-identical."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
from bokeh.embed import json_item
from bokeh.layouts import column, row
from bokeh.models import (
    ColorBar, ColumnDataSource, CustomJS, CustomJSHover, FixedTicker, HoverTool, LinearColorMapper, Select,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure
from markupsafe import Markup

from reportgen.compute.attention import attention_rollout

# Quantising each map to 8 bits against its own maximum keeps pages small; the exact float16
# maps are in data/attention/*.npy.
_ATTENTION_JS = """
const li = layer.value === "rollout" ? -1 : parseInt(layer.value) - 1;
const hi = head.value === "mean" ? 0 : parseInt(head.value);
const index = li < 0 ? n_layers * (n_heads + 1) : li * (n_heads + 1) + hi;
const size = n * n;
const scale = scales[index] / 255;
const w = new Float32Array(size);
for (let k = 0; k < size; k++) { w[k] = maps[index * size + k] * scale; }
source.data = Object.assign({}, source.data, {w: w});
mapper.high = Math.max(scales[index], 1e-6);
head.disabled = li < 0;
"""


def attention_heatmap(attention: np.ndarray, tokens: Sequence[str], target_id: str) -> Markup:
    """attention: float[layers, heads, seq, seq]. Reader picks layer and head (or mean, or rollout)."""
    n_layers, n_heads, n, _ = attention.shape
    att = attention.astype(np.float32)
    maps = []
    for layer in range(n_layers):
        maps.append(att[layer].mean(axis=0))
        maps.extend(att[layer, h] for h in range(n_heads))
    maps.append(attention_rollout(att))
    stack = np.stack(maps)  # [views, n, n]
    scales = stack.reshape(len(maps), -1).max(axis=1).astype(np.float32)
    quantised = np.round(stack / np.maximum(scales, 1e-12)[:, None, None] * 255).astype(np.uint8)

    start = (n_layers - 1) * (n_heads + 1)  # last layer, mean over heads
    q, k = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    labels = [f"{i}: {t}" for i, t in enumerate(tokens)]
    # Numeric columns travel as compressed binary; token labels are looked up in the hover, not repeated n^2 times.
    source = ColumnDataSource(
        {
            "x": k.ravel().astype(np.int32), "y": q.ravel().astype(np.int32),
            "w": (quantised[start].ravel() * (scales[start] / 255)).astype(np.float32),
        }
    )
    mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=float(max(scales[start], 1e-6)))
    side = int(min(820, max(320, 150 + 18 * n)))
    fig = figure(
        width=side + 80, height=side, x_range=(-0.5, n - 0.5), y_range=(n - 0.5, -0.5),
        tools="hover,save,reset,box_zoom", toolbar_location="above",
        x_axis_label="attended-to token (key)", y_axis_label="attending token (query)",
    )
    fig.rect("x", "y", 1, 1, source=source, fill_color={"field": "w", "transform": mapper}, line_color=None)
    token_label = CustomJSHover(args=dict(labels=labels), code="return labels[value]")
    hover = fig.select_one(HoverTool)
    hover.tooltips = [("query", "@y{token}"), ("key", "@x{token}"), ("weight", "@w{0.0000}")]
    hover.formatters = {"@x": token_label, "@y": token_label}
    overrides = {i: t for i, t in enumerate(tokens)}
    for axis in (fig.xaxis[0], fig.yaxis[0]):
        axis.ticker = FixedTicker(ticks=list(range(n)))
        axis.major_label_overrides = overrides
    fig.xaxis.major_label_orientation = 1.2
    fig.grid.visible = False
    fig.add_layout(ColorBar(color_mapper=mapper, width=12), "right")
    layer = Select(title="Layer", value=str(n_layers), options=[str(i + 1) for i in range(n_layers)] + ["rollout"])
    head = Select(title="Head", value="mean", options=["mean"] + [str(h + 1) for h in range(n_heads)])
    callback = CustomJS(
        args=dict(source=source, mapper=mapper, layer=layer, head=head, maps=quantised.ravel(),
                  scales=scales, n=n, n_layers=n_layers, n_heads=n_heads),
        code=_ATTENTION_JS,
    )
    layer.js_on_change("value", callback)
    head.js_on_change("value", callback)
    return embed(column(row(layer, head), fig), target_id)


def top_words_chart(words: Sequence[dict[str, Any]], title: str, target_id: str) -> Markup:
    """Horizontal bars: the words with the most normalised attribution across the data set."""
    words = list(words)[::-1]  # largest at the top
    names = [w["word"] for w in words]
    source = ColumnDataSource(
        {"word": names, "score": [w["score"] for w in words], "examples": [w["examples"] for w in words]}
    )
    fig = figure(
        y_range=names, width=620, height=int(60 + 24 * max(len(names), 1)), title=title,
        tools="hover,save", toolbar_location="above", x_axis_label="summed share of |attribution| per example",
    )
    fig.hbar(y="word", right="score", height=0.7, source=source, color="#e66101")
    fig.select_one(HoverTool).tooltips = [("word", "@word"), ("score", "@score{0.000}"), ("examples", "@examples")]
    fig.ygrid.visible = False
    return embed(fig, target_id)


def embed(model: Any, target_id: str) -> Markup:
    """The plot's <div> and a <script type="application/json"> block that static/reportgen.js hands to BokehJS."""
    item = _stable_ids(json_item(model, target_id), prefix=target_id)
    # No sort_keys: BokehJS resolves a reference only after the object it names was defined, in document order.
    text = json.dumps(item, separators=(",", ":"))
    # Inside <script>, "</" would end the block; \u escapes keep the JSON identical once parsed.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(
        f'<div class="plot" id="{target_id}"></div>'
        f'<script type="application/json" class="bokeh-item" data-target="{target_id}">{text}</script>'
    )


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
