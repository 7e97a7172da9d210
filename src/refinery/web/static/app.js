// Refinery's page behaviour: progress events, file filter, fix confirmations, keyboard navigation.
// Everything from the server is inserted as text (textContent), never as markup.
(function () {
  "use strict";

  function follow(box) {
    var list = document.getElementById("stages");
    var current = document.getElementById("current");
    var elapsed = document.getElementById("elapsed");
    var began = Date.now();
    var timer = setInterval(function () {
      elapsed.textContent = Math.round((Date.now() - began) / 1000) + " s";
    }, 1000);
    var source = new EventSource(box.dataset.events);
    source.addEventListener("stage", function (e) {
      var data = JSON.parse(e.data);
      var last = list.lastElementChild;
      if (last && last.dataset.stage === data.stage) {
        last.querySelector(".msg").textContent = data.message;
      } else {
        if (last) { last.classList.add("done"); }
        var item = document.createElement("li");
        item.dataset.stage = data.stage;
        var msg = document.createElement("span");
        msg.className = "msg";
        msg.textContent = data.message;
        item.appendChild(msg);
        list.appendChild(item);
      }
      current.textContent = data.message;
    });
    source.addEventListener("done", function (e) {
      source.close();
      clearInterval(timer);
      current.textContent = "Done. Opening the diagnosis…";
      window.location.assign(JSON.parse(e.data).url);
    });
    source.addEventListener("failed", function (e) {
      source.close();
      clearInterval(timer);
      box.classList.add("stopped");
      current.textContent = "The analysis stopped.";
      var failure = document.getElementById("failure");
      failure.textContent = JSON.parse(e.data).message;
      failure.hidden = false;
      document.getElementById("failure-actions").hidden = false;
    });
  }

  function filterRows(input) {
    var needle = input.value.toLowerCase();
    var rows = document.querySelectorAll(input.dataset.filter + " tr[data-name]");
    rows.forEach(function (row) {
      row.hidden = needle && row.dataset.name.toLowerCase().indexOf(needle) < 0;
    });
  }

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("#fixes > .fix"));
  }

  function onKey(e) {
    var card = e.target.closest && e.target.closest("#fixes > .fix");
    if (!card || e.target !== card) { return; }
    var all = cards();
    var index = all.indexOf(card);
    if (e.key === "ArrowDown" || e.key === "j") {
      e.preventDefault();
      if (index + 1 < all.length) { all[index + 1].focus(); }
    } else if (e.key === "ArrowUp" || e.key === "k") {
      e.preventDefault();
      if (index > 0) { all[index - 1].focus(); }
    } else if (e.key === "Enter") {
      e.preventDefault();
      var box = card.querySelector("details.diff-box");
      if (box) { box.open = !box.open; }
    }
  }

  function onClick(e) {
    var opener = e.target.closest("[data-confirm]");
    if (opener) {
      document.getElementById(opener.dataset.confirm).showModal();
      return;
    }
    var closer = e.target.closest("[data-close]");
    if (closer) {
      e.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    var jump = e.target.closest("a.jump[data-start]");
    if (jump && window.htmx) {
      e.preventDefault();
      var url = window.location.pathname + "/timeline?start=" + jump.dataset.start;
      window.htmx.ajax("GET", url, "#timeline").then(function () {
        var target = document.querySelector(jump.getAttribute("href"));
        if (target) { target.scrollIntoView({ block: "center" }); }
      });
    }
  }

  // A failed partial update must never look like nothing happened: show the server's one line.
  function onResponseError(e) {
    var xhr = e.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var line = doc.querySelector(".error-line");
    var toast = document.getElementById("toast");
    toast.textContent = line ? line.textContent : "The server answered " + xhr.status + ".";
    toast.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("htmx:responseError", onResponseError);
    var box = document.querySelector("[data-events]");
    if (box) { follow(box); }
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    document.addEventListener("input", function (e) {
      if (e.target.dataset && e.target.dataset.filter) { filterRows(e.target); }
    });
  });
})();
