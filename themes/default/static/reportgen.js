// Draws every Bokeh item from its JSON block (BokehJS is in static/bokeh/, or inline in a --single-file
// report: no network), fills the shared attention heatmap from the page's own data block, recolours the
// highlights, filters the examples index, and in a single-file report routes #/page.html to its section.
window.reportgen = (function () {
  "use strict";
  var data = null;  // attention data of the page (or single-file section) on screen
  var words = null;  // what this script writes, in the page's language (the page's #reportgen-words block)

  function say(key, values) {
    if (words === null) {
      var block = document.getElementById("reportgen-words");
      words = block ? JSON.parse(block.textContent) : {};
    }
    var text = Object.prototype.hasOwnProperty.call(words, key) ? words[key] : key;
    return text.replace(/%\((\w+)\)s/g, function (m, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : m;
    });
  }

  function readAttention(root) {
    var el = root.querySelector("script.attention-data");
    return el ? parseAttention(el) : null;
  }

  function parseAttention(el) {
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

  // Layout of d.bytes: per layer [mean over heads, head 1..H], then the rollout; each n x n, row-major. A byte
  // is the square root of the weight over its map's scale, in 255 levels (bundle/attention_maps.py).
  function showAttention(doc) {
    var d = doc._reportgenData || data;
    if (!d) { return; }
    var n = d.tokens.length, layers = d.layers, heads = d.heads;
    var layer = model(doc, "attn-layer"), head = model(doc, "attn-head");
    var li = layer.value === "rollout" ? -1 : parseInt(layer.value, 10) - 1;
    var hi = head.value === "mean" ? 0 : parseInt(head.value, 10);
    var index = li < 0 ? layers * (heads + 1) : li * (heads + 1) + hi;
    var size = n * n, scale = d.scales[index] / (255 * 255), offset = index * size;
    var special = new Set(d.special || []);
    var x = new Int32Array(size), y = new Int32Array(size), w = new Float32Array(size);
    var ordinary = 0;
    for (var q = 0; q < n; q++) {
      for (var k = 0; k < n; k++) {
        var at = q * n + k;
        var b = d.bytes[offset + at];
        x[at] = k; y[at] = q; w[at] = b * b * scale;
        if (!special.has(q) && !special.has(k)) { ordinary = Math.max(ordinary, w[at]); }
      }
    }
    model(doc, "attn-source").data = {x: x, y: y, w: w};
    var high = ordinary > 0 ? ordinary : d.scales[index];
    model(doc, "attn-mapper").high = Math.max(high, 1e-6);
    head.disabled = li < 0;
    var view = li < 0 ? say("rollout") :
      hi === 0 ? say("layer_mean", {layer: li + 1}) : say("layer_head", {layer: li + 1, head: hi});
    // Short enough for a phone's width: the page's heading names the example, and the note above the chart the
    // colour scale's rule.
    model(doc, "attn-figure").title.text = view.charAt(0).toUpperCase() + view.slice(1) + (d.label ? ", " + d.label : "");
    model(doc, "attn-colorbar").title = high < d.scales[index] ? say("capped") : say("weight");
  }

  function setupAttention(doc, d, box) {
    doc._reportgenData = d;
    var n = d.tokens.length;
    // As wide as the text needs, never wider than the page (a phone is 390 px wide).
    var avail = box && box.clientWidth ? box.clientWidth : 900;
    var side = Math.round(Math.min(820, Math.max(240, 150 + 18 * n), Math.max(200, avail - 110)));
    // One label per token while they fit (about 12 px each), else every k-th: the hover names every cell, and
    // box zoom brings the labels of a region back.
    var step = Math.max(1, Math.ceil(n * 12 / Math.max(1, side - 60)));
    var ticks = [], labels = new Map();
    for (var i = 0; i < n; i += step) { ticks.push(i); labels.set(i, d.short[i]); }
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
    var fig = model(doc, "attn-figure");
    fig.width = side + 100; fig.height = side;
    showAttention(doc);
  }

  // A text read in several windows has one data block per window; the picker redraws the heatmap from another.
  function setupWindows(root, doc, box) {
    var pick = root.querySelector("select.attention-window");
    if (!pick) { return; }
    pick.addEventListener("change", function () {
      var el = root.querySelector('script.attention-data[data-window="' + pick.value + '"]');
      if (!el) { return; }
      var d = parseAttention(el);
      root._reportgenAttention = d;
      data = d;
      setupAttention(doc, d, box);
    });
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
            var box = document.getElementById(el.getAttribute("data-target"));
            setupAttention(doc, d, box);
            setupWindows(root, doc, box);
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
  // Data chunks arrive as scripts (file:// pages may not fetch JSON): [kind, chunk number, payload].
  function chunks(kind) {
    return (window.reportgenData || []).filter(function (d) { return d[0] === kind; })
      .sort(function (a, b) { return a[1] - b[1]; });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // The examples table: every row's data is in memory (data/rows/*.js); search, filters and sorting run over
  // all of them and one page of rows is drawn at a time, so 100k rows stay interactive.
  function setupTable() {
    var form = document.getElementById("example-filters");
    var table = document.getElementById("example-table");
    if (!form || !table) { return; }
    var rows = [];
    chunks("rows").forEach(function (d) { rows = rows.concat(d[2]); });
    var body = table.tBodies[0], pager = document.querySelector(".table-pager");
    var size = parseInt(table.dataset.pageSize, 10) || 250, page = 0, shown = [];
    var sortKey = null, ascending = true, metric = "";
    var metricCells = table.querySelectorAll(".metric-col");
    function num(name) {
      var v = form.elements[name] ? form.elements[name].value : "";
      return v === "" ? null : parseFloat(v);
    }
    function value(r, key) {
      if (key === "metric") { var m = r.m[metric]; return m === null || m === undefined ? null : m; }
      if (key === "flags") { return r.flags.join(" "); }
      if (key === "correct") { return r.correct === null ? null : r.correct ? 1 : 0; }
      return r[key];
    }
    function compare(a, b) {
      var ka = value(a, sortKey), kb = value(b, sortKey);
      if (ka === null || ka === undefined) { return kb === null || kb === undefined ? a.n - b.n : 1; }
      if (kb === null || kb === undefined) { return -1; }
      if (typeof ka === "string") { ka = ka.toLowerCase(); kb = String(kb).toLowerCase(); }
      var order = ka < kb ? -1 : ka > kb ? 1 : a.n - b.n;
      return ascending ? order : -order;
    }
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / size));
      page = Math.min(page, pages - 1);
      var frag = document.createDocumentFragment();
      shown.slice(page * size, (page + 1) * size).forEach(function (r) {
        var tr = el("tr", r.correct === false ? {"class": "wrong"} : {});
        // data-v: each sortable cell's exact value (what a script reading the table, or a test, compares).
        tr.appendChild(el("td", {"data-v": String(r.n)}, String(r.n)));
        // --single-file: pages are sections behind the hash router, so links are routes.
        var td = el("td"), link = el("a", {href: (document.body.dataset.single ? "#/" : "") + r.href}, r.preview);
        if (r.lang) { link.setAttribute("lang", r.lang); }
        td.appendChild(link);
        td.appendChild(el("div", {"class": "id"}, r.id));
        tr.appendChild(td);
        tr.appendChild(el("td", {}, r.gold === null ? "—" : r.gold));
        tr.appendChild(el("td", {}, r.pred));
        tr.appendChild(el("td", {"data-v": String(r.conf)}, r.conf.toFixed(3)));
        var c = el("td");
        if (r.correct === null) { c.textContent = "—"; }
        else { c.appendChild(el("span", {"class": r.correct ? "ok" : "bad"}, r.correct ? say("yes") : say("no"))); }
        tr.appendChild(c);
        var m = value(r, "metric");
        var mc = el("td", {"class": "metric-col", "data-v": m === null ? "" : String(m)}, m === null ? "—" : m.toFixed(3));
        mc.hidden = !metric;
        tr.appendChild(mc);
        var f = el("td");
        r.flags.forEach(function (flag) { f.appendChild(el("span", {"class": "flag"}, flag)); f.appendChild(document.createTextNode(" ")); });
        tr.appendChild(f);
        frag.appendChild(tr);
      });
      body.textContent = "";
      body.appendChild(frag);
      if (pager) {
        pager.hidden = pages < 2;
        pager.querySelector(".page-of").textContent = say("page_of", {page: page + 1, pages: pages});
        pager.querySelector('[data-step="-1"]').disabled = page === 0;
        pager.querySelector('[data-step="1"]').disabled = page >= pages - 1;
      }
    }
    var lastState = null;
    function apply() {
      // "change" follows "input" when the field loses focus (e.g. on a click on a row's link): redrawing the
      // same rows then would replace the link under the pointer and lose the click.
      var state = Array.prototype.filter.call(form.elements, function (e) { return e.name && e.tagName !== "OUTPUT"; })
        .map(function (e) { return e.value; }).join("\u0000");
      if (state === lastState) { return; }
      lastState = state;
      var q = form.elements.q.value.trim().toLowerCase();
      var terms = q ? q.split(/\s+/) : [];
      var gold = form.elements.gold.value, pred = form.elements.pred.value, correct = form.elements.correct.value;
      var cmin = num("cmin"), cmax = num("cmax");
      var mmin = num("mmin"), mmax = num("mmax");
      metric = form.elements.metric ? form.elements.metric.value : "";
      Array.prototype.forEach.call(metricCells, function (c) { c.hidden = !metric; });
      if (metric) {
        table.querySelector("th.metric-col").textContent = form.elements.metric.selectedOptions[0].textContent;
      }
      shown = rows.filter(function (r) {
        for (var t = 0; t < terms.length; t++) { if (r.text.indexOf(terms[t]) < 0) { return false; } }
        if (gold && (gold === "-" ? r.gold !== null : r.gold !== gold)) { return false; }
        if (pred && r.pred !== pred) { return false; }
        if (correct && (correct === "-" ? r.correct !== null : r.correct !== (correct === "yes"))) { return false; }
        if (cmin !== null && r.conf < cmin) { return false; }
        if (cmax !== null && r.conf > cmax) { return false; }
        if (metric && (mmin !== null || mmax !== null)) {
          var v = r.m[metric];
          if (v === null || v === undefined || (mmin !== null && v < mmin) || (mmax !== null && v > mmax)) { return false; }
        }
        return true;
      });
      if (sortKey) { shown.sort(compare); }
      page = 0;
      form.elements.count.value = say("shown_of", {shown: shown.length, total: rows.length});
      draw();
    }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.tabIndex = 0;
      function sort() {
        ascending = !(sortKey === th.dataset.key && ascending);
        sortKey = th.dataset.key;
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        shown.sort(compare);
        page = 0;
        draw();
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
    if (pager) {
      pager.addEventListener("click", function (e) {
        var step = e.target.dataset ? parseInt(e.target.dataset.step, 10) : NaN;
        if (!isNaN(step)) { page += step; draw(); }
      });
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
  }

  // The address's fragment, decoded; a malformed escape ("#%E0") is an unknown place, not a page error.
  function hashText() {
    try { return decodeURIComponent(location.hash || ""); } catch (e) { return ""; }
  }

  // view.html#<chunk>:<slug>: an example without a page of its own, drawn from data/view/<chunk>.js.
  function setupView() {
    var box = document.getElementById("example-view"), configEl = document.getElementById("view-config");
    if (!box || !configEl) { return; }
    var config = JSON.parse(configEl.textContent);
    function find(slug) {
      var found = null;
      // Own keys only: a hash like #0:__proto__ or #0:constructor must not find Object's own members.
      chunks("view").forEach(function (d) { if (Object.prototype.hasOwnProperty.call(d[2], slug)) { found = d[2][slug]; } });
      return found;
    }
    function render() {
      var anchor = hashText();
      anchor = anchor.slice(anchor.lastIndexOf("#") + 1);
      var cut = anchor.indexOf(":"), n = parseInt(anchor.slice(0, cut), 10), slug = anchor.slice(cut + 1);
      if (cut < 0 || isNaN(n)) { return; }
      var ex = find(slug);
      if (!ex) {
        var script = el("script", {src: box.dataset.root + config.viewDir + "/" + ("0000" + n).slice(-5) + ".js"});
        script.onload = function () { if (find(slug)) { render(); } else { box.textContent = say("no_example", {slug: slug}); } };
        script.onerror = function () { box.textContent = say("missing"); };
        document.body.appendChild(script);
        return;
      }
      draw(ex);
    }
    function draw(ex) {
      document.getElementById("view-id").textContent = ex.id;
      box.textContent = "";
      ex.warnings.forEach(function (w) { box.appendChild(el("p", {"class": "warning", role: "alert"}, w)); });
      var kv = el("table", {"class": "kv"});
      [[say("gold_label"), ex.gold === null ? say("none_given") : ex.gold],
       [say("predicted"), ex.pred + (ex.unread ? say("not_read") :
                                   ex.gold === null ? "" : ex.gold === ex.pred ? say("correct") : say("wrong"))],
       [say("explained"), ex.target + " (" + ex.target_source + ")"]].forEach(function (row) {
        var tr = el("tr"); tr.appendChild(el("th", {scope: "row"}, row[0])); tr.appendChild(el("td", {}, row[1]));
        kv.appendChild(tr);
      });
      config.labels.forEach(function (lab, k) {
        var tr = el("tr"); tr.appendChild(el("th", {scope: "row"}, "P(" + lab + ")"));
        tr.appendChild(el("td", {}, ex.probs[k].toFixed(3))); kv.appendChild(tr);
      });
      box.appendChild(kv);
      var texts = [ex.text, ex.pair];
      config.methods.forEach(function (m) {
        var section = el("section", {"class": "method-row" + (ex.unread ? " unread" : ""),
                                     "data-signed": m.signed ? "1" : "0"});
        section.appendChild(el("h2", {}, m.title));
        var scores = ex.scores[m.name];
        if (!scores) {
          var why = (ex.skipped || {})[m.name];
          section.appendChild(el("p", {"class": "hint"}, why ? say("not_computed", {reason: why}) : say("skipped")));
          box.appendChild(section); return;
        }
        var scale = 0;
        scores.forEach(function (v) { if (v !== null) { scale = Math.max(scale, Math.abs(v)); } });
        section.dataset.scale = String(scale);
        [0, 1].forEach(function (seg) {
          if (texts[seg] === null || texts[seg] === undefined) { return; }
          var p = el("p", {"class": "highlight"}), at = 0, text = texts[seg];
          ex.words.forEach(function (w, k) {
            if (w[2] !== seg) { return; }
            if (w[0] > at) { p.appendChild(document.createTextNode(text.slice(at, w[0]))); }
            var v = scores[k] === null ? 0 : scores[k];
            p.appendChild(el("span", {"class": "w", "data-s": String(v), title: m.title + ": " + v}, text.slice(w[0], w[1])));
            at = w[1];
          });
          if (at < text.length) { p.appendChild(document.createTextNode(text.slice(at))); }
          section.appendChild(p);
        });
        box.appendChild(section);
      });
      if (config.metrics.length) {
        var t = el("table", {"class": "quality"}), head = el("tr");
        head.appendChild(el("th", {scope: "col"}, say("method")));
        config.metrics.forEach(function (mt) { head.appendChild(el("th", {scope: "col"}, mt.title)); });
        t.appendChild(head);
        config.methods.forEach(function (m) {
          var tr = el("tr"); tr.appendChild(el("th", {scope: "row"}, m.title));
          config.metrics.forEach(function (mt) {
            var v = (ex.metrics[m.name] || {})[mt.name];
            tr.appendChild(el("td", {}, v === null || v === undefined ? "—" : v.toFixed(3)));
          });
          t.appendChild(tr);
        });
        box.appendChild(t);
      }
      recolour(false, box);
    }
    window.addEventListener("hashchange", render);
    render();
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

  // Printing: collapsed <details> would print as a bare summary line; open them for the print, then restore. Tables
  // of numbers (details.numbers) print only when the reader opened them.
  function setupPrint() {
    var opened = [];
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details:not([open]):not(.numbers)").forEach(function (d) { d.open = true; opened.push(d); });
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
    var hash = hashText();
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

  setupTable();
  setupView();
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
