// Keeps "why is this waiting?" disclosures open across the status page's refreshes:
// htmx replaces the whole body every few seconds, which would close them again.
(function () {
  "use strict";
  var open = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "status-body") return;
    open = Array.prototype.map.call(
      document.querySelectorAll("#status-body details[open]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    open.forEach(function (id) {
      var details = id && document.getElementById(id);
      if (details) details.open = true;
    });
  });
})();
