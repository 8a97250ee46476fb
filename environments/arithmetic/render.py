"""Student-facing text for a spec.

Style 0 is what the default student can use: measured on SmolLM2-135M-Instruct, only a short
user message ending "Reply with just the number." gets answered well. Styles 1-3 say the same
maths in other words, symbols, number formats or a small story, for the teacher's diversify.
"""

from __future__ import annotations

import random
import re

from teachloop.environments.arithmetic.expressions import Expression
from teachloop.environments.arithmetic.specs import (
    Analysis,
    ExprSpec,
    FractionSpec,
    LinearEqSpec,
    MultipleSpec,
)

N_STYLES = 4

REPLY_NUMBER = "Reply with just the number."
REPLY_FRACTION = "Reply as a/b."
REPLY_ANSWER = "Reply with just the answer, as a fraction a/b if it is not a whole number."

_NAMES = ("Sam", "Mia", "Leo", "Ava", "Tom", "Zoe")
_THINGS = ("apples", "marbles", "stickers", "books", "coins", "cards")


def _pick(rng: random.Random | None, options: tuple[str, ...]) -> str:
    return options[0] if rng is None else rng.choice(options)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _grouped(text: str) -> str:
    """Thousands separators and the school symbols for times and divide."""
    text = re.sub(r"\d{4,}", lambda m: f"{int(m.group()):,}", text)
    return text.replace(" * ", " \u00d7 ").replace(" / ", " \u00f7 ")


def _reply(a: Analysis) -> str:
    if isinstance(a.spec, FractionSpec) and a.value is not None and a.value.denominator != 1:
        return REPLY_FRACTION
    if a.value is not None and a.value.denominator != 1:
        return REPLY_ANSWER
    return REPLY_NUMBER


def render(a: Analysis, style: int = 0, rng: random.Random | None = None) -> str:
    """Prompt text for a valid analysed spec. Raises ValueError for an invalid one."""
    if a.spec is None or not a.ok:
        raise ValueError(f"cannot render an invalid spec: {a.error}")
    style %= N_STYLES
    if isinstance(a.spec, ExprSpec):
        assert a.expr is not None
        body = _expression(a.expr, style, rng)
    elif isinstance(a.spec, MultipleSpec):
        body = _multiple(a.spec, style, rng)
    elif isinstance(a.spec, FractionSpec):
        body = _fraction(a.spec, style, rng)
    else:
        body = _equation(a, a.spec, style)
    return f"{body} {_reply(a)}"


def _expression(ex: Expression, style: int, rng: random.Random | None) -> str:
    text = ex.text
    if style == 0:
        return f"What is {text}?"
    if style == 1:
        return f"Calculate {_grouped(text)}."
    lits = [str(v) for v in ex.literals]
    ops = set(ex.ops)
    simple = not (ex.unary or ex.parens)
    if style == 3 and simple and len(lits) == 2:
        name, things = _pick(rng, _NAMES), _pick(rng, _THINGS)
        a, b = ex.literals
        if ops == {"+"}:
            return f"{name} has {a} {things} and gets {b} more. How many {things} does {name} have now?"
        if ops == {"-"} and a >= b:
            return f"{name} has {a} {things} and gives away {b}. How many {things} are left?"
        if ops == {"-"}:
            return f"The temperature is {a} degrees and then falls by {b} degrees. What is the temperature now?"
        if ops == {"*"} and a != 1:
            return f"There are {a} bags with {b} {things} in each bag. How many {things} are there altogether?"
        if ops == {"/"}:
            return f"{a} {things} are shared equally among {b} friends. How many {things} does each friend get?"
    if style == 3 and simple and ops == {"+"}:
        things = _pick(rng, _THINGS)
        return f"A shop sells {_and(lits)} {things} on {len(lits)} days. How many {things} does it sell in total?"
    if style == 3:
        return f"Evaluate: {text} = ?"
    if simple and len(lits) == 2:
        word = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}[ex.ops[0]]
        return f"What is {lits[0]} {word} {lits[1]}?"
    if simple and ops == {"+"}:
        return f"What is the sum of {_and(lits)}?"
    if simple and ops == {"*"}:
        return f"What is the product of {_and(lits)}?"
    return f"Work out the value of {text}."


def _multiple(spec: MultipleSpec, style: int, rng: random.Random | None) -> str:
    nums = [str(v) for v in spec.numbers]
    listed = _and(nums)
    if spec.op == "gcd":
        if style == 0:
            return f"What is the greatest common divisor of {listed}?"
        if style == 1:
            return f"Find gcd({', '.join(nums)})."
        if style == 3 and len(nums) == 2:
            return (
                f"{_pick(rng, _NAMES)} has {nums[0]} red beads and {nums[1]} blue beads and packs them into bags, "
                "every bag with the same mix and none left over. What is the largest number of bags possible?"
            )
        return f"What is the largest whole number that divides each of {listed}?"
    if style == 0:
        return f"What is the least common multiple of {listed}?"
    if style == 1:
        return f"Find lcm({', '.join(nums)})."
    if style == 3 and len(nums) == 2:
        return (
            f"One light blinks every {nums[0]} seconds and another every {nums[1]} seconds. They blink together now. "
            "After how many seconds do they next blink together?"
        )
    return f"What is the smallest positive number that is a multiple of each of {listed}?"


def _fraction(spec: FractionSpec, style: int, rng: random.Random | None) -> str:
    frac = f"{spec.num}/{spec.den}"
    if style == 0:
        return f"Simplify the fraction {frac}."
    if style == 1:
        return f"Write {frac} in lowest terms."
    if style == 3 and 0 < spec.num <= spec.den:
        return (
            f"{_pick(rng, _NAMES)} ate {spec.num} of the {spec.den} equal slices of a cake. "
            "What fraction of the cake is that, in lowest terms?"
        )
    return f"Reduce the fraction with numerator {spec.num} and denominator {spec.den} to lowest terms."


def _equation(a: Analysis, spec: LinearEqSpec, style: int) -> str:
    eq = a.eq
    assert eq is not None
    var = eq.var
    text = re.sub(r"(\d) \* ([A-Za-z])", r"\1*\2", eq.canonical())
    if style == 0:
        return f"Solve for {var}: {text}."
    if style == 1:
        implicit = re.sub(r"(\d)\*([A-Za-z])", r"\1\2", text)  # 5x + 6 = 26
        return f"Find {var} if {implicit}."
    if style == 3 and eq.var_side is eq.lhs:
        lin = eq.linear_side()
        c = eq.constant_value()
        if lin is not None and c is not None and lin.a > 0 and lin.a.denominator == 1 and lin.b.denominator == 1:
            steps = []
            if lin.a != 1:
                steps.append(f"multiply it by {lin.a}")
            if lin.b > 0:
                steps.append(f"add {lin.b}")
            elif lin.b < 0:
                steps.append(f"subtract {-lin.b}")
            return f"I think of a number, {' and '.join(steps)}. The result is {c}. What is my number?"
    return f"What value of {var} makes {text} true?"
