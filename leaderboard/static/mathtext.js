/* mwpbench: model text with its math typeset by the bundled KaTeX (static/vendor/katex).

   Text is cut into plain pieces and formulas ($…$, $$…$$, \(…\), \[…\], a bare \boxed{…},
   \begin{align}…\end{align} and kin). Plain pieces become text nodes; each formula is
   handed to katex.render, which builds DOM nodes itself (never innerHTML) with
   trust: false (no \href, \url, \htmlClass, \includegraphics: they show as red source),
   throwOnError: false, a maxSize for \rule and kin, and a maxExpand for macros. A formula
   too long or too deeply nested, one that makes KaTeX throw anyway (a stack overflow), or
   one past the time budget of a text stays plain text. Nothing from the text is ever
   parsed as HTML. */
var MWPB_MATH = (function () {
  "use strict";
  var OPTIONS = {throwOnError: false, trust: false, strict: "ignore", maxSize: 5,
                 maxExpand: 300, output: "htmlAndMathml"};
  var MAX_FORMULA = 3000;   // characters of one formula typeset
  var MAX_DEPTH = 48;       // brace nesting of one formula
  var MAX_FORMULAS = 300;   // formulas typeset in one text; the rest stay text
  var BUDGET_MS = 150;      // typesetting time of one text; then the rest stay text
  var SCAN = 4000;          // how far a closing $ is looked for
  var ENVS = /^\\begin\{(equation|align|alignat|gather|multline|aligned|array|cases|matrix|pmatrix|bmatrix)(\*?)\}/;

  function available() { return typeof katex !== "undefined" && katex && typeof katex.render === "function"; }

  function closingBrace(text, open) {  // index of the } matching text[open] === "{", or -1
    var depth = 0;
    for (var i = open; i < text.length; i++) {
      var c = text.charAt(i);
      if (c === "\\") { i++; continue; }
      if (c === "{") depth++;
      else if (c === "}" && --depth === 0) return i;
    }
    return -1;
  }

  function closingDollar(text, from) {  // a $ that closes inline math opened before `from`
    var end = Math.min(text.length, from + SCAN);
    for (var i = from; i < end; i++) {
      var c = text.charAt(i);
      if (c === "\\") { i++; continue; }
      if (c === "\n" && text.charAt(i + 1) === "\n") return -1;  // not across paragraphs
      if (c === "$") {
        var before = text.charAt(i - 1);
        if (i === from || /\s/.test(before)) return -1;  // "$5 and $10": prices, not math
        if (/[0-9]/.test(text.charAt(i + 1))) return -1;
        return i;
      }
    }
    return -1;
  }

  // [{math: false, text} | {math: true, display, tex, raw}]
  function split(text) {
    var out = [], plain = "", i = 0, n = text.length;
    function push(piece) {
      if (plain) { out.push({math: false, text: plain}); plain = ""; }
      out.push(piece);
    }
    while (i < n) {
      var c = text.charAt(i), next = text.charAt(i + 1), end;
      if (c === "\\" && next === "$") { plain += "$"; i += 2; continue; }
      if (c === "$" && next === "$") {
        end = text.indexOf("$$", i + 2);
        if (end > i + 2) { push({math: true, display: true, tex: text.slice(i + 2, end), raw: text.slice(i, end + 2)}); i = end + 2; continue; }
      } else if (c === "$") {
        if (next && !/\s/.test(next)) {
          end = closingDollar(text, i + 1);
          if (end > i + 1) { push({math: true, display: false, tex: text.slice(i + 1, end), raw: text.slice(i, end + 1)}); i = end + 1; continue; }
        }
      } else if (c === "\\" && (next === "(" || next === "[")) {
        end = text.indexOf(next === "(" ? "\\)" : "\\]", i + 2);
        if (end > i + 2) { push({math: true, display: next === "[", tex: text.slice(i + 2, end), raw: text.slice(i, end + 2)}); i = end + 2; continue; }
      } else if (c === "\\" && text.startsWith("\\boxed{", i)) {
        end = closingBrace(text, i + 6);
        if (end > 0) { push({math: true, display: false, tex: text.slice(i, end + 1), raw: text.slice(i, end + 1)}); i = end + 1; continue; }
      } else if (c === "\\" && next === "b") {
        var m = ENVS.exec(text.slice(i, i + 40));
        if (m) {
          var close = "\\end{" + m[1] + m[2] + "}";
          end = text.indexOf(close, i);
          if (end > 0) {
            var raw = text.slice(i, end + close.length);
            push({math: true, display: true, tex: raw, raw: raw}); i = end + close.length; continue;
          }
        }
      }
      if (c === "\\" && next) { plain += c + next; i += 2; continue; }
      plain += c;
      i++;
    }
    if (plain) out.push({math: false, text: plain});
    return out;
  }

  function tooDeep(tex) {
    var depth = 0;
    for (var i = 0; i < tex.length; i++) {
      var c = tex.charAt(i);
      if (c === "{") { if (++depth > MAX_DEPTH) return true; } else if (c === "}") depth--;
    }
    return false;
  }

  function plainNode(text, why) {
    var span = document.createElement("span");
    span.className = "math-plain";
    if (why) span.title = why;
    span.textContent = text;
    return span;
  }

  // one formula -> a node: KaTeX's, or the source as text
  function formula(piece, state) {
    if (state.count >= MAX_FORMULAS) return plainNode(piece.raw, "not typeset: too many formulas in this text");
    if (piece.tex.length > MAX_FORMULA || tooDeep(piece.tex)) return plainNode(piece.raw, "not typeset: too long or too deeply nested");
    if (performance.now() - state.start > BUDGET_MS) return plainNode(piece.raw, "not typeset: this text took too long");
    state.count++;
    var span = document.createElement("span");
    span.className = piece.display ? "math math-display" : "math";
    try {
      var opts = {};
      for (var k in OPTIONS) opts[k] = OPTIONS[k];
      opts.displayMode = piece.display;
      katex.render(piece.tex, span, opts);
    } catch (err) {  // not a ParseError (those are drawn in red): e.g. a stack overflow
      return plainNode(piece.raw, "not typeset: " + String(err && err.message || err).slice(0, 200));
    }
    return span;
  }

  // fill `box` with `text`: mode "text" (math between delimiters), "answer" (a bare
  // answer such as \frac{1}{2}: all of it is one formula when it looks like LaTeX), or
  // "raw" (exactly as stored)
  function fill(box, text, mode) {
    box.textContent = "";
    text = text === null || text === undefined ? "" : String(text);
    if (mode === "raw" || !available() || !text) {
      box.appendChild(document.createTextNode(text));
      return box;
    }
    var pieces;
    if (mode === "answer" && !/\$|\\\(|\\\[/.test(text) && /[\\^_{}]/.test(text)) {
      pieces = [{math: true, display: false, tex: text, raw: text}];
    } else {
      pieces = split(text);
    }
    var state = {count: 0, start: performance.now()};
    var frag = document.createDocumentFragment();
    pieces.forEach(function (p) {
      frag.appendChild(p.math ? formula(p, state) : document.createTextNode(p.text));
    });
    box.appendChild(frag);
    return box;
  }

  return {fill: fill, split: split, available: available};
})();
