"""The extraction ladder rule by rule (issue 9 item 2): what each rung takes and what it
must leave alone. Whole-completion behaviour per real-output style is in
test_completions.py; this file pins the pieces (layout, span reduction, choice letters)."""

from __future__ import annotations

import pytest

import mwpbench
from mwpbench.grading.answer_span import last_side, reduce_span, stated_value
from mwpbench.grading.extract import choice_letter, extract
from mwpbench.grading.layout import (
    SpanIndex,
    blank_code,
    clean,
    cut_continuation,
    math_spans,
    sentences,
)

# ------------------------------------------------------------------ layout


def test_clean_maps_full_width_and_blanks_markup_keeping_offsets() -> None:
    text = "【答案】Ｄ（３，４）：１２<eoe>。 5*3=<<5*3=15>>15"
    cleaned = clean(text)
    assert len(cleaned) == len(text)
    assert "D(3,4):12" in cleaned
    assert "<eoe>" not in cleaned and "<<" not in cleaned
    assert cleaned.endswith("15")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("The answer is 7.\n\nQ: What is 2+2?\nA: The answer is 4.", "The answer is 7.\n\n"),
        ("So 3 + 4 = 7.\nQuestion: Next one?", "So 3 + 4 = 7.\n"),
        ("The answer is 5.\n### Instruction:\nAdd 1.", "The answer is 5.\n"),
        ("It is 12.\nHuman: thanks\nAssistant: 13", "It is 12.\n"),
        ("It is 12.\nUser: and 13?", "It is 12.\n"),
        ("It is 12.</s>It is 13.", "It is 12."),
        ("It is 12.<|im_end|>\n<|im_start|>user\n13?", "It is 12."),
        ("【答案】D<eoa>\n【解析】……【答案】A<eoa>", "【答案】D"),
        ("It is 12.\n问题：下一题是多少？", "It is 12.\n"),
        ("The answer is B.\nQuestion: Which is larger?\nThe answer is C.", "The answer is B.\n"),
    ],
)
def test_a_continuation_after_the_answer_is_cut(text: str, kept: str) -> None:
    assert cut_continuation(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "Question: Tom has 5 apples and eats 2. How many are left?\nAnswer: 3 are left.",
        "Problem: Find x.\nSolution: x = 4.",
        "Question 1: no, because 2 and 3 differ.\n\nQuestion 2: yes.",  # numbered parts
        "Let me check the question: is it 4?",  # not at a line start
        "Let's answer it.\nQuestion: Tom has 5 apples and eats 2.\nAnswer: 3 are left.",
    ],
)
def test_a_marker_before_any_answer_or_inside_the_answer_is_no_continuation(text: str) -> None:
    assert cut_continuation(text) == text


def test_code_is_blanked_and_output_kept() -> None:
    text = "```python\nx = 12 * 4\nprint(x)\n```\n```output\n48\n```\nSo 48."
    blanked = blank_code(text)
    assert len(blanked) == len(text)
    assert "12 * 4" not in blanked and "print" not in blanked
    assert "48\n" in blanked and blanked.endswith("So 48.")


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("```\n42\n```", True),  # an unlabelled block without code is output
        ("```\nx = 42\nprint(x)\n```", False),  # one with code is code
        ("```python\nprint(42)", False),  # unclosed: blanked to the end
        ('[asy]\nlabel("$42$", (0,0));\n[/asy]', False),  # Asymptote figures are code
    ],
)
def test_fenced_block_kinds(text: str, visible: bool) -> None:
    assert ("42" in blank_code(text)) is visible


@pytest.mark.parametrize(
    ("text", "inners"),
    [
        ("It costs $12 and $5 more.", []),
        ("She has $12 left.", []),
        ("It costs $12. The answer is $x$.", ["x"]),
        ("$5$ apples and $3$ pears", ["5", "3"]),
        ("so $\\$12$ each", ["\\$12"]),
        (r"\(x=2\) and \[y=3\]", ["x=2", "y=3"]),
        ("$$a+b$$ and $c$", ["a+b", "c"]),
        ("\\begin{align*}x &= 3\\end{align*}", ["x &= 3"]),
        ("$$x=1$$Therefore $$y=2$$", ["x=1", "y=2"]),
        ("an unclosed $x + 1", []),
        ("a \\\\[2pt] row", []),
    ],
)
def test_math_spans_and_dollar_signs(text: str, inners: list[str]) -> None:
    assert [s.inner for s in math_spans(text)] == inners


def test_sentences_keep_decimals_math_list_numbers_and_closing_parentheses() -> None:
    text = "1. She pays $3.50 for $x. y$ items.\n2. So she has 4 left. (Note: 5.) Done"
    index = SpanIndex(text)
    got = [text[s.start : s.end].strip() for s in sentences(text, index)]
    assert got == [
        "1. She pays $3.50 for $x. y$ items",
        "2. So she has 4 left",
        "(Note: 5.)",
        "Done",
    ]


# ------------------------------------------------------------------ equation chains


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        (r"2 - \frac{1}{7} = \frac{13}{7}", r"\frac{13}{7}"),
        ("14 + 6 + 5 = 25", "25"),
        ("x = 2 + 3 = 5", "5"),
        (r"\binom{11}{8} = \binom{11}{3} = 165", "165"),
        (r"\cos 60^\circ = \frac{1}{2}", r"\frac{1}{2}"),
        ("C_{5}^{2} A_{4}^{4}=240", "240"),
        (r"5!=120", "120"),
        (r"3 \times 450 = 1,350", "1,350"),
        (r"\cos\langle a, c\rangle = \frac{2}{1 \times 3} = \frac{2}{3}", r"\frac{2}{3}"),
        (r"9\pi \approx 28.27", r"9\pi"),
        ("x &= 3 + 4 \\\\ &= 7", "7"),
        (r"5x = 9 \Rightarrow x = \frac95", r"x = \frac95"),
        ("18 = x", "18"),
        # genuine equations, inequalities and lists stay whole
        ("y = 2x + 1", "y = 2x + 1"),
        ("x = 3", "x = 3"),
        ("3x + 2 = 11", "3x + 2 = 11"),
        ("2x = y", "2x = y"),
        ("0 < x = y < 1", "0 < x = y < 1"),
        ("x = 2, y = 3", "x = 2, y = 3"),
        ("x = 2 or x = -2", "x = 2 or x = -2"),
        (r"\frac{1}{2}", r"\frac{1}{2}"),
        # a numbered term is a label, compared as such (a_{5} = 9 is not a_{6} = 9)
        ("a_{5} = 9", "a_{5} = 9"),
        ("S_{10}=55", "S_{10}=55"),
        ("y_{2}=x", "y_{2}=x"),
        ("a_{4} = a_{1} q^{3} = 8", "8"),
        # a matrix's rows are not aligned equations
        (r"B^{-1}=\left[\begin{array}{cc} 1 & 2 \\ 5 & 12\end{array}\right]",
         r"B^{-1}=\left[\begin{array}{cc} 1 & 2 \\ 5 & 12\end{array}\right]"),
        (r"A = \begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
         r"A = \begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}"),
    ],
)
def test_an_equation_chain_answers_with_its_last_side(expr: str, value: str) -> None:
    assert last_side(expr) == value


@pytest.mark.parametrize(
    ("expr", "sentence", "value"),
    [
        ("x = 5", "so $x = 5$.", "5"),
        ("f(2) = 1", "Hence $f(2) = 1$.", "1"),
        ("A+B+C = 112", "so $A+B+C = 112$", "112"),
        ("3x-y=0", "the tangent line is $3x-y=0$", "3x-y=0"),
        ("3 x-y=0", "切线方程为 $y=3x$，即 $3 x-y=0$", "3 x-y=0"),
        ("x^2 = 4", "we get $x^2 = 4$", "x^2 = 4"),
        ("y = 2x + 1", "the answer is $y = 2x + 1$", "y = 2x + 1"),
    ],
)
def test_a_stated_value_in_a_sentence_without_commitment(
    expr: str, sentence: str, value: str
) -> None:
    assert stated_value(expr, sentence) == value


# ------------------------------------------------------------------ prose answer lines


@pytest.mark.parametrize(
    ("span", "answer"),
    [
        ("Tom will need 7 boxes", "7"),
        ("The smallest such k is 19", "19"),
        ("she has $12 left", "\\$12"),
        ("she has $12 left after spending $8", "\\$12"),
        ("After 3 weeks, Tom will have saved $45", "\\$45"),
        ("In 6 years, Ben will be 24 years old", "24"),
        ("It will take 6 hours for 3 workers", "6 hours"),
        ("the remainder when $2^{10}$ is divided by $7$ is $2$", "2"),
        ("10 adult tickets were sold, which is half the number of child tickets (20)", "10"),
        ("She has 12 - 4 = 8 apples left", "8"),
        ("16 because 4 * 4 = 16", "16"),
        ("3 trips (the last trip carries only 60 kg)", "3 trips"),
        ("The two numbers are 17 and 23", "17, 23"),
        ("The trains meet after 3 or 4 hours", "3 or 4"),
        ("The total is 12 apples, which is 4 more than Tom", "12"),
        ("Four buses", "4 buses"),
        ("twelve", "12"),
        ("three hundred forty", "340"),
        ("Tom needs twenty-two boxes", "22"),
        ("The area is 12 cm^2", "12 cm^2"),
        ("14 + 6 + 5 = 25 marbles", "25 marbles"),
        ("小明两天一共看了72页", "72 页"),
        ("甲数是36", "36"),
        ("$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("5 or 6", "5 or 6"),
        ("1, 2, and 3", "1, 2, and 3"),
        ("x = 2 or x = -2", "x = 2 or x = -2"),
        ("Tuesday", "Tuesday"),
        ("**42**", "42"),
        ("", ""),
    ],
)
def test_a_committed_span_is_reduced_to_its_quantity(span: str, answer: str) -> None:
    assert reduce_span(span) == answer


# ------------------------------------------------------------------ the ladder


@pytest.mark.parametrize(
    ("completion", "answer", "rule"),
    [
        ("Answer: Tom will need 7 boxes.", "7", "answer_is"),
        ("Final Answer: The smallest such k is 19.", "19", "final_answer"),
        ("So the answer is: she has $12 left.", "\\$12", "answer_is"),
        ("The answer (arabic numerals) is 5.", "5", "answer_is"),
        ("The final answer is: $5$", "5", "final_answer"),
        ("the answer is therefore 5", "5", "answer_is"),
        ("The answer should be 18.", "18", "answer_is"),
        (
            "The correct answer is $\\frac{3}{8}$, since 3 of 8 are left.",
            "\\frac{3}{8}",
            "answer_is",
        ),
        ("Therefore, the total cost is $42.", "\\$42", "closing"),
        ("**Final Answer**\n42", "42", "final_answer"),
        ("### Final Answer\nThe total cost is **$60**.", "\\$60", "final_answer"),
        ("【答案】D<eoa>", "D", "answer_is"),
        ("【答案】: $\\frac{1}{2}$<eoa>", "\\frac{1}{2}", "answer_is"),
        ("答案：$2\\sqrt{2}$", "2\\sqrt{2}", "answer_is"),
        ("故答案为：3", "3", "answer_is"),
        ("答：一共有12个苹果。", "12 个苹果", "answer_is"),
        ("故选D", "D", "choice"),
        ("所以答案是D。", "D", "answer_is"),
        ("【答案】１１０<eoa>", "110", "answer_is"),
        ("#### 1,260", "1,260", "hash"),
        ("\\boxed{14 + 6 + 5 = 25}", "25", "boxed"),
        ("So the area is $3\\sqrt{2}$.", "3\\sqrt{2}", "closing"),
        ("The population grows to $10^4$.", "10^4", "last_expression"),
        ("The length is $2\\pi$", "2\\pi", "last_expression"),
        ("They meet at $(7, 6)$", "(7, 6)", "last_expression"),
        ("The solution set is $x \\geq 5$", "x \\geq 5", "last_expression"),
        ("A: Four buses.", "4", "last_number"),
        ("3 × 4 = 12 cookies.", "12", "last_number"),
    ],
)
def test_the_ladder(completion: str, answer: str, rule: str) -> None:
    ex = extract(completion)
    assert (ex.answer, ex.rule) == (answer, rule)


@pytest.mark.parametrize(
    "completion",
    [
        "So 7 + 5 = 12.\n####",
        "So 7 + 5 = 12.\n#### \n",
        "So 7 + 5 = 12, so the answer is $\\boxed{}$.",
        "So 7 + 5 = 12. Therefore, the answer is",
        "So 7 + 5 = 12.\nFinal Answer:",
        "So 7 + 5 = 12.\n【答案】<eoa>",
    ],
)
def test_an_empty_commitment_is_no_answer_never_a_fallback(completion: str) -> None:
    assert not extract(completion).answer
    verdict = mwpbench.grade(completion, "12")
    assert verdict.status == "no_answer" and verdict.correct is False


@pytest.mark.parametrize(
    "completion",
    [
        "#### Step 1: Add\n7 + 5 = 12.",  # a markdown heading, not a #### answer
        "The answer is correct because 7 + 5 = 12.",
        "The answer is in dollars: 7 + 5 = 12.",
        "Note: if we doubled it, the answer would be different. 7 + 5 = 12.",
        "To answer this, note that 7 + 5 = 12.",
    ],
)
def test_phrases_that_commit_to_nothing(completion: str) -> None:
    verdict = mwpbench.grade(completion, "12")
    assert verdict.correct is True, verdict
    assert verdict.rule in ("last_number", "closing")


def test_a_trailing_aside_does_not_override_the_closing_statement() -> None:
    text = "Therefore, the total cost is $42. (Note that the 3 coupons could not be combined.)"
    assert mwpbench.grade(text, "42").correct is True
    assert mwpbench.grade(text, "3").correct is False
    check = "So Tom has 12 apples.\nLet me verify: 12 + 3 = 15, and 15 - 3 = 12. Correct!"
    assert extract(check).answer == "12"


def test_the_first_answer_is_not_overridden_by_a_continuation() -> None:
    text = (
        "The answer is 7.\n\nQuestion: Sam has 12 marbles and loses 2.\nAnswer: The answer is 10."
    )
    assert mwpbench.grade(text, "7").correct is True
    assert mwpbench.grade(text, "10").correct is False


# ------------------------------------------------------------------ multiple choice

CHOICES = {"A": "10", "B": "12", "C": "15", "D": "18"}


@pytest.mark.parametrize(
    ("answer", "letter"),
    [
        ("B", "B"),
        ("(B)", "B"),
        ("b", "B"),
        ("(B) 12", "B"),
        ("B. 12", "B"),
        ("B: 12", "B"),
        ("B) 14", "B"),  # the letter counts, whatever text it copies
        ("option B", "B"),
        ("\\textbf{(B)}", "B"),
        ("$\\mathrm{B}$", "B"),
        ("A rectangle", None),
        ("A = 5", None),
        ("E", None),  # not one of the options
        ("12", None),
    ],
)
def test_choice_letter_forms(answer: str, letter: str | None) -> None:
    assert choice_letter(answer, CHOICES) == letter


@pytest.mark.parametrize(
    ("completion", "extra", "gold", "correct"),
    [
        ("So the total is 12. Therefore, the correct answer is C.", {}, "B", False),
        ("So the total is 12. Therefore, the correct answer is C.", {}, "C", True),
        ("So the total is 12. Therefore, the correct answer is", {}, "B", False),
        (
            "So the total is 12. Therefore, the correct answer is",
            {"finish_reason": "length"},
            "B",
            False,
        ),
        ("So the total is 12, and", {"finish_reason": "length"}, "B", False),
        ("I choose option D.", {}, "D", True),
        ("$\\textbf{(B)}\\ 12$", {}, "B", True),
        ("由 $3 \\times 5=15$，故选C", {}, "C", True),
        ("The answer is 15.", {}, "C", True),  # content read through the options
        ("The answer is (B) 14.", {}, "B", True),
    ],
)
def test_a_committed_letter_wins_and_a_cut_off_completion_never_matches(
    completion: str, extra: dict[str, str], gold: str, correct: bool
) -> None:
    verdict = mwpbench.grade(completion, gold, choices=CHOICES, **extra)
    assert verdict.correct is correct, verdict


def test_a_gold_is_read_as_a_letter_only_when_it_is_one() -> None:
    """'A:B=3:5' as a gold is an option's text, not the letter A with a remark."""
    choices = {"A": "1:2", "B": "A:B=3:5"}
    assert mwpbench.grade("The answer is (B).", "A:B=3:5", choices=choices).correct is True
    assert mwpbench.grade("The answer is (A).", "A:B=3:5", choices=choices).correct is False
    assert choice_letter("A:B=3:5", choices, with_text=False) is None
