"""Safe, exact arithmetic over Python's `ast`: parse, check, evaluate, describe.

Teacher models send arbitrary text, so nothing is ever executed: a whitelist of node types
(integer literals, + - * /, unary minus, parentheses, and for equations one single-letter
variable) is walked by our own evaluator over `Fraction`s. Limits on length, literal size and
intermediate magnitude keep hostile input ("9**9**9", 300 nested brackets) cheap to refuse.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction

MAX_TEXT = 300
MAX_LITERAL = 10**12
MAX_MAGNITUDE = 10**40

_BINOPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
# times, middle dot, division sign, minus sign, dashes
_UNICODE = str.maketrans({"\u00d7": "*", "\u00b7": "*", "\u00f7": "/", "\u2212": "-", "\u2013": "-", "\u2014": "-"})
_VAR_RE = re.compile(r"[A-Za-z]")


class SpecError(ValueError):
    """The input is malformed (a verifier reports 'unparsable')."""


class MathError(ValueError):
    """The input is well-formed but has no answer, e.g. division by zero ('unsolvable')."""


def _parse(text: object) -> ast.expr:
    if not isinstance(text, str):
        raise SpecError("expression must be a string")
    text = text.translate(_UNICODE).strip()
    if not text:
        raise SpecError("empty expression")
    if len(text) > MAX_TEXT:
        raise SpecError(f"expression longer than {MAX_TEXT} characters")
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise SpecError(f"not an arithmetic expression: {type(e).__name__}") from None


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


class _Scan:
    """One pass over a parsed tree: refuse every node outside the whitelist (names other than
    the variable, calls, attributes, **), and collect the canonical text (minimal brackets,
    single spaces), the literals and the binary operators in reading order."""

    def __init__(self, var: str | None = None, rename: str | None = None):
        self.var, self.rename = var, rename
        self.literals: list[int] = []
        self.ops: list[str] = []
        self.unary = False

    def text(self, node: ast.expr, outer: int = 0, right: bool = False) -> str:
        if isinstance(node, ast.Constant):
            v = node.value
            if type(v) is not int:
                raise SpecError(f"only integer literals are allowed, got {v!r}"[:120])
            if v > MAX_LITERAL:
                raise SpecError(f"literal larger than {MAX_LITERAL}")
            self.literals.append(v)
            return str(v)
        if isinstance(node, ast.Name):
            if self.var is None or node.id != self.var:
                raise SpecError(f"unknown name {node.id!r}"[:80])
            return self.rename or node.id
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise SpecError(f"unary {type(node.op).__name__} is not allowed")
            self.unary = True
            return ("-" if isinstance(node.op, ast.USub) else "+") + self.text(node.operand, 3)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise SpecError(f"operator {type(node.op).__name__} is not allowed (only + - * /)")
            prec = _PREC[op]
            left = self.text(node.left, prec)
            self.ops.append(op)
            out = f"{left} {op} {self.text(node.right, prec, right=True)}"
            return f"({out})" if prec < outer or (right and prec == outer) else out
        raise SpecError(f"{type(node).__name__} is not allowed")


def scan(node: ast.expr, var: str | None = None, rename: str | None = None) -> tuple[str, _Scan]:
    """(canonical text, collected facts) of a tree; raises SpecError outside the whitelist."""
    sc = _Scan(var, rename)
    try:
        return sc.text(node), sc
    except RecursionError:
        raise SpecError("expression nested too deeply") from None


def _bounded(x: Fraction) -> Fraction:
    if abs(x.numerator) > MAX_MAGNITUDE or x.denominator > MAX_MAGNITUDE:
        raise MathError("intermediate value too large")
    return x


def evaluate(node: ast.expr) -> Fraction:
    """Exact value of a checked expression tree (no variables)."""
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = evaluate(node.left), evaluate(node.right)
        op = _BINOPS[type(node.op)]
        if op == "+":
            return _bounded(a + b)
        if op == "-":
            return _bounded(a - b)
        if op == "*":
            return _bounded(a * b)
        if b == 0:
            raise MathError("division by zero")
        return _bounded(a / b)
    raise SpecError(f"{type(node).__name__} is not allowed")


def literals(node: ast.expr) -> list[int]:
    """Integer literals, left to right (sign excluded: unary minus is an operator here)."""
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.UnaryOp):
        return literals(node.operand)
    if isinstance(node, ast.BinOp):
        return literals(node.left) + literals(node.right)
    return []


def left_to_right(lits: tuple[int, ...], ops: tuple[str, ...]) -> Fraction | None:
    """Value of a bracket-free expression read strictly left to right, ignoring precedence (the
    classic slip "3 + 4 * 5 = 35"); None if a division by zero gets in the way."""
    acc = Fraction(lits[0])
    for op, v in zip(ops, lits[1:], strict=True):
        if op == "+":
            acc += v
        elif op == "-":
            acc -= v
        elif op == "*":
            acc *= v
        elif v == 0:
            return None
        else:
            acc /= v
    return acc


@dataclass(frozen=True)
class Expression:
    """A checked arithmetic expression and the structural facts classifiers need."""

    text: str  # canonical: redundant brackets dropped, single spaces
    value: Fraction | None
    error: str | None  # MathError message when value is None
    literals: tuple[int, ...]
    ops: tuple[str, ...]  # binary operators, left to right
    unary: bool  # any unary minus/plus
    parens: bool  # parentheses that change the meaning
    nested_parens: bool
    tree: ast.expr

    @property
    def digits(self) -> int:
        return max(len(str(v)) for v in self.literals)


def parse_expression(text: object) -> Expression:
    """Parse and check an arithmetic expression; evaluation errors are kept, not raised."""
    node = _parse(text)
    canonical, sc = scan(node)
    try:
        value, error = evaluate(node), None
    except MathError as e:
        value, error = None, str(e)
    depth, nested = 0, False
    for ch in canonical:
        if ch == "(":
            depth += 1
            nested = nested or depth > 1
        elif ch == ")":
            depth -= 1
    return Expression(
        text=canonical,
        value=value,
        error=error,
        literals=tuple(sc.literals),
        ops=tuple(sc.ops),
        unary=sc.unary,
        parens="(" in canonical,
        nested_parens=nested,
        tree=node,
    )


# ---- linear equations ------------------------------------------------------------------------

_IMPLICIT_RE = re.compile(r"(?<=[\d)])\s*(?=[A-Za-z(])")  # "5x", "3(x+1)", ")(" -> explicit '*'


@dataclass(frozen=True)
class Linear:
    """a * var + b."""

    a: Fraction
    b: Fraction


def _linear(node: ast.expr) -> Linear:
    if isinstance(node, ast.Constant):
        return Linear(Fraction(0), Fraction(node.value))
    if isinstance(node, ast.Name):
        return Linear(Fraction(1), Fraction(0))
    if isinstance(node, ast.UnaryOp):
        v = _linear(node.operand)
        return Linear(-v.a, -v.b) if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        x, y = _linear(node.left), _linear(node.right)
        op = _BINOPS[type(node.op)]
        if op == "+":
            return Linear(_bounded(x.a + y.a), _bounded(x.b + y.b))
        if op == "-":
            return Linear(_bounded(x.a - y.a), _bounded(x.b - y.b))
        if op == "*":
            if x.a and y.a:
                raise SpecError("not linear: the variable is multiplied by itself")
            return Linear(_bounded(x.a * y.b + y.a * x.b), _bounded(x.b * y.b))
        if y.a:
            raise SpecError("not linear: division by the variable")
        if y.b == 0:
            raise MathError("division by zero")
        return Linear(x.a / y.b, x.b / y.b)
    raise SpecError(f"{type(node).__name__} is not allowed")


@dataclass(frozen=True)
class Equation:
    """A checked linear equation in one variable."""

    var: str
    lhs: ast.expr
    rhs: ast.expr
    solution: Fraction | None
    error: str | None
    occurrences: int  # how often the variable is written
    var_side: ast.expr | None  # the side holding the variable when it is on one side only
    const_side: ast.expr | None

    def canonical(self, var: str | None = None) -> str:
        """Canonical text; `var` renames the variable (keys ignore the letter used)."""
        return f"{scan(self.lhs, self.var, var)[0]} = {scan(self.rhs, self.var, var)[0]}"

    def linear_side(self) -> Linear | None:
        return _linear(self.var_side) if self.var_side is not None else None

    def constant_value(self) -> Fraction | None:
        try:
            return evaluate(self.const_side) if self.const_side is not None else None
        except MathError:
            return None


def parse_equation(text: object, var: object = None) -> Equation:
    """Parse "5*x + 6 = 26" (implicit products like "5x" allowed) and solve it exactly."""
    if not isinstance(text, str):
        raise SpecError("equation must be a string")
    if var is not None and not (isinstance(var, str) and _VAR_RE.fullmatch(var)):
        raise SpecError("var must be a single letter")
    text = text.translate(_UNICODE)
    if text.count("=") != 1:
        raise SpecError("an equation needs exactly one '='")
    left, right = (_IMPLICIT_RE.sub("*", side) for side in text.split("="))
    lhs, rhs = _parse(left), _parse(right)
    names = {n.id for side in (lhs, rhs) for n in ast.walk(side) if isinstance(n, ast.Name)}
    if var is None:
        if len(names) != 1:
            raise SpecError("the equation must contain exactly one variable")
        var = next(iter(names))
    if not isinstance(var, str) or not _VAR_RE.fullmatch(var):
        raise SpecError("the variable must be a single letter")
    scan(lhs, var)
    scan(rhs, var)
    counts = [sum(isinstance(n, ast.Name) for n in ast.walk(side)) for side in (lhs, rhs)]
    if sum(counts) == 0:
        raise SpecError(f"the variable {var!r} does not occur")
    solution: Fraction | None = None
    error: str | None = None
    try:
        left_lin, right_lin = _linear(lhs), _linear(rhs)
        a = left_lin.a - right_lin.a
        if a == 0:
            error = "no unique solution"
        else:
            solution = (right_lin.b - left_lin.b) / a
    except RecursionError:
        raise SpecError("equation nested too deeply") from None
    except MathError as e:
        error = str(e)
    var_side = const_side = None
    if counts[0] and not counts[1]:
        var_side, const_side = lhs, rhs
    elif counts[1] and not counts[0]:
        var_side, const_side = rhs, lhs
    return Equation(
        var=var,
        lhs=lhs,
        rhs=rhs,
        solution=solution,
        error=error,
        occurrences=sum(counts),
        var_side=var_side,
        const_side=const_side,
    )


def format_value(x: Fraction) -> str:
    """Canonical answer text: "12", "-4", "7/2"."""
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
