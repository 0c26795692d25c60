"""Random LaTeX answers for the differential test of grading/latex.py.

Well-formed expressions over everything the fast reader covers, mixed with the shapes it must
refuse or read the original's way (function calls, bars, bare `\\max`, `I`, differentials,
brace-less arguments) and with short runs of junk tokens. Seeded: the same corpus every run.
"""

from __future__ import annotations

import random

GREEK = ["\\pi", "\\theta", "\\alpha", "\\lambda", "\\mu", "\\sigma", "\\phi", "\\Delta", "\\gamma", "\\prime", "\\ell"]
FUNCS = ["\\sin", "\\cos", "\\tan", "\\cot", "\\sec", "\\csc", "\\arcsin", "\\arctan", "\\sinh", "\\cosh",
         "\\log", "\\ln", "\\exp", "\\arcsinh", "\\max", "\\min"]  # fmt: skip
LETTERS = list("abcxyzntkmprsuvwABCXYZTPQ") + ["e", "E", "I", "i", "d", "f", "g"]
OPS = ["+", "-", "*", "/", "\\cdot", "\\times", "\\div", ":", " ", ""]
SUBSCRIPTS = ["1", "n", "{12}", "{n+1}", "{0}", "x", "{ab}", "{2 k}"]
CALLEES = ["f", "g", "P", "x", "c_{1}", "\\psi", "f^{-1}", "y_{2}", "\\hat{u}"]
JUNK = ["x", "y", "2", "10", "0.5", ".5", "(", ")", "[", "]", "{", "}", "|", "^", "_", "-", "+", "\\frac",
        "\\sqrt", "\\sin", "\\ln", "\\pi", "e", "d", "I", "!", ",", "=", "\\cdot", "\\approx", "\\hat{t}",
        "\\infty", " ", "f", "\\sum", "\\left(", "\\right)", "&", "\\\\", ".", "E", "1.", "tr", "\\gamma",
        "\\mid", "\\max", "dx", "\\begin{bmatrix}", "\\end{bmatrix}", "^T", "e_", "\\{", "\\}", "\\inftyen"]  # fmt: skip


def _number(r: random.Random) -> str:
    k = r.random()
    if k < 0.6:
        return str(r.randint(0, 20 if r.random() < 0.7 else 99999))
    if k < 0.8:
        return f"{r.randint(0, 99)}.{r.randint(0, 999):0{r.randint(1, 3)}d}"
    if k < 0.9:
        return "0" + str(r.randint(0, 9))
    return "." + str(r.randint(0, 99))


def _atom(r: random.Random) -> str:
    k = r.random()
    if k < 0.35:
        return _number(r)
    if k < 0.7:
        return r.choice(LETTERS)
    if k < 0.82:
        return r.choice(GREEK)
    if k < 0.86:
        return "\\infty"
    if k < 0.9:
        return f"\\{r.choice(['hat', 'bar', 'vec', 'overline', 'tilde'])}{{{r.choice(LETTERS)}}}"
    if k < 0.95:
        return r.choice(LETTERS) + "_" + r.choice(SUBSCRIPTS)
    return r.choice(["1200_7", "52_8", "4210_{5}"])


def _expr(r: random.Random, depth: int) -> str:  # noqa: C901 - one branch per shape
    if depth > 3 or r.random() < 0.3:
        return _atom(r)

    def sub() -> str:
        return _expr(r, depth + 1)

    def space() -> str:
        return r.choice(["", " ", "  "])

    k = r.random()
    if k < 0.25:
        return sub() + space() + r.choice(OPS) + space() + sub()
    if k < 0.33:
        return f"\\frac{{{sub()}}}{{{sub()}}}"
    if k < 0.38:
        return f"\\sqrt{{{sub()}}}" if r.random() < 0.7 else f"\\sqrt[{sub()}]{{{sub()}}}"
    if k < 0.46:
        return sub() + "^" + (f"{{{sub()}}}" if r.random() < 0.6 else _atom(r))
    if k < 0.52:
        return r.choice(["(", "[", "{", "\\left(", "\\{"]) + sub() + r.choice([")", "]", "}", "\\right)", "\\}"])
    if k < 0.56:
        bar = "|" if r.random() < 0.6 else "\\|"
        return bar + sub() + bar
    if k < 0.62:
        return r.choice(["-", "+", "- "]) + sub()
    if k < 0.74:
        power = r.choice(["", "", "^{2}", "^2", "^{-1}", "^{0}", "_{2}", "_2", "_{b}"])
        arg = sub()
        return r.choice(FUNCS) + power + (f"({arg})" if r.random() < 0.5 else " " + arg)
    if k < 0.78:
        return sub() + r.choice(["!", "!", "^T", "^{T}", "^{T} "])
    if k < 0.82:
        args = [_atom(r) if r.random() < 0.6 else sub() for _ in range(1 if r.random() < 0.7 else r.randint(2, 3))]
        return r.choice(CALLEES) + "(" + r.choice([",", ", "]).join(args) + r.choice(["", "", ","]) + ")"
    if k < 0.85:
        return r.choice(["e^{", "e^"]) + sub() + ("}" if r.random() < 0.9 else "")
    if k < 0.88:
        kind = r.random()
        if kind < 0.4:
            return r.choice(["\\sum", "\\prod"]) + f"_{{{r.choice('nkm')}={sub()}}}^{{{sub()}}} " + sub()
        if kind < 0.7:
            approach = r.choice(["\\to", "\\rightarrow", "\\to", "\\Rightarrow"])
            side = r.choice(["", "", "^{+}", "^{-}", "^+"])
            var = r.choice(["x", "n", "t", "e", "\\theta", "E"])
            return f"\\lim_{{{var} {approach} {sub()}{side}}} " + sub()
        bounds = r.choice(["", f"_{{{sub()}}}^{{{sub()}}}", f"^{{{sub()}}}_{{{sub()}}}", "_0^1", f"_{{{sub()}}}"])
        return "\\int" + bounds + " " + r.choice(["", sub() + " "]) + r.choice(["dx", "d x", "d\\theta", "dt", ""])
    if k < 0.91:
        rows = [" & ".join(sub() for _ in range(r.randint(1, 2))) for _ in range(r.randint(1, 3))]
        env = r.choice(["bmatrix", "pmatrix", "array}{cc"])
        return f"\\begin{{{env}}}" + " \\\\ ".join(rows) + f"\\end{{{env.split('}')[0]}}}"
    if k < 0.93:
        return sub() + " \\approx " + sub()
    if k < 0.96:
        return sub() + space() + sub()
    return "".join(r.choice(JUNK) for _ in range(r.randint(1, 6)))


def random_latex(seed: int, n: int) -> list[str]:
    """`n` strings (duplicates removed), the same for the same seed."""
    r = random.Random(seed)
    out = []
    for _ in range(n):
        if r.random() < 0.1:
            out.append("".join(r.choice(JUNK) for _ in range(r.randint(2, 9))))
        else:
            out.append(_expr(r, 0))
    return list(dict.fromkeys(out))
