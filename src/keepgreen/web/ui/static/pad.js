// The pad editor: a textarea bound to the pad's shared text (a Yjs Text named "text"),
// kept in step with the server over /pads/<id>/socket by y-websocket's provider.
//
// Local typing becomes the smallest delete-and-insert that turns the old value into the
// new one; remote edits are applied to the textarea with the caret and selection moved
// along, so typing at the same time as someone else never jumps. Readers get the text live
// but cannot change it. The "Changes mentioned" list is reloaded a moment after edits.
(function () {
  "use strict";
  var root = document.getElementById("pad");
  var area = document.getElementById("pad-text");
  var status = document.getElementById("pad-status");
  var mentions = document.getElementById("pad-mentions");
  if (!root || !area || typeof PadSync === "undefined") return;
  var padId = root.dataset.pad;
  var writable = root.dataset.writable === "true";
  var doc = new PadSync.Doc();
  var text = doc.getText("text");
  var scheme = location.protocol === "https:" ? "wss:" : "ws:";
  var provider = new PadSync.WebsocketProvider(scheme + "//" + location.host + "/pads/" + padId,
    "socket", doc, { disableBc: true });
  var shown = "";
  var synced = false;
  var mentionsTimer = null;

  function say(state, message) {
    root.dataset.state = state;
    status.textContent = message;
  }

  function refreshMentions() {
    clearTimeout(mentionsTimer);
    mentionsTimer = setTimeout(function () {
      fetch("/pads/" + padId + "/mentions", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) mentions.innerHTML = html; })
        .catch(function () {});
    }, 800);
  }

  provider.on("status", function (event) {
    if (event.status === "connected") {
      say("connected", writable ? "Connected: what you type is shared as you type it."
                                : "Connected, read only: the text follows the pad.");
    } else if (event.status === "disconnected") {
      say("disconnected", "Disconnected; reconnecting…");
    } else {
      say("connecting", "Connecting…");
    }
  });

  provider.on("sync", function (isSynced) {
    if (!isSynced || synced) return;
    synced = true;
    shown = text.toString();
    area.value = shown;
    area.disabled = false;
    area.readOnly = !writable;
    root.dataset.synced = "true";
  });

  // Where an index moves to when a remote delta is applied before it.
  function moved(index, delta) {
    var at = 0;
    for (var i = 0; i < delta.length; i++) {
      var op = delta[i];
      if (op.retain !== undefined) {
        at += op.retain;
      } else if (op.insert !== undefined) {
        var n = typeof op.insert === "string" ? op.insert.length : 1;
        if (at < index) index += n;
        at += n;
      } else if (op.delete !== undefined) {
        if (at < index) index -= Math.min(op.delete, index - at);
      }
      if (at > index) break;
    }
    return index;
  }

  text.observe(function (event, transaction) {
    if (transaction.local) return;  // our own typing is in the textarea already
    var start = moved(area.selectionStart, event.delta);
    var end = moved(area.selectionEnd, event.delta);
    shown = text.toString();
    if (synced) {
      var focused = document.activeElement === area;
      area.value = shown;
      if (focused) area.setSelectionRange(start, end);
    }
    refreshMentions();
  });

  area.addEventListener("input", function () {
    if (!writable || !synced) {
      area.value = shown;
      return;
    }
    var now = area.value;
    var prefix = 0;
    var limit = Math.min(now.length, shown.length);
    while (prefix < limit && now.charCodeAt(prefix) === shown.charCodeAt(prefix)) prefix++;
    var suffix = 0;
    while (suffix < limit - prefix &&
           now.charCodeAt(now.length - 1 - suffix) === shown.charCodeAt(shown.length - 1 - suffix)) {
      suffix++;
    }
    var removed = shown.length - prefix - suffix;
    var added = now.slice(prefix, now.length - suffix);
    doc.transact(function () {
      if (removed > 0) text.delete(prefix, removed);
      if (added) text.insert(prefix, added);
    });
    shown = now;
    refreshMentions();
  });
})();
