"""Which seed skill, and at which level, a spec exercises: decided from the spec alone.

This is the single source of truth for (skill, level): generators keep only draws that classify
back into the wanted pair, and the verifier refuses teacher problems that do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from teachloop.environments.arithmetic.expressions import literals
from teachloop.environments.arithmetic.specs import Analysis, FractionSpec, MultipleSpec

# Upper bounds per level (level i allows values <= BOUNDS[i-1]); the last entry is the OOD level.
GCD_BOUNDS = (20, 50, 100, 1000)
LCM_BOUNDS = (10, 20, 40, 100)
FRACTION_VALUE_BOUNDS = (10, 20, 50, 100)
FRACTION_FACTOR_BOUNDS = (5, 10, 20, 100)
ONESTEP_BOUNDS = (10, 20, 50, 200)
TWOSTEP_BOUNDS = (5, 10, 20, 100)

_OP_TOPIC = {"+": "addition", "-": "subtraction", "*": "multiplication", "/": "division"}


@dataclass(frozen=True)
class BaseClass:
    skill: str | None  # seed skill id, None when no seed skill fits
    level: int | None
    topic: str | None


NONE = BaseClass(None, None, None)


def level_of(value: int, bounds: tuple[int, ...]) -> int:
    """1-based level of the first bound >= value (one past the last bound if none)."""
    for i, b in enumerate(bounds, 1):
        if value <= b:
            return i
    return len(bounds) + 1


def _digits(v: int) -> int:
    return len(str(abs(v)))


def classify_base(a: Analysis) -> BaseClass:
    if not a.ok or a.spec is None:
        return NONE
    if a.expr is not None:
        return _expression(a)
    if isinstance(a.spec, MultipleSpec):
        if len(a.spec.numbers) != 2:
            return BaseClass(None, None, "number_theory")
        bounds = GCD_BOUNDS if a.spec.op == "gcd" else LCM_BOUNDS
        return BaseClass(f"nt.{a.spec.op}", level_of(max(a.spec.numbers), bounds), "number_theory")
    if isinstance(a.spec, FractionSpec):
        return _fraction(a.spec)
    return _equation(a)


def _expression(a: Analysis) -> BaseClass:
    ex = a.expr
    assert ex is not None and a.value is not None
    ops = set(ex.ops)
    topic = _OP_TOPIC[ex.ops[0]] if len(ops) == 1 else "mixed" if ops else None
    if not ops or ex.unary:
        return BaseClass(None, None, topic)
    t, d = len(ex.literals), ex.digits
    if ex.parens:
        if ops <= {"+", "-", "*"} and d <= 2:
            return BaseClass("mixed.parens", t + d - 3, "mixed")
        return BaseClass(None, None, "mixed")
    if ops == {"+"} and d <= 3:
        return BaseClass(f"add.{d}digit", t - 1, topic)
    if ops == {"-"} and d <= 3:
        return BaseClass(f"sub.{d}digit", t - 1, topic)
    if ops == {"+", "-"} and d <= 2:
        return BaseClass("mixed.addsub", t + d - 3, topic)
    if ops == {"*"}:
        widths = sorted(_digits(v) for v in ex.literals)
        if t == 2 and widths == [1, 1]:
            return BaseClass("mul.1digit", 1, topic)
        if t == 2 and widths[0] == 1:
            return BaseClass("mul.by1digit", widths[1] - 1, topic)
        if t == 2:
            return BaseClass("mul.by2digit", widths[0] + widths[1] - 3, topic)
        if d == 1:
            return BaseClass("mul.1digit", t - 1, topic)
        return BaseClass(None, None, topic)
    if ops == {"/"}:
        if t == 2 and a.value.denominator == 1:
            da, db = (_digits(v) for v in ex.literals)
            return BaseClass("div.exact", max(1, da + db - 2), topic)
        return BaseClass(None, None, topic)
    if "*" in ops and ops & {"+", "-"} and "/" not in ops and d <= 2:
        return BaseClass("mixed.order", t + d - 3, "mixed")
    return BaseClass(None, None, topic)


def _fraction(spec: FractionSpec) -> BaseClass:
    num, den = spec.num, spec.den
    if num <= 0 or den <= 0:
        return BaseClass(None, None, "fractions")
    g = gcd(num, den)
    p, q = num // g, den // g
    if g < 2 or q < 2:  # nothing to cancel, or the value is a whole number
        return BaseClass(None, None, "fractions")
    level = max(level_of(max(p, q), FRACTION_VALUE_BOUNDS), level_of(g, FRACTION_FACTOR_BOUNDS))
    return BaseClass("frac.simplify", level, "fractions")


def _equation(a: Analysis) -> BaseClass:
    eq = a.eq
    if eq is None or a.value is None:
        return NONE
    if eq.occurrences != 1 or eq.var_side is None or a.value.denominator != 1:
        return BaseClass(None, None, "algebra")
    lin = eq.linear_side()
    assert lin is not None
    steps = (lin.b != 0) + (lin.a != 1)
    if steps == 0:
        return BaseClass(None, None, "algebra")
    size = max([abs(v) for v in literals(eq.var_side)] + [abs(a.value.numerator)])
    if steps == 1:
        return BaseClass("alg.onestep", level_of(size, ONESTEP_BOUNDS), "algebra")
    return BaseClass("alg.twostep", level_of(size, TWOSTEP_BOUNDS), "algebra")
