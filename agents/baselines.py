"""The curricula of the literature, as baselines next to the teacher agent (see
`teachloop.agents.curriculum` for the interface and the table of sources): random, easy-to-hard,
threshold (reasoning-gym's coaching), SEC, DUMP and variance (VCRL). Each chooses among arms =
(skill, level) pairs and draws fresh problems for them through the environment."""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

from teachloop.agents.curriculum import (
    Arm,
    StrategyBase,
    StrategyContext,
    arm_key,
    arm_stats,
    draw_problems,
    parse_arm,
    sample_counts,
    softmax,
)
from teachloop.skills.records import Attempt, Problem, is_correct

# ------------------------------------------------------------------------------------------ random


class RandomStrategy(StrategyBase):
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


class EasyToHardStrategy(StrategyBase):
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


class ThresholdStrategy(StrategyBase):
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


class SECStrategy(StrategyBase):
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
        for arm, group in arm_stats(attempts, self._arm).items():
            r = sum(a.mean_abs_advantage for a in group) / len(group)
            q = self.q.get(arm, self.initial_q)
            self.q[arm] = q + self.lr * (r - q)

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"q": {arm_key(a): v for a, v in self.q.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.q = {parse_arm(k): float(v) for k, v in state.get("q", {}).items()}


# ------------------------------------------------------------------------------------------ DUMP


class DUMPStrategy(StrategyBase):
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
        for arm, group in arm_stats(attempts, self._arm).items():
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


class VarianceStrategy(StrategyBase):
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
        for arm, group in arm_stats(attempts, self._arm).items():
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
