// Search as you type and copy buttons. The pages work without this file.
"use strict";
(function () {
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
        });
      });
    });
  }

  function liveSearch() {
    var input = document.getElementById("live") || document.getElementById("q");
    var results = document.getElementById("results");
    if (!input) return;
    if (!results) {
      results = document.createElement("ul");
      results.id = "results";
      results.className = "results";
      var main = document.querySelector("main");
      main.insertBefore(results, main.firstChild);
    }
    var timer = null;
    var asked = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        var mine = ++asked;
        fetch("/api/v1/modules?per_page=20&q=" + encodeURIComponent(q), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
          .then(function (r) { return r.json(); })
          .then(function (body) {
            if (mine !== asked || !body.modules) return;
            results.textContent = "";
            body.modules.forEach(function (m) {
              var li = document.createElement("li");
              var a = document.createElement("a");
              a.href = "/ui/" + m.path;
              a.textContent = m.path;
              li.appendChild(a);
              var span = document.createElement("span");
              span.className = "muted";
              span.textContent = " " + (m.latest || "");
              li.appendChild(span);
              results.appendChild(li);
            });
            if (body.modules.length === 0) {
              var none = document.createElement("li");
              none.textContent = "No module matches.";
              results.appendChild(none);
            }
          })
          .catch(function () {});
      }, 120);
    });
  }

  // The home page's search box takes the focus once the page is on
  // screen: an autofocus attribute made a new tab's first paint some 20 ms
  // later. Not where focus would open an on-screen keyboard over the page,
  // nor if the user has already put the focus elsewhere.
  function focusSearch() {
    var input = document.getElementById("live");
    if (!input || input.value || !matchMedia("(pointer: fine)").matches) return;
    requestAnimationFrame(function () {
      setTimeout(function () {
        if (document.activeElement === document.body) input.focus();
      }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    liveSearch();
    focusSearch();
  });
})();
