"""Structural edits of a spec for the teacher's simplify / diversify / escalate.

Edits keep a rewritten problem close to its source (the same sum with one term fewer, the same
shape with new numbers); the environment then keeps an edit only if it classifies into the
wanted skill and level, and falls back to a fresh draw otherwise.
"""

from __future__ import annotations

import ast
import random
from typing import Any

from teachloop.environments.arithmetic.expressions import literals
from teachloop.environments.arithmetic.specs import Analysis


def _number_like(v: int, rng: random.Random) -> int:
    """A random number with as many digits as `v`."""
    d = len(str(v))
    return rng.randint(0 if d == 1 else 10 ** (d - 1), 10**d - 1)


class _Renumber(ast.NodeTransformer):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant(_number_like(node.value, self.rng))


def _expr(text: str) -> dict[str, Any]:
    return {"op": "expr", "expr": text}


def shorter(a: Analysis) -> list[dict[str, Any]]:
    """The expression with its last operation dropped (either operand of the top operator)."""
    if a.expr is None or not isinstance(a.expr.tree, ast.BinOp):
        return []
    return [_expr(ast.unparse(side)) for side in (a.expr.tree.left, a.expr.tree.right)]


def longer(a: Analysis, rng: random.Random) -> list[dict[str, Any]]:
    """The expression with one more term, using one of its operators and operand widths."""
    if a.expr is None or not a.expr.ops:
        return []
    op = rng.choice(sorted(set(a.expr.ops)))
    v = _number_like(rng.choice(a.expr.literals), rng)
    return [_expr(f"{a.expr.text} {op} {v}")]


def renumbered(a: Analysis, rng: random.Random) -> list[dict[str, Any]]:
    """Same shape, new numbers of the same widths."""
    if a.expr is None:
        return []
    tree = ast.parse(a.expr.text, mode="eval").body
    return [_expr(ast.unparse(_Renumber(rng).visit(tree)))]


def magnitude(a: Analysis) -> int:
    """How big the numbers are, to pick a 'smaller numbers' version at the lowest level."""
    spec = a.spec
    if a.expr is not None:
        return sum(a.expr.literals)
    if a.eq is not None:
        side = a.eq.var_side if a.eq.var_side is not None else a.eq.lhs
        return sum(literals(side)) + (abs(a.value.numerator) if a.value is not None else 0)
    if spec is not None and spec.op in ("gcd", "lcm"):
        return max(spec.numbers)  # type: ignore[union-attr]
    if spec is not None and spec.op == "fraction_simplify":
        return abs(spec.num) + abs(spec.den)  # type: ignore[union-attr]
    return 0
