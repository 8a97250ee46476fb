"""Checks on text a teacher model wrote for the student: the student is rewarded for the spec's
answer, so the words must say the spec's maths and nothing else.

Necessary, not sufficient: a prompt must contain exactly the spec's numbers (as a multiset; digits
in any script, thousands separators allowed) and no other number — number words such as "twice"
or "seven" count as other numbers — be at most MAX_PROMPT characters, carry no instruction to the
student model, and every arithmetic expression written in it must evaluate (with our own parser,
never eval) to the answer. A word problem without symbols passes these checks; the teacher agent
adds an independent round-trip reading for those.
"""

from __future__ import annotations

import re
from collections import Counter

from teachloop.environments.answers import ascii_digits
from teachloop.environments.arithmetic.expressions import SpecError, literals, parse_expression
from teachloop.environments.arithmetic.specs import Analysis, ExprSpec, FractionSpec, MultipleSpec

MAX_PROMPT = 600
_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+")
_WORDS = (
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "thousand million twice thrice double triple half dozen"
).split()
_NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
# An arithmetic expression written in the text: numbers joined by operators, brackets allowed.
_OPERAND = r"\(*\s*\d+(?:,\d{3})*\s*\)*"
_EXPR_RE = re.compile(rf"{_OPERAND}(?:\s*[-+*/]\s*{_OPERAND})+")
_SYMBOLS = str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "—": "-", "∕": "/", "＋": "+", "＊": "*"})
_INSTRUCTION_RE = re.compile(
    r"\b(ignore|disregard|instructions?|system prompt|you are (an? )?(ai|assistant|model)|as an ai|grader|jailbreak)\b"
    r"|https?://|<\s*/?\s*\w+\s*>|\{|\}",
    re.IGNORECASE,
)


def spec_numbers(a: Analysis) -> Counter[int]:
    """The numbers a spec's text must show, as absolute values with multiplicity."""
    if isinstance(a.spec, ExprSpec) and a.expr is not None:
        vals = list(a.expr.literals)
    elif isinstance(a.spec, MultipleSpec):
        vals = list(a.spec.numbers)
    elif isinstance(a.spec, FractionSpec):
        vals = [a.spec.num, a.spec.den]
    elif a.eq is not None:
        vals = literals(a.eq.lhs) + literals(a.eq.rhs)
    else:
        vals = []
    return Counter(abs(v) for v in vals)


def text_numbers(text: str) -> Counter[int]:
    return Counter(int(m.group().replace(",", "")) for m in _NUMBER_RE.finditer(text))


def check_wording(a: Analysis, prompt: str) -> str | None:
    """None if `prompt` may stand for the analysed spec, else why not (one line)."""
    if len(prompt) > MAX_PROMPT:
        return f"prompt has {len(prompt):,} characters (at most {MAX_PROMPT})"
    text = ascii_digits(prompt).translate(_SYMBOLS)
    if m := _INSTRUCTION_RE.search(text):
        return f"prompt carries something other than the problem ({m.group()!r})"
    want, got = spec_numbers(a), text_numbers(text)
    if got != want:
        extra, missing = sorted((got - want).elements()), sorted((want - got).elements())
        return "prompt numbers differ from the spec's" + (f": extra {extra}" if extra else "") + (f", missing {missing}" if missing else "")
    if m := _NUMBER_WORD_RE.search(text):
        return f"prompt has a number word ({m.group()!r}) the spec does not"
    if a.eq is None and a.value is not None:
        for m in _EXPR_RE.finditer(text):
            try:
                ex = parse_expression(m.group().replace(",", "").strip())
            except (SpecError, RecursionError, ValueError):
                continue  # brackets cut across the match: the numbers check above still holds
            if ex.value is not None and ex.value != a.value:
                return f"the text's {m.group().strip()!r} is {ex.value}, not the answer {a.answer}"
    return None
