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
    var special = new Set(d.special || []);
    var x = new Int32Array(size), y = new Int32Array(size), w = new Float32Array(size);
    var ordinary = 0;
    for (var q = 0; q < n; q++) {
      for (var k = 0; k < n; k++) {
        var at = q * n + k;
        x[at] = k; y[at] = q; w[at] = d.bytes[offset + at] * scale;
        if (!special.has(q) && !special.has(k)) { ordinary = Math.max(ordinary, w[at]); }
      }
    }
    model(doc, "attn-source").data = {x: x, y: y, w: w};
    var high = ordinary > 0 ? ordinary : d.scales[index];
    model(doc, "attn-mapper").high = Math.max(high, 1e-6);
    head.disabled = li < 0;
    var view = li < 0 ? "rollout over all layers" :
      "layer " + (li + 1) + ", " + (hi === 0 ? "mean over heads" : "head " + hi);
    model(doc, "attn-figure").title.text = "Attention in " + d.label + ": " + view;
    model(doc, "attn-colorbar").title = high < d.scales[index] ?
      "attention weight (scale ends at the largest between ordinary tokens)" : "attention weight";
  }

  function setupAttention(doc, d, box) {
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
    if (d.pair_start !== null && d.pair_start !== undefined) {
      ["attn-sep-x", "attn-sep-y"].forEach(function (name) {
        var span = model(doc, name);
        span.location = d.pair_start - 0.5; span.visible = true;
      });
    }
    // As wide as the text needs, never wider than the page (a phone is 390 px wide).
    var avail = box && box.clientWidth ? box.clientWidth : 900;
    var side = Math.round(Math.min(820, Math.max(240, 150 + 18 * n), Math.max(200, avail - 110)));
    var fig = model(doc, "attn-figure");
    fig.width = side + 100; fig.height = side;
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
            setupAttention(doc, d, document.getElementById(el.getAttribute("data-target")));
          }
        });
      });
    });
  }

  // Same colours and ink rule as reportgen/render/highlight.py: opaque backgrounds, black or white ink by
  // WCAG relative luminance, so every highlighted word keeps at least 4.5:1 contrast.
  var POSITIVE = [230, 97, 1], NEGATIVE = [94, 60, 153], UNSIGNED = [1, 102, 94], MAX_ALPHA = 0.85;
  var INK_THRESHOLD = 0.179;

  function luminance(rgb) {
    var lin = rgb.map(function (c) {
      var v = c / 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }

  function recolour(shared, root) {
    var rows = (root || document).querySelectorAll(".method-row[data-scale]");
    var top = 0;
    Array.prototype.forEach.call(rows, function (row) { top = Math.max(top, parseFloat(row.dataset.scale) || 0); });
    Array.prototype.forEach.call(rows, function (row) {
      var scale = shared ? top : parseFloat(row.dataset.scale) || 0;
      var signed = row.dataset.signed === "1";
      row.querySelectorAll("span.w[data-s]").forEach(function (span) {
        var score = parseFloat(span.dataset.s);
        if (!scale || !score) { span.style.backgroundColor = ""; span.style.color = ""; return; }
        var alpha = MAX_ALPHA * Math.min(Math.abs(score) / scale, 1);
        var base = signed ? (score > 0 ? POSITIVE : NEGATIVE) : UNSIGNED;
        var rgb = base.map(function (c) { return Math.round(255 + (c - 255) * alpha); });
        span.style.backgroundColor = "rgb(" + rgb.join(", ") + ")";
        span.style.color = luminance(rgb) >= INK_THRESHOLD ? "#000" : "#fff";
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
    // An array, not the live collection: sorting moves the rows, and row i must stay example i.
    var trs = Array.prototype.slice.call(table.tBodies[0].rows);
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
          var cell = trs[i].querySelector("td.metric-col");
          cell.textContent = value === null || value === undefined ? "—" : value.toFixed(3);
          cell.dataset.v = value === null || value === undefined ? "" : String(value);
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

  // Tables with th.sortable headers sort by the column's data-v (numbers as numbers), asc then desc.
  function setupSorting() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      var headers = table.tHead.rows[0].cells;
      Array.prototype.forEach.call(headers, function (th, column) {
        if (!th.classList.contains("sortable")) { return; }
        th.tabIndex = 0;
        function sort() {
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          function key(row) {
            var cell = row.cells[column];
            var v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
            var n = parseFloat(v);
            return v !== "" && !isNaN(n) && isFinite(v) ? n : v.toLowerCase();
          }
          rows.sort(function (a, b) {
            var ka = key(a), kb = key(b);
            if (typeof ka !== typeof kb) { ka = String(ka); kb = String(kb); }
            var order = ka < kb ? -1 : ka > kb ? 1 : 0;
            return ascending ? order : -order;
          });
          rows.forEach(function (row) { body.appendChild(row); });
        }
        th.addEventListener("click", sort);
        th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
      });
    });
  }

  // Printing: collapsed <details> would print as a bare summary line; open them for the print, then restore.
  function setupPrint() {
    var opened = [];
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
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
  setupSorting();
  setupScaleToggles();
  setupPrint();
  if (document.body.dataset.single) {
    window.addEventListener("hashchange", route);
    route();
  } else {
    draw(document);
  }
  return {tokenLabel: tokenLabel, showAttention: showAttention, recolour: recolour};
})();
