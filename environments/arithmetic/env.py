"""The arithmetic environment: reasoning-gym generators, our solver, classifier and rewrites."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

from teachloop.environments.answers import extract_answer, parse_answer, same_answer
from teachloop.environments.arithmetic.classify import classify_base
from teachloop.environments.arithmetic.features import FAMILY_FEATURES, FEATURES, features
from teachloop.environments.arithmetic.generators import Sampler
from teachloop.environments.arithmetic.render import N_STYLES, render
from teachloop.environments.arithmetic.rewrite import longer, magnitude, renumbered, shorter
from teachloop.environments.arithmetic.schema import spec_schema
from teachloop.environments.arithmetic.skills import (
    DOMAIN,
    SKILL_DEFS,
    SKILLS_BY_ID,
    SkillDef,
    seed_graph,
)
from teachloop.environments.arithmetic.specs import SPEC_FORMATS, Analysis, FractionSpec, analyse
from teachloop.environments.arithmetic.wording import check_wording
from teachloop.environments.base import BaseEnvironment, Proposer, RewriteMode, malformed
from teachloop.skills.records import (
    Classification,
    Problem,
    Provenance,
    Skill,
    SolveResult,
    Verdict,
)


class ArithmeticEnv(BaseEnvironment):
    """Whole-number arithmetic: 18 skills over 8 topics, built on reasoning-gym.

    A problem's `spec` (see specs.py) is the truth: we solve it, classify it and key it ourselves,
    so problems written by any teacher model are checked exactly like generated ones.
    """

    name = "arithmetic"
    base_version = "arithmetic-v1"

    def __init__(self, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        super().__init__(heldout_per_skill, ood_per_skill)
        self._discovered: dict[str, Skill] = {}
        self._help: dict[str, str] = {}
        self._seed_skills = [sd.skill() for sd in SKILL_DEFS]

    # ---- skills --------------------------------------------------------------------------
    def skill_graph(self) -> list[Skill]:
        return seed_graph() + [s.model_copy(deep=True) for s in self._discovered.values()]

    def _resolve(self, skill_id: str) -> tuple[SkillDef, str | None]:
        """(base skill definition, required feature or None)."""
        if skill_id in SKILLS_BY_ID:
            return SKILLS_BY_ID[skill_id], None
        sub = self._discovered.get(skill_id)
        if sub is None:
            raise ValueError(f"unknown skill '{skill_id}': not a trainable skill of {self.name}")
        return SKILLS_BY_ID[sub.spec["base"]], sub.spec["feature"]

    def trainable_skill(self, skill_id: str) -> Skill:
        if skill_id in SKILLS_BY_ID:
            return self._seed_skills[SKILL_DEFS.index(SKILLS_BY_ID[skill_id])]
        self._resolve(skill_id)  # raises for an unknown id
        return self._discovered[skill_id]

    def eval_skills(self) -> list[Skill]:
        return self._seed_skills

    def eval_quotas(self, skill: Skill, total: int) -> dict[int, int]:
        """Held-out problems per training level: an equal share, less where a level is small
        (`eval_caps`, e.g. the 100 one-digit sums) so that training keeps most of that level."""
        sd = SKILLS_BY_ID[skill.id]
        levels = list(sd.levels)
        out = {lv: min(cap, total // len(levels)) for lv, cap in sd.eval_caps.items() if lv in levels}
        free = [lv for lv in levels if lv not in out]
        rest = total - sum(out.values())
        for i, lv in enumerate(free):
            out[lv] = rest // len(free) + (1 if i < rest % len(free) else 0)
        return dict(sorted(out.items()))

    def feature_descriptions(self, skill_id: str) -> dict[str, str]:
        """Features a sub-skill of `skill_id` may be keyed on; {} for topics and unknown ids."""
        try:
            sd, own = self._resolve(skill_id)
        except ValueError:
            return {}
        return {f: FEATURES[f] for f in FAMILY_FEATURES[sd.family] if f != own}

    def spec_help(self, skill_id: str) -> str:
        """How to write a spec for `skill_id`, with a worked example, for teacher prompts."""
        if skill_id not in self._help:
            try:
                sd, feature = self._resolve(skill_id)
            except ValueError:
                return "Spec formats: " + "; ".join(SPEC_FORMATS.values())
            example = self._draw(skill_id, sd.min_level, 1, random.Random(f"help/{skill_id}"), exclude=())
            text = f"{sd.description} {sd.levels_text}"
            if feature is not None:
                text += f" Every problem must have this feature: {FEATURES[feature]}."
            if example:
                p = example[0]
                fmt = SPEC_FORMATS.get(p.spec["op"], "")
                text += f" Spec format: {fmt}."
                text += f" Example at level {p.difficulty}: spec {json.dumps(p.spec)}, answer {p.answer!r}."
            self._help[skill_id] = text
        return self._help[skill_id]

    def add_skill(self, skill: Skill) -> Skill:
        """Register a discovered sub-skill {"base": seed skill id, "feature": name}.

        Accepted only if the feature is in the base's feature library and the base's generators
        can actually produce problems with it that classify into the new sub-skill.
        """
        spec = skill.spec
        if set(spec) != {"base", "feature"}:
            raise ValueError('a sub-skill spec must be {"base": <skill id>, "feature": <feature name>}')
        base, feature = spec["base"], spec["feature"]
        if base not in SKILLS_BY_ID:
            raise ValueError(f"base '{base}' is not a seed skill of {self.name}")
        sd = SKILLS_BY_ID[base]
        known = FAMILY_FEATURES[sd.family]
        if feature not in known:
            raise ValueError(f"unknown feature '{feature}' for {base} (known: {', '.join(known)})")
        if skill.parent not in (None, base):
            raise ValueError(f"a sub-skill's parent must be its base '{base}', not '{skill.parent}'")
        existing = self._discovered.get(skill.id)
        if existing is not None:
            if existing.spec == spec:
                return existing.model_copy(deep=True)
            raise ValueError(f"skill '{skill.id}' is already registered with {existing.spec}")
        if skill.id in {s.id for s in seed_graph()}:
            raise ValueError(f"'{skill.id}' is a seed skill id")
        for other in self._discovered.values():
            if other.spec == spec:
                raise ValueError(f"feature '{feature}' of {base} is already the sub-skill '{other.id}'")
        unknown = [p for p in skill.prerequisites if p not in SKILLS_BY_ID and p not in self._discovered]
        if unknown:
            raise ValueError(f"unknown prerequisites: {', '.join(unknown)}")
        stored = skill.model_copy(
            update={
                "parent": base,
                "kind": "skill",
                "provenance": "discovered",
                "min_level": sd.min_level,
                "max_level": sd.max_level,
            }
        )
        self._discovered[skill.id] = stored
        rng = random.Random(f"discover/{base}/{feature}")
        for level in sd.levels:
            found = self._draw(skill.id, level, 1, rng, exclude=(), max_tries=400)
            if found and skill.id in self.classify(found[0].spec).skill_ids:
                return stored.model_copy(deep=True)
        del self._discovered[skill.id]
        raise ValueError(f"could not generate any {base} problem with feature '{feature}'")

    # ---- truth ---------------------------------------------------------------------------
    def solve(self, spec: dict[str, Any]) -> SolveResult:
        a = analyse(spec)
        if a.ok:
            return SolveResult(answer=a.answer)
        return malformed(a.error or "no answer") if a.unparsable else SolveResult(error=a.error or "no answer")

    def classify(self, spec: dict[str, Any]) -> Classification:
        """Skill ids, most specific first: discovered sub-skills, the seed skill, topic, domain."""
        a = analyse(spec)
        base = classify_base(a)
        ids: list[str] = []
        if base.skill is not None:
            feats = features(a)
            ids += [sid for sid, s in self._discovered.items() if s.spec["base"] == base.skill and s.spec["feature"] in feats]
            ids.append(base.skill)
        if base.topic is not None:
            ids.append(base.topic)
        if a.ok:
            ids.append(DOMAIN)
        return Classification(skill_ids=ids, difficulty=base.level)

    def features(self, spec: dict[str, Any]) -> set[str]:
        return features(analyse(spec))

    def spec_key(self, spec: dict[str, Any]) -> str:
        return analyse(spec).key

    def answer_matches(self, spec: dict[str, Any], expected: str, stated: str) -> bool:
        """The teacher's stated answer, by the same rule as the student's reward (`same_answer`)."""
        a = analyse(spec)
        return same_answer(parse_answer(stated), a.answer, fraction_form=isinstance(a.spec, FractionSpec))

    def verify_text(self, spec: dict[str, Any], prompt: str) -> Verdict:
        """A teacher-written prompt must say the spec's maths (see wording.py); `text_mismatch` otherwise."""
        a = analyse(spec)
        why = check_wording(a, prompt) if a.ok else "the spec has no answer"
        return Verdict(accepted=why is None, reason=None if why is None else "text_mismatch", detail=why or "")

    def wording_pattern(self, spec: dict[str, Any]) -> str | None:
        """An expression spec's text: words around the expression exactly as the spec writes it, no
        other digit, no braces or quotes (so it passes the numbers and arithmetic checks by
        construction; number words and instructions are still refused by `verify_text`)."""
        a = analyse(spec)
        if not (a.ok and a.expr is not None and isinstance(spec.get("expr"), str)):
            return None
        words = "[A-Za-z ,.?!']{0,120}"
        expr = re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", spec["expr"].strip())
        return f"{words}{expr}{words}"

    def reads_back(self, spec: dict[str, Any]) -> bool:
        """Whether a word problem for `spec` can be checked by reading it back as an expression."""
        a = analyse(spec)
        return a.ok and a.expr is not None

    def read_back(self, spec: dict[str, Any], expression: str) -> bool | None:
        """Whether `expression`, derived from a problem's text alone, has the spec's value (None:
        not an expression we can parse). Our own parser, never eval."""
        a = analyse(spec)
        b = analyse({"op": "expr", "expr": expression})
        return None if not b.ok else b.value == a.value

    def spec_schema(self, skill_id: str, level: int) -> dict[str, Any]:
        """JSON schema admitting only specs of `skill_id` at `level` (operators, operand widths,
        terms, bounds); a discovered sub-skill gets its base skill's. Constrained LLMs decode to it."""
        sd, _ = self._resolve(skill_id)
        return spec_schema(sd, level)

    # ---- student-facing ------------------------------------------------------------------
    def render(self, spec: dict[str, Any], rng: random.Random | None = None, style: int = 0) -> str:
        """Prompt text; style 0 suits the weak default student, styles 1-3 reword it."""
        return render(analyse(spec), style, rng)

    def reward(self, problem: Problem, completion: str) -> float:
        """1.0 if the completion's final answer is right, else 0.0, by the one rule that also
        checks teacher answers (`same_answer`): the value, written as a final answer ("85", not
        "170/2"; a reduced "3/4" where a fraction is simplified). No partial credit for format.
        """
        got = extract_answer(completion)
        if got is None:
            return 0.0
        a = analyse(problem.spec)
        expected = a.answer if a.ok else parse_answer(problem.answer)
        return 1.0 if same_answer(got, expected, fraction_form=isinstance(a.spec, FractionSpec)) else 0.0

    # ---- generation ----------------------------------------------------------------------
    def proposer(self, skill_id: str, level: int, rng: random.Random) -> Proposer:
        """reasoning-gym draws kept only if they classify into (skill, level) and have the
        sub-skill's feature; expressions are keyed and stored in canonical text."""
        sd, feature = self._resolve(skill_id)
        recipes = sd.recipes.get(level)
        if recipes is None:
            raise ValueError(f"{skill_id} has levels {sd.min_level}..{sd.ood_level}, not {level}")
        sampler = Sampler(recipes, rng)

        def propose() -> tuple[str, Callable[[Provenance], Problem]] | None:
            spec = sampler.draw()
            if spec is None:
                return None
            a = analyse(spec)
            base = classify_base(a)
            if base.skill != sd.id or base.level != level or (feature is not None and feature not in features(a)):
                return None
            if a.expr is not None and spec["expr"] != a.expr.text:
                spec = {"op": "expr", "expr": a.expr.text}  # store the canonical text
            return a.key, lambda provenance: self._problem(skill_id, level, spec, a, provenance)

        return propose

    def _problem(
        self,
        skill_id: str,
        level: int,
        spec: dict[str, Any],
        a: Analysis,
        provenance: Provenance,
        style: int = 0,
        rng: random.Random | None = None,
    ) -> Problem:
        assert a.answer is not None
        return Problem(
            skill_id=skill_id,
            difficulty=level,
            prompt=render(a, style, rng),
            answer=a.answer,
            spec=spec,
            env=self.name,
            provenance=provenance,
        )

    def rewrite(self, problem: Problem, mode: RewriteMode, rng: random.Random) -> Problem | None:
        """simplify: one level easier (smaller numbers at the lowest level); diversify: same level,
        new numbers and another wording; escalate: one level harder, None at max_level (the OOD
        level is never trained). None also when no such problem can be found."""
        if mode not in ("simplify", "diversify", "escalate"):
            raise ValueError(f"unknown rewrite mode '{mode}'")
        try:
            sd, feature = self._resolve(problem.skill_id)
        except ValueError:
            return None
        a = analyse(problem.spec)
        level = problem.difficulty
        if not sd.min_level <= level <= sd.max_level or classify_base(a).skill != sd.id:
            return None  # invalid, off-skill or OOD sources are not rewritten
        if mode == "escalate" and level >= sd.max_level:
            return None
        target = level + 1 if mode == "escalate" else max(sd.min_level, level - 1) if mode == "simplify" else level
        smaller_only = mode == "simplify" and level == sd.min_level
        exclude = self._eval_sets()[1] | {a.key}

        def fits(b: Analysis) -> bool:
            base = classify_base(b)
            return (
                b.ok
                and b.key not in exclude
                and base.skill == sd.id
                and base.level == target
                and (feature is None or feature in features(b))
                and (not smaller_only or magnitude(b) < magnitude(a))
            )

        if mode == "escalate":
            edits = [e for _ in range(4) for e in longer(a, rng)]
        elif mode == "simplify":
            edits = [] if smaller_only else shorter(a)
        else:
            edits = [e for _ in range(6) for e in renumbered(a, rng)]
        chosen = next((e for e in edits if fits(analyse(e))), None)
        if chosen is None:
            pool = [p.spec for p in self._draw(problem.skill_id, target, 8, rng, exclude=exclude) if fits(analyse(p.spec))]
            if not pool:
                return None
            mine = features(a)
            if mode == "simplify":  # no difficulty the source did not have (a borrow, a carry), then small
                chosen = min(pool, key=lambda s: (len(features(analyse(s)) - mine), magnitude(analyse(s))))
            else:  # keep the source's flavour
                chosen = max(pool, key=lambda s: (len(features(analyse(s)) & mine), -len(features(analyse(s)) - mine)))
        style = 0
        if mode == "diversify":
            was_plain = problem.prompt == render(a, 0)
            style = rng.choice([s for s in range(N_STYLES) if not (was_plain and s == 0)])
        out = self._problem(
            problem.skill_id,
            target,
            chosen,
            analyse(chosen),
            "escalated" if mode == "escalate" else "rewritten",
            style=style,
            rng=rng,
        )
        return out.model_copy(update={"parent_id": problem.id, "action": mode, "round": problem.round})
