"""The environment contract: an environment knows its domain better than any teacher model,
so it owns the truth (generation, solving, classifying, rewards, held-out sets)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from teachloop.skills.records import Classification, Problem, Skill, SolveResult, Verdict

RewriteMode = Literal["simplify", "diversify", "escalate"]
EvalSplit = Literal["heldout", "ood"]


def generate_over_levels(env: Environment, skill: Skill, n: int, seed: str, levels: Sequence[int] | None = None) -> list[Problem]:
    """`n` fresh problems of `skill` split evenly over `levels` (default: its training levels), each
    level from its own `seed/skill/level` stream, so that a fixed set (a probe, a calibration set)
    is the same in every run and process."""
    levels = list(levels or skill.training_levels)
    base, extra = divmod(n, len(levels))
    out: list[Problem] = []
    for i, lv in enumerate(levels):
        out += env.generate(skill.id, lv, base + (i < extra), random.Random(f"{seed}/{skill.id}/{lv}"))
    return out


@runtime_checkable
class Environment(Protocol):
    name: str
    version: str

    def skill_graph(self) -> list[Skill]:
        """Seed skills (domain, topics, skills) with parents and prerequisites."""
        ...

    def generate(self, skill_id: str, difficulty: int, n: int, rng: random.Random) -> list[Problem]:
        """`n` fresh problems of a skill at a difficulty level."""
        ...

    def solve(self, spec: dict[str, Any]) -> SolveResult:
        """Ground-truth answer of a structured spec, or an error if unsolvable/ambiguous."""
        ...

    def classify(self, spec: dict[str, Any]) -> Classification:
        """Which skill(s) and difficulty a spec exercises."""
        ...

    def render(self, spec: dict[str, Any], rng: random.Random | None = None, style: int = 0) -> str:
        """Surface text for a spec (style > 0: alternative phrasings, for diversify)."""
        ...

    def reward(self, problem: Problem, completion: str) -> float:
        """Score in [0, 1] of a student completion."""
        ...

    def rewrite(self, problem: Problem, mode: RewriteMode, rng: random.Random) -> Problem | None:
        """Programmatic simplify / diversify / escalate; None when the mode does not apply."""
        ...

    def eval_set(self, split: EvalSplit) -> list[Problem]:
        """Fixed, seeded, versioned problems per skill, never used for training."""
        ...

    def verify(self, problem: Problem, target_skill: str | None = None) -> Verdict:
        """Solver reproduces the answer and classifier confirms the skill (and difficulty)."""
        ...

    def add_skill(self, skill: Skill) -> Skill:
        """Register a discovered sub-skill; raises ValueError if its spec can't classify problems."""
        ...
