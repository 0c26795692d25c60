/* mwpbench: the one rounding rule of the site (mwpbench/leaderboard/numbers.py is its
   Python twin): round half away from zero on the shortest decimal form of the number
   (String(x), the digits Python's repr gives), so 0.125 -> "0.13" and 66.665 -> "66.67"
   on both sides, where toFixed would round the binary value. */
var MWPB_FMT = (function () {
  "use strict";
  var NONE = "\u2013";

  // "d1d2...dn" with the decimal point after `point` digits -> rounded to `places` decimals
  function roundDigits(digits, point, places) {
    var keep = point + places;               // digits kept before rounding
    if (keep < 0) return {digits: "0", point: 1};
    var head = digits.slice(0, keep), next = digits.charAt(keep);
    while (head.length < keep) head += "0";
    if (next >= "5") {                       // half up, away from zero
      var out = "", carry = 1;
      for (var i = head.length - 1; i >= 0; i--) {
        var d = head.charCodeAt(i) - 48 + carry;
        carry = d === 10 ? 1 : 0;
        out = String(d % 10) + out;
      }
      if (carry) { out = "1" + out; point += 1; }
      head = out;
    }
    return {digits: head, point: point};
  }

  function fixed(value, places) {
    if (places === undefined) places = 1;
    if (value === null || value === undefined || typeof value !== "number" || !isFinite(value)) return NONE;
    var negative = value < 0;
    var m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(value)));
    var intPart = m[1], frac = m[2] || "", exp = m[3] ? parseInt(m[3], 10) : 0;
    var digits = intPart + frac, point = intPart.length + exp;
    while (point <= 0) { digits = "0" + digits; point += 1; }  // leading zeros for 1e-7
    var r = roundDigits(digits, point, places);
    var d = r.digits;
    while (d.length < r.point) d += "0";
    var whole = d.slice(0, r.point).replace(/^0+(?=\d)/, "") || "0";
    var decimals = d.slice(r.point, r.point + places);
    while (decimals.length < places) decimals += "0";
    var text = places > 0 ? whole + "." + decimals : whole;
    var zero = /^[0.]+$/.test(text);
    return (negative && !zero ? "-" : "") + text;
  }

  return {fixed: fixed, NONE: NONE};
})();
