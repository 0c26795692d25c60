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
    drawChart();
  }
  viewButtons.forEach(function (b) {
    b.addEventListener("click", function () { setView(b.getAttribute("data-view")); });
  });

  // which rows show: the filter (every word must occur in the row's search text), the
  // incomplete-runs toggle and folded sections; the chart follows the table
  var filter = document.getElementById("filter");
  var nomatch = table.querySelector("tbody.nomatch");
  var showIncomplete = document.getElementById("show-incomplete");
  var showDetails = document.getElementById("show-details");
  function applyFilter() {
    var words = filter ? filter.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    var incomplete = showIncomplete && showIncomplete.checked;
    table.classList.toggle("show-incomplete", !!incomplete);
    var anyShown = false;
    bodies().forEach(function (body) {
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var text = row.getAttribute("data-search") || "";
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !ok;
        if (ok && (incomplete || !row.classList.contains("incomplete"))) shown++;
      });
      var head = table.querySelector('tbody.section-head[data-section="' + body.getAttribute("data-section") + '"]');
      if (head) head.hidden = shown === 0;
      body.hidden = shown === 0;
      anyShown = anyShown || shown > 0;
    });
    if (nomatch) nomatch.hidden = anyShown || !table.querySelector("tbody.rows tr");
    drawChart();
  }
  if (filter) filter.addEventListener("input", applyFilter);
  if (showIncomplete) showIncomplete.addEventListener("change", applyFilter);
  if (showDetails) {
    showDetails.addEventListener("change", function () {
      table.classList.toggle("show-details", showDetails.checked);
    });
    table.classList.toggle("show-details", showDetails.checked);
  }

  // sections fold and unfold
  table.querySelectorAll("button.fold").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", String(open));
      var key = btn.getAttribute("data-fold");
      table.querySelectorAll('tbody[data-section="' + key + '"]').forEach(function (b) {
        b.classList.toggle("folded", !open);
      });
      drawChart();
    });
  });

  // the chart: micro and macro of the rows the table shows, best macro first
  var DATA = window.MWPB_INDEX || {rows: {}};
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function visibleKeys() {
    var keys = [], seen = {};
    bodies().forEach(function (body) {
      if (body.hidden || body.classList.contains("folded")) return;
      Array.prototype.forEach.call(body.rows, function (row) {
        var key = row.getAttribute("data-key");
        if (row.hidden || seen[key] || row.offsetParent === null) return;
        seen[key] = true;
        keys.push(key);
      });
    });
    return keys;
  }
  function drawChart() {
    var box = document.getElementById("index-chart");
    if (!box) return;
    var fixed = window.MWPB_FMT ? MWPB_FMT.fixed : function (v) { return v === null || v === undefined ? "\u2013" : v.toFixed(1); };
    var items = visibleKeys().map(function (k) {
      var d = DATA.rows[k];
      if (!d) return null;
      var g = d.kind === "reported" ? "official" : view;
      return {d: d, micro: d[g][0], macro: d[g][1]};
    }).filter(function (x) { return x && (x.micro !== null || x.macro !== null); });
    items.sort(function (a, b) { return (b.macro === null ? -1 : b.macro) - (a.macro === null ? -1 : a.macro); });
    var rowH = 30, left = 300, right = 56, width = 960, top = 22;
    var plot = width - left - right, height = top + items.length * rowH + 8;
    var root = svg("svg", {viewBox: "0 0 " + width + " " + height, "aria-hidden": "true"});
    [0, 25, 50, 75, 100].forEach(function (t) {
      var x = left + plot * t / 100;
      root.appendChild(svg("line", {x1: x, x2: x, y1: top - 4, y2: height - 6, "class": "grid"}));
      root.appendChild(svg("text", {x: x, y: 12, "text-anchor": "middle"}, t + "%"));
    });
    var sections = {};
    items.forEach(function (it) { sections[it.d.section] = true; });
    var several = Object.keys(sections).length > 1;
    items.forEach(function (it, i) {
      var y = top + i * rowH;
      var label = it.d.label.length > 40 ? it.d.label.slice(0, 39) + "\u2026" : it.d.label;
      var text = svg("text", {x: left - 8, y: y + 17, "text-anchor": "end",
                              "class": "lbl" + (it.d.kind === "reported" ? " rep" : "")},
                     (several ? "\u00a7" + it.d.section + " " : "") + label);
      text.appendChild(svg("title", {}, it.d.label));
      root.appendChild(text);
      [[it.micro, "bar-micro", y + 3], [it.macro, "bar-macro", y + 15]].forEach(function (b) {
        var v = b[0];
        var w = v === null || v === undefined ? 0 : Math.max(1, plot * Math.min(Math.max(v, 0), 100) / 100);
        var cls = b[1] + (it.d.kind === "reported" ? " rep" : "");
        var rect = svg("rect", {x: left, y: b[2], width: w, height: 10, rx: 1.5, "class": cls});
        rect.appendChild(svg("title", {}, (b[1] === "bar-micro" ? "micro " : "macro ") + fixed(v, 1)));
        root.appendChild(rect);
        root.appendChild(svg("text", {x: left + w + 4, y: b[2] + 9, "class": "val"}, fixed(v, 1)));
      });
    });
    box.textContent = "";
    box.appendChild(root);
    var note = document.getElementById("index-chart-note");
    if (note) {
      var parts = [];
      if (several) parts.push("\u00a7 marks the table section: numbers from different sections are not like for like");
      if (view === "strict" && items.some(function (it) { return it.d.kind === "reported"; })) {
        parts.push("reported rows are official-grader numbers; switch to Official to compare like with like");
      }
      if (!items.length) parts.push("no row to chart");
      note.textContent = parts.length ? "\u00b7 " + parts.join("; ") + "." : "";
    }
  }
  applyFilter();
  window.MWPB_INDEX_READY_MS = performance.now();

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
