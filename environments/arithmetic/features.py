"""A fixed library of structural features of specs, for skill discovery.

When a student's failures in a skill cluster on a feature (say 'carry' in two-digit addition),
the teacher can propose the sub-skill "add.2digit where carry". Features are computed from the
spec alone, so the classifier can route any problem into such a sub-skill.
"""

from __future__ import annotations

import ast
from fractions import Fraction
from math import gcd

from teachloop.environments.arithmetic.expressions import Expression, left_to_right
from teachloop.environments.arithmetic.specs import Analysis, FractionSpec, MultipleSpec

FEATURES: dict[str, str] = {
    "carry": "a column sum (or a digit product) reaches 10 and carries",
    "no_carry": "no column carries",
    "borrow": "a column of a subtraction needs borrowing",
    "negative_result": "the result is below zero",
    "negative_intermediate": "a running total read left to right goes below zero",
    "zero_operand": "an operand is 0",
    "one_operand": "an operand is 1",
    "same_operands": "two operands are equal",
    "round_operand": "an operand is a multiple of 10",
    "large_operand": "an operand's leading digit is 7, 8 or 9",
    "zero_in_result": "the result (10 or more) contains the digit 0",
    "precedence_trap": "reading strictly left to right gives a different result",
    "nested_parens": "brackets inside brackets",
    "subtracted_group": "a bracket is subtracted, so its signs flip",
    "multiplied_group": "a bracket is multiplied",
    "coprime": "the numbers share no factor above 1",
    "multiple": "one number divides another",
    "prime_operand": "one of the numbers is prime",
    "even_numbers": "all the numbers are even",
    "unit_fraction": "the simplified numerator is 1",
    "prime_factor": "the common factor is a prime",
    "composite_factor": "the common factor is composite (cancelling takes several steps)",
    "improper": "the numerator is larger than the denominator",
    "even_terms": "numerator and denominator are both even",
    "negative_coefficient": "the variable's coefficient is negative",
    "negative_constant": "a constant is subtracted on the variable's side",
    "negative_rhs": "the constant side is negative",
    "constant_first": "the constant comes before the variable term",
    "division": "the variable is divided by a number",
    "unit_coefficient": "the variable appears without a coefficient",
    "var_on_right": "the variable is on the right-hand side",
    "large_solution": "the solution is 10 or more",
}

# Which features make sense for each skill family (skills.SkillDef.family).
FAMILY_FEATURES: dict[str, tuple[str, ...]] = {
    "add": ("carry", "no_carry", "zero_operand", "same_operands", "round_operand", "large_operand", "zero_in_result"),
    "sub": (
        "borrow",
        "negative_result",
        "zero_operand",
        "same_operands",
        "round_operand",
        "large_operand",
        "zero_in_result",
    ),
    "chain": ("carry", "borrow", "negative_result", "negative_intermediate", "zero_operand", "round_operand"),
    "mul": (
        "carry",
        "zero_operand",
        "one_operand",
        "same_operands",
        "round_operand",
        "large_operand",
        "zero_in_result",
    ),
    "div": ("zero_operand", "one_operand", "same_operands", "round_operand", "large_operand", "zero_in_result"),
    "order": ("precedence_trap", "negative_result", "zero_operand", "one_operand", "large_operand"),
    "parens": (
        "nested_parens",
        "subtracted_group",
        "multiplied_group",
        "negative_result",
        "zero_operand",
        "one_operand",
    ),
    "multiple": ("coprime", "multiple", "prime_operand", "even_numbers", "same_operands"),
    "fraction": ("unit_fraction", "prime_factor", "composite_factor", "improper", "even_terms"),
    "equation": (
        "negative_coefficient",
        "negative_constant",
        "negative_rhs",
        "constant_first",
        "division",
        "unit_coefficient",
        "var_on_right",
        "large_solution",
    ),
}


def _add_carries(x: int, y: int) -> bool:
    carry = 0
    while x or y:
        s = x % 10 + y % 10 + carry
        if s >= 10:
            return True
        carry, x, y = 0, x // 10, y // 10
    return False


def _sub_borrows(x: int, y: int) -> bool:
    """x - y with x >= y >= 0."""
    while y:
        if x % 10 < y % 10:
            return True
        x, y = x // 10, y // 10
    return False


def _mul_carries(x: int, y: int) -> bool:
    """Long multiplication of the wider number by each digit of the narrower one carries."""
    if len(str(x)) < len(str(y)):
        x, y = y, x
    for m in map(int, str(y)):
        carry, rest = 0, x
        while rest:
            p = (rest % 10) * m + carry
            if p >= 10:
                return True
            carry, rest = p // 10, rest // 10
    return False


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


def _expression(ex: Expression, value: Fraction) -> set[str]:
    lits, ops = ex.literals, set(ex.ops)
    out: set[str] = set()
    if 0 in lits:
        out.add("zero_operand")
    if 1 in lits:
        out.add("one_operand")
    if len(set(lits)) < len(lits):
        out.add("same_operands")
    if any(v >= 10 and v % 10 == 0 for v in lits):
        out.add("round_operand")
    if any(str(v)[0] in "789" for v in lits):
        out.add("large_operand")
    if value < 0:
        out.add("negative_result")
    if value.denominator == 1 and abs(value) >= 10 and "0" in str(abs(value.numerator)):
        out.add("zero_in_result")
    if ex.nested_parens:
        out.add("nested_parens")
    if "- (" in ex.text:
        out.add("subtracted_group")
    if "* (" in ex.text or ") *" in ex.text:
        out.add("multiplied_group")
    if ex.unary or ex.parens:
        return out
    if ops & {"*", "/"} and ops & {"+", "-"}:
        if left_to_right(lits, ex.ops) != value:
            out.add("precedence_trap")
        return out
    carry = borrow = False
    if ops <= {"+", "-"}:
        running = lits[0]
        for op, v in zip(ex.ops, lits[1:], strict=True):
            if op == "+" and running >= 0:
                carry = carry or _add_carries(running, v)
            elif op == "-" and running >= v:
                borrow = borrow or _sub_borrows(running, v)
            running = running + v if op == "+" else running - v
        if "+" in ops:
            out.add("carry" if carry else "no_carry")
        if borrow:
            out.add("borrow")
        # A negative running total before the last step (chains only).
        running = lits[0]
        for op, v in list(zip(ex.ops, lits[1:], strict=True))[:-1]:
            running = running + v if op == "+" else running - v
            if running < 0:
                out.add("negative_intermediate")
                break
    elif ops == {"*"}:
        running = lits[0]
        for v in lits[1:]:
            carry = carry or _mul_carries(running, v)
            running *= v
        out.add("carry" if carry else "no_carry")
    return out


def features(a: Analysis) -> set[str]:
    """Names (from FEATURES) of the structural features of an analysed spec; empty if invalid."""
    if not a.ok or a.spec is None:
        return set()
    if a.expr is not None:
        assert a.value is not None
        return _expression(a.expr, a.value)
    if isinstance(a.spec, MultipleSpec):
        nums = a.spec.numbers
        out = set()
        if gcd(*nums) == 1:
            out.add("coprime")
        if any(x != y and y % x == 0 for x in nums for y in nums):
            out.add("multiple")
        if any(_is_prime(x) for x in nums):
            out.add("prime_operand")
        if all(x % 2 == 0 for x in nums):
            out.add("even_numbers")
        if len(set(nums)) < len(nums):
            out.add("same_operands")
        return out
    if isinstance(a.spec, FractionSpec):
        num, den = a.spec.num, a.spec.den
        g = gcd(num, den)
        out = set()
        if abs(num) == g:
            out.add("unit_fraction")
        if _is_prime(g):
            out.add("prime_factor")
        elif g >= 4:
            out.add("composite_factor")
        if abs(num) > abs(den):
            out.add("improper")
        if num % 2 == 0 and den % 2 == 0:
            out.add("even_terms")
        return out
    return _equation(a)


def _equation(a: Analysis) -> set[str]:
    eq = a.eq
    out: set[str] = set()
    if eq is None or eq.var_side is None or a.value is None:
        return out
    lin = eq.linear_side()
    assert lin is not None
    if lin.a < 0:
        out.add("negative_coefficient")
    if lin.b < 0:
        out.add("negative_constant")
    c = eq.constant_value()
    if c is not None and c < 0:
        out.add("negative_rhs")
    if not _first_term_has_var(eq.var_side):
        out.add("constant_first")
    if lin.a.denominator != 1:
        out.add("division")
    if abs(lin.a) == 1:
        out.add("unit_coefficient")
    if eq.var_side is eq.rhs:
        out.add("var_on_right")
    if abs(a.value) >= 10:
        out.add("large_solution")
    return out


def _first_term_has_var(node: ast.expr) -> bool:
    while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        node = node.left
    return any(isinstance(n, ast.Name) for n in ast.walk(node))
