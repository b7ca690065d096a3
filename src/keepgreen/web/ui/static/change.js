// Keyboard shortcuts and line-number comments for the change page. The page works without
// this file; it only saves keystrokes.
(function () {
  "use strict";
  var files = function () { return Array.prototype.slice.call(document.querySelectorAll("section.file")); };
  var current = -1;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function goToFile(step) {
    var list = files();
    if (!list.length) { return; }
    if (current >= 0 && list[current]) { list[current].classList.remove("current"); }
    current = Math.max(0, Math.min(list.length - 1, current + step));
    list[current].classList.add("current");
    list[current].scrollIntoView({ block: "start" });
    var heading = list[current].querySelector("h4");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  }

  function focus(selector) {
    var el = document.querySelector(selector);
    if (el) { el.scrollIntoView({ block: "center" }); el.focus(); }
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog) { return; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var handled = true;
    switch (event.key) {
      case "j": goToFile(1); break;
      case "k": goToFile(-1); break;
      case "r": focus("#reply-message"); break;
      case "a": focus("#vote-box input:checked, #vote-box input"); break;
      case "u": var toggle = document.getElementById("mode-toggle"); if (toggle) { toggle.click(); } break;
      case "?": toggleHelp(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // Clicking a line number opens the file's comment form on that line.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.line-link");
    if (!link) { return; }
    var section = link.closest("section.file");
    var form = section && section.querySelector("details.new-comment");
    if (!form) { return; }
    event.preventDefault();
    form.open = true;
    form.querySelector(".line-input").value = link.getAttribute("data-line");
    history.replaceState(null, "", link.getAttribute("href"));
    form.querySelector("textarea").focus();
  });
}());
