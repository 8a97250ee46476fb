"""Problem specs: the structured maths behind a prompt, validated and solved by us.

A spec is a plain JSON dict (it travels inside `Problem.spec` and comes from teacher models):
    {"op": "expr", "expr": "12 + 7 * 3"}                 integers, + - * /, parentheses
    {"op": "gcd", "numbers": [12, 18]}                    also "lcm"
    {"op": "fraction_simplify", "num": 6, "den": 8}       answer in lowest terms, "3/4"
    {"op": "linear_eq", "equation": "5*x + 6 = 26", "var": "x"}
`analyse` validates, parses and solves a spec once (cached), so solve/classify/render/key all
agree and never raise on garbage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache, reduce
from math import gcd, lcm
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from teachloop.environments.arithmetic.expressions import (
    MAX_TEXT,
    Equation,
    Expression,
    SpecError,
    format_value,
    parse_equation,
    parse_expression,
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExprSpec(_Spec):
    """An integer arithmetic expression; '/' is exact (fractions, never floor division)."""

    op: Literal["expr"]
    expr: str = Field(max_length=MAX_TEXT)


class MultipleSpec(_Spec):
    """Greatest common divisor or least common multiple of positive integers."""

    op: Literal["gcd", "lcm"]
    numbers: list[Annotated[StrictInt, Field(ge=1, le=10**9)]] = Field(min_length=2, max_length=6)


class FractionSpec(_Spec):
    """Write num/den in lowest terms."""

    op: Literal["fraction_simplify"]
    num: Annotated[StrictInt, Field(ge=-(10**9), le=10**9)]
    den: Annotated[StrictInt, Field(ge=-(10**9), le=10**9)]


class LinearEqSpec(_Spec):
    """A linear equation in one single-letter variable; the answer is its value."""

    op: Literal["linear_eq"]
    equation: str = Field(max_length=MAX_TEXT)
    var: str | None = None


Spec = Annotated[ExprSpec | MultipleSpec | FractionSpec | LinearEqSpec, Field(discriminator="op")]
_SPEC = TypeAdapter(Spec)
_MAX_BLOB = 2000

SPEC_FORMATS = {
    "expr": '{"op": "expr", "expr": "12 + 7 * 3"} (integer literals, + - * /, parentheses)',
    "gcd": '{"op": "gcd", "numbers": [12, 18]}',
    "lcm": '{"op": "lcm", "numbers": [4, 6]}',
    "fraction_simplify": '{"op": "fraction_simplify", "num": 6, "den": 8} (answer "3/4")',
    "linear_eq": '{"op": "linear_eq", "equation": "5*x + 6 = 26", "var": "x"}',
}


@dataclass(frozen=True)
class Analysis:
    """Everything we know about one spec dict. `unparsable` = malformed; otherwise `error` says
    why a well-formed spec has no answer."""

    spec: ExprSpec | MultipleSpec | FractionSpec | LinearEqSpec | None
    key: str
    value: Fraction | None = None
    error: str | None = None
    unparsable: bool = False
    expr: Expression | None = None
    eq: Equation | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def op(self) -> str | None:
        return self.spec.op if self.spec is not None else None

    @property
    def answer(self) -> str | None:
        return format_value(self.value) if self.value is not None else None


def _invalid(blob: str, why: str) -> Analysis:
    return Analysis(spec=None, key="invalid:" + hashlib.sha256(blob.encode()).hexdigest()[:16], error=why, unparsable=True)


def analyse(spec: Any) -> Analysis:
    """Validate, parse and solve `spec`; never raises."""
    try:
        blob = json.dumps(spec, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return _invalid(type(spec).__name__, "spec is not JSON data")
    if len(blob) > _MAX_BLOB:  # never cache (or parse) huge teacher output
        return _invalid(blob[:1000], f"spec larger than {_MAX_BLOB} characters")
    return _analyse(blob)


@lru_cache(maxsize=8192)
def _analyse(blob: str) -> Analysis:
    try:
        raw = json.loads(blob)
        if not isinstance(raw, dict):
            return _invalid(blob, "spec must be a JSON object")
        spec = _SPEC.validate_python(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        return _invalid(blob, f"bad spec {where}: {err.get('msg', 'invalid')}".strip())
    try:
        return _solve(spec)
    except SpecError as e:
        return _invalid(blob, str(e))


def _solve(spec: ExprSpec | MultipleSpec | FractionSpec | LinearEqSpec) -> Analysis:
    if isinstance(spec, ExprSpec):
        ex = parse_expression(spec.expr)
        return Analysis(spec=spec, key=f"expr:{ex.text}", value=ex.value, error=ex.error, expr=ex)
    if isinstance(spec, MultipleSpec):
        value = reduce(gcd if spec.op == "gcd" else lcm, spec.numbers)
        key = f"{spec.op}:{','.join(map(str, sorted(spec.numbers)))}"
        return Analysis(spec=spec, key=key, value=Fraction(value))
    if isinstance(spec, FractionSpec):
        key = f"frac:{spec.num}/{spec.den}"
        if spec.den == 0:
            return Analysis(spec=spec, key=key, error="zero denominator")
        return Analysis(spec=spec, key=key, value=Fraction(spec.num, spec.den))
    eq = parse_equation(spec.equation, spec.var)
    return Analysis(spec=spec, key=f"eq:{eq.canonical('x')}", value=eq.solution, error=eq.error, eq=eq)


def spec_key(spec: Any) -> str:
    """Canonical key of the underlying maths (spacing, redundant brackets and the variable's
    letter do not matter; operand order does, except for gcd/lcm)."""
    return analyse(spec).key
