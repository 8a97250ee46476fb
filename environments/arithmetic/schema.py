"""Per-skill spec schemas: a JSON schema that admits only specs of one skill and level.

Built from the same reasoning-gym recipes the generators draw from (skills.py): the operators
as an enumerated character set, operand widths and the number of terms in a regular-expression
`pattern`, integer bounds for gcd/lcm and fractions. A constrained LLM decoding against it
cannot write an off-format spec; it can still write an off-level one the pattern cannot rule out
(every operand short), so the verifier still checks everything.
"""

from __future__ import annotations

import re
from typing import Any

from teachloop.environments.arithmetic.classify import FRACTION_FACTOR_BOUNDS, FRACTION_VALUE_BOUNDS, ONESTEP_BOUNDS, TWOSTEP_BOUNDS
from teachloop.environments.arithmetic.skills import Recipe, SkillDef

_EQUATION_BOUNDS = {"alg.onestep": ONESTEP_BOUNDS, "alg.twostep": TWOSTEP_BOUNDS}


def upto(digits: int) -> str:
    """A whole number of at most `digits` digits, no leading zero."""
    return "[0-9]" if digits == 1 else f"(0|[1-9][0-9]{{0,{digits - 1}}})"


def _chain(ops: str, terms: int, digits: int) -> str:
    n = upto(digits)
    return f"{n}( [{re.escape(ops)}] {n}){{{terms - 1}}}"


def _expr_pattern(r: Recipe, level_ops: str) -> str:
    cfg = r.config
    if r.form == "quotient":
        da, db = cfg["min_digits"], (r.second.config["min_digits"] if r.second else cfg["min_digits"])
        return f"{upto(da + db)} / {upto(db)}"
    if r.form == "product":
        assert r.second is not None
        return f"{upto(cfg['min_digits'])} \\* {upto(r.second.config['min_digits'])}"
    if r.dataset == "products":
        return _chain("*", cfg["min_terms"], cfg["min_digits"])
    if cfg.get("allow_parentheses"):  # brackets: a loose character set, the classifier decides
        return f"[0-9 ()+*-]{{5,{6 * cfg['max_terms'] * (cfg['max_digits'] + 3)}}}"
    return _chain(level_ops, cfg["min_terms"], cfg["min_digits"])


def _ops(r: Recipe) -> str:
    if r.dataset == "chain_sum":
        return "+-"
    return "".join(r.config.get("operators", ("+",)))


def _equation_pattern(sd: SkillDef, level: int) -> str:
    bound = _EQUATION_BOUNDS[sd.id][level - 1]
    k, rhs = upto(len(str(bound))), upto(len(str(bound * bound + bound)))
    forms = [f"{k}\\*[a-z]", f"[a-z] [+-] {k}", f"{k} [+-] [a-z]"]  # 6*x, x + 7, 12 - x
    if sd.id == "alg.twostep":
        forms = [f"{k}\\*[a-z] [+-] {k}", f"{k} [+-] {k}\\*[a-z]", f"{k} - [a-z]"]  # 5*x + 6, 9 - 4*x, 3 - x
    return f"({'|'.join(forms)}) = -?{rhs}"


def _object(op: Any, **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"op": {"type": "string", "enum": op if isinstance(op, list) else [op]}} | props,
        "required": ["op", *props],
        "additionalProperties": False,
    }


def spec_schema(sd: SkillDef, level: int) -> dict[str, Any]:
    """The JSON schema of a spec of skill `sd` at `level` (raises ValueError for a level it lacks)."""
    recipes = sd.recipes.get(level)
    if recipes is None:
        raise ValueError(f"{sd.id} has levels {sd.min_level}..{sd.ood_level}, not {level}")
    form = recipes[0].form
    if form in ("gcd", "lcm"):
        top = recipes[0].config["max_value"]
        item = {"type": "integer", "minimum": 1, "maximum": top}
        return _object(form, numbers={"type": "array", "items": item, "minItems": 2, "maxItems": 2})
    if form == "fraction":
        top = FRACTION_VALUE_BOUNDS[level - 1] * FRACTION_FACTOR_BOUNDS[level - 1]
        return _object(
            "fraction_simplify",
            num={"type": "integer", "minimum": 1, "maximum": top},
            den={"type": "integer", "minimum": 2, "maximum": top},
        )
    if form == "equation":
        pattern = _equation_pattern(sd, level)
        return _object("linear_eq", equation={"type": "string", "pattern": pattern}, var={"type": "string", "pattern": "[a-z]"})
    pattern = "|".join(dict.fromkeys(f"({_expr_pattern(r, _ops(r))})" for r in recipes))
    return _object("expr", expr={"type": "string", "pattern": pattern})
