"""The reasoning-gym family: one environment class over any set of tasks and hand-made levels.

A skill is one task with a fixed part of its config and an ordered set of levels (config dicts);
neighbouring levels differ by one reasoning-gym curriculum attribute moved one step, so simplify
and escalate are one level down or up. The last level of a skill (`ood_level`) is evaluated,
never trained. Everything else — eval sets, drawing with exclusion, the verify pipeline — is the
`BaseEnvironment`'s.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from teachloop.environments.base import BaseEnvironment, Proposer, RewriteMode, malformed
from teachloop.environments.reasoning_gym import answers
from teachloop.environments.reasoning_gym.specs import (
    SEED_SPACE,
    RGSpec,
    SpecError,
    generate_item,
    parse_spec,
    range_bounds,
    score,
    text_key,
    within,
)
from teachloop.skills.records import Classification, Problem, Provenance, Skill, SolveResult, Verdict


@dataclass(frozen=True)
class RGSkill:
    """A trainable skill: `levels[1..]` are training levels, `ood` (if any) the level above."""

    id: str
    name: str
    task: str
    levels: tuple[dict[str, Any], ...]
    ood: dict[str, Any] | None = None
    prerequisites: tuple[str, ...] = ()
    description: str = ""
    topic: str | None = None

    def level_config(self, level: int) -> dict[str, Any] | None:
        if 1 <= level <= len(self.levels):
            return self.levels[level - 1]
        return self.ood if level == len(self.levels) + 1 else None

    def all_levels(self) -> list[tuple[int, dict[str, Any]]]:
        out = list(enumerate(self.levels, start=1))
        return out + ([(len(self.levels) + 1, self.ood)] if self.ood is not None else [])


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    description: str = ""


@dataclass
class _Tables:
    skills: dict[str, RGSkill] = field(default_factory=dict)
    by_task: dict[str, list[RGSkill]] = field(default_factory=dict)


class RGEnvironment(BaseEnvironment):
    """Problems from reasoning-gym tasks, scored by each task's own `score_answer`.

    A subclass (or `any_task_env`) gives `name`, `base_version`, a domain description and its
    skills; problems, solving, classifying, rewrites, prompts and rewards come from here.
    """

    default_heldout_per_skill = 16  # generators take milliseconds to tenths of a second a problem
    default_ood_per_skill = 8
    domain_name: str = "reasoning-gym"
    domain_description: str = ""

    def __init__(
        self,
        skills: Sequence[RGSkill],
        topics: Sequence[Topic] = (),
        heldout_per_skill: int | None = None,
        ood_per_skill: int | None = None,
    ) -> None:
        super().__init__(heldout_per_skill, ood_per_skill)
        self._topics = list(topics)
        self._t = _Tables()
        for s in skills:
            self._t.skills[s.id] = s
            self._t.by_task.setdefault(s.task, []).append(s)
        self._graph = self._build_graph()
        self._placements: dict[tuple[str, str], tuple[tuple[str, ...], int | None]] = {}
        self._verifying: tuple[dict[str, Any], RGSpec] | None = None  # the spec `verify` parsed, while it runs

    # ---- skills --------------------------------------------------------------------------
    def _build_graph(self) -> list[Skill]:
        out = [Skill(id=self.name, name=self.domain_name, description=self.domain_description, kind="domain")]
        out += [Skill(id=t.id, name=t.name, description=t.description, parent=self.name, kind="topic") for t in self._topics]
        for s in self._t.skills.values():
            out.append(
                Skill(
                    id=s.id,
                    name=s.name,
                    description=s.description,
                    parent=s.topic or self.name,
                    prerequisites=list(s.prerequisites),
                    min_level=1,
                    max_level=len(s.levels),
                    ood_level=len(s.levels) + 1 if s.ood is not None else None,
                    spec={"task": s.task, "levels": [dict(lv) for lv in s.levels]},
                )
            )
        return out

    def skill_graph(self) -> list[Skill]:
        return [s.model_copy(deep=True) for s in self._graph]

    def trainable_skill(self, skill_id: str) -> Skill:
        for s in self._graph:
            if s.id == skill_id and s.kind == "skill":
                return s
        raise ValueError(f"unknown skill '{skill_id}': not a trainable skill of {self.name}")

    def _skill(self, skill_id: str) -> RGSkill:
        if skill_id not in self._t.skills:
            raise ValueError(f"unknown skill '{skill_id}': not a trainable skill of {self.name}")
        return self._t.skills[skill_id]

    # ---- truth ---------------------------------------------------------------------------
    def _entry(self, spec: dict[str, Any]) -> tuple[RGSpec, dict[str, Any]]:
        """(parsed spec, generated entry); SpecError if malformed, RuntimeError if the config lies
        outside every level of this environment (never generated: a teacher's 10**6 people would
        hang the generator) or the generator fails for it."""
        rs = self._parse(spec)
        if not self._in_bounds(rs):
            raise RuntimeError(f"config {rs.config_json} lies outside every level of {self.name}'s {rs.task} skills")
        try:
            return rs, generate_item(rs)
        except Exception as e:  # any generator failure for this config/seed is a property of the spec
            raise RuntimeError(f"reasoning-gym {rs.task} cannot generate this config/seed: {type(e).__name__}: {e}") from None

    def _parse(self, spec: dict[str, Any]) -> RGSpec:
        """`parse_spec`, once per `verify`: its solve, answer check and classify all read the same
        spec object (a third of leg_counting's generate+verify time was re-parsing it)."""
        held = self._verifying  # read once: another thread's verify may reset it meanwhile
        return held[1] if held is not None and held[0] is spec else parse_spec(spec)

    def _in_bounds(self, rs: RGSpec) -> bool:
        return bool(self._place(rs)[0])

    def verify(self, problem: Problem, target_skill: str | None = None) -> Verdict:
        """The base pipeline, after refusing as off-skill a config outside every level."""
        try:
            rs = parse_spec(problem.spec)
        except SpecError:
            return super().verify(problem, target_skill)
        if problem.env == self.name and not self._in_bounds(rs):
            return Verdict(accepted=False, reason="off_skill", detail=f"config lies outside every level of {self.name}'s {rs.task} skills")
        self._verifying = (problem.spec, rs)
        try:
            return super().verify(problem, target_skill)
        finally:
            self._verifying = None

    def solve(self, spec: dict[str, Any]) -> SolveResult:
        try:
            _, entry = self._entry(spec)
        except SpecError as e:
            return malformed(str(e))
        except RuntimeError as e:
            return SolveResult(error=str(e).splitlines()[0][:300])
        return SolveResult(answer=str(entry["answer"]))

    def classify(self, spec: dict[str, Any]) -> Classification:
        """The first skill of the spec's task with a training level whose bounds hold the config,
        else the first with such an OOD level (in rg:TASK one skill's OOD is the next one's training)."""
        try:
            rs = self._parse(spec)
        except SpecError:
            return Classification(skill_ids=[])
        ids, level = self._place(rs)
        return Classification(skill_ids=list(ids), difficulty=level)

    def _place(self, rs: RGSpec) -> tuple[tuple[str, ...], int | None]:
        """(skill ids, level) of a config, memoised per (task, config): configs repeat a lot."""
        key = (rs.task, rs.config_json)
        if key not in self._placements:
            if len(self._placements) > 4096:
                self._placements.clear()
            self._placements[key] = self._find(rs)
        return self._placements[key]

    def _find(self, rs: RGSpec) -> tuple[tuple[str, ...], int | None]:
        skills = self._t.by_task.get(rs.task, [])
        for ood in (False, True):
            for s in skills:
                for level, cfg in s.all_levels():
                    if (level > len(s.levels)) == ood and within(rs.config, cfg):
                        return (s.id, *([s.topic] if s.topic else []), self.name), level
        return (), None

    def spec_key(self, spec: dict[str, Any]) -> str:
        try:
            rs, entry = self._entry(spec)
        except (SpecError, RuntimeError):
            return "invalid:" + json.dumps(spec, sort_keys=True, default=str)[:200]
        return text_key(rs.task, entry["question"])

    def answer_matches(self, spec: dict[str, Any], expected: str, stated: str) -> bool:
        """The generator's answer, or any answer the task's scorer gives full marks."""
        if stated.strip() == expected.strip():
            return True
        try:
            rs, entry = self._entry(spec)
            return score(rs, stated, entry) >= 1.0
        except Exception:
            return False

    # ---- student-facing ------------------------------------------------------------------
    def render(self, spec: dict[str, Any], rng: random.Random | None = None, style: int = 0) -> str:
        rs, entry = self._entry(spec)
        return answers.prompt(rs.task, entry["question"])

    def reward(self, problem: Problem, completion: str) -> float:
        """The task's own score of the answer read from the completion (0 if none)."""
        try:
            rs, entry = self._entry(problem.spec)
        except (SpecError, RuntimeError):
            return 0.0
        got = answers.extract(rs.task, completion)
        return 0.0 if got is None else score(rs, got, entry)

    # ---- generation ----------------------------------------------------------------------
    def proposer(self, skill_id: str, level: int, rng: random.Random) -> Proposer:
        s = self._skill(skill_id)
        cfg = s.level_config(level)
        if cfg is None:
            raise ValueError(f"{skill_id} has levels 1..{len(s.all_levels())}, not {level}")

        def propose() -> tuple[str, Callable[[Provenance], Problem]] | None:
            spec = {"task": s.task, "config": dict(cfg), "seed": rng.randrange(SEED_SPACE)}
            try:
                rs, entry = self._entry(spec)
            except (SpecError, RuntimeError):
                return None  # this seed does not generate: draw another
            return text_key(rs.task, entry["question"]), lambda prov: self._problem(skill_id, level, spec, entry, prov)

        return propose

    def _problem(self, skill_id: str, level: int, spec: dict[str, Any], entry: dict[str, Any], provenance: Provenance) -> Problem:
        return Problem(
            skill_id=skill_id,
            difficulty=level,
            prompt=answers.prompt(spec["task"], entry["question"]),
            answer=str(entry["answer"]),
            spec=spec,
            env=self.name,
            provenance=provenance,
        )

    def rewrite(self, problem: Problem, mode: RewriteMode, rng: random.Random) -> Problem | None:
        """simplify / escalate: the neighbouring level (one curriculum attribute one step down /
        up), never into the OOD level; diversify: the same level with a new seed."""
        if mode not in ("simplify", "diversify", "escalate"):
            raise ValueError(f"unknown rewrite mode '{mode}'")
        s = self._t.skills.get(problem.skill_id)
        if s is None or not 1 <= problem.difficulty <= len(s.levels):
            return None
        target = problem.difficulty + {"simplify": -1, "diversify": 0, "escalate": 1}[mode]
        if not 1 <= target <= len(s.levels):
            return None
        exclude = self._eval_sets()[1] | {self.spec_key(problem.spec)}
        drawn = self._draw(s.id, target, 1, rng, exclude=exclude, provenance="escalated" if mode == "escalate" else "rewritten")
        if not drawn:
            return None
        return drawn[0].model_copy(update={"parent_id": problem.id, "action": mode, "round": problem.round})

    # ---- teacher help --------------------------------------------------------------------
    def spec_schema(self, skill_id: str, level: int) -> dict[str, Any]:
        """A JSON schema of the specs of `skill_id` at `level`: the task fixed, every config field
        required, `min_X`/`max_X` fields bounded by the level and the rest fixed, seed an integer."""
        s = self._skill(skill_id)
        cfg = s.level_config(level)
        if cfg is None:
            raise ValueError(f"{skill_id} has levels 1..{len(s.all_levels())}, not {level}")
        props: dict[str, Any] = {}
        for f, v in cfg.items():
            bounds = range_bounds(cfg, f)
            if bounds is not None:
                kind = "integer" if all(isinstance(b, int) for b in bounds) else "number"
                props[f] = {"type": kind, "minimum": bounds[0], "maximum": bounds[1]}
            else:
                props[f] = {"const": v}
        return {
            "type": "object",
            "properties": {
                "task": {"const": s.task},
                "config": {"type": "object", "properties": props, "required": list(cfg), "additionalProperties": False},
                "seed": {"type": "integer", "minimum": 0, "maximum": SEED_SPACE - 1},
            },
            "required": ["task", "config", "seed"],
            "additionalProperties": False,
        }

    def spec_help(self, skill_id: str) -> str:
        try:
            s = self._skill(skill_id)
        except ValueError:
            return 'Spec format: {"task": <reasoning-gym task>, "config": {<field>: <value>}, "seed": <int>}.'
        example = {"task": s.task, "config": dict(s.levels[0]), "seed": 0}
        levels = "; ".join(f"level {lv}: {json.dumps(c, sort_keys=True)}" for lv, c in enumerate(s.levels, start=1))
        return (
            f"{s.description} A spec is a reasoning-gym task, a config within the level's bounds "
            f"(min_/max_ fields may narrow the range) and a seed picking the item. Levels: {levels}. "
            f"Example at level 1: spec {json.dumps(example)}."
        )
