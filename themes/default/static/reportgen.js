// Draws every Bokeh item from its JSON block (BokehJS is in static/bokeh/, or inline in a --single-file
// report: no network), fills the shared attention heatmap from the page's own data block, recolours the
// highlights, filters the examples index, and in a single-file report routes #/page.html to its section.
window.reportgen = (function () {
  "use strict";
  var data = null;  // attention data of the page (or single-file section) on screen

  function readAttention(root) {
    var el = root.querySelector("script.attention-data");
    if (!el) { return null; }
    var d = JSON.parse(el.textContent);
    var bytes = atob(d.maps);
    d.bytes = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) { d.bytes[i] = bytes.charCodeAt(i); }
    return d;
  }

  function tokenLabel(value) {
    return data ? data.tokens[value] : String(value);
  }

  function model(doc, name) { return doc.get_model_by_name(name); }

  // Layout of d.bytes: per layer [mean over heads, head 1..H], then the rollout; each n x n, row-major.
  function showAttention(doc) {
    var d = doc._reportgenData || data;
    if (!d) { return; }
    var n = d.tokens.length, layers = d.layers, heads = d.heads;
    var layer = model(doc, "attn-layer"), head = model(doc, "attn-head");
    var li = layer.value === "rollout" ? -1 : parseInt(layer.value, 10) - 1;
    var hi = head.value === "mean" ? 0 : parseInt(head.value, 10);
    var index = li < 0 ? layers * (heads + 1) : li * (heads + 1) + hi;
    var size = n * n, scale = d.scales[index] / 255, offset = index * size;
    var x = new Int32Array(size), y = new Int32Array(size), w = new Float32Array(size);
    for (var q = 0; q < n; q++) {
      for (var k = 0; k < n; k++) {
        var at = q * n + k;
        x[at] = k; y[at] = q; w[at] = d.bytes[offset + at] * scale;
      }
    }
    model(doc, "attn-source").data = {x: x, y: y, w: w};
    model(doc, "attn-mapper").high = Math.max(d.scales[index], 1e-6);
    head.disabled = li < 0;
  }

  function setupAttention(doc, d) {
    doc._reportgenData = d;
    var n = d.tokens.length;
    var ticks = [], labels = new Map();
    for (var i = 0; i < n; i++) { ticks.push(i); labels.set(i, d.short[i]); }
    var xr = model(doc, "attn-x"), yr = model(doc, "attn-y");
    xr.start = -0.5; xr.end = n - 0.5;
    yr.start = n - 0.5; yr.end = -0.5;
    model(doc, "attn-xticks").ticks = ticks;
    model(doc, "attn-yticks").ticks = ticks;
    model(doc, "attn-xaxis").major_label_overrides = labels;
    model(doc, "attn-yaxis").major_label_overrides = labels;
    var side = Math.round(Math.min(820, Math.max(320, 150 + 18 * n)));
    var fig = model(doc, "attn-figure");
    fig.width = side + 80; fig.height = side;
    showAttention(doc);
  }

  // Embeds the Bokeh items inside root, once.
  function draw(root) {
    if (root._reportgenDrawn) { return; }
    root._reportgenDrawn = true;
    var d = readAttention(root);
    root._reportgenAttention = d;
    data = d || data;
    var items = root.querySelectorAll("script.bokeh-item");
    Array.prototype.forEach.call(items, function (el) {
      var before = new Set(Bokeh.documents);
      var done = Bokeh.embed.embed_item(JSON.parse(el.textContent), el.getAttribute("data-target"));
      Promise.resolve(done).then(function () {
        Bokeh.documents.forEach(function (doc) {
          if (d && !before.has(doc) && doc.get_model_by_name("attn-layer") && !doc._reportgenData) {
            setupAttention(doc, d);
          }
        });
      });
    });
  }

  // Same colours as reportgen/render/highlight.py (PuOr, colour-blind safe).
  var POSITIVE = [230, 97, 1], NEGATIVE = [94, 60, 153], MAX_ALPHA = 0.85;

  function recolour(shared, root) {
    var rows = (root || document).querySelectorAll(".method-row[data-scale]");
    var top = 0;
    Array.prototype.forEach.call(rows, function (row) { top = Math.max(top, parseFloat(row.dataset.scale) || 0); });
    Array.prototype.forEach.call(rows, function (row) {
      var scale = shared ? top : parseFloat(row.dataset.scale) || 0;
      row.querySelectorAll("span.w[data-s]").forEach(function (span) {
        var score = parseFloat(span.dataset.s);
        if (!scale || !score) { span.style.backgroundColor = ""; span.style.color = ""; return; }
        var alpha = Math.round(MAX_ALPHA * Math.min(Math.abs(score) / scale, 1) * 1000) / 1000;
        var rgb = score > 0 ? POSITIVE : NEGATIVE;
        span.style.backgroundColor = "rgba(" + rgb.join(", ") + ", " + alpha + ")";
        span.style.color = alpha > 0.5 ? "#fff" : "#111";
      });
    });
  }

  function setupScaleToggles() {
    document.querySelectorAll("input.shared-scale").forEach(function (toggle) {
      var root = toggle.closest("section.page") || document;
      toggle.addEventListener("change", function () { recolour(toggle.checked, root); });
    });
  }

  // Examples index: search and filters, entirely in the page (the rows' data is inline: works from file://).
  function setupFilters() {
    var form = document.getElementById("example-filters");
    var dataEl = document.getElementById("example-index");
    var table = document.getElementById("example-table");
    if (!form || !dataEl || !table) { return; }
    var rows = JSON.parse(dataEl.textContent).rows;
    var trs = table.tBodies[0].rows;
    var metricCells = table.querySelectorAll(".metric-col");
    function num(name) {
      var v = form.elements[name] ? form.elements[name].value : "";
      return v === "" ? null : parseFloat(v);
    }
    function apply() {
      var q = form.elements.q.value.trim().toLowerCase();
      var terms = q ? q.split(/\s+/) : [];
      var gold = form.elements.gold.value, pred = form.elements.pred.value, correct = form.elements.correct.value;
      var cmin = num("cmin"), cmax = num("cmax");
      var metric = form.elements.metric ? form.elements.metric.value : "";
      var mmin = num("mmin"), mmax = num("mmax");
      var shown = 0;
      Array.prototype.forEach.call(metricCells, function (c) { c.hidden = !metric; });
      if (metric) {
        table.querySelector("th.metric-col").textContent = form.elements.metric.selectedOptions[0].textContent;
      }
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i], ok = true;
        for (var t = 0; ok && t < terms.length; t++) { ok = r.text.indexOf(terms[t]) >= 0; }
        if (ok && gold) { ok = gold === "-" ? r.gold === null : r.gold === gold; }
        if (ok && pred) { ok = r.pred === pred; }
        if (ok && correct) { ok = correct === "-" ? r.correct === null : r.correct === (correct === "yes"); }
        if (ok && cmin !== null) { ok = r.conf >= cmin; }
        if (ok && cmax !== null) { ok = r.conf <= cmax; }
        var value = metric ? r.m[metric] : null;
        if (ok && metric && (mmin !== null || mmax !== null)) {
          ok = value !== null && value !== undefined && (mmin === null || value >= mmin) && (mmax === null || value <= mmax);
        }
        if (metric) {
          trs[i].querySelector("td.metric-col").textContent =
            value === null || value === undefined ? "—" : value.toFixed(3);
        }
        trs[i].hidden = !ok;
        if (ok) { shown++; }
      }
      form.elements.count.value = shown + " of " + rows.length + " examples";
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
  }

  // --single-file: "#/examples/x.html#anchor" shows that page's section; "#/data/results.json" downloads
  // the embedded copy; a plain "#anchor" scrolls within the section on screen.
  function download(name) {
    var el = document.getElementById("embedded-" + name.replace(/\//g, "-"));
    if (!el) { return; }
    var url = URL.createObjectURL(new Blob([el.textContent], {type: "application/json"}));
    var a = document.createElement("a");
    a.href = url; a.download = name.split("/").pop();
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function route() {
    var hash = decodeURIComponent(location.hash || "");
    var current = document.querySelector("section.page:not([hidden])");
    if (hash.indexOf("#/") !== 0) {
      if (!current) { show("index.html", ""); } else if (hash.length > 1) { scrollTo(current, hash.slice(1)); }
      return;
    }
    var rest = hash.slice(2), cut = rest.indexOf("#");
    var path = cut < 0 ? rest : rest.slice(0, cut), anchor = cut < 0 ? "" : rest.slice(cut + 1);
    if (/\.json$/.test(path)) { download(path); if (!current) { show("index.html", ""); } return; }
    show(path, anchor);
  }

  function scrollTo(section, anchor) {
    var target = anchor ? section.querySelector("#" + CSS.escape(anchor)) : null;
    if (target) { target.scrollIntoView(); } else { window.scrollTo(0, 0); }
  }

  function show(path, anchor) {
    var target = document.querySelector('section.page[data-page="' + CSS.escape(path) + '"]') ||
      document.querySelector('section.page[data-page="index.html"]');
    document.querySelectorAll("section.page").forEach(function (s) { s.hidden = s !== target; });
    document.title = target.dataset.title;
    document.querySelectorAll("header nav a").forEach(function (a) {
      if (a.getAttribute("href") === "#/" + target.dataset.page) { a.setAttribute("aria-current", "page"); }
      else { a.removeAttribute("aria-current"); }
    });
    draw(target);
    data = target._reportgenAttention || null;  // hover labels follow the section on screen
    scrollTo(target, anchor);
  }

  setupFilters();
  setupScaleToggles();
  if (document.body.dataset.single) {
    window.addEventListener("hashchange", route);
    route();
  } else {
    draw(document);
  }
  return {tokenLabel: tokenLabel, showAttention: showAttention, recolour: recolour};
})();
