"""The comparisons a grading spawner runs once at start, so that every worker starts warm.

Workers are forked from the spawner after `warm_up()`: they inherit SymPy and
latex2sympy2 already imported, ANTLR's grammar loaded and its prediction cache filled for
the LaTeX that answers usually hold (measured by `bench/grading_pool.py`: a cold worker
spends several times longer on its first LaTeX pairs than a warm one). Going through
`compare_answers` warms whatever the comparison uses, whichever parser handles a pair.
The pairs are written for this purpose; equal and unequal ones, plain and LaTeX.
"""

from __future__ import annotations

import logging

__all__ = ["WARMUP_PAIRS", "warm_up"]

log = logging.getLogger(__name__)

WARMUP_PAIRS: tuple[tuple[str, str], ...] = (
    # numbers, fractions, roots, powers
    ("0+1-1", "0"),
    (r"\frac{3}{4}", "0.75"),
    (r"\dfrac{7}{2}", r"3\frac{1}{2}"),
    (r"\tfrac{5}{8}", r"\frac{10}{16}"),
    (r"2\sqrt{3}", r"\sqrt{12}"),
    (r"\sqrt[3]{27}", "3"),
    (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"),
    (r"3^{4}", "81"),
    (r"2^{-3}", r"\frac{1}{8}"),
    (r"1.5\times10^{3}", "1500"),
    (r"\frac{1+\sqrt{5}}{2}", r"\frac{2}{\sqrt{5}-1}"),
    (r"12\%", "12"),
    (r"45^\circ", r"\frac{\pi}{4}"),
    (r"\$18.50", "18.5"),
    # constants, functions
    (r"2\pi", r"\pi+\pi"),
    (r"\frac{\pi}{6}", r"30^{\circ}"),
    (r"\sin^{2}x+\cos^{2}x", "1"),
    (r"\sin\left(\frac{\pi}{3}\right)", r"\frac{\sqrt{3}}{2}"),
    (r"\tan 45^\circ", "1"),
    (r"\log_{2}8", "3"),
    (r"\ln e^{2}", "2"),
    (r"e^{i\pi}", "-1"),
    (r"(1+i)^{2}", "2i"),
    (r"\binom{6}{2}", "15"),
    (r"5!", "120"),
    (r"\left\lfloor 3.7 \right\rfloor", "3"),
    (r"|{-4}|", "4"),
    # expressions, equations, relations
    (r"x^{2}+2x+1", r"(x+1)^{2}"),
    (r"\frac{x^{2}-1}{x-1}", r"x+1"),
    ("10-4n", "-4n+10"),
    (r"y=2x+1", r"2x-y+1=0"),
    (r"x=\pm 2", "2, -2"),
    (r"x \geq 5", r"[5, \infty)"),
    (r"-3<x\le 2", r"(-3,2]"),
    (r"a^{2}b\cdot ab^{3}", r"a^{3}b^{4}"),
    # structures
    (r"(3, -\frac{1}{2})", r"\left(3,-0.5\right)"),
    (r"\{1, 2, 3\}", r"\{3, 2, 1\}"),
    (r"[0,1]\cup[1,2]", "[0,2]"),
    (r"(-\infty, 3) \cup (5, \infty)", r"x<3 \text{ or } x>5"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"),
    (r"\langle 1, 0, -1 \rangle", "(1, 0, -1)"),
    # text and choices
    (r"\text{(B)}", "B"),
    ("12 apples", "12"),
    ("five", "5"),
    ("Yes", "yes"),
)


def warm_up() -> None:
    """Compare every pair of WARMUP_PAIRS once; a failure is logged, never raised."""
    from mwpbench.grading.compare import compare_answers

    for pred, gold in WARMUP_PAIRS:
        try:
            compare_answers(pred, gold)
        except Exception as exc:  # a parser bug must not stop the spawner
            log.debug("warm-up pair %r vs %r raised %s", pred, gold, exc)
