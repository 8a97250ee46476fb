"""Final-answer extraction from free-form student text.

Students (and teacher models) write answers in many shapes: "47", "Answer: -12", "\\boxed{3/4}",
"so x = 4.", "1,234", or a paragraph whose last number is the answer. Rewards must not depend on
which shape was used, so every environment extracts through here and compares normalised values.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

# A signed number: thousands-grouped or plain digits, optional decimals, optional "/ denominator".
# The minus sign only counts when it is not a binary minus ("12-7" ends with 7, not -7).
_NUMBER = (
    r"(?<![\w.)\]}])(?P<sign>-)?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<dec>\.\d+)?"
    r"(?:\s*/\s*(?P<den>\d{1,3}(?:,\d{3})+(?!\d)|\d+))?"
)
_NUMBER_RE = re.compile(_NUMBER)
_ANCHORED_RE = re.compile(r"\s*" + _NUMBER + r"\s*")

# Explicit markers of a final answer, strongest first: the last \boxed{}, then "answer ... :/is".
_MARKER_RE = re.compile(r"(?:final\s+answer|answer)\s*(?:is|:|=|-)?\s*(?:that\s+)?", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"\n|\.\s|;")
_LATEX_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{\s*(-?[\d,]+)\s*\}\s*\{\s*([\d,]+)\s*\}")
_UNICODE = str.maketrans(  # minus sign, dashes, fraction/division slashes, non-breaking spaces
    {
        "\u2212": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2044": "/",
        "\u2215": "/",
        "\u00f7": "/",
        "\u00a0": " ",
        "\u202f": " ",
        "\u066c": ",",  # Arabic thousands separator
        "\u066b": ".",  # Arabic decimal separator
        "\uff0c": ",",  # full-width comma, slash, minus and plus
        "\uff0f": "/",
        "\uff0d": "-",
        "\uff0b": "+",
        "\u2009": "",  # thin space as a thousands separator
    }
)
_NON_ASCII_DIGIT_RE = re.compile(r"[^\x00-\x7f]")


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit as its ASCII digit: Arabic-Indic ٨٥, full-width ８５, Devanagari."""
    return _NON_ASCII_DIGIT_RE.sub(lambda m: str(d) if (d := unicodedata.decimal(m.group(), None)) is not None else m.group(), text)


def _clean(text: str) -> str:
    text = ascii_digits(text.translate(_UNICODE))
    text = _LATEX_FRAC_RE.sub(lambda m: f"{m.group(1)}/{m.group(2)}", text)
    return text.replace("$", " ").replace("\\!", "").replace("\\,", "")


def _canonical(m: re.Match[str]) -> str:
    sign = "-" if m.group("sign") else ""
    num = m.group("int").replace(",", "") + (m.group("dec") or "")
    if m.group("den") is not None:
        return f"{sign}{num}/{m.group('den').replace(',', '')}"
    return f"{sign}{num}"


def _last_number(text: str) -> str | None:
    matches = list(_NUMBER_RE.finditer(text))
    return _canonical(matches[-1]) if matches else None


def _boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (balanced braces)."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return text[i + 1 :]


def extract_answer(text: str | None) -> str | None:
    """The final answer in `text` as a canonical string ("-12", "1234", "3/4", "2.5"), or None.

    Order: the last \\boxed{}, else the first number after the last "answer" marker, else the last
    number in the text (which also covers "= 19" at the end and "x = 4.").
    """
    if not text or not isinstance(text, str):
        return None
    text = _clean(text)
    boxed = _boxed(text)
    if boxed is not None and (found := _last_number(boxed)) is not None:
        return found
    markers = list(_MARKER_RE.finditer(text))
    if markers:
        # The marker's sentence: "Answer: 12 + 7 = 19" means 19, "answer is 19 because 10 + 9" 19.
        segment = _SENTENCE_END_RE.split(text[markers[-1].end() :], maxsplit=1)[0]
        if "=" in segment and (found := _last_number(segment)) is not None:
            return found
        m = _NUMBER_RE.search(segment)
        if m is not None:
            return _canonical(m)
    return _last_number(text)


def parse_answer(text: str | None) -> str | None:
    """Strictly parse a stated answer (the whole string is one value, e.g. a teacher's "1,234",
    "-12", "3/4", "x = 4"); None if it is anything else. Canonical string like `extract_answer`."""
    if not text or not isinstance(text, str):
        return None
    text = _clean(text).strip().rstrip(".").strip()
    text = re.sub(r"^[A-Za-z]\s*=\s*", "", text)  # "x = 4"
    m = _ANCHORED_RE.fullmatch(text)
    return _canonical(m) if m else None


def to_fraction(answer: str | None) -> Fraction | None:
    """Exact value of a canonical answer string; None if it is not one (or divides by zero)."""
    if answer is None:
        return None
    try:
        return Fraction(answer.replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        return None


def fraction_parts(answer: str | None) -> tuple[int, int] | None:
    """(numerator, denominator) exactly as written in a canonical "a/b" answer, unreduced."""
    if answer is None or "/" not in answer:
        return None
    num, _, den = answer.partition("/")
    try:
        return int(num), int(den)
    except ValueError:
        return None


def same_answer(got: str | None, expected: str | None, *, fraction_form: bool = False) -> bool:
    """The one answer-equivalence rule, for teacher verification and student reward alike.

    `got` (canonical, from `parse_answer` or `extract_answer`) must have the expected value and be
    written as a final answer: a whole-number value as a whole number ("85", "85.0"; never
    "170/2"), any other value in lowest terms ("7/2", "3.5", "-7/2"; never "14/4"). With
    `fraction_form` (simplify-a-fraction problems) the answer must be the reduced "a/b" itself.
    """
    want, value = to_fraction(expected), to_fraction(got)
    if want is None or value is None or value != want:
        return False
    parts = fraction_parts(got)
    if fraction_form:
        return parts == fraction_parts(expected) if parts else want.denominator == 1 and "." not in (got or "")
    if parts is None:
        return True
    return want.denominator != 1 and parts[1] > 0 and Fraction(*parts).denominator == parts[1]
