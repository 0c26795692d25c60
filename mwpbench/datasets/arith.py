"""Exact arithmetic over Fractions for Math23k/Ape210k answers and equations (never `eval`).

Grammar (recursive descent, bounded):
    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/" | ":") unary)*
    unary  := ("+" | "-") unary | power
    power  := postfix ("^" | "**") unary]      right-associative, small integer exponents
    postfix:= atom "%"*
    atom   := NUMBER ["(" expr ")"] | "(" expr ")" | "[" expr "]"
A whole number directly followed by "(" is a mixed number: `1(5/6)` = 1 + 5/6 and
`5((7)/(10))` = 5 + 7/10, as in Ape210k and Math23k. `25%` = 1/4.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_LENGTH = 500
MAX_DIGITS = 40
MAX_EXPONENT = 64
MAX_DEPTH = 60

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|(\*\*|[-+*/:^()%\[\]]))")


class ExpressionError(ValueError):
    """Text that is not a bounded arithmetic expression."""


def _tokens(text: str) -> list[str]:
    text = text.replace("（", "(").replace("）", ")").replace("％", "%").replace("×", "*")
    text = text.replace("÷", "/")
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip() == "":
                break
            raise ExpressionError(f"unexpected character {text[pos]!r} at {pos}")
        out.append(m.group(1) or m.group(2))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos, self.depth = tokens, 0, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise ExpressionError(f"expected {expected or 'a token'}, got {tok!r}")
        self.pos += 1
        return tok

    def expr(self) -> Fraction:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("nesting too deep")
        value = self.term()
        while self.peek() in ("+", "-"):
            op, rhs = self.take(), self.term()
            value = value + rhs if op == "+" else value - rhs
        self.depth -= 1
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("*", "/", ":"):
            op, rhs = self.take(), self.unary()
            if op == "*":
                value *= rhs
            elif rhs == 0:
                raise ExpressionError("division by zero")
            else:
                value /= rhs
        return value

    def unary(self) -> Fraction:
        if self.peek() in ("+", "-"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("nesting too deep")
            sign = self.take()
            value = self.unary()
            self.depth -= 1
            return -value if sign == "-" else value
        return self.power()

    def power(self) -> Fraction:
        base = self.postfix()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.unary()
            if exponent.denominator != 1 or abs(exponent) > MAX_EXPONENT:
                raise ExpressionError(f"exponent {exponent} not a small integer")
            if base == 0 and exponent < 0:
                raise ExpressionError("division by zero")
            return base ** int(exponent)
        return base

    def postfix(self) -> Fraction:
        value = self.atom()
        while self.peek() == "%":
            self.take()
            value /= 100
        return value

    def atom(self) -> Fraction:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("unexpected end of expression")
        if tok in ("(", "["):
            close = ")" if tok == "(" else "]"
            self.take()
            value = self.expr()
            self.take(close)
            return value
        if tok[0].isdigit() or tok[0] == ".":
            self.take()
            if len(tok) > MAX_DIGITS:
                raise ExpressionError(f"number {tok[:12]}... has too many digits")
            value = Fraction(tok)
            if self.peek() == "(" and "." not in tok:  # mixed number N(a/b)
                self.take()
                frac = self.expr()
                self.take(")")
                return value + frac
            return value
        raise ExpressionError(f"unexpected {tok!r}")


def evaluate(text: str) -> Fraction:
    """The exact value of a bounded arithmetic expression; ExpressionError otherwise."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text))
    if parser.peek() is None:
        raise ExpressionError("empty expression")
    value = parser.expr()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r} after the expression")
    return value


def format_value(value: Fraction) -> str:
    """`3`, `-7/2`: an integer or a reduced fraction (exact, no float rounding)."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"
