"""LaTeX answer -> the SymPy value latex2sympy2_extended builds for it, without its parser.

latex2sympy2_extended parses with an ANTLR grammar whose Python runtime costs 5-500 ms a
string: most of the grading time on LaTeX answers. `read_latex` reads the LaTeX that answers
use (integers and decimals, `\\frac`, `\\sqrt` and `\\sqrt[n]`, powers, `\\pi` and Greek
letters, `e`, `\\infty`, letters with subscripts, accents and primes, implicit products,
`\\cdot`, `\\times`, `\\div`, `/`, `:`, `!`, trig, hyperbolic, log, ln and exp with or without
parentheses, `\\sum` and `\\prod`, `\\lim`, `\\int` with its differential last, norms and
absolute values, transposes, `\\{ \\}` groups, matrices, one `\\approx`) with a recursive-descent reader
that follows the same grammar rules and calls the same SymPy constructors (unevaluated, as
the original does), so the result is the identical expression, quirks included (`2 3` is the
mixed number 5, `\\sin x / 2` is sin(x/2), `e` is Euler's number, `\\log` is base 10,
`\\gamma` is Euler's constant, or the gamma function, evaluated, when no space and an
argument follow it). Where the original's conversion raises on text in the subset
(the norm of an expression, a product of matrices whose shapes do not fit), the reader reads
on and returns a `Failure` naming the exception.
Everything else, and every construct whose reading depends on how ANTLR resolves an ambiguity
not modelled here (a letter before one parenthesised atom, `f(x)`, is a function there), is
refused: `read_latex` returns None and the caller uses latex2sympy2_extended.
`sure_failure` spots, with that library's own (cheap) lexer, text its parser is certain to
reject, so that such text does not pay for the parser either.
A differential test holds all of this to the original.

Input is text after latex2sympy2_extended's `normalize_latex` and after `parse.check_caps`.
Model text is never evaluated as code: values are built node by node.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import sympy as sp

__all__ = ["Failure", "read_latex", "sure_failure"]

_MAX_DEPTH = 60  # nested groups and arguments read before refusing (the caps allow 40)

_GREEK = frozenset(
    "alpha beta delta Delta epsilon varepsilon zeta eta theta Theta vartheta iota kappa lambda "
    "Lambda mu nu xi Xi omicron pi Pi varpi rho varrho sigma Sigma varsigma tau upsilon "
    "Upsilon phi Phi varphi chi psi Psi omega Omega".split()
)  # \gamma and \Gamma: the gamma function when no space follows (see _Reader.gamma)
_OTHER_SYMBOLS = frozenset(
    "Bbbk wp nabla bigstar angle nexists diagdown measuredangle eth diagup sphericalangle "
    "clubsuit varnothing Diamond complement diamondsuit imath Finv triangledown heartsuit jmath "
    "Game triangle spadesuit ell hbar vartriangle hslash blacklozenge lozenge blacksquare mho "
    "blacktriangle sharp prime Im flat square backprime Re natural surd circledS".split()
)
_ACCENTS = {"bar": "bar", "overline": "bar", "vec": "vec", "overrightarrow": "vec", "tilde": "tilde",
            "widetilde": "tilde", "hat": "hat", "acute": "acute", "breve": "breve", "check": "check",
            "widecheck": "widecheck", "dot": "dot", "ddot": "ddot", "grave": "grave"}  # fmt: skip
_TRIG = {"sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "csc": sp.csc, "sec": sp.sec, "cot": sp.cot}
_INVERSE_TRIG = {"sin": sp.asin, "cos": sp.acos, "tan": sp.atan, "csc": sp.acsc, "sec": sp.asec, "cot": sp.acot}
_HYPERBOLIC = {"sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh}
_INVERSE_HYPERBOLIC = {"sinh": sp.asinh, "cosh": sp.acosh, "tanh": sp.atanh}
_ARC = {f"arc{k}": v for k, v in _INVERSE_TRIG.items()}
_AREA = {
    **{f"ar{k}": v for k, v in _INVERSE_HYPERBOLIC.items()},
    **{f"arc{k}": v for k, v in _INVERSE_HYPERBOLIC.items()},
}
_FUNCS = frozenset({*_TRIG, *_HYPERBOLIC, *_ARC, *_AREA, "log", "ln", "exp"})
_APPROACH = frozenset({"to", "rightarrow", "Rightarrow", "longrightarrow", "Longrightarrow"})  # \lim_{x \to 0}
_SKIPPED = frozenset(
    {"quad", "qquad", "thinspace", "medspace", "thickspace", "negthinspace", "negmedspace", "negthickspace"}
)  # spacing the grammar's lexer skips
_MUL_OPS = frozenset({"*", "cdot", "times", "/", "div", ":"})
_DIV_OPS = frozenset({"/", "div", ":"})

# words the grammar's lexer reads as one token wherever they occur in a run of letters
# ("tr" in "tree" is the trace operator there, "ones" in "bones"): such runs are refused
_KEYWORD = re.compile(r"tr|gcd|lcm|floor|ceil|eye|zeros|ones|cols|rows|diag|norm|rank|rref|hstack|"
                      r"vstack|nullspace|orth|eig|svd|SVD|arc?(?:sinh|cosh|tanh)|matrix")  # fmt: skip
_DIFFERENTIAL = re.compile(r"d([ \t\r\n]*(?:[A-Za-z]|\\[A-Za-z]+))")  # "dx", "d \theta"
_NUMBER = re.compile(r"[0-9]*\.[0-9]+|[0-9]+")
_LETTERS = re.compile(r"[A-Za-z]+")
_ACCENT_BODY = re.compile(r"\{([A-Za-z0-9 ]|\\[A-Za-z]+)*\}")
_ENVIRONMENT = re.compile(r"\\begin\{array\}\{[clr]*\}|\\end\{array\}|\\(?:begin|end)\{[pb]?matrix\}")
_SPACE = " \t\r\n"
_OPS = "+-*/:^_()[]{}!=&|,"
_CLOSE = {"(": ")", "[": "]", "{": "}", "\\{": "\\}"}  # \{ \}: a group inside an expression
_OPENERS, _CLOSERS = frozenset(_CLOSE), frozenset(_CLOSE.values())

Token = tuple[str, str, str]  # (kind, value, text as written, for names built from subscripts)


class _Refuse(Exception):
    """The text is outside what this reader covers: the caller falls back."""


class Failure(NamedTuple):
    """`read_latex`'s answer for text in its subset on which the original's conversion raises
    (the norm of an expression, a product of matrices of the wrong shapes): the exception's
    type name."""

    exception: str


def read_latex(text: str) -> Any | None:
    """The SymPy value latex2sympy2_extended returns for `text` (already normalized by its
    `normalize_latex` and checked by `parse.check_caps`), a `Failure` when it raises on it
    while converting, or None when `text` is outside the subset read here."""
    try:
        tokens = _tokenize(text)
        if not tokens or _whole_brace_group(tokens):
            return None  # "{x}" alone is a one-element set there
        approx = [k for k, t in enumerate(tokens) if t[0] == "approx"]
        if len(approx) > 1:
            return None
        if approx:
            k = approx[0]
            lhs, rhs = _read_all(tokens[:k]), _read_all(tokens[k + 1 :])
            return rhs if _only_symbols(lhs) else lhs  # the original keeps the exact side
        reader = _Reader(tokens)
        value = reader.expr()
        if reader.i != len(tokens):
            return None
        return value if reader.failure is None else Failure(reader.failure)
    except (_Refuse, RecursionError):
        return None
    except Exception:  # a SymPy constructor refused: the original raises too, let it say so
        return None


def _value(text: str) -> Any | None:
    """`read_latex`'s value, None for a refusal or a failure."""
    value = read_latex(text)
    return None if isinstance(value, Failure) else value


def _read_all(tokens: list[Token], into: _Reader | None = None) -> Any:
    """The expression `tokens` are, whole. A conversion failure in them is passed on to
    `into` (the reader whose value contains this one); with no `into`, it is refused."""
    if not tokens:
        raise _Refuse
    reader = _Reader(tokens)
    value = reader.expr()
    if reader.i != len(tokens):
        raise _Refuse
    if reader.failure is not None:
        if into is None:
            raise _Refuse
        if into.failure is None:
            into.failure = reader.failure
    return value


# ---------------------------------------------------------------- tokens


def _tokenize(s: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in _SPACE:
            i += 1
        elif c == "\\":
            i = _command(s, i, tokens)
        elif "0" <= c <= "9" or (c == "." and i + 1 < n and "0" <= s[i + 1] <= "9"):
            m = _NUMBER.match(s, i)
            assert m is not None
            i = m.end()
            if i < n and s[i] in ".E":
                raise _Refuse  # "1." "1.2.3" "2E5": read differently there
            tokens.append(("num", m.group(), m.group()))
        elif ("a" <= c <= "z") or ("A" <= c <= "Z"):
            if i == 0 or not s[i - 1].isascii() or not s[i - 1].isalpha() or (tokens and tokens[-1][0] == "diff"):
                m = _LETTERS.match(s, i)  # the lexer starts a run of letters here
                assert m is not None
                if _KEYWORD.search(m.group()):
                    raise _Refuse
            if c == "d" and (diff := _DIFFERENTIAL.match(s, i)) is not None:
                var = diff[1].lstrip(_SPACE).removeprefix("\\")
                tokens.append(("diff", "d" + var, diff.group()))  # "dx": the symbol dx there
                i = diff.end()
            else:
                tokens.append(_letter(c))
                i += 1
        elif c in _OPS:
            if c == "!" and s.startswith("=", i + 1):
                raise _Refuse  # "!=" is a relation
            if c == "^" and (s.startswith("T", i + 1) or s.startswith("{T}", i + 1)):
                width = 2 if s.startswith("T", i + 1) else 4  # the lexer's transpose tokens
                tokens.append(("transpose", "T", s[i : i + width]))
                i += width
                continue
            if c == "=" and s.startswith("=", i + 1):
                raise _Refuse
            tokens.append(("op", c, c))
            i += 1
        else:
            raise _Refuse
    return tokens


def _command(s: str, i: int, tokens: list[Token]) -> int:
    m = _LETTERS.match(s, i + 1)
    if m is None:
        nxt = s[i + 1 : i + 2]
        if nxt in (",", ":", ";", "!"):
            return i + 2  # thin, medium, thick and negative spaces
        if nxt == "\\":
            tokens.append(("op", "\\\\", "\\\\"))  # a matrix row break
            return i + 2
        if nxt in ("|", "{", "}"):
            tokens.append(("op", "\\" + nxt, "\\" + nxt))  # a norm bar, \{ and \}
            return i + 2
        raise _Refuse
    name, end = m.group(), m.end()
    if name in _SKIPPED:
        return end
    if name in ("gamma", "Gamma") and not s.startswith(" ", end):
        tokens.append(("gamma", name, s[i:end]))  # the gamma function's token there
    elif name in _GREEK or name in _OTHER_SYMBOLS or name in ("gamma", "Gamma"):
        text = s[i:end] + (" " if s.startswith(" ", end) else "")  # the token keeps one space
        tokens.append(("greek", name, text))
    elif name == "lim":
        tokens.append(("lim", name, s[i:end]))
    elif name in _APPROACH:
        tokens.append(("approach", name, s[i:end]))
    elif name == "int":
        tokens.append(("int", name, s[i:end]))
    elif name in _FUNCS:
        tokens.append(("func", name, s[i:end]))
    elif name in ("sum", "prod"):
        tokens.append(("bigop", name, s[i:end]))
    elif name == "infty" or (name.startswith("infty") and not _KEYWORD.search(name[5:])):
        tokens.append(("inf", "infty", s[i : i + 6]))  # \inftyintely (from "infinitely"):
        return i + 6  # no token is longer there, so \infty, then letters
    elif name in ("cdot", "times", "div"):
        tokens.append(("op", name, s[i:end]))
    elif name in ("frac", "sqrt"):
        tokens.append((name, name, s[i:end]))
    elif name == "approx":
        tokens.append(("approx", name, s[i:end]))
    elif name in _ACCENTS:
        body = _ACCENT_BODY.match(s, end)
        if body is None:
            raise _Refuse  # a space before the brace, nested braces: named differently there
        tokens.append(("accent", f"{_ACCENTS[name]}{{{body.group()[1:-1].replace(' ', '')}}}", s[i : body.end()]))
        return body.end()
    elif name in ("begin", "end"):
        env = _ENVIRONMENT.match(s, i)
        if env is None:
            raise _Refuse
        kind = ("astart" if "array" in env.group() else "mstart") if name == "begin" else ("aend" if "array" in env.group() else "mend")
        tokens.append((kind, name, env.group()))
        return env.end()
    else:
        raise _Refuse
    return end


def _letter(c: str) -> Token:
    if c == "e":
        return ("e", c, c)  # Euler's number (the exponential function) there
    if c == "E":
        return ("E", c, c)  # the symbol E there
    return ("sym", c, c)


def _whole_brace_group(tokens: list[Token]) -> bool:
    """True when the tokens are one {...} group, possibly inside (...) or [...] wrappers."""
    lo, hi = 0, len(tokens)
    while hi - lo >= 2 and tokens[lo][0] == "op" and tokens[lo][1] in _CLOSE:
        if _match(tokens, lo) != hi - 1:
            return False
        if tokens[lo][1] in ("{", "\\{"):
            return True
        lo, hi = lo + 1, hi - 1
    return False


def _match(tokens: list[Token], i: int) -> int:
    """Index of the bracket closing the one at tokens[i] (any kind nests), or -1."""
    depth = 0
    for j in range(i, len(tokens)):
        kind, text, _ = tokens[j]
        if kind != "op":
            continue
        if text in _OPENERS:
            depth += 1
        elif text in _CLOSERS:
            depth -= 1
            if depth == 0:
                return j if text == _CLOSE[tokens[i][1]] else -1
    return -1


# ---------------------------------------------------------------- grammar


class _Reader:
    """Recursive descent over the subset, one method per grammar rule:

    expr := mp (('+'|'-') mp)* ;  mp := unary (mulop unary)* ;
    unary := ('+'|'-')* postfix+ ;  postfix := exp '!'* ;  exp := comp ('^' exponent)? ;
    comp := group | func | bigop | frac | sqrt | matrix | 'e' ('^' exponent)? | atom ;
    atom := number subscript? | (letter|greek|accent) (subscript | superscript)* | E | infty ;
    func := name (sub|sup)* ('(' expr ')' | mp_nofunc)   -- a bare argument is a product
    without functions: `\\sin 2x` is sin(2x), `\\sin x \\cos x` is sin(x) cos(x);
    bigop := (sum|prod) '_{' letter '=' expr '}' '^' exponent mp.
    """

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        has_bar = any(t[:2] == ("op", "|") for t in tokens)
        has_norm = any(t[:2] == ("op", "\\|") for t in tokens)
        if has_bar and has_norm:
            raise _Refuse  # both kinds of bars: their pairings are not worked out here
        self.bars = _bar_roles(tokens, "|") if has_bar else _bar_roles(tokens, "\\|") if has_norm else {}
        self.failure: str | None = None  # the exception the original's conversion raises

    def build(self, construct: Any, *args: Any) -> Any:
        """`construct(*args)`, a step the original's conversion takes as it is: when it raises,
        the original raises the same, so reading goes on (to be sure the whole text is in the
        subset read here) with a stand-in value, and the first such exception is reported."""
        try:
            return construct(*args)
        except Exception as exc:  # noqa: BLE001 - whatever the constructor raises
            if self.failure is None:
                self.failure = type(exc).__name__
            return sp.Symbol("failed")

    # -- token helpers

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def is_op(self, text: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok[0] == "op" and tok[1] == text

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise _Refuse
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if not self.is_op(text):
            raise _Refuse
        self.i += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Refuse

    # -- rules

    def expr(self) -> Any:
        self.enter()
        value = self.mp(nofunc=False)
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            rhs = self.mp(nofunc=False)
            if _is_matrix(value) or _is_matrix(rhs):
                if tok[1] == "-":
                    rhs = self.build(_mat_mul_flat, -1, rhs)
                value = self.build(_mat_add_flat, value, rhs)
                continue
            if tok[1] == "-":
                rhs = -rhs if rhs.func.is_Number else _mul_flat(sp.S.NegativeOne, rhs)
            value = _add_flat(value, rhs)
        self.depth -= 1
        return value

    def mp(self, *, nofunc: bool) -> Any:
        value = self.unary(nofunc=nofunc)
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in _MUL_OPS:
            self.i += 1
            rhs = self.unary(nofunc=nofunc)
            if tok[1] in _DIV_OPS:
                if _is_matrix(value) or _is_matrix(rhs):
                    value = self.build(_mat_div, value, rhs)
                elif value.is_Integer and rhs.is_Integer:
                    value = sp.Rational(value, rhs)
                else:
                    value = sp.Mul(value, sp.Pow(rhs, -1, evaluate=False), evaluate=False)
            elif _is_matrix(value) or _is_matrix(rhs):
                value = self.build(_mat_mul_flat, value, rhs)
            else:
                value = _mul_flat(value, rhs)
        return value

    def unary(self, *, nofunc: bool) -> Any:
        signs = []
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "+-":
            signs.append(tok[1])
            self.i += 1
        items = [self.postfix(nofunc=False)]  # the first factor may be a function
        while self.starts_postfix(nofunc=nofunc):
            items.append(self.postfix(nofunc=nofunc))
        value = items[-1]
        for item in reversed(items[:-1]):  # right fold, as the original converts the list
            value = self.build(_juxtapose, item, value)
        for sign in reversed(signs):
            if sign != "-":
                continue
            if _is_matrix(value):
                value = self.build(_mat_mul_flat, -1, value)
            elif value.func.is_Number or value.is_Number:
                value = -value
            else:
                value = _mul_flat(sp.S.NegativeOne, value)
        return value

    def starts_postfix(self, *, nofunc: bool) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        kind, text, _ = tok
        if kind == "op":
            return text in _OPENERS or (text in ("|", "\\|") and self.bars.get(self.i) == "open")
        if kind in ("func", "sqrt", "e", "bigop", "lim", "int"):
            return not nofunc
        return kind in ("num", "sym", "E", "greek", "gamma", "accent", "inf", "diff", "frac", "astart", "mstart")

    def postfix(self, *, nofunc: bool) -> Any:
        value = self.exp(nofunc=nofunc)
        while (tok := self.peek()) is not None and (tok[:2] == ("op", "!") or tok[0] == "transpose"):
            self.i += 1
            value = sp.factorial(value, evaluate=False) if tok[0] == "op" else _transposed(value)
        return value

    def exp(self, *, nofunc: bool) -> Any:
        value = self.comp(nofunc=nofunc)
        if self.is_op("^"):
            self.i += 1
            value = sp.Pow(value, self.exponent(), evaluate=False)
        return value

    def exponent(self) -> Any:
        """'^' has been read: an atom or a braced expression; no subscript, no second '^'."""
        value = self.group() if self.is_op("{") else self.bare_atom()
        if self.is_op("_") or self.is_op("^"):
            raise _Refuse  # x^2_1, towers: read differently there
        return value

    def bare_atom(self) -> Any:
        """A one-token atom (an exponent, a log base): no subscript or superscript of its own."""
        kind, value, _ = self.take()
        if kind == "num":
            return _number(value)
        if kind in ("sym", "greek", "accent"):
            return _symbol(kind, value, "")
        if kind == "E":
            return sp.Symbol("E")
        if kind == "inf":
            return sp.oo
        if kind == "diff":
            return sp.Symbol(value)
        raise _Refuse

    def group(self) -> Any:
        open_ = self.take()[1]
        if not self.peek() or self.is_op(_CLOSE[open_]):
            raise _Refuse
        value = self.expr()
        self.expect(_CLOSE[open_])
        return value

    def comp(self, *, nofunc: bool) -> Any:
        tok = self.peek()
        if tok is None:
            raise _Refuse
        kind, value, _ = tok
        if kind == "op":
            if value in _CLOSE:
                return self.group()
            if value in ("|", "\\|") and self.bars.get(self.i) == "open":
                self.i += 1
                inner = self.expr()
                if not (self.is_op(value) and self.bars.get(self.i) == "close"):
                    raise _Refuse
                self.i += 1
                if value == "|":
                    return sp.Abs(inner, evaluate=False)
                return self.build(lambda x: x.norm(), inner)  # an expression has no norm there
            raise _Refuse
        if (rule := _COMP_RULES.get(kind)) is not None:
            return getattr(self, rule)()
        if kind == "e":
            self.i += 1
            if self.is_op("^"):
                self.i += 1
                return sp.exp(self.exponent())
            return sp.exp(1)
        return self.atom(nofunc=nofunc)

    def atom(self, *, nofunc: bool) -> Any:
        """`nofunc`: a later factor of a function's bare argument, where `f(x)` is a product."""
        kind, value, text = self.take()
        if kind == "num":
            if self.is_op("_"):
                self.subscript()  # 1200_7: the base is dropped there
            return _number(value)
        if kind == "E":
            if self.is_op("_"):
                raise _Refuse
            return sp.Symbol("E")
        if kind == "inf":
            return sp.oo
        if kind == "diff":
            if self.is_op("_"):
                raise _Refuse
            return sp.Symbol(value)
        if kind not in ("sym", "greek", "accent"):
            raise _Refuse
        start = self.i - 1
        sub, sup = "", None
        for _ in range(2):
            if self.is_op("_") and not sub and sup is None:
                sub = self.subscript()
            elif self.is_op("^") and sup is None:
                self.i += 1
                sup_start = self.i
                sup = self.exponent()
            else:
                break
        call = None if nofunc else self.call_arguments()
        if call is not None:
            # f(x), p_{Z}(z), f^{-1}(x), g(x, y): an undefined function applied there
            name = "".join(t for _, _, t in self.tokens[start : sup_start - 1 if sup is not None else self.i])
            applied = sp.Function(name)(*call)
            self.i = _match(self.tokens, self.i) + 1
            return applied if sup is None else sp.Pow(applied, sup, evaluate=False)
        symbol = _symbol(kind, value, sub)
        if sup is None or symbol is sp.I:  # I^2 is I there: its exponent is dropped
            return symbol
        return sp.Pow(symbol, sup, evaluate=False)

    def call_arguments(self) -> list[Any] | None:
        """After a letter: the arguments when a bracket follows that makes it a function
        application there (one atom inside, or expressions separated by commas), None when
        it is a product; refuses the forms not read here (`x[2]`, `g{(t)}`)."""
        tok = self.peek()
        if tok is None or tok[0] != "op" or tok[1] not in "([{":
            return None
        close = _match(self.tokens, self.i)
        if close == -1 or close == self.i + 1:
            raise _Refuse
        if tok[1] == "{":
            if self.is_op("(", 1) or self.is_op("[", 1):
                raise _Refuse
            return None
        inner = self.tokens[self.i + 1 : close]
        pieces = _split_commas(inner)
        if len(pieces) == 1 and _atom_end(self.tokens, self.i + 1) != close:
            return None
        if tok[1] == "[":
            raise _Refuse
        if len(pieces) == 2 and not pieces[1]:
            pieces.pop()  # f(x,): one argument and a trailing comma (only then) there
        for piece in pieces:
            _read_all(piece)  # each argument must be an expression there
        texts = "".join(t for _, _, t in inner).split(",")  # the original splits the text so
        if texts[-1] == "":
            texts.pop()
        args = [_value(text) for text in texts]
        if any(arg is None for arg in args):
            raise _Refuse
        return args

    def subscript(self) -> str:
        """'_' and a subscript: its text, as the original names the symbol (`a_{n+1}`)."""
        self.expect("_")
        if self.is_op("{"):
            close = _match(self.tokens, self.i)
            if close == -1:
                raise _Refuse
            inner = self.tokens[self.i + 1 : close]
            _read_all(inner)  # must be a valid expression there; its value is not used
            self.i = close + 1
        else:
            tok = self.take()
            if tok[0] not in ("num", "sym", "greek", "E", "inf") or self.is_op("_"):
                raise _Refuse
            if tok[0] in ("sym", "greek") and self.is_op("^"):
                raise _Refuse  # x_n^2: n^2 may be the subscript there
            inner = [tok]
        text = "".join(t for _, _, t in inner).strip()
        return f"_{{{text}}}" if len(text) > 1 else f"_{text}"

    def frac(self) -> Any:
        self.i += 1
        if not self.is_op("{"):
            raise _Refuse
        first = self.peek(1)  # the top's first token
        top = self.group()
        if not self.is_op("{"):
            raise _Refuse
        below = self.peek(1)
        if below is not None and below[0] == "diff" and self.is_op("}", 2):
            # a lone differential below: \frac{d}{dx}, \frac{dy}{dx}, \frac{d x^2}{dx} are
            # derivatives there (the top's text starts with d); \frac{c}{dm} is a fraction
            if first is None or first[2].startswith("d"):
                raise _Refuse
        bottom = self.group()
        if _is_matrix(top) or _is_matrix(bottom):
            return self.build(_mat_div, top, bottom)
        if top.is_Integer and bottom.is_Integer:
            return sp.Rational(top, bottom)
        return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)

    def sqrt(self) -> Any:
        self.i += 1
        root = None
        if self.is_op("["):
            root = self.group()
        if not self.is_op("{"):
            raise _Refuse
        base = self.group()
        return sp.Pow(base, sp.S.Half if root is None else 1 / root, evaluate=False)

    def matrix(self) -> Any:
        """`\\begin{array}{..} a & b \\\\ c & d \\end{array}` (or bmatrix, pmatrix, matrix)."""
        start = self.take()[0]
        rows: list[list[Any]] = [[self.expr()]]
        while True:
            if self.is_op("&"):
                self.i += 1
                rows[-1].append(self.expr())
            elif self.is_op("\\\\"):
                self.i += 1
                tok = self.peek()
                if tok is not None and tok[0] in ("aend", "mend"):
                    continue
                rows.append([self.expr()])
            else:
                break
        if self.take()[0] != ("aend" if start == "astart" else "mend"):
            raise _Refuse
        return sp.Matrix(rows)

    def gamma(self) -> Any:
        """`\\gamma` written without a space after it: the gamma function's token there. A
        function (`\\gamma(x)`, `\\gamma^{2}+1` is gamma(+1)^2) where an argument may follow it
        and its power; Euler's constant where none can (a closing bracket, a product or
        division sign, a comma, the end)."""
        tokens, j = self.tokens, self.i + 1
        if j < len(tokens) and tokens[j][:2] == ("op", "^"):
            j += 1
            if j < len(tokens) and tokens[j][:2] == ("op", "{"):
                j = _match(tokens, j)
                if j == -1:
                    raise _Refuse
            j += 1
        if j < len(tokens):
            here, self.i = self.i, j
            argument = self.starts_postfix(nofunc=False) or self.is_op("+") or self.is_op("-")
            self.i = here
            if argument:
                return self.func()
            if not (tokens[j][0] == "op" and tokens[j][1] in _CONSTANT_AFTER):
                raise _Refuse
        self.i += 1
        return sp.EulerGamma

    def limit(self) -> Any:
        """`\\lim_{x \\to a} body`, `\\lim_{x \\to a^{+}} body`: the body is one
        multiplicative term, read greedily (as for sums)."""
        self.i += 1
        if not (self.is_op("_") and self.is_op("{", 1)):
            raise _Refuse
        close = _match(self.tokens, self.i + 1)
        inner = self.tokens[self.i + 2 : close] if close != -1 else []
        if len(inner) < 3 or inner[1][0] != "approach" or inner[0][0] not in ("sym", "greek"):
            raise _Refuse
        kind, name, _ = inner[0]
        if kind == "greek" and name in ("pi", "gamma", "Gamma"):
            raise _Refuse  # constants there, not variables
        direction = "+"
        approach = inner[2:]
        if len(approach) > 4 and [t[:2] for t in approach[-4:-2]] == [("op", "^"), ("op", "{")] and approach[-1][:2] == (
            "op", "}") and approach[-2][:2] in (("op", "+"), ("op", "-")):  # fmt: skip
            direction = approach[-2][1]
            approach = approach[:-4]
        if any(t[0] == "approach" for t in approach):
            raise _Refuse
        point = _read_all(approach, self)
        self.i = close + 1
        self.enter()
        body = self.mp(nofunc=False)
        self.depth -= 1
        return sp.Limit(body, sp.Symbol(name), point, direction)

    def integral(self) -> Any:
        """`\\int_{a}^{b} body dx` (bounds in either order, or none) where the differential
        is the text's last token and the only one: the integrand is everything between (an
        empty one is 1). Anywhere else the integral's extent is not worked out here."""
        if self.depth != 1 or self.tokens[-1][0] != "diff":
            raise _Refuse
        self.i += 1
        bounds: dict[str, Any] = {}
        while (tok := self.peek()) is not None and tok[:2] in (("op", "_"), ("op", "^")) and tok[1] not in bounds:
            self.i += 1
            if self.is_op("{"):
                if self.is_op("}", 1):
                    raise _Refuse
                bounds[tok[1]] = self.group()
            else:
                bounds[tok[1]] = self.bare_atom()
        if len(bounds) == 1:
            raise _Refuse
        last = len(self.tokens) - 1
        body = self.tokens[self.i : last]
        if any(t[0] == "diff" for t in body):
            raise _Refuse
        integrand = _read_all(body, self) if body else sp.Integer(1)
        var = sp.Symbol(self.tokens[last][1][1:])
        self.i = len(self.tokens)
        if bounds:
            return sp.Integral(integrand, (var, bounds["_"], bounds["^"]))
        return sp.Integral(integrand, var)

    def func(self) -> Any:
        name = self.take()[1]
        base: Any = None
        power: Any = None
        for _ in range(2):
            if self.is_op("_") and base is None and name in ("log", "ln"):
                self.i += 1
                braced = self.is_op("{")
                base = self.group() if braced else self.bare_atom()
                if self.is_op("_") or (not braced and self.is_op("^")):
                    raise _Refuse  # \log_x^2: whose power? read differently there
            elif self.is_op("^") and power is None:
                self.i += 1
                power = self.func_power()
            else:
                break
        if self.is_op("_"):
            raise _Refuse
        self.enter()
        if self.is_op("("):
            arg = self.group()
        elif self.starts_postfix(nofunc=False) or self.is_op("+") or self.is_op("-"):
            arg = self.mp(nofunc=True)
        else:
            raise _Refuse
        self.depth -= 1
        return _apply(name, arg, base, power)

    def func_power(self) -> Any:
        """The power written on a function name: an integer (`\\sin^2`, `\\sin^{-1}`)."""
        if self.is_op("{"):
            start = self.i
            value = self.group()
            inner = self.tokens[start + 1 : self.i - 1]
        else:
            inner = [self.take()]
            value = _number(inner[0][1]) if inner[0][0] == "num" else None
        if [k for k, _, _ in inner if k != "op"] != ["num"] or value is None or not value.is_Integer:
            raise _Refuse
        return value

    def bigop(self) -> Any:
        """`\\sum_{n=0}^{\\infty} body`: the body is one multiplicative term, read greedily."""
        name = self.take()[1]
        if not (self.is_op("_") and self.is_op("{", 1)):
            raise _Refuse  # the bound written first, or no braces: not read here
        close = _match(self.tokens, self.i + 1)
        inner = self.tokens[self.i + 2 : close] if close != -1 else []
        eq = [k for k, t in enumerate(inner) if t[:2] == ("op", "=")]
        if len(eq) != 1:
            raise _Refuse
        var, start = _read_all(inner[: eq[0]], self), _read_all(inner[eq[0] + 1 :], self)
        self.i = close + 1
        self.expect("^")
        end = self.group() if self.is_op("{") else self.bare_atom()
        self.enter()
        body = self.mp(nofunc=False)
        self.depth -= 1
        return (sp.Sum if name == "sum" else sp.Product)(body, (var, start, end))


def _split_commas(tokens: list[Token]) -> list[list[Token]]:
    """The tokens between top-level commas."""
    pieces: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok[0] == "op" and tok[1] in _OPENERS:
            depth += 1
        elif tok[0] == "op" and tok[1] in _CLOSERS:
            depth -= 1
        if depth == 0 and tok[:2] == ("op", ","):
            pieces.append([])
        else:
            pieces[-1].append(tok)
    return pieces


def _atom_end(tokens: list[Token], j: int) -> int:
    """Index after the grammar's `atom` starting at tokens[j] (a number, a letter, Greek
    letter or accent with a subscript and a superscript, E, infty), or -1."""
    if j >= len(tokens):
        return -1
    kind = tokens[j][0]
    if kind not in ("num", "sym", "greek", "gamma", "accent", "E", "inf", "diff"):
        return -1
    j += 1
    if kind in ("E", "inf", "diff", "gamma"):
        return j
    for _ in range(2 if kind != "num" else 1):
        if j < len(tokens) and tokens[j][:2] in (("op", "_"), ("op", "^")):
            if kind == "num" and tokens[j][1] == "^":
                break
            j += 1
            if j < len(tokens) and tokens[j][:2] == ("op", "{"):
                close = _match(tokens, j)
                if close == -1:
                    return -1
                j = close + 1
            else:
                end = _atom_end(tokens, j)
                if end == -1:
                    return -1
                j = end
    return j


_MUST_OPEN_AFTER = frozenset({"func", "sqrt", "frac", "bigop", "astart", "mstart", "approx"})
_OPERAND_END = frozenset({"num", "sym", "greek", "gamma", "accent", "E", "e", "inf", "diff", "aend", "mend", "transpose"})
_NO_START = frozenset({"^", "_", ")", "]", "}", "\\}", "!", ",", "=", "&", "\\\\", "*", "/", ":", "cdot", "times", "div"})
_MAX_BARS = 12
_COMP_RULES = {"func": "func", "gamma": "gamma", "lim": "limit", "int": "integral", "bigop": "bigop",
               "frac": "frac", "sqrt": "sqrt", "astart": "matrix", "mstart": "matrix"}  # fmt: skip
_CONSTANT_AFTER = frozenset({")", "]", "}", "\\}", ",", "/", "*", ":", "cdot", "times", "div"})


def _bar_roles(tokens: list[Token], bar: str) -> dict[int, str]:
    """How the bars (`|`, absolute values, or `\\|`, norms) pair up, when only one pairing is
    possible.

    A bar opens, closes, or (a `|` followed by `^{` / `_{`) is an evaluation bar there. A bar
    after an operand may open (a product) or close; after an operator it must open; it opens
    only before what may start an expression. Brackets must nest with the bars. Pairings are
    enumerated; more than one (`|a|b|c|`), none, or an evaluation bar: refused."""
    me = ("op", bar)
    bars = [k for k, t in enumerate(tokens) if t[:2] == me]
    if len(bars) > _MAX_BARS:
        raise _Refuse
    found: list[dict[int, str]] = []

    def walk(k: int, stack: tuple[str, ...], roles: dict[int, str]) -> None:
        if len(found) > 1:
            return
        while k < len(tokens) and tokens[k][:2] != me:
            kind, text, _ = tokens[k]
            if kind == "op" and text in _CLOSE:
                stack = (*stack, text)
            elif kind == "op" and text in _CLOSERS:
                if not stack or _CLOSE.get(stack[-1]) != text:
                    return
                stack = stack[:-1]
            k += 1
        if k == len(tokens):
            if not stack:
                found.append(dict(roles))
            return
        prev = tokens[k - 1] if k else None
        free = prev is not None and (
            prev[0] in _OPERAND_END
            or (prev[0] == "op" and (prev[1] in _CLOSERS or prev[1] == "!"))
            or (prev[:2] == me and roles.get(k - 1) == "close")
        )
        nxt = tokens[k + 1][:2] if k + 1 < len(tokens) else None
        if free and bar == "|" and nxt in (("op", "^"), ("op", "_")):
            walk(k + 1, stack, {**roles, k: "eval"})
        if nxt is not None and (nxt[0] != "op" or nxt[1] not in _NO_START):
            walk(k + 1, (*stack, "|"), {**roles, k: "open"})
        if free and stack and stack[-1] == "|":
            walk(k + 1, stack[:-1], {**roles, k: "close"})

    walk(0, (), {})
    if len(found) != 1 or "eval" in found[0].values():
        raise _Refuse
    return found[0]


# ---------------------------------------------------------------- SymPy, as the original builds it


def _number(text: str) -> Any:
    if "." in text:
        return sp.Float(text)
    return sp.Integer(int(text))


def _symbol(kind: str, name: str, sub: str) -> Any:
    if kind == "greek" and name == "pi" and not sub:
        return sp.pi
    if kind == "greek" and name in ("gamma", "Gamma") and not sub:
        return sp.EulerGamma  # \\gamma and \\Gamma name Euler's constant there
    if kind == "sym" and name == "I":
        return sp.I  # with its subscript and exponent dropped, as there
    return sp.Symbol(name + sub)


def _is_matrix(x: Any) -> bool:
    return bool(getattr(x, "is_Matrix", False))


def _add_flat(lhs: Any, rhs: Any) -> Any:
    if lhs.is_Add or rhs.is_Add:
        args = [*(lhs.args if lhs.is_Add else (lhs,)), *(rhs.args if rhs.is_Add else (rhs,))]
        return sp.Add(*args, evaluate=False)
    return sp.Add(lhs, rhs, evaluate=False)


def _mul_flat(lhs: Any, rhs: Any) -> Any:
    if lhs.is_Mul or rhs.is_Mul:
        args = [*(lhs.args if lhs.is_Mul else (lhs,)), *(rhs.args if rhs.is_Mul else (rhs,))]
        return sp.Mul(*args, evaluate=False)
    return sp.Mul(lhs, rhs, evaluate=False)


def _mat_add_flat(lhs: Any, rhs: Any) -> Any:
    left, right = getattr(lhs, "is_MatAdd", False), getattr(rhs, "is_MatAdd", False)
    if left or right:
        args = [*(lhs.args if left else (lhs,)), *(rhs.args if right else (rhs,))]
        return sp.MatAdd(*args, evaluate=False)
    return sp.MatAdd(lhs, rhs, evaluate=False)


def _mat_mul_flat(lhs: Any, rhs: Any) -> Any:
    left, right = getattr(lhs, "is_MatMul", False), getattr(rhs, "is_MatMul", False)
    if left or right:
        args = [*(lhs.args if left else (lhs,)), *(rhs.args if right else (rhs,))]
        return sp.MatMul(*args, evaluate=False)
    return sp.MatMul(lhs, rhs, evaluate=False)


def _transposed(value: Any) -> Any:
    """`x^T` as the original converts it: the transpose of a matrix; of anything else, SymPy's
    transpose (a scalar symbol's is itself), or the value unchanged where that fails."""
    try:
        return value.T
    except Exception:  # noqa: BLE001 - the original tries these in turn
        try:
            return sp.transpose(value)
        except Exception:  # noqa: BLE001
            return value


def _mat_div(lhs: Any, rhs: Any) -> Any:
    return sp.MatMul(lhs, sp.Pow(rhs, -1, evaluate=False), evaluate=False)


def _juxtapose(lhs: Any, rhs: Any) -> Any:
    """Implicit product; an integer before a positive rational is a mixed number there."""
    if _is_matrix(lhs) or _is_matrix(rhs):
        return _mat_mul_flat(lhs, rhs)
    if lhs.is_Integer and rhs.is_Rational and rhs.p > 0 and rhs.q > 0:
        sign = -1 if lhs < 0 else 1
        return sp.Rational(lhs * rhs.q + sign * rhs.p, rhs.q)
    return _mul_flat(lhs, rhs)


def _only_symbols(e: Any) -> bool:
    """The original's test for the side of `a \\approx b` that names the value."""
    if getattr(e, "is_Symbol", False):
        return True
    if getattr(e, "is_Pow", False) and e.args[1] == -1:
        base = e.args[0]
        if getattr(base, "is_Symbol", False) or (hasattr(base, "args") and all(_only_symbols(a) for a in base.args)):
            return True
    args = getattr(e, "args", ())
    return len(args) > 0 and all(_only_symbols(a) for a in args)


def _apply(name: str, arg: Any, base: Any, power: Any) -> Any:
    if name in _TRIG or name in _HYPERBOLIC:
        if power is not None and power == -1:
            power = None
            expr = (_INVERSE_TRIG.get(name) or _INVERSE_HYPERBOLIC[name])(arg, evaluate=False)
        else:
            expr = (_TRIG.get(name) or _HYPERBOLIC[name])(arg, evaluate=False)
    elif name in _ARC:
        expr = _ARC[name](arg, evaluate=False)
    elif name in _AREA:
        expr = _AREA[name](arg, evaluate=False)
    elif name in ("log", "ln"):
        if base is None:
            base = sp.Integer(10) if name == "log" else sp.E
        expr = sp.log(arg, base, evaluate=False)
    elif name in ("gamma", "Gamma"):
        expr = sp.gamma(arg)  # evaluated there: gamma(1) is 1
    else:  # exp
        expr = sp.exp(arg, evaluate=False)
    if power is not None and power != 0:
        expr = sp.Pow(expr, power, evaluate=False)
    return expr


# ---------------------------------------------------------------- certain failures


def sure_failure(text: str) -> str | None:
    """The name of the exception latex2sympy2_extended is certain to raise on `text`, or None.

    Decided on its lexer's tokens (a fraction of a millisecond, against up to hundreds for its
    parser): text it cannot tokenize; a '.' that is not part of a number (no grammar rule
    takes one); `e` before a subscript (the exponential function takes none); an operator word
    (`tr`, `ones`, `matrix`...) outside `\\operatorname{}`; and
    `\\max`, `\\min`, `\\gcd`, `\\lcm` without parentheses (its converter then fails with an
    AttributeError)."""
    from antlr4 import InputStream  # type: ignore[import-untyped]
    from antlr4.error.ErrorListener import ErrorListener  # type: ignore[import-untyped]
    from latex2sympy2_extended.antlr_parser import PSLexer

    class _Stop(ErrorListener):  # type: ignore[misc]
        def syntaxError(self, *args: Any) -> None:
            raise _Refuse

    lexer = PSLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Stop())
    try:
        tokens = lexer.getAllTokens()
    except _Refuse:
        return "Exception"
    types = [t.type for t in tokens]
    opening = (PSLexer.L_PAREN, PSLexer.L_BRACKET, PSLexer.L_PAREN_VISUAL, PSLexer.L_BRACK, PSLexer.L_GROUP)
    closing = (PSLexer.R_PAREN, PSLexer.R_BRACKET, PSLexer.R_PAREN_VISUAL, PSLexer.R_BRACK, PSLexer.R_GROUP)
    if types.count(PSLexer.L_BRACE) != types.count(PSLexer.R_BRACE) or sum(map(types.count, opening)) != sum(
        map(types.count, closing)
    ):
        return "Exception"  # every grammar rule closes what it opens
    infix = (PSLexer.MUL, PSLexer.CMD_TIMES, PSLexer.CMD_CDOT, PSLexer.DIV, PSLexer.CMD_DIV, PSLexer.COLON, PSLexer.CMD_MOD)
    before = (*infix, PSLexer.ADD, PSLexer.SUB, PSLexer.CARET, PSLexer.UNDERSCORE, PSLexer.COMMA, PSLexer.L_PAREN,
              PSLexer.L_BRACKET, PSLexer.L_BRACE)  # fmt: skip
    if types and (types[0] in (*infix, PSLexer.CARET, PSLexer.UNDERSCORE, PSLexer.COMMA, PSLexer.BANG)
                  or types[-1] in (*before[:-3], PSLexer.CMD_FRAC, PSLexer.FUNC_SQRT)):  # fmt: skip
        return "Exception"  # an operator without its operand: `x^{2}+`, `\\cdot 3`
    if any((a in before and b in infix) or (a == PSLexer.EXP_E and b == PSLexer.UNDERSCORE) for a, b in zip(types, types[1:])):
        # `+\\cdots` (\\cdot then s), `(/2`, `e_{r}` (e is the exponential function, which
        # takes a power but no subscript): no rule puts these together
        return "Exception"
    words = _operator_words(PSLexer)
    for k, kind in enumerate(types):
        if kind == PSLexer.PERIOD:
            return "Exception"
        if kind in words and not (k >= 2 and types[k - 1] == PSLexer.L_BRACE and types[k - 2] == PSLexer.CMD_OPERATORNAME):
            return "Exception"
    multi = (PSLexer.FUNC_MAX, PSLexer.FUNC_MIN, PSLexer.FUNC_GCD, PSLexer.FUNC_LCM)
    bare = [k for k, t in enumerate(types) if t in multi and k + 1 < len(types)
            and types[k + 1] not in (PSLexer.L_PAREN, PSLexer.UNDERSCORE, PSLexer.CARET)]  # fmt: skip
    scripts = [k for k, t in enumerate(types) if t in (PSLexer.UNDERSCORE, PSLexer.CARET)]
    if bare and (not scripts or bare[0] < scripts[0]):
        # `\max x` parses as `\sin x` does, then its converter fails: certain when the text
        # with \sin in its place is read (nothing else fails first) and no sub- or superscript
        # comes before it (the original drops some of those unconverted: I^{...}, x_{...})
        parts, last = [], 0
        for k in bare:
            parts.append(text[last : tokens[k].start] + "\\sin")
            last = tokens[k].stop + 1
        if _value("".join(parts) + text[last:]) is not None:
            return "AttributeError"
    return None


def _operator_words(lexer: Any) -> frozenset[int]:
    names = [n for n in lexer.symbolicNames if n.endswith("_NAME") or n.startswith("MATRIX_TYPE")]
    return frozenset(getattr(lexer, n) for n in names)
