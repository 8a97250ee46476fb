"""The curriculum interface: what the student trains on next, from the skill state and the last
round's rollout statistics. One interface for the teacher agent and the curricula of the
literature, so one episode loop (teachloop.episode) drives any of them, and a benchmark can run
them side by side on equal rollout budgets.

Every strategy turns a `StrategyContext` into the next `n` problems (`next_batch`, or `propose`
for the batch with the teacher's rejects, plan and cost), learns from the rollouts those problems
got (`observe`), and saves/loads its state as a JSON-able dict (`state_dict` / `load_state_dict`,
like open-instruct's difficulty curriculum), so a run resumes with the strategy exactly where it
was. The episode, not the strategy, feeds the mastery tracker and builds the weakness report:
a strategy reads it from the context.

Arms. The baselines choose among *arms* = (skill, level) pairs over each skill's training levels
(the environment's OOD level is never trained), and draw fresh problems for an arm through the
environment's `generate(skill, level, n, rng)`. The bandits (SEC, DUMP) and the variance filter
score arms; `threshold` keeps one level per skill; `random` and `easy-to-hard` need no statistics.

| name          | source                                                | picks                                       |
|---------------|-------------------------------------------------------|---------------------------------------------|
| random        | uniform mixing, what plain TRL users do               | skill and level uniformly                   |
| easy-to-hard  | classic curriculum learning                           | a fixed schedule along prerequisite order   |
| threshold     | reasoning-gym's curriculum                            | per skill a level: up > 0.7, down < 0.3 exact |
| sec           | Self-Evolving Curriculum (Chen et al., 2025)          | per-step bandit on mean abs. advantage      |
| dump          | DUMP (Wang et al., 2025)                              | windowed mean abs. advantage + UCB, softmax |
| variance      | VCRL / balanced online difficulty filtering           | arms with group reward variance high        |
| teacher       | this project's LangGraph teacher agent                | plan from the weakness report, verified     |

SEC and DUMP score arms by GRPO's std-normalised advantages, recomputed per GRPO step from the
rollouts' `Attempt.steps` (`teachloop.agents.baselines.grpo_advantages`), and update after
every step; threshold reads exact-match success only.

Modules: this one (interface, context, shared helpers), `baselines` (the six literature
curricula), `teacher_strategy` (the agent), `strategies` (the registry). Layering: they sit in
`agents` and import only `skills` and `agents` (the environment is passed in).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from teachloop.environments.base import Environment
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import Attempt, Problem, Rejected, Skill, SkillEval, TeacherCost, TeachingPlan
from teachloop.skills.report import WeaknessReport

Arm = tuple[str, int]  # (skill id, level)


def arm_key(arm: Arm) -> str:
    """JSON-able name of an arm: 'add.2digit@3'."""
    return f"{arm[0]}@{arm[1]}"


def parse_arm(key: str) -> Arm:
    skill, _, level = key.rpartition("@")
    return skill, int(level)


@dataclass
class StrategyContext:
    """What a strategy may read when it chooses the next batch.

    `skills` are the trainable skills in play, in prerequisite order. `progress` is the share of
    the run's rollout budget already spent (0 at the start), for fixed schedules. `problems` maps
    ids to every problem the caller knows (last batch, diagnostic probe set), so a teacher can
    rewrite last round's problems. `eval_keys`/`eval_texts` let authored problems be checked
    against the evaluation sets; `used_texts` holds earlier batches' normalised prompts.
    `report` is the weakness report of the last diagnostic evaluation, `eval_attempts` that
    evaluation's answers and `last_train` the last round's training rollouts (all from the
    episode). `on_progress(done, total)` is called while a batch is being written.
    """

    env: Environment
    graph: SkillGraph
    skills: list[str]
    round: int = 1
    progress: float = 0.0
    problems: dict[str, Problem] = field(default_factory=dict)
    eval_keys: set[str] = field(default_factory=set)
    eval_texts: set[str] = field(default_factory=set)
    used_texts: set[str] = field(default_factory=set)
    report: WeaknessReport | None = None
    eval_attempts: list[Attempt] = field(default_factory=list)
    last_train: list[Attempt] = field(default_factory=list)
    on_progress: Callable[[int, int], None] | None = None

    def levels(self, skill_id: str) -> list[int]:
        return self.graph.skills[skill_id].training_levels

    def arms(self) -> list[Arm]:
        return [(s, lv) for s in self.skills for lv in self.levels(s)]


@dataclass
class Proposal:
    """A strategy's batch for one round. `authored`: the problems were written and verified by a
    teacher (so `rejected`, `plan`, `cost` and `new_skills` say how); False for drawn problems."""

    problems: list[Problem]
    authored: bool = False
    rejected: list[Rejected] = field(default_factory=list)
    plan: TeachingPlan = field(default_factory=TeachingPlan)
    cost: TeacherCost = field(default_factory=TeacherCost)
    new_skills: list[Skill] = field(default_factory=list)


@runtime_checkable
class CurriculumStrategy(Protocol):
    """The interface every curriculum implements."""

    name: str
    needs_eval: bool  # True: call `observe_eval` with a diagnostic evaluation each round

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        """Exactly `n` problems to train on next (repeats allowed when a pool runs dry)."""
        ...

    def propose(self, ctx: StrategyContext, n: int, rng: random.Random) -> Proposal:
        """The next batch with how it was made; the episode calls this."""
        ...

    def observe(self, attempts: Sequence[Attempt]) -> None:
        """The training rollouts of the last batch, one `Attempt` per problem."""
        ...

    def observe_eval(self, round: int, evals: Sequence[SkillEval], attempts: Sequence[Attempt]) -> None:
        """A diagnostic evaluation (per-skill accuracy and the answers), for strategies that read one."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


# ------------------------------------------------------------------------------------------ helpers


def draw_problems(env: Environment, counts: dict[Arm, int], rng: random.Random) -> list[Problem]:
    """Fresh problems per arm through `env.generate`, in arm order; where an arm's level has fewer
    distinct problems than asked (one-digit sums), its problems repeat."""
    out: list[Problem] = []
    for (skill, level), k in counts.items():
        if k <= 0:
            continue
        got = env.generate(skill, level, k, rng)
        if not got:
            raise RuntimeError(f"the environment produced no problem for {skill} at level {level}")
        if len(got) < k:
            got = got + rng.choices(got, k=k - len(got))
        out.extend(got)
    return out


def sample_counts(arms: Sequence[Arm], weights: Sequence[float], n: int, rng: random.Random) -> dict[Arm, int]:
    """`n` draws of arms with probabilities proportional to `weights` (a multinomial)."""
    counts: dict[Arm, int] = {a: 0 for a in arms}
    for a in rng.choices(list(arms), weights=list(weights), k=n):
        counts[a] += 1
    return counts


def softmax(scores: Sequence[float], temperature: float) -> list[float]:
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    finite = [s for s in scores if math.isfinite(s)]
    if len(finite) < len(scores):  # +inf scores share all the mass
        inf = [1.0 if (math.isinf(s) and s > 0) else 0.0 for s in scores]
        total = sum(inf)
        return [x / total for x in inf]
    m = max(scores)
    ex = [math.exp((s - m) / temperature) for s in scores]
    z = sum(ex)
    return [e / z for e in ex]


class StrategyBase:
    """Shared plumbing: remembers which arm each problem of the last batch came from; `propose`
    wraps `next_batch`."""

    name = "base"
    needs_eval = False

    def __init__(self) -> None:
        self._arm_of: dict[str, Arm] = {}

    def _remember(self, problems: Iterable[Problem]) -> None:
        self._arm_of = {p.id: (p.skill_id, p.difficulty) for p in problems}

    def _arm(self, a: Attempt) -> Arm | None:
        return self._arm_of.get(a.problem_id)

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:  # noqa: D102
        raise NotImplementedError

    def propose(self, ctx: StrategyContext, n: int, rng: random.Random) -> Proposal:  # noqa: D102
        return Proposal(problems=self.next_batch(ctx, n, rng))

    def observe(self, attempts: Sequence[Attempt]) -> None:  # noqa: D102
        return None

    def observe_eval(self, round: int, evals: Sequence[SkillEval], attempts: Sequence[Attempt]) -> None:  # noqa: D102
        return None

    def state_dict(self) -> dict[str, Any]:  # noqa: D102
        return {"name": self.name, "arm_of": {pid: arm_key(a) for pid, a in self._arm_of.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: D102
        if state.get("name", self.name) != self.name:
            raise ValueError(f"state of strategy '{state.get('name')}' given to '{self.name}'")
        self._arm_of = {pid: parse_arm(k) for pid, k in state.get("arm_of", {}).items()}


def arm_stats(attempts: Sequence[Attempt], arm_of: Callable[[Attempt], Arm | None]) -> dict[Arm, list[Attempt]]:
    by_arm: dict[Arm, list[Attempt]] = defaultdict(list)
    for a in attempts:
        arm = arm_of(a)
        if arm is not None and a.rewards:
            by_arm[arm].append(a)
    return by_arm
