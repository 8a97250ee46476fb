"""The arithmetic skill tree: which reasoning-gym configuration each (skill, level) draws from.

One domain → topics → trainable skills. A skill's difficulty knob is an integer level mapped to
reasoning-gym config values (number of terms, digits, value ranges); `ood_level` is one step
past `max_level` and is only ever used for the OOD evaluation set. The classifier
(`classify.py`) is the single source of truth for (skill, level): generators may draw loosely and
every drawn spec is kept only if it classifies back into the wanted skill and level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from teachloop.skills.records import Skill

DOMAIN = "arithmetic"

TOPICS: dict[str, tuple[str, str]] = {
    "addition": ("Addition", "Adding whole numbers."),
    "subtraction": ("Subtraction", "Subtracting whole numbers."),
    "multiplication": ("Multiplication", "Multiplying whole numbers."),
    "division": ("Division", "Exact division of whole numbers."),
    "number_theory": ("Number theory", "Divisors and multiples."),
    "fractions": ("Fractions", "Working with fractions."),
    "algebra": ("Algebra", "Solving linear equations in one unknown."),
    "mixed": ("Mixed operations", "Several operations in one expression."),
}

Form = Literal["expr", "product", "quotient", "gcd", "lcm", "fraction", "equation"]


@dataclass(frozen=True)
class Recipe:
    """A reasoning-gym dataset configuration and how its items become our specs.

    `second` pairs two products configurations: reasoning-gym's `products` draws every factor
    with the same digit count, so a mixed-width product (47 * 6) takes the first factor of an item
    from each. form "quotient" reads a product backwards (a * b = p gives "p / b"), because
    basic_arithmetic's division prints a divisor other than the one it divided by.
    """

    dataset: str
    config: Mapping[str, Any]
    form: Form = "expr"
    second: Recipe | None = None
    abs_literals: bool = False  # basic_arithmetic with brackets draws negative literals regardless


def _frozen(**kw: Any) -> Mapping[str, Any]:
    return MappingProxyType(kw)


def basic(ops: tuple[str, ...], terms: int, digits: int, parens: bool = False) -> Recipe:
    cfg = _frozen(
        operators=ops,
        min_terms=terms,
        max_terms=terms,
        min_digits=digits,
        max_digits=digits,
        allow_parentheses=parens,
        allow_negation=False,
    )
    return Recipe("basic_arithmetic", cfg, abs_literals=parens)


def chain(terms: int, digits: int) -> Recipe:
    return Recipe("chain_sum", _frozen(min_terms=terms, max_terms=terms, min_digits=digits, max_digits=digits))


def products(terms: int, digits: int, form: Form = "expr") -> Recipe:
    return Recipe("products", _frozen(min_terms=terms, max_terms=terms, min_digits=digits, max_digits=digits), form)


def pair(digits_a: int, digits_b: int, form: Form = "product") -> Recipe:
    return Recipe("products", products(2, digits_a).config, form, second=products(2, digits_b))


def divisors(op: Literal["gcd", "lcm"], max_value: int) -> Recipe:
    return Recipe(op, _frozen(min_numbers=2, max_numbers=2, min_value=1, max_value=max_value), op)


def fraction(max_value: int, max_factor: int) -> Recipe:
    cfg = _frozen(min_value=1, max_value=max_value, min_factor=2, max_factor=max_factor, styles=("plain",))
    return Recipe("fraction_simplification", cfg, "fraction")


def equation(terms: int, max_value: int, coefficient: bool) -> Recipe:
    # With '*' among the operators reasoning-gym writes a coefficient (5*x); weight 0 keeps '*'
    # from also joining terms. Without it the variable stands alone (x + 5).
    ops, weights = (("+", "-", "*"), [0.5, 0.5, 0.0]) if coefficient else (("+", "-"), [0.5, 0.5])
    cfg = _frozen(min_terms=terms, max_terms=terms, min_value=1, max_value=max_value, operators=ops, operators_weights=weights)
    return Recipe("simple_equations", cfg, "equation")


@dataclass(frozen=True)
class SkillDef:
    """A trainable seed skill: its place in the tree and the recipes behind each level."""

    id: str
    name: str
    topic: str
    description: str
    levels_text: str
    prerequisites: tuple[str, ...]
    family: str  # which feature library applies (features.py)
    recipes: Mapping[int, tuple[Recipe, ...]]  # min_level..ood_level
    max_level: int
    min_level: int = 1
    eval_caps: Mapping[int, int] = field(default_factory=dict)  # held-out cap where a level has few problems

    @property
    def ood_level(self) -> int:
        return self.max_level + 1

    @property
    def levels(self) -> range:
        return range(self.min_level, self.max_level + 1)

    def skill(self) -> Skill:
        return Skill(
            id=self.id,
            name=self.name,
            description=f"{self.description} {self.levels_text}",
            parent=self.topic,
            prerequisites=list(self.prerequisites),
            kind="skill",
            min_level=self.min_level,
            max_level=self.max_level,
            ood_level=self.ood_level,
            spec={"reasoning_gym": sorted({r.dataset for rs in self.recipes.values() for r in rs})},
        )


def _terms_levels(op: str, digits: int) -> dict[int, tuple[Recipe, ...]]:
    return {lv: (basic((op,), lv + 1, digits),) for lv in range(1, 5)}


def _mixed_levels(kind: Literal["chain", "order", "parens"]) -> dict[int, tuple[Recipe, ...]]:
    """Level = terms + digits - 3 for 1- and 2-digit operands (3 one-digit terms is level 1)."""
    out: dict[int, tuple[Recipe, ...]] = {}
    for lv in range(1, 5):
        rs = []
        for d in (1, 2):
            t = lv + 3 - d
            if t < 3:
                continue
            if kind == "chain":
                rs.append(chain(t, d))
            else:
                rs.append(basic(("+", "-", "*"), t, d, parens=kind == "parens"))
        out[lv] = tuple(rs)
    return out


_DIGITS = {1: "one", 2: "two", 3: "three"}
_TERMS = "Levels: 1 = two terms, 2 = three terms, 3 = four terms; OOD 4 = five terms."
_EQUATION_LEVELS = "Levels by the largest number beside the variable or in the solution: 1 = up to {}, 2 = {}, 3 = {}; OOD 4 = {}."
_MIXED = "Level = terms + digits - 3 (1: three 1-digit terms, 2: four 1-digit or three 2-digit terms, ...); OOD 4."

SKILL_DEFS: tuple[SkillDef, ...] = (
    *(
        SkillDef(
            id=f"add.{d}digit",
            name=f"{_DIGITS[d].capitalize()}-digit addition",
            topic="addition",
            description=f"Sums of whole numbers with at most {d} digits, the largest having {d}.",
            levels_text=_TERMS,
            prerequisites=() if d == 1 else (f"add.{d - 1}digit",),
            family="add",
            recipes=_terms_levels("+", d),
            max_level=3,
            eval_caps={1: 20} if d == 1 else {},
        )
        for d in (1, 2, 3)
    ),
    *(
        SkillDef(
            id=f"sub.{d}digit",
            name=f"{_DIGITS[d].capitalize()}-digit subtraction",
            topic="subtraction",
            description=f"Differences a - b (- c ...) of numbers with at most {d} digits; results may be negative.",
            levels_text=_TERMS,
            prerequisites=("add.1digit",) if d == 1 else (f"sub.{d - 1}digit", f"add.{d}digit"),
            family="sub",
            recipes=_terms_levels("-", d),
            max_level=3,
            eval_caps={1: 20} if d == 1 else {},
        )
        for d in (1, 2, 3)
    ),
    SkillDef(
        id="mul.1digit",
        name="Times tables",
        topic="multiplication",
        description="Products of one-digit numbers.",
        levels_text="Levels: 1 = two factors, 2 = three factors; OOD 3 = four factors.",
        prerequisites=("add.1digit",),
        family="mul",
        recipes={1: (products(2, 1),), 2: (products(3, 1),), 3: (products(4, 1),)},
        max_level=2,
        eval_caps={1: 20},
    ),
    SkillDef(
        id="mul.by1digit",
        name="Multiplying by a one-digit number",
        topic="multiplication",
        description="A multi-digit number times a one-digit number.",
        levels_text="Levels: 1 = 2-digit x 1-digit, 2 = 3-digit x 1-digit; OOD 3 = 4-digit x 1-digit.",
        prerequisites=("mul.1digit", "add.2digit"),
        family="mul",
        recipes={1: (pair(2, 1), pair(1, 2)), 2: (pair(3, 1), pair(1, 3)), 3: (pair(4, 1),)},
        max_level=2,
    ),
    SkillDef(
        id="mul.by2digit",
        name="Long multiplication",
        topic="multiplication",
        description="Products of two numbers with at least two digits each.",
        levels_text="Level = digits of both factors - 3: 1 = 2x2 digits, 2 = 3x2 digits; OOD 3 = 3x3 digits.",
        prerequisites=("mul.by1digit", "add.3digit"),
        family="mul",
        recipes={1: (products(2, 2),), 2: (pair(3, 2), pair(2, 3)), 3: (products(2, 3),)},
        max_level=2,
    ),
    SkillDef(
        id="div.exact",
        name="Exact division",
        topic="division",
        description="a / b where b divides a exactly.",
        levels_text=(
            "Level = digits of a + digits of b - 2 (at least 1): 1 = 2-digit / 1-digit, "
            "2 = 3-digit / 1-digit or 2-digit / 2-digit, 3 = 4/1 or 3/2 digits; OOD 4."
        ),
        prerequisites=("mul.1digit", "sub.1digit"),
        family="div",
        recipes={
            1: (products(2, 1, "quotient"),),
            2: (pair(2, 1, "quotient"), pair(1, 2, "quotient")),
            3: (pair(3, 1, "quotient"), pair(2, 2, "quotient")),
            4: (products(2, 2, "quotient"), pair(4, 1, "quotient")),
        },
        max_level=3,
        eval_caps={1: 20},
    ),
    SkillDef(
        id="nt.gcd",
        name="Greatest common divisor",
        topic="number_theory",
        description="gcd of two positive integers.",
        levels_text="Levels by the largest number: 1 = up to 20, 2 = up to 50, 3 = up to 100; OOD 4 = up to 1000.",
        prerequisites=("div.exact",),
        family="multiple",
        recipes={lv: (divisors("gcd", v),) for lv, v in ((1, 20), (2, 50), (3, 100), (4, 1000))},
        max_level=3,
        eval_caps={1: 50},
    ),
    SkillDef(
        id="nt.lcm",
        name="Least common multiple",
        topic="number_theory",
        description="lcm of two positive integers.",
        levels_text="Levels by the largest number: 1 = up to 10, 2 = up to 20, 3 = up to 40; OOD 4 = up to 100.",
        prerequisites=("nt.gcd", "mul.by1digit"),
        family="multiple",
        recipes={lv: (divisors("lcm", v),) for lv, v in ((1, 10), (2, 20), (3, 40), (4, 100))},
        max_level=3,
        eval_caps={1: 12, 2: 40},
    ),
    SkillDef(
        id="frac.simplify",
        name="Simplifying fractions",
        topic="fractions",
        description="Write a fraction num/den in lowest terms (there is a common factor of 2 or more).",
        levels_text=(
            "Level = the harder of the reduced fraction's largest term (1: <= 10, 2: <= 20, 3: <= 50, OOD 4: <= 100) "
            "and the common factor (1: <= 5, 2: <= 10, 3: <= 20, OOD 4: <= 100)."
        ),
        prerequisites=("nt.gcd",),
        family="fraction",
        recipes={lv: (fraction(v, f),) for lv, v, f in ((1, 10, 5), (2, 20, 10), (3, 50, 20), (4, 100, 100))},
        max_level=3,
        eval_caps={1: 30},
    ),
    SkillDef(
        id="alg.onestep",
        name="One-step equations",
        topic="algebra",
        description="Linear equations solved by one inverse operation (x + 7 = 12, 6*x = 42); integer solution.",
        levels_text=_EQUATION_LEVELS.format(10, 20, 50, 200),
        prerequisites=("sub.2digit", "div.exact"),
        family="equation",
        recipes={
            lv: (equation(1, v, coefficient=True), equation(2, v, coefficient=False)) for lv, v in ((1, 10), (2, 20), (3, 50), (4, 200))
        },
        max_level=3,
        eval_caps={1: 40},
    ),
    SkillDef(
        id="alg.twostep",
        name="Two-step equations",
        topic="algebra",
        description="Linear equations a*x + b = c needing two inverse operations; integer solution.",
        levels_text=_EQUATION_LEVELS.format(5, 10, 20, 100),
        prerequisites=("alg.onestep", "mul.by1digit"),
        family="equation",
        recipes={lv: (equation(2, v, coefficient=True),) for lv, v in ((1, 5), (2, 10), (3, 20), (4, 100))},
        max_level=3,
        eval_caps={1: 50},
    ),
    SkillDef(
        id="mixed.addsub",
        name="Chains of + and -",
        topic="mixed",
        description="Left-to-right chains mixing + and - over 1- or 2-digit numbers.",
        levels_text=_MIXED,
        prerequisites=("add.2digit", "sub.1digit"),
        family="chain",
        recipes=_mixed_levels("chain"),
        max_level=3,
    ),
    SkillDef(
        id="mixed.order",
        name="Order of operations",
        topic="mixed",
        description="Expressions mixing * with + or -, no brackets: multiplication comes first.",
        levels_text=_MIXED,
        prerequisites=("mixed.addsub", "mul.1digit"),
        family="order",
        recipes=_mixed_levels("order"),
        max_level=3,
    ),
    SkillDef(
        id="mixed.parens",
        name="Brackets",
        topic="mixed",
        description="Expressions over + - * whose brackets change the result.",
        levels_text=_MIXED,
        prerequisites=("mixed.order",),
        family="parens",
        recipes=_mixed_levels("parens"),
        max_level=3,
    ),
)

SKILLS_BY_ID: dict[str, SkillDef] = {d.id: d for d in SKILL_DEFS}


def seed_graph() -> list[Skill]:
    """Domain, topics and trainable skills, parents before children."""
    out = [
        Skill(
            id=DOMAIN,
            name="Arithmetic",
            description="Whole-number arithmetic and its first steps beyond.",
            kind="domain",
        )
    ]
    for tid, (name, desc) in TOPICS.items():
        out.append(Skill(id=tid, name=name, description=desc, parent=DOMAIN, kind="topic"))
    out.extend(d.skill() for d in SKILL_DEFS)
    return out
