// Draw every Bokeh item on the page from its JSON block (no network: BokehJS is in static/bokeh/).
(function () {
  "use strict";
  var items = document.querySelectorAll("script.bokeh-item");
  for (var i = 0; i < items.length; i++) {
    var el = items[i];
    Bokeh.embed.embed_item(JSON.parse(el.textContent), el.getAttribute("data-target"));
  }
})();
