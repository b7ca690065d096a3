// The build page's live log: follows the job output as server-sent events.
// Every line carries its number as the event id. If the connection drops, the browser
// reconnects by itself (sending the last id); if it gives up, a new connection starts after
// the last line shown. Lines at or below the last number shown are ignored, so none appears
// twice; a "reset" event (the build was retried) starts the log again.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || !window.EventSource) return;
  var state = document.getElementById("log-state");
  var last = 0, source = null, done = false, retry = null, delay = 1000;
  log.textContent = "";

  function follow(atBottom) {
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function say(text) { if (state) state.textContent = text; }

  function connect() {
    retry = null;
    source = new EventSource(log.dataset.stream + "?after=" + last);
    source.onopen = function () { delay = 1000; say(done ? "Finished." : "Following the live log"); };
    source.onmessage = function (event) {
      var number = parseInt(event.lastEventId, 10);
      if (!isNaN(number)) {
        if (number <= last) return;
        last = number;
      }
      var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      log.appendChild(document.createTextNode(event.data + "\n"));
      log.dataset.lines = String(last);
      follow(atBottom);
    };
    source.addEventListener("reset", function () {
      last = 0;
      log.textContent = "";
    });
    source.addEventListener("end", function (event) {
      done = true;
      source.close();
      var end = {};
      try { end = JSON.parse(event.data); } catch (e) { /* keep the default */ }
      say("Finished" + (end.result ? ": " + end.result : "") + ".");
      var badge = document.getElementById("build-result");
      if (badge && end.result) {
        badge.textContent = end.result;
        badge.className = "result " + end.result;
      }
      log.dataset.finished = "true";
    });
    source.onerror = function () {
      if (done) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (the server answered with an error): try again later,
        // after the last line shown.
        say("Connection lost; reconnecting…");
        if (!retry) {
          retry = setTimeout(connect, delay);
          delay = Math.min(delay * 2, 15000);
        }
      } else {
        say("Connection lost; reconnecting…");
      }
    };
  }
  connect();
})();
