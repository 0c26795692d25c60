/* mwpbench run page: comparison chart and sample browser. No dependencies.
   Data arrive as <script src> files (file:// forbids fetch); every string from a run is
   put on the page with textContent, never as HTML. */
var MWPB = (function () {
  "use strict";
  var PAGE = window.MWPB_PAGE || {};
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function num(n) { return n.toLocaleString("en"); }
  function pct(v) { return MWPB_FMT.fixed(v, 1); }

  // ---- chart ------------------------------------------------------------------------
  var options = {};
  (PAGE.options || []).forEach(function (o) { options[o.key] = o; });
  // like for like: a reported row (official grader) is compared with the run's official numbers
  var first = options[PAGE.default_compare];
  var grader = first && first.kind === "reported" ? "official" : "strict";
  document.querySelectorAll("[data-grader]").forEach(function (b) {
    b.setAttribute("aria-pressed", String(b.getAttribute("data-grader") === grader));
  });
  var self = options[PAGE.run && PAGE.run.key] || {strict: {}, official: {}};
  var select = document.getElementById("compare");

  function sameVersions(a, b) {
    for (var t in a) if (t in b && a[t] !== b[t]) return false;
    return true;
  }

  function drawChart() {
    var box = document.getElementById("chart");
    if (!box) return;
    var other = select && select.value ? options[select.value] : null;
    var cols = PAGE.columns || [];
    var rowH = 34, left = 150, right = 60, width = 860, top = 22;
    var plot = width - left - right;
    var height = top + cols.length * rowH + 8;
    var root = svg("svg", {viewBox: "0 0 " + width + " " + height, "aria-hidden": "true"});
    [0, 25, 50, 75, 100].forEach(function (t) {
      var x = left + plot * t / 100;
      root.appendChild(svg("line", {x1: x, x2: x, y1: top - 4, y2: height - 6, "class": "grid"}));
      root.appendChild(svg("text", {x: x, y: 12, "text-anchor": "middle"}, t + "%"));
    });
    cols.forEach(function (c, i) {
      var y = top + i * rowH;
      root.appendChild(svg("text", {x: left - 8, y: y + 19, "text-anchor": "end", "class": "lbl"}, c.label));
      var bars = [[(self[grader] || {})[c.key], "bar-run", y + 4]];
      if (other) {
        var g = other.kind === "reported" ? "official" : grader;
        bars.push([(other[g] || {})[c.key], "bar-cmp", y + 17]);
      }
      bars.forEach(function (b) {
        var v = b[0];
        var w = v === null || v === undefined ? 0 : Math.max(1, plot * Math.min(v, 100) / 100);
        var rect = svg("rect", {x: left, y: b[2], width: w, height: 12, rx: 2, "class": b[1]});
        rect.appendChild(svg("title", {}, pct(v)));
        root.appendChild(rect);
        root.appendChild(svg("text", {x: left + w + 4, y: b[2] + 10, "class": "val"}, pct(v)));
      });
    });
    box.textContent = "";
    box.appendChild(root);

    var note = document.getElementById("compare-note");
    var label = document.getElementById("cmp-label");
    if (label) label.textContent = other ? other.label : "(no comparison)";
    if (note) {
      var warnings = [];
      if (other) {
        if (other.kind === "reported" && grader === "strict") warnings.push("reported rows use the official grader");
        if (other.source !== PAGE.run.source) warnings.push("different source (" + other.source + ")");
        if (other.limit !== PAGE.run.limit) warnings.push("different item set (limit " + (other.limit === null ? "none" : other.limit) + ")");
        if (!sameVersions(other.versions || {}, PAGE.run.versions || {})) warnings.push("different task versions");
      }
      note.textContent = warnings.length ? "Not like for like: " + warnings.join("; ") + "." : "";
    }
  }
  document.querySelectorAll("[data-grader]").forEach(function (b) {
    b.addEventListener("click", function () {
      grader = b.getAttribute("data-grader");
      document.querySelectorAll("[data-grader]").forEach(function (x) {
        x.setAttribute("aria-pressed", String(x === b));
      });
      drawChart();
    });
  });
  if (select) select.addEventListener("change", drawChart);
  drawChart();

  // ---- sample browser -----------------------------------------------------------------
  var S = PAGE.samples || {};
  var index = null;          // {tasks, subsets, statuses, prefix, suffix, rows}
  var texts = {};            // chunk number -> [[prompt middle, completion], ...]
  var waiting = {};          // chunk number -> [callbacks]
  var matches = [];
  var page = 0;
  var list = document.getElementById("samples");
  var F = function (id) { return document.getElementById(id); };
  // row fields
  var ID = 0, TASK = 1, SUBSET = 2, SIDX = 3, STATUS = 4, OK = 5, OOK = 6, EX = 7, OEX = 8,
      GOLD = 9, RULE = 10, METHOD = 11, FIN = 12, ERR = 13, LEVEL = 14;
  // chunk entries: [question or null (= rebuilt from the prompt), prompt middle, completion, cuts]
  var Q = 0, P = 1, C = 2, CUTS = 3;
  var RAW_HREF = /^raw\/\d+-[qpc]\.txt$/;
  var mathMode = "typeset";
  try { if (window.localStorage && localStorage.getItem("mwpb-math") === "raw") mathMode = "raw"; } catch (e) { /* file:// without storage */ }

  function size() { return parseInt(F("p-size").value, 10) || 25; }

  function filterRows() {
    var task = F("f-task").value, verdict = F("f-verdict").value, agree = F("f-agree").value;
    var trunc = F("f-trunc").checked, q = F("f-q").value.trim().toLowerCase();
    var t = task ? task.split(":") : null, tk = t ? t[0] : null, tv = t ? parseInt(t[1], 10) : -1;
    var status = verdict.indexOf("st:") === 0 ? index.statuses.indexOf(verdict.slice(3)) : -1;
    var out = [];
    var rows = index.rows;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (tk === "t" && r[TASK] !== tv) continue;
      if (tk === "s" && r[SUBSET] !== tv) continue;
      if (verdict === "s1" && r[OK] !== 1) continue;
      if (verdict === "s0" && r[OK] !== 0) continue;
      if (verdict === "o1" && r[OOK] !== 1) continue;
      if (verdict === "o0" && r[OOK] !== 0) continue;
      if (status >= 0 && r[STATUS] !== status) continue;
      if (agree) {
        if (r[OOK] === null) continue;
        if (agree === "d" && r[OK] === r[OOK]) continue;
        if (agree === "s1o0" && !(r[OK] === 1 && r[OOK] === 0)) continue;
        if (agree === "s0o1" && !(r[OK] === 0 && r[OOK] === 1)) continue;
      }
      if (trunc && r[FIN] !== "length") continue;
      if (q && (r[ID] + "\u0000" + r[GOLD] + "\u0000" + (r[EX] || "") + "\u0000" + (r[OEX] || "")).toLowerCase().indexOf(q) === -1) continue;
      out.push(i);
    }
    matches = out;
  }

  function loadChunk(k, done) {
    if (texts[k]) return done();
    if (waiting[k]) return waiting[k].push(done);
    waiting[k] = [done];
    var s = document.createElement("script");
    s.src = S.meta.replace(/samples\.js$/, "text-" + ("0000" + k).slice(-5) + ".js");
    s.onerror = function () { texts[k] = {failed: true}; flush(k); };
    document.head.appendChild(s);
  }
  function flush(k) {
    var fns = waiting[k] || [];
    delete waiting[k];
    fns.forEach(function (fn) { fn(); });
  }

  function render() {
    var pages = Math.max(1, Math.ceil(matches.length / size()));
    page = Math.min(Math.max(page, 0), pages - 1);
    var start = page * size(), slice = matches.slice(start, start + size());
    F("p-num").value = page + 1;
    F("p-num").max = pages;
    F("p-total").textContent = pages;
    F("p-info").textContent = matches.length
      ? num(start + 1) + "–" + num(start + slice.length) + " of " + num(matches.length) +
        (matches.length !== index.rows.length ? " (filtered from " + num(index.rows.length) + ")" : "")
      : "no sample matches";
    document.querySelectorAll("[data-page=first],[data-page=prev]").forEach(function (b) { b.disabled = page === 0; });
    document.querySelectorAll("[data-page=next],[data-page=last]").forEach(function (b) { b.disabled = page >= pages - 1; });
    var need = {}, pending = 0, token = render.token = (render.token || 0) + 1;
    slice.forEach(function (i) { need[Math.floor(i / S.chunk)] = true; });
    var chunks = Object.keys(need);
    pending = chunks.length;
    var finish = function () {
      if (token !== render.token) return; // a newer render superseded this one
      list.textContent = "";
      if (!slice.length) list.appendChild(el("li", "none", "No sample matches these filters."));
      if (pending) pending.disconnect();
      slice.forEach(function (i, n) { list.appendChild(card(i, start + n + 1, n < EAGER_CARDS)); });
      document.documentElement.setAttribute("data-samples-ready", "1");
      if (window.MWPB_READY_MS === undefined) window.MWPB_READY_MS = performance.now();
    };
    if (!pending) return finish();
    chunks.forEach(function (k) { loadChunk(+k, function () { if (--pending === 0) finish(); }); });
  }

  function verdict(label, value, status) {
    if (value === null || value === undefined) return el("span", "verdict na", label + " –");
    return el("span", "verdict " + (value ? "ok" : "bad"),
              label + (value ? " ✓" : " ✗") + (status && !value ? " " + status : ""));
  }

  // Math is typeset at once in the first cards of a page and, further down, when a card
  // comes near the screen (typesetting all 25 cards would hold the first paint back).
  var EAGER_CARDS = 3;
  var pending = typeof IntersectionObserver === "function" ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) typesetNow(e.target); });
  }, {rootMargin: "800px 0px"}) : null;
  function typesetNow(node) {
    var src = node.mwpbSource;
    if (!src) return;
    node.mwpbSource = null;
    if (pending) pending.unobserve(node);
    MWPB_MATH.fill(node, src[0], src[1]);
  }
  function math(node, value, mode, eager) {
    if (mathMode === "raw") mode = "raw";
    if (eager || mode === "raw" || !pending) return MWPB_MATH.fill(node, value, mode);
    node.textContent = value;  // raw until it comes near the screen
    node.mwpbSource = [value, mode];
    pending.observe(node);
    return node;
  }
  function typesetAll() {  // every card of the page, now (tests, printing)
    document.querySelectorAll("#samples .math-pending").forEach(typesetNow);
  }

  function answer(dl, term, value, eager, mode) {
    dl.appendChild(el("dt", "", term));
    if (value === null || value === undefined || value === "") {
      dl.appendChild(el("dd", "none", "none"));
      return;
    }
    dl.appendChild(math(el("dd", "ans math-pending"), value, mode || "answer", eager));
  }
  // a text block: typeset (or raw) text, and where the site cut it, a link to all of it
  function textBlock(cls, value, cut, eager) {
    var box = el("div", "s-text " + cls);
    if (value === null) {
      box.appendChild(el("span", "none", "(could not load)"));
      return box;
    }
    box.appendChild(math(el("span", "s-body math-pending"), value, "text", eager));
    if (cut && RAW_HREF.test(cut[1])) {
      var note = el("p", "cut", "Cut here: showing the first " + num(value.length) + " of " +
                    num(cut[0]) + " characters. ");
      var link = el("a", "", "The whole text");
      link.href = S.base + cut[1];
      link.setAttribute("rel", "noopener");
      note.appendChild(link);
      note.appendChild(document.createTextNode(" (plain text)."));
      box.appendChild(note);
    }
    return box;
  }

  function card(i, pos, eager) {
    var r = index.rows[i];
    var chunk = texts[Math.floor(i / S.chunk)] || {};
    var entry = chunk.failed ? null : (chunk[i % S.chunk] || null);
    var cuts = entry && entry[CUTS] ? entry[CUTS] : {};
    var li = el("li", "sample" + (r[OOK] !== null && r[OK] !== r[OOK] ? " disagree" : ""));
    li.setAttribute("data-index", i);
    var head = el("div", "s-head");
    head.appendChild(el("span", "s-pos", "#" + pos));
    head.appendChild(el("span", "s-id", r[ID]));
    var level = r[LEVEL] === null || r[LEVEL] === undefined ? "" : " · " + index.levels[r[LEVEL]];
    head.appendChild(el("span", "s-task", index.subsets[r[SUBSET]] + level + (r[SIDX] ? " · sample " + r[SIDX] : "")));
    head.appendChild(verdict("strict", r[OK], index.statuses[r[STATUS]]));
    head.appendChild(verdict("official", r[OOK]));
    head.appendChild(el("span", "s-rule", "rule " + (r[RULE] || "–") + " · method " + (r[METHOD] || "–")));
    head.appendChild(el("span", "s-fin " + r[FIN], r[FIN] || ""));
    li.appendChild(head);
    var question = null;
    if (entry) question = entry[Q] !== null ? entry[Q] : (index.qhead || "") + entry[P] + (index.qtail || "");
    li.appendChild(textBlock("s-question", question, cuts.q || (entry && entry[Q] === null ? cuts.p : null), eager));
    var dl = el("dl", "s-answers");
    answer(dl, "gold", r[GOLD], eager);
    answer(dl, "extracted (strict)", r[EX], eager);
    answer(dl, "extracted (official)", r[OEX], eager);
    if (r[ERR]) answer(dl, "error", r[ERR], eager, "raw");  // a message, not math
    li.appendChild(dl);
    var comp = el("details", "s-completion");
    comp.open = true;
    comp.appendChild(el("summary", "", "completion"));
    comp.appendChild(textBlock("", entry ? entry[C] : null, cuts.c, eager));
    li.appendChild(comp);
    var prompt = el("details", "s-prompt");
    prompt.appendChild(el("summary", "", "prompt"));
    prompt.appendChild(el("pre", "", entry ? index.prefix + entry[P] + index.suffix : "(could not load)"));
    li.appendChild(prompt);
    return li;
  }

  function setMath(mode) {
    mathMode = mode;
    try { if (window.localStorage) localStorage.setItem("mwpb-math", mode); } catch (e) { /* no storage */ }
    document.querySelectorAll("[data-math]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-math") === mode));
    });
    if (index) render();
  }
  document.querySelectorAll("[data-math]").forEach(function (b) {
    b.setAttribute("aria-pressed", String(b.getAttribute("data-math") === mathMode));
    b.addEventListener("click", function () { setMath(b.getAttribute("data-math")); });
  });

  function refilter() { filterRows(); page = 0; render(); }

  function start() {
    var sel = F("f-task");
    index.tasks.forEach(function (t, ti) {
      var group = el("optgroup");
      group.label = t;
      var all = el("option", "", t + " (all)");
      all.value = "t:" + ti;
      group.appendChild(all);
      index.subsets.forEach(function (s, si) {
        if (s === t) return;
        for (var j = 0; j < index.rows.length; j++) {
          if (index.rows[j][SUBSET] === si) {
            if (index.rows[j][TASK] !== ti) return;
            break;
          }
        }
        var o = el("option", "", s);
        o.value = "s:" + si;
        group.appendChild(o);
      });
      sel.appendChild(group);
    });
    ["f-task", "f-verdict", "f-agree", "f-trunc", "p-size"].forEach(function (id) {
      F(id).addEventListener("change", refilter);
    });
    F("f-q").addEventListener("input", refilter);
    F("p-num").addEventListener("change", function () { page = (parseInt(F("p-num").value, 10) || 1) - 1; render(); });
    document.querySelectorAll("[data-page]").forEach(function (b) {
      b.addEventListener("click", function () {
        var what = b.getAttribute("data-page");
        page = what === "first" ? 0 : what === "prev" ? page - 1 : what === "next" ? page + 1 : Infinity;
        if (page === Infinity) page = Math.ceil(matches.length / size()) - 1;
        render();
        F("pager").scrollIntoView({block: "nearest"});
      });
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.target.closest("input, select, textarea")) return;
      if (ev.key === "ArrowRight") { page++; render(); }
      if (ev.key === "ArrowLeft") { page--; render(); }
    });
    refilter();
  }

  return {
    samplesLoaded: function (data) { index = data; start(); },
    textLoaded: function (k, data) { texts[k] = data; flush(k); },
    typesetAll: typesetAll,
    failed: function (src) {
      if (list) { list.textContent = ""; list.appendChild(el("li", "none", "Could not load " + src)); }
    }
  };
})();
