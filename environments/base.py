"""The environment contract: an environment knows its domain better than any teacher model,
so it owns the truth (generation, solving, classifying, rewards, held-out sets).

`Environment` is what every consumer (teacher, strategies, student, episode, bench) may call.
`BaseEnvironment` implements its generic part once: eval sets drawn per level from fixed seeds
and cached per version, drawing fresh problems with the eval problems excluded, and the verify
pipeline. A domain writes only its skills, proposer, solver, classifier, rendering, rewrites and
reward.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from teachloop.skills.records import Classification, Problem, Provenance, Skill, SolveResult, Verdict

RewriteMode = Literal["simplify", "diversify", "escalate"]
EvalSplit = Literal["heldout", "ood"]
EvalSets = dict[str, dict[str, list[Problem]]]  # split -> skill id -> problems
# A proposer yields (spec key, builder of its Problem given a provenance) for a spec already
# classified into the wanted (skill, level), or None for a draw to skip; it owns the random
# stream it was made with. Building is deferred so that excluded and repeated draws cost no render.
Proposer = Callable[[], "tuple[str, Callable[[Provenance], Problem]] | None"]

MALFORMED = "malformed spec: "  # prefix of a SolveResult error for a spec that does not parse
_EVAL_CACHE: dict[str, tuple[EvalSets, frozenset[str]]] = {}  # by environment version


def malformed(detail: str) -> SolveResult:
    """The solver's answer to a spec it cannot even read (verify rejects it as 'unparsable')."""
    return SolveResult(error=MALFORMED + detail)


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
    """Everything the rest of teachloop calls on an environment."""

    name: str
    version: str  # names the eval sets (their seeds derive from it); changes with their sizes

    def skill_graph(self) -> list[Skill]:
        """Seed skills (domain, topics, skills) with parents and prerequisites, then discovered ones."""
        ...

    def generate(self, skill_id: str, difficulty: int, n: int, rng: random.Random) -> list[Problem]:
        """`n` fresh problems of a skill at a difficulty level, never an eval problem."""
        ...

    def solve(self, spec: dict[str, Any]) -> SolveResult:
        """Ground-truth answer of a structured spec, or an error if unsolvable/ambiguous."""
        ...

    def classify(self, spec: dict[str, Any]) -> Classification:
        """Which skill(s) and difficulty a spec exercises, most specific first."""
        ...

    def spec_key(self, spec: dict[str, Any]) -> str:
        """Identity of the problem a spec describes: equal keys are the same problem."""
        ...

    def features(self, spec: dict[str, Any]) -> set[str]:
        """Named traits of a spec (a carry, a borrow) that discovered sub-skills key on."""
        ...

    def feature_descriptions(self, skill_id: str) -> dict[str, str]:
        """Features a sub-skill of `skill_id` may be keyed on, with their descriptions."""
        ...

    def spec_help(self, skill_id: str) -> str:
        """How to write a spec for `skill_id`, with a worked example, for teacher prompts."""
        ...

    def spec_schema(self, skill_id: str, level: int) -> dict[str, Any]:
        """A JSON schema admitting only specs of that skill and level (for constrained decoding)."""
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

    def eval_set(self, split: EvalSplit, n_per_skill: int | None = None) -> list[Problem]:
        """Fixed, seeded, versioned problems per skill, never used for training (a prefix of each)."""
        ...

    def eval_keys(self) -> set[str]:
        """spec_key of every held-out and OOD problem."""
        ...

    def verify(self, problem: Problem, target_skill: str | None = None) -> Verdict:
        """Solver reproduces the answer and classifier confirms the skill (and difficulty)."""
        ...

    def answer_tokens(self, count_tokens: Callable[[str], int]) -> int:
        """Completion tokens a student needs to state this environment's answers (its tokenizer
        counts), the hint the episode's eval and GRPO lengths start from."""
        ...

    def verify_text(self, spec: dict[str, Any], prompt: str) -> Verdict:
        """Whether a teacher-written `prompt` (what the student reads) asks the verified spec's
        problem; `text_mismatch` otherwise. The teacher agent calls it on every such draft."""
        ...

    def reads_back(self, spec: dict[str, Any]) -> bool:
        """Whether a word problem for `spec` can be checked by reading it back as an expression."""
        ...

    def wording_pattern(self, spec: dict[str, Any]) -> str | None:
        """A regular expression the student's text for `spec` must match, for LLM backends that
        decode to it (None: no pattern, the text is only verified)."""
        ...

    def read_back(self, spec: dict[str, Any], expression: str) -> bool | None:
        """Whether `expression`, derived from the problem's text alone, has the spec's value
        (None: an expression the environment cannot parse)."""
        ...

    def add_skill(self, skill: Skill) -> Skill:
        """Register a discovered sub-skill; raises ValueError if its spec can't classify problems."""
        ...


def _interleave(lists: list[list[Problem]]) -> list[Problem]:
    """Round-robin over levels, so any prefix of a skill's eval problems spans its levels."""
    out: list[Problem] = []
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


class BaseEnvironment(ABC):
    """The generic machinery of an environment; subclasses write only their domain.

    Eval-set sizes are constructor parameters. The version, which seeds the eval sets and keys
    their cache, derives from them: the default sizes give `base_version`, explicit ones
    `{base_version}+bench-h{H}-o{O}` (the name the recorded benchmark drew its sets under), so
    one size always means the same problems and no caller ever sets attributes from outside.
    """

    name: ClassVar[str]
    base_version: ClassVar[str]
    default_heldout_per_skill: ClassVar[int] = 200
    default_ood_per_skill: ClassVar[int] = 100

    def __init__(self, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        sized = heldout_per_skill is not None or ood_per_skill is not None
        self._heldout_per_skill = self.default_heldout_per_skill if heldout_per_skill is None else heldout_per_skill
        self._ood_per_skill = max(self.default_ood_per_skill if ood_per_skill is None else ood_per_skill, 1)
        if self._heldout_per_skill < 1:
            raise ValueError(f"heldout_per_skill must be at least 1, got {self._heldout_per_skill}")
        self._version = f"{self.base_version}+bench-h{self._heldout_per_skill}-o{self._ood_per_skill}" if sized else self.base_version

    # Read-only: the sizes and version name the cached eval sets, so changing one after
    # construction would pair one size with another size's cached problems.
    @property
    def heldout_per_skill(self) -> int:
        return self._heldout_per_skill

    @property
    def ood_per_skill(self) -> int:
        return self._ood_per_skill

    @property
    def version(self) -> str:
        return self._version

    def use_eval_namespace(self, namespace: str) -> None:
        """Draw this instance's eval sets from another seed namespace ('test': a split never used
        for tuning); call before anything reads them. The namespace joins the version, so the sets
        are cached apart and `generate` excludes this namespace's problems."""
        if not namespace.isidentifier():
            raise ValueError(f"eval namespace must be a plain name, got {namespace!r}")
        self._version = f"{self._version}+{namespace}"

    # ---- the domain ----------------------------------------------------------------------
    @abstractmethod
    def skill_graph(self) -> list[Skill]: ...

    @abstractmethod
    def proposer(self, skill_id: str, level: int, rng: random.Random) -> Proposer:
        """Draws of specs classified into (skill, level); ValueError for a level the skill lacks."""

    @abstractmethod
    def solve(self, spec: dict[str, Any]) -> SolveResult: ...

    @abstractmethod
    def classify(self, spec: dict[str, Any]) -> Classification: ...

    @abstractmethod
    def spec_key(self, spec: dict[str, Any]) -> str: ...

    @abstractmethod
    def render(self, spec: dict[str, Any], rng: random.Random | None = None, style: int = 0) -> str: ...

    @abstractmethod
    def reward(self, problem: Problem, completion: str) -> float: ...

    @abstractmethod
    def rewrite(self, problem: Problem, mode: RewriteMode, rng: random.Random) -> Problem | None: ...

    def spec_schema(self, skill_id: str, level: int) -> dict[str, Any]:
        raise NotImplementedError(f"{self.name} has no spec schema")

    def features(self, spec: dict[str, Any]) -> set[str]:
        return set()

    def feature_descriptions(self, skill_id: str) -> dict[str, str]:
        return {}

    def spec_help(self, skill_id: str) -> str:
        return f"Write a spec for {skill_id}."

    def add_skill(self, skill: Skill) -> Skill:
        raise ValueError(f"{self.name} takes no discovered sub-skills")

    def trainable_skill(self, skill_id: str) -> Skill:
        """The trainable skill `skill_id` (its level bounds); ValueError if there is none."""
        for s in self.skill_graph():
            if s.id == skill_id and s.kind == "skill":
                return s
        raise ValueError(f"unknown skill '{skill_id}': not a trainable skill of {self.name}")

    def verify_text(self, spec: dict[str, Any], prompt: str) -> Verdict:
        """Default: only the environment's own rendering of the spec. An environment that cannot
        check free text against a spec refuses it, since the student is rewarded for the spec's
        answer whatever the text asks; domains that can check wording override this."""
        if " ".join(prompt.split()) == " ".join(self.render(spec).split()):
            return Verdict(accepted=True)
        return Verdict(accepted=False, reason="text_mismatch", detail=f"{self.name} accepts only its own wording of a spec")

    def reads_back(self, spec: dict[str, Any]) -> bool:
        """Default: no round-trip reading (see `verify_text`)."""
        return False

    def read_back(self, spec: dict[str, Any], expression: str) -> bool | None:
        return None

    def wording_pattern(self, spec: dict[str, Any]) -> str | None:
        return None

    def answer_matches(self, spec: dict[str, Any], expected: str, stated: str) -> bool:
        """Whether a stated answer is the solver's `expected` one (domains may normalise)."""
        return stated.strip() == expected.strip()

    def eval_skills(self) -> list[Skill]:
        """The skills with eval sets, in order: the seed graph's trainable skills."""
        return [s for s in self.skill_graph() if s.kind == "skill" and s.provenance == "seed"]

    def eval_quotas(self, skill: Skill, total: int) -> dict[int, int]:
        """Held-out problems per training level: an equal share (earlier levels take the rest)."""
        levels = skill.training_levels
        return {lv: total // len(levels) + (1 if i < total % len(levels) else 0) for i, lv in enumerate(levels)}

    # ---- drawing -------------------------------------------------------------------------
    def generate(self, skill_id: str, difficulty: int, n: int, rng: random.Random) -> list[Problem]:
        """`n` distinct fresh problems (fewer if the level runs out), never an eval problem."""
        return self._draw(skill_id, difficulty, n, rng, exclude=self._eval_sets()[1])

    def _draw(
        self,
        skill_id: str,
        level: int,
        n: int,
        rng: random.Random,
        exclude: Collection[str],
        provenance: Provenance = "generated",
        max_tries: int | None = None,
    ) -> list[Problem]:
        return [p for p, _ in self._draw_keyed(skill_id, level, n, rng, exclude, provenance, max_tries)]

    def _draw_keyed(
        self,
        skill_id: str,
        level: int,
        n: int,
        rng: random.Random,
        exclude: Collection[str],
        provenance: Provenance = "generated",
        max_tries: int | None = None,
    ) -> list[tuple[Problem, str]]:
        """Up to `n` distinct problems with their spec keys, none whose key is in `exclude`."""
        propose = self.proposer(skill_id, level, rng)
        out: list[tuple[Problem, str]] = []
        seen: set[str] = set()
        for _ in range(max_tries if max_tries is not None else 50 * n + 500):
            if len(out) >= n:
                break
            drawn = propose()
            if drawn is None:
                continue
            key, build = drawn
            if key in seen or key in exclude:
                continue
            seen.add(key)
            out.append((build(provenance), key))
        return out

    # ---- verification --------------------------------------------------------------------
    def verify(self, problem: Problem, target_skill: str | None = None) -> Verdict:
        """Accept only if the solver reproduces the answer and the classifier puts the spec into
        the target skill at the problem's difficulty, inside the skill's training range."""
        target = target_skill or problem.skill_id
        if problem.env != self.name:
            return Verdict(accepted=False, reason="unparsable", detail=f"problem is for environment '{problem.env}'")
        solved = self.solve(problem.spec)
        if solved.answer is None:
            error = solved.error or "no answer"
            if error.startswith(MALFORMED):
                return Verdict(accepted=False, reason="unparsable", detail=error[len(MALFORMED) :])
            return Verdict(accepted=False, reason="unsolvable", detail=error)
        if not self.answer_matches(problem.spec, solved.answer, problem.answer):
            return Verdict(accepted=False, reason="wrong_answer", detail=f"expected {solved.answer}, got {problem.answer!r}")
        try:
            skill = self.trainable_skill(target)
        except ValueError as e:
            return Verdict(accepted=False, reason="off_skill", detail=str(e))
        cls = self.classify(problem.spec)
        if target not in cls.skill_ids:
            found = cls.skill_ids[0] if cls.skill_ids else "no skill"
            return Verdict(accepted=False, reason="off_skill", detail=f"spec exercises {found}, not {target}")
        if cls.difficulty != problem.difficulty:
            return Verdict(accepted=False, reason="off_skill", detail=f"difficulty is {cls.difficulty}, not {problem.difficulty}")
        if not skill.min_level <= problem.difficulty <= skill.max_level:
            return Verdict(
                accepted=False,
                reason="off_skill",
                detail=f"level {problem.difficulty} is outside {target}'s training levels {skill.min_level}..{skill.max_level}",
            )
        return Verdict(accepted=True)

    def answer_tokens(self, count_tokens: Callable[[str], int]) -> int:
        """The longest answer of the held-out and OOD sets in the student's tokens, plus one to
        end it: OOD is the level above training, so training answers fit too. Measured, not
        declared, because an answer's length in tokens depends on the student's tokenizer (the
        tiny student reads characters, SmolLM2 subwords)."""
        sets = self._eval_sets()[0]
        answers = {p.answer for split in sets.values() for probs in split.values() for p in probs}
        return max((count_tokens(a) for a in answers), default=0) + 1

    # ---- evaluation ----------------------------------------------------------------------
    def build_eval_sets(self) -> tuple[EvalSets, frozenset[str]]:
        """Draw the held-out and OOD sets from their fixed seeds (uncached), with the spec keys
        of every problem. Seed skills only, so every instance of a version gets the same."""
        keys: set[str] = set()
        sets: EvalSets = {"heldout": {}, "ood": {}}
        for skill in self.eval_skills():
            per_level = []
            for lv, q in self.eval_quotas(skill, self.heldout_per_skill).items():
                rng = random.Random(f"{self.version}/heldout/{skill.id}/{lv}")
                drawn = self._draw_keyed(skill.id, lv, q, rng, exclude=keys, provenance="seed")
                keys.update(k for _, k in drawn)
                per_level.append([p for p, _ in drawn])
            sets["heldout"][skill.id] = _interleave(per_level)
            sets["ood"][skill.id] = []
            if skill.ood_level is not None:
                rng = random.Random(f"{self.version}/ood/{skill.id}")
                drawn = self._draw_keyed(skill.id, skill.ood_level, self.ood_per_skill, rng, exclude=keys, provenance="seed")
                keys.update(k for _, k in drawn)
                sets["ood"][skill.id] = [p for p, _ in drawn]
        return sets, frozenset(keys)

    def _eval_sets(self) -> tuple[EvalSets, frozenset[str]]:
        if self.version not in _EVAL_CACHE:
            _EVAL_CACHE[self.version] = self.build_eval_sets()
        return _EVAL_CACHE[self.version]

    def eval_set(self, split: EvalSplit, n_per_skill: int | None = None) -> list[Problem]:
        """Fixed held-out problems per seed skill over its training levels (levels interleaved),
        or OOD problems at each skill's ood_level; `n_per_skill` takes a prefix of each. Built once
        per process and version and shared between instances: treat the problems as read-only."""
        if split not in ("heldout", "ood"):
            raise ValueError(f"unknown eval split '{split}' (choose from: heldout, ood)")
        sets = self._eval_sets()[0][split]
        return [p for s in self.eval_skills() for p in sets[s.id][:n_per_skill]]

    def eval_keys(self) -> set[str]:
        """spec_key of every held-out and OOD problem (the full sets, whatever prefix is used)."""
        return set(self._eval_sets()[1])
