"""Curriculum strategies: what the student trains on next, from the skill state and the last
round's rollout statistics. One interface for the teacher agent and the curricula of the
literature, so a benchmark can run them side by side on equal rollout budgets.

Every strategy turns a `StrategyContext` into the next `n` problems (`next_batch`), learns from
the rollouts those problems got (`observe`), and saves/loads its state as a JSON-able dict
(`state_dict` / `load_state_dict`, like open-instruct's difficulty curriculum), so a run can be
resumed with the strategy exactly where it was.

Arms. The baselines choose among *arms* = (skill, level) pairs over each skill's training levels
(the environment's OOD level is never trained), and draw fresh problems for an arm through the
environment's `generate(skill, level, n, rng)`. The bandits (SEC, DUMP) and the variance filter
score arms; `threshold` keeps one level per skill; `random` and `easy-to-hard` need no statistics.

| name          | source                                                | picks                                       |
|---------------|-------------------------------------------------------|---------------------------------------------|
| random        | uniform mixing, what plain TRL users do               | skill and level uniformly                   |
| easy-to-hard  | classic curriculum learning                           | a fixed schedule along prerequisite order   |
| threshold     | reasoning-gym's coaching curriculum                   | per skill a level: up at >= 0.7, down <= 0.3 |
| sec           | Self-Evolving Curriculum (Chen et al., 2025)          | TD(0) bandit on mean abs. advantage, softmax |
| dump          | DUMP (Wang et al., 2025)                              | windowed mean abs. advantage + UCB, softmax |
| variance      | VCRL / balanced online difficulty filtering           | arms with group reward variance high        |
| teacher       | this project's LangGraph teacher agent                | plan from the weakness report, verified     |

Mean |advantage| is `Attempt.mean_abs_advantage`: mean |r - mean(r)| over a problem's rollouts,
GRPO's advantage before scaling (for 0/1 rewards 2p(1-p), largest at pass rate 0.5).

Layering: this module sits in `agents` and imports only `skills` and `agents` (the environment
is passed in), never `training` or `teachloop`.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryConfig, MasteryTracker
from teachloop.skills.records import Attempt, Problem, SkillEval, is_correct
from teachloop.skills.report import WeaknessReport, build_weakness_report

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
    """

    env: Any
    graph: SkillGraph
    skills: list[str]
    round: int = 1
    progress: float = 0.0
    problems: dict[str, Problem] = field(default_factory=dict)
    eval_keys: set[str] = field(default_factory=set)
    eval_texts: set[str] = field(default_factory=set)
    used_texts: set[str] = field(default_factory=set)

    def levels(self, skill_id: str) -> list[int]:
        return self.graph.skills[skill_id].training_levels

    def arms(self) -> list[Arm]:
        return [(s, lv) for s in self.skills for lv in self.levels(s)]


@runtime_checkable
class CurriculumStrategy(Protocol):
    """The interface every curriculum implements."""

    name: str
    needs_eval: bool  # True: call `observe_eval` with a diagnostic evaluation each round

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        """Exactly `n` problems to train on next (repeats allowed when a pool runs dry)."""
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


def draw_problems(env: Any, counts: dict[Arm, int], rng: random.Random) -> list[Problem]:
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


class _Base:
    """Shared plumbing: remembers which arm each problem of the last batch came from."""

    name = "base"
    needs_eval = False

    def __init__(self) -> None:
        self._arm_of: dict[str, Arm] = {}

    def _remember(self, problems: Iterable[Problem]) -> None:
        self._arm_of = {p.id: (p.skill_id, p.difficulty) for p in problems}

    def _arm(self, a: Attempt) -> Arm | None:
        return self._arm_of.get(a.problem_id)

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


def _arm_stats(attempts: Sequence[Attempt], arm_of: Callable[[Attempt], Arm | None]) -> dict[Arm, list[Attempt]]:
    by_arm: dict[Arm, list[Attempt]] = defaultdict(list)
    for a in attempts:
        arm = arm_of(a)
        if arm is not None and a.rewards:
            by_arm[arm].append(a)
    return by_arm


# ------------------------------------------------------------------------------------------ random


class RandomStrategy(_Base):
    """Uniform over skills, then uniform over the skill's training levels."""

    name = "random"

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        counts: dict[Arm, int] = defaultdict(int)
        for _ in range(n):
            s = rng.choice(ctx.skills)
            counts[(s, rng.choice(ctx.levels(s)))] += 1
        out = draw_problems(ctx.env, dict(sorted(counts.items())), rng)
        rng.shuffle(out)
        self._remember(out)
        return out


# ------------------------------------------------------------------------------------------ easy-to-hard


class EasyToHardStrategy(_Base):
    """A fixed schedule along the prerequisite order: the budget is cut into equal stages, one per
    (skill, level) in order (skills by prerequisite depth, then declaration order; levels low to
    high). At progress p the current stage gets `1 - replay` of the batch and the stages already
    passed share `replay` uniformly, so earlier skills are not forgotten. Uses no statistics."""

    name = "easy-to-hard"

    def __init__(self, replay: float = 0.25):
        super().__init__()
        if not 0 <= replay <= 1:
            raise ValueError("replay must be in [0, 1]")
        self.replay = replay

    @staticmethod
    def stages(ctx: StrategyContext) -> list[Arm]:
        order = {s: i for i, s in enumerate(ctx.skills)}
        depth: dict[str, int] = {}
        for s in ctx.graph.trainable_ids():  # prerequisites first
            reqs = [r for r in ctx.graph.requirements(s) if r in order]
            depth[s] = 1 + max((depth[r] for r in reqs), default=-1)
        skills = sorted(ctx.skills, key=lambda s: (depth.get(s, 0), order[s]))
        return [(s, lv) for s in skills for lv in ctx.levels(s)]

    def current(self, ctx: StrategyContext) -> int:
        stages = self.stages(ctx)
        return min(len(stages) - 1, int(max(0.0, ctx.progress) * len(stages)))

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        stages = self.stages(ctx)
        k = self.current(ctx)
        past = stages[:k]
        n_replay = int(round(self.replay * n)) if past else 0
        counts: dict[Arm, int] = defaultdict(int)
        counts[stages[k]] += n - n_replay
        for _ in range(n_replay):
            counts[rng.choice(past)] += 1
        out = draw_problems(ctx.env, dict(counts), rng)
        rng.shuffle(out)
        self._remember(out)
        return out


# ------------------------------------------------------------------------------------------ threshold


class ThresholdStrategy(_Base):
    """reasoning-gym's coaching curriculum: every skill (task) has a current level (its difficulty
    attribute), starting at the lowest; skills are mixed uniformly. After each round, a skill whose
    success rate over its last `window` rollouts at the current level is >= `up` moves one level up,
    <= `down` one level down (within its training range), and its window restarts."""

    name = "threshold"

    def __init__(self, up: float = 0.7, down: float = 0.3, window: int = 64, min_rollouts: int = 16):
        super().__init__()
        if not 0 <= down < up <= 1:
            raise ValueError("need 0 <= down < up <= 1")
        self.up, self.down, self.window, self.min_rollouts = up, down, window, min_rollouts
        self.level: dict[str, int] = {}
        self.scores: dict[str, deque[float]] = {}
        self._bounds: dict[str, tuple[int, int]] = {}

    def _ensure(self, ctx: StrategyContext) -> None:
        for s in ctx.skills:
            lo, hi = ctx.levels(s)[0], ctx.levels(s)[-1]
            self._bounds[s] = (lo, hi)
            self.level.setdefault(s, lo)
            self.scores.setdefault(s, deque(maxlen=self.window))

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        self._ensure(ctx)
        counts: dict[Arm, int] = defaultdict(int)
        for _ in range(n):
            s = rng.choice(ctx.skills)
            counts[(s, self.level[s])] += 1
        out = draw_problems(ctx.env, dict(sorted(counts.items())), rng)
        rng.shuffle(out)
        self._remember(out)
        return out

    def observe(self, attempts: Sequence[Attempt]) -> None:
        touched: set[str] = set()
        for a in attempts:
            arm = self._arm(a)
            if arm is None:
                continue
            s, lv = arm
            if s not in self.level or lv != self.level[s]:
                continue  # rollouts of another level say nothing about the current one
            self.scores.setdefault(s, deque(maxlen=self.window)).extend(a.rewards)
            touched.add(s)
        for s in touched:
            window = self.scores[s]
            if len(window) < self.min_rollouts:
                continue
            rate = sum(window) / len(window)
            lo, hi = self._bounds.get(s, (1, self.level[s]))
            if rate >= self.up and self.level[s] < hi:
                self.level[s] += 1
                window.clear()
            elif rate <= self.down and self.level[s] > lo:
                self.level[s] -= 1
                window.clear()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "level": dict(self.level),
            "scores": {s: list(w) for s, w in self.scores.items()},
            "bounds": {s: list(b) for s, b in self._bounds.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.level = {s: int(v) for s, v in state.get("level", {}).items()}
        self.scores = {s: deque(v, maxlen=self.window) for s, v in state.get("scores", {}).items()}
        self._bounds = {s: (int(b[0]), int(b[1])) for s, b in state.get("bounds", {}).items()}


# ------------------------------------------------------------------------------------------ SEC


class SECStrategy(_Base):
    """Self-Evolving Curriculum: a non-stationary bandit over arms. After a round each arm that was
    trained gets the reward r = mean |advantage| of its problems' rollouts and a TD(0) update
    Q <- Q + lr * (r - Q) (arms not trained keep their Q); the next batch samples arms from
    softmax(Q / temperature). Q starts at `initial_q` for every arm."""

    name = "sec"

    def __init__(self, lr: float = 0.5, temperature: float = 0.1, initial_q: float = 0.0):
        super().__init__()
        if not 0 < lr <= 1:
            raise ValueError("lr must be in (0, 1]")
        self.lr, self.temperature, self.initial_q = lr, temperature, initial_q
        self.q: dict[Arm, float] = {}

    def probabilities(self, arms: Sequence[Arm]) -> list[float]:
        return softmax([self.q.get(a, self.initial_q) for a in arms], self.temperature)

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        arms = ctx.arms()
        out = draw_problems(ctx.env, sample_counts(arms, self.probabilities(arms), n, rng), rng)
        rng.shuffle(out)
        self._remember(out)
        return out

    def observe(self, attempts: Sequence[Attempt]) -> None:
        for arm, group in _arm_stats(attempts, self._arm).items():
            r = sum(a.mean_abs_advantage for a in group) / len(group)
            q = self.q.get(arm, self.initial_q)
            self.q[arm] = q + self.lr * (r - q)

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"q": {arm_key(a): v for a, v in self.q.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.q = {parse_arm(k): float(v) for k, v in state.get("q", {}).items()}


# ------------------------------------------------------------------------------------------ DUMP


class DUMPStrategy(_Base):
    """DUMP: per arm the mean |advantage| over a sliding window of its last `window` problems, plus
    the UCB bonus c * sqrt(2 ln N / (n_i + 1)) (N problems trained in all, n_i from this arm);
    arms are sampled from softmax(score / temperature). An arm never trained has the largest bonus,
    so unseen arms are explored first."""

    name = "dump"

    def __init__(self, window: int = 64, c: float = 1.0, temperature: float = 0.1):
        super().__init__()
        self.window, self.c, self.temperature = window, c, temperature
        self.history: dict[Arm, deque[float]] = {}
        self.counts: dict[Arm, int] = {}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def scores(self, arms: Sequence[Arm]) -> list[float]:
        big_n = max(self.total, 1)
        out = []
        for a in arms:
            h = self.history.get(a)
            mean = sum(h) / len(h) if h else 0.0
            bonus = self.c * math.sqrt(2 * math.log(big_n) / (self.counts.get(a, 0) + 1)) if big_n > 1 else self.c
            out.append(mean + bonus)
        return out

    def probabilities(self, arms: Sequence[Arm]) -> list[float]:
        return softmax(self.scores(arms), self.temperature)

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        arms = ctx.arms()
        out = draw_problems(ctx.env, sample_counts(arms, self.probabilities(arms), n, rng), rng)
        rng.shuffle(out)
        self._remember(out)
        return out

    def observe(self, attempts: Sequence[Attempt]) -> None:
        for arm, group in _arm_stats(attempts, self._arm).items():
            h = self.history.setdefault(arm, deque(maxlen=self.window))
            for a in group:
                h.append(a.mean_abs_advantage)
            self.counts[arm] = self.counts.get(arm, 0) + len(group)

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "history": {arm_key(a): list(h) for a, h in self.history.items()},
            "counts": {arm_key(a): c for a, c in self.counts.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.history = {parse_arm(k): deque(v, maxlen=self.window) for k, v in state.get("history", {}).items()}
        self.counts = {parse_arm(k): int(v) for k, v in state.get("counts", {}).items()}


# ------------------------------------------------------------------------------------------ variance


class VarianceStrategy(_Base):
    """VCRL / balanced online difficulty filtering, without spending extra rollouts on filtering:
    per arm an estimate p of the rollout pass rate (an exponential moving average, optimistic 0.5
    for arms not tried yet); arms are sampled in proportion to the group reward variance
    p(1 - p) + `floor`, so problems of pass rate near 0.5 are preferred and all-solved or
    all-failed arms (no GRPO gradient) starve. A `replay` share of the batch re-uses last round's
    problems with the highest observed group variance (VCRL's memory bank), each at most once."""

    name = "variance"

    def __init__(self, ema: float = 0.5, floor: float = 0.01, replay: float = 0.25):
        super().__init__()
        self.ema, self.floor, self.replay = ema, floor, replay
        self.pass_rate: dict[Arm, float] = {}
        self._bank: list[tuple[float, dict[str, Any]]] = []  # (variance, problem) of the last round

    def weights(self, arms: Sequence[Arm]) -> list[float]:
        return [(p := self.pass_rate.get(a, 0.5)) * (1 - p) + self.floor for a in arms]

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        arms = ctx.arms()
        allowed = {a for a in arms}
        bank = [Problem.model_validate(p) for _, p in sorted(self._bank, key=lambda x: -x[0])]
        bank = [p for p in bank if (p.skill_id, p.difficulty) in allowed]
        replayed = bank[: int(self.replay * n)]
        fresh = draw_problems(ctx.env, sample_counts(arms, self.weights(arms), n - len(replayed), rng), rng)
        out = fresh + replayed
        rng.shuffle(out)
        self._remember(out)
        self._problems = {p.id: p for p in out}
        return out

    def observe(self, attempts: Sequence[Attempt]) -> None:
        for arm, group in _arm_stats(attempts, self._arm).items():
            rewards = [r for a in group for r in a.rewards]
            p = sum(map(is_correct, rewards)) / len(rewards)
            old = self.pass_rate.get(arm)
            self.pass_rate[arm] = p if old is None else (1 - self.ema) * old + self.ema * p
        problems = getattr(self, "_problems", {})
        self._bank = [
            (a.reward_variance, problems[a.problem_id].model_dump()) for a in attempts if a.problem_id in problems and a.reward_variance > 0
        ]

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "pass_rate": {arm_key(a): v for a, v in self.pass_rate.items()},
            "bank": [[v, p] for v, p in self._bank],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.pass_rate = {parse_arm(k): float(v) for k, v in state.get("pass_rate", {}).items()}
        self._bank = [(float(v), dict(p)) for v, p in state.get("bank", [])]


# ------------------------------------------------------------------------------------------ teacher


class TeacherStrategy(_Base):
    """The LangGraph teacher agent with any teacher model (procedural by default).

    Each round it reads a WeaknessReport built from its own MasteryTracker, which is fed the
    diagnostic evaluation (`observe_eval`) and the training rollouts (`observe`), and asks the agent
    for `n` verified problems. A batch that falls short of `n` (rejected drafts) is topped up by
    repeating accepted problems, so every strategy trains on the same number of rollouts."""

    name = "teacher"
    needs_eval = True

    def __init__(
        self,
        model: Any = None,
        config: Any = None,
        mastery: MasteryConfig | None = None,
        checkpoint_path: Any = None,
    ):
        super().__init__()
        from teachloop.agents.teacher import TeacherAgent, TeacherConfig

        self.config = config if config is not None else TeacherConfig()
        self.agent = TeacherAgent(self.config, checkpoint_path=checkpoint_path)
        self.model = model  # None: a ProceduralTeacher over the context's environment
        self.tracker = MasteryTracker(mastery)
        self.report: WeaknessReport | None = None
        self.last_train: list[Attempt] = []
        self.eval_attempts: list[Attempt] = []
        self.last_batch: dict[str, Problem] = {}
        self.cost: dict[str, float] = defaultdict(float)
        self.last_plan: Any = None
        self._eval_round = 0

    @property
    def model_name(self) -> str:
        return getattr(self.model, "name", "procedural") if self.model is not None else "procedural"

    def observe_eval(self, round: int, evals: Sequence[SkillEval], attempts: Sequence[Attempt]) -> None:
        self.tracker.record_eval(round, list(evals))
        self.eval_attempts = list(attempts)
        self._eval_round = round

    def observe(self, attempts: Sequence[Attempt]) -> None:
        self.last_train = list(attempts)
        self.tracker.observe_training(attempts)

    def _report(self, ctx: StrategyContext) -> WeaknessReport:
        r = self._eval_round
        report = build_weakness_report(ctx.graph, self.tracker, round=r, attempts=self.eval_attempts, problems=ctx.problems)
        self.tracker.end_round(r)
        return report

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        from teachloop.agents.policies import PlanConfig
        from teachloop.agents.teacher import TeachingContext, normalise_text
        from teachloop.agents.teacher_models import ProceduralTeacher

        if self.model is None:
            self.model = ProceduralTeacher(ctx.env)
        self.report = self._report(ctx)
        self.agent.config = self.config.model_copy(
            update={"plan": PlanConfig.model_validate(self.config.plan.model_dump() | {"problems_per_round": n})}
        )
        problems = dict(ctx.problems)
        problems.update(self.last_batch)
        tctx = TeachingContext(
            env=ctx.env,
            graph=ctx.graph,
            report=self.report,
            model=self.model,
            round=ctx.round,
            last_train=self.last_train,
            eval_attempts=self.eval_attempts,
            problems=problems,
            used_texts=ctx.used_texts,
            eval_keys=ctx.eval_keys,
            eval_texts=ctx.eval_texts,
        )
        batch, cost, new_skills = self.agent.teach(tctx)
        self.cost["prompt_tokens"] += cost.prompt_tokens
        self.cost["completion_tokens"] += cost.completion_tokens
        self.cost["requests"] += cost.requests
        self.cost["seconds"] += cost.seconds
        self.cost["rejected"] += len(batch.rejected)
        self.cost["accepted"] += len(batch.problems)
        self.cost["new_skills"] += len(new_skills)
        self.last_plan = batch.plan
        out = list(batch.problems)
        if not out:  # nothing verified: train on what the environment gives for the frontier
            frontier = [s for s in self.report.frontier if s in ctx.skills] or list(ctx.skills)
            out = draw_problems(ctx.env, {(frontier[0], ctx.levels(frontier[0])[0]): n}, rng)
        if len(out) > n:
            out = out[:n]
        elif len(out) < n:
            out = out + rng.choices(out, k=n - len(out))
        for p in batch.problems:
            ctx.used_texts.add(normalise_text(p.prompt))
        rng.shuffle(out)
        self.last_batch = {p.id: p for p in out}
        self._remember(out)
        return out

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "tracker": self.tracker.state_dict(),
            "last_train": [a.model_dump() for a in self.last_train],
            "eval_attempts": [a.model_dump() for a in self.eval_attempts],
            "last_batch": [p.model_dump() for p in self.last_batch.values()],
            "eval_round": self._eval_round,
            "cost": dict(self.cost),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.tracker = MasteryTracker.from_state_dict(state["tracker"]) if "tracker" in state else self.tracker
        self.last_train = [Attempt.model_validate(a) for a in state.get("last_train", [])]
        self.eval_attempts = [Attempt.model_validate(a) for a in state.get("eval_attempts", [])]
        self.last_batch = {p.id: p for p in (Problem.model_validate(x) for x in state.get("last_batch", []))}
        self._eval_round = int(state.get("eval_round", 0))
        self.cost = defaultdict(float, state.get("cost", {}))


# ------------------------------------------------------------------------------------------ registry

STRATEGIES: dict[str, Callable[..., CurriculumStrategy]] = {
    "random": RandomStrategy,
    "easy-to-hard": EasyToHardStrategy,
    "threshold": ThresholdStrategy,
    "sec": SECStrategy,
    "dump": DUMPStrategy,
    "variance": VarianceStrategy,
    "teacher": TeacherStrategy,
}


def make_strategy(name: str, **kwargs: Any) -> CurriculumStrategy:
    """A fresh strategy by registry name; `kwargs` go to its constructor (e.g. `model=` for teacher)."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy '{name}' (choose from: {', '.join(STRATEGIES)})") from None
    return factory(**kwargs)
