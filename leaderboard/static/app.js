/* mwpbench leaderboard index: sort, filter, grader toggle, subset columns. No dependencies. */
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) return;
  var view = "strict";
  var sortState = null; // {index, dir}
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);

  function bodies() { return Array.prototype.slice.call(table.querySelectorAll("tbody.rows")); }

  function key(cell, numeric) {
    if (!cell) return null;
    if (numeric) {
      var raw = cell.getAttribute(view === "strict" ? "data-s" : "data-o");
      return raw === null || raw === "" ? null : parseFloat(raw);
    }
    var k = cell.getAttribute("data-k");
    return (k !== null ? k : cell.textContent.trim().toLowerCase()) || null;
  }

  function sortBy(index, dir) {
    var numeric = headers[index].getAttribute("data-sort") === "num";
    bodies().forEach(function (body) {
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
        if (x === null && y === null) return 0;
        if (x === null) return 1; // missing values last, in both directions
        if (y === null) return -1;
        if (x < y) return -dir;
        if (x > y) return dir;
        return 0;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
    headers.forEach(function (h, i) {
      h.setAttribute("aria-sort", i === index ? (dir > 0 ? "ascending" : "descending") : "none");
    });
    sortState = {index: index, dir: dir};
  }

  headers.forEach(function (th, index) {
    if (!th.hasAttribute("data-sort")) return;
    th.addEventListener("click", function (ev) {
      if (ev.target.closest("button")) return;
      var numeric = th.getAttribute("data-sort") === "num";
      var dir = sortState && sortState.index === index ? -sortState.dir : (numeric ? -1 : 1);
      sortBy(index, dir);
    });
  });

  // strict / official
  var viewButtons = document.querySelectorAll("[data-view]");
  function setView(next) {
    view = next;
    table.classList.toggle("view-strict", next === "strict");
    table.classList.toggle("view-official", next === "official");
    viewButtons.forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-view") === next));
    });
    if (sortState && headers[sortState.index].getAttribute("data-sort") === "num") {
      sortBy(sortState.index, sortState.dir);
    }
  }
  viewButtons.forEach(function (b) {
    b.addEventListener("click", function () { setView(b.getAttribute("data-view")); });
  });

  // filter: every word must occur in the row's search text
  var filter = document.getElementById("filter");
  var nomatch = table.querySelector("tbody.nomatch");
  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var anyShown = false;
    bodies().forEach(function (body) {
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var text = row.getAttribute("data-search") || "";
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !ok;
        if (ok) shown++;
      });
      var head = table.querySelector('tbody.section-head[data-section="' + body.getAttribute("data-section") + '"]');
      if (head) head.hidden = shown === 0;
      body.hidden = shown === 0;
      anyShown = anyShown || shown > 0;
    });
    if (nomatch) nomatch.hidden = anyShown;
  }
  if (filter) {
    filter.addEventListener("input", applyFilter);
    if (filter.value) applyFilter();
  }

  // subset columns (MATH, CollegeMath)
  table.querySelectorAll("button.expand").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      ev.stopPropagation();
      var open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", String(open));
      btn.textContent = open ? "−" : "+";
      var parent = btn.getAttribute("data-expand");
      table.querySelectorAll("[data-parent]").forEach(function (cell) {
        if (cell.getAttribute("data-parent") === parent) cell.classList.toggle("shown", open);
      });
    });
  });
})();
