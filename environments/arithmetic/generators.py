"""Draw specs from reasoning-gym datasets.

Each recipe becomes one reasoning-gym dataset, seeded from the caller's `random.Random` on first
use and read in index order, so a given rng seed reproduces the same draws. Items are turned into
our specs; where reasoning-gym's own answer is trustworthy it is cross-checked against our solver
(a disagreement is a bug on one side, and the item is skipped and counted).

Known reasoning-gym quirks handled here (0.1.25):
- basic_arithmetic without brackets evaluates left to right ("4 + 0 * 0" -> 0), and its '/'
  prints a divisor other than the one it divided by; we never trust its answers for those.
- basic_arithmetic's constants reach 10**digits (10 is a "1-digit" number); the classifier drops them.
- basic_arithmetic with brackets draws negative literals even with allow_negation=False; we take
  their absolute values (recipe.abs_literals) and solve the result ourselves.
"""

from __future__ import annotations

import random
import re
from typing import Any

import reasoning_gym
from reasoning_gym.dataset import ProceduralDataset

from teachloop.environments.answers import to_fraction
from teachloop.environments.arithmetic.expressions import parse_expression
from teachloop.environments.arithmetic.skills import Recipe
from teachloop.environments.arithmetic.specs import analyse

_SIZE = 2**31  # reasoning-gym's size is virtual; items are made on demand


class _Stream:
    """One reasoning-gym dataset read in order."""

    def __init__(self, recipe: Recipe, rng: random.Random):
        self.dataset: ProceduralDataset = reasoning_gym.create_dataset(
            recipe.dataset, seed=rng.getrandbits(31), size=_SIZE, **dict(recipe.config)
        )
        self.idx = 0

    def next(self) -> dict[str, Any]:
        item = self.dataset[self.idx]
        self.idx += 1
        return item


_NEGATIVE_LITERAL_RE = re.compile(r"(^|[\s(])-(\d)")


def _factors(item: dict[str, Any]) -> list[int]:
    return [int(x) for x in item["metadata"]["expression"].split("*")]


class Sampler:
    """Specs for one (skill, level): each draw picks one of its recipes at random."""

    def __init__(self, recipes: tuple[Recipe, ...], rng: random.Random):
        if not recipes:
            raise ValueError("no recipe")
        self.recipes = recipes
        self.rng = rng
        self._streams: dict[tuple[int, int], _Stream] = {}
        self.mismatches: list[tuple[dict[str, Any], str, str]] = []

    def _stream(self, i: int, part: int) -> _Stream:
        if (i, part) not in self._streams:
            recipe = self.recipes[i] if part == 0 else self.recipes[i].second
            assert recipe is not None
            self._streams[(i, part)] = _Stream(recipe, self.rng)
        return self._streams[(i, part)]

    def draw(self) -> dict[str, Any] | None:
        """The next spec, or None when the item was skipped (our solver disagreed with a
        trustworthy reasoning-gym answer)."""
        i = self.rng.randrange(len(self.recipes)) if len(self.recipes) > 1 else 0
        recipe = self.recipes[i]
        item = self._stream(i, 0).next()
        spec, trusted = self._convert(recipe, item, self._stream(i, 1).next() if recipe.second else None)
        if trusted is not None:
            got = analyse(spec).value
            if got is None or to_fraction(trusted) != got:  # rg writes n/n as "1/1"
                self.mismatches.append((spec, trusted, str(got)))
                return None
        return spec

    @staticmethod
    def _convert(recipe: Recipe, item: dict[str, Any], other: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
        """(spec, reasoning-gym's answer when we trust it)."""
        meta = item["metadata"]
        if recipe.form == "expr":
            text = meta["expression"]
            if recipe.abs_literals:
                # Negative literals ("( -9 - 8 )") lose their sign; brackets get canonical spacing.
                text = parse_expression(_NEGATIVE_LITERAL_RE.sub(r"\1\2", text)).text
            spec = {"op": "expr", "expr": text}
            ops = set(recipe.config.get("operators", ("+", "-")))
            trusted = recipe.dataset != "basic_arithmetic" or (len(ops) == 1 and "/" not in ops and not recipe.abs_literals)
            return spec, item["answer"] if trusted else None
        if recipe.form in ("product", "quotient"):
            if other is not None:
                a, b = _factors(item)[0], _factors(other)[0]
            else:
                a, b = _factors(item)[:2]
            if recipe.form == "product":
                return {"op": "expr", "expr": f"{a} * {b}"}, None
            return {"op": "expr", "expr": f"{a * b} / {b}"}, str(a) if b else None
        if recipe.form in ("gcd", "lcm"):
            return {"op": recipe.form, "numbers": list(meta["numbers"])}, item["answer"]
        if recipe.form == "fraction":
            return {"op": "fraction_simplify", "num": meta["numerator"], "den": meta["denominator"]}, item["answer"]
        if recipe.form == "equation":
            return {"op": "linear_eq", "equation": meta["equation"], "var": meta["variable"]}, item["answer"]
        raise ValueError(f"unknown recipe form {recipe.form!r}")
