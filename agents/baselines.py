"""The curricula of the literature, as baselines next to the teacher agent (see
`teachloop.agents.curriculum` for the interface and the table of sources): random, easy-to-hard,
threshold (reasoning-gym's coaching), SEC, DUMP and variance (VCRL). Each chooses among arms =
(skill, level) pairs and draws fresh problems for them through the environment."""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
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


# ------------------------------------------------------------------------------------------ per-step statistics

StepGroups = dict[Arm, list[list[float]]]  # arm -> the reward groups (one per problem) of one GRPO step


def grpo_advantages(rewards: Sequence[float], normalise: bool = True, eps: float = 1e-6) -> list[float]:
    """GRPO's outcome advantages of one group as SEC's and DUMP's verl code computes them
    (`compute_grpo_outcome_advantage`): (r - mean) / (std + eps) with the unbiased std (torch.std);
    a group of one gets mean 0 and std 1. `normalise=False`: r - mean (SEC's 'unnormalized_adv')."""
    n = len(rewards)
    if n == 0:
        return []
    if n == 1:
        mean, std = 0.0, 1.0
    else:
        mean = sum(rewards) / n
        std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (n - 1))
    return [(r - mean) / (std + eps) if normalise else r - mean for r in rewards]


def steps_of(attempts: Sequence[Attempt], arm_of: Callable[[Attempt], Arm | None]) -> list[StepGroups]:
    """The round's rollouts as one `StepGroups` per GRPO step, in step order. A group is the
    rollouts of one problem at one step (`Attempt.steps` says which step fed each rollout); an
    attempt without steps (recorded before they were) counts as one step of its own round."""
    by_step: dict[int, StepGroups] = defaultdict(lambda: defaultdict(list))
    for a in attempts:
        arm = arm_of(a)
        if arm is None or not a.rewards:
            continue
        steps = a.steps if len(a.steps) == len(a.rewards) else [0] * len(a.rewards)
        per_step: dict[int, list[float]] = defaultdict(list)
        for s, r in zip(steps, a.rewards, strict=True):
            per_step[s].append(r)
        for s, rewards in per_step.items():
            by_step[s][arm].append(rewards)
    return [dict(by_step[s]) for s in sorted(by_step)]


class StepStrategy(StrategyBase):
    """A strategy whose statistics update after every GRPO step, as SEC, DUMP and reasoning-gym's
    curriculum do. The episode decides once per round (a TRL round is one trainer run), so the
    batch of a round is sampled from the statistics as they stood after its previous round's last
    step. The bench gives these strategies rounds of one step (`step_strategy_steps` = 1, the
    papers' per-step sampling); a larger value is a deviation, recorded in the bench result."""

    decides_every_step = True  # the bench runs it in rounds of `step_strategy_steps` GRPO steps

    def observe(self, attempts: Sequence[Attempt]) -> None:
        for groups in steps_of(attempts, self._arm):
            self.observe_step(groups)

    def observe_step(self, groups: StepGroups) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------ threshold


class ThresholdStrategy(StepStrategy):
    """reasoning-gym's curriculum (training/trainers/ray_grpo_trainer.py in open-thought/reasoning-gym,
    the `curriculum:` block of training/configs/curriculum/*.yaml): every skill (dataset) has a
    current level, starting at its lowest; skills are mixed uniformly. After every GRPO step, per
    skill, the exact-match successes (`is_correct`: the task's correctness score, never a shaped
    partial-credit reward) of its rollouts at the current level since the level last changed are
    kept; once there are at least `last_k` of them, their last `last_k` mean > `up` moves the skill
    one level up, < `down` one level down (strict, as reasoning-gym compares), and the record is
    cleared (its `score_board.clear`). `last_k` is reasoning-gym's "num_last_training_steps ×
    batch_size × num_completions": `window_steps` × the rollouts of one GRPO step (the configs use
    10 steps, 0.70 and 0.30). Levels are our own integers, stepped here, so reasoning-gym's
    `update_difficulty` lag for range attributes is not inherited."""

    name = "threshold"

    def __init__(self, up: float = 0.7, down: float = 0.3, window_steps: int = 10):
        super().__init__()
        if not 0 <= down < up <= 1:
            raise ValueError("need 0 <= down < up <= 1")
        if window_steps < 1:
            raise ValueError("window_steps must be >= 1")
        self.up, self.down, self.window_steps = up, down, window_steps
        self.level: dict[str, int] = {}
        self.scores: dict[str, list[int]] = {}
        self._bounds: dict[str, tuple[int, int]] = {}

    def _ensure(self, ctx: StrategyContext) -> None:
        for s in ctx.skills:
            lo, hi = ctx.levels(s)[0], ctx.levels(s)[-1]
            self._bounds[s] = (lo, hi)
            self.level.setdefault(s, lo)
            self.scores.setdefault(s, [])

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

    def observe_step(self, groups: StepGroups) -> None:
        last_k = self.window_steps * sum(len(g) for gs in groups.values() for g in gs)
        for (s, lv), gs in groups.items():
            if s not in self.level or lv != self.level[s]:
                continue  # rollouts of another level say nothing about the current one
            self.scores[s].extend(int(is_correct(r)) for g in gs for r in g)
        for s, record in self.scores.items():
            if len(record) < last_k or not record:
                continue
            rate = sum(record[-last_k:]) / last_k
            lo, hi = self._bounds.get(s, (self.level[s], self.level[s]))
            if rate > self.up and self.level[s] < hi:
                self.level[s] += 1
                record.clear()
            elif rate < self.down and self.level[s] > lo:
                self.level[s] -= 1
                record.clear()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "level": dict(self.level),
            "scores": {s: list(w) for s, w in self.scores.items()},
            "bounds": {s: list(b) for s, b in self._bounds.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.level = {s: int(v) for s, v in state.get("level", {}).items()}
        self.scores = {s: [int(x >= 1) for x in v] for s, v in state.get("scores", {}).items()}
        self._bounds = {s: (int(b[0]), int(b[1])) for s, b in state.get("bounds", {}).items()}


# ------------------------------------------------------------------------------------------ SEC


class SECStrategy(StepStrategy):
    """Self-Evolving Curriculum (Chen et al., 2025, arXiv 2505.14970, Sec. 3; code:
    sec/verl/verl/utils/auto_curriculum/priority.py, `BanditPriority` with type 'joint'): a
    non-stationary bandit over arms. After every GRPO step each arm's reward is the mean
    |advantage| of its rollouts in that step, with GRPO's std-normalised advantages (objective
    'adv'); an arm not drawn in the step gets reward 0. Every arm then moves Q <- (1 - lr) Q +
    lr * r (so undrawn arms decay); arms are sampled from softmax(Q / temperature) (method
    'boltzmann'); Q starts at 0. Paper settings: lr 0.5; temperature 1.0 (Countdown), 0.4 (MATH),
    0.2 (SEC-2D, arms = difficulty x problem type, which is ours: arms are (skill, level))."""

    name = "sec"

    def __init__(self, lr: float = 0.5, temperature: float = 0.2, normalise: bool = True, initial_q: float = 0.0):
        super().__init__()
        if not 0 < lr <= 1:
            raise ValueError("lr must be in (0, 1]")
        self.lr, self.temperature, self.normalise, self.initial_q = lr, temperature, normalise, initial_q
        self.q: dict[Arm, float] = {}

    def probabilities(self, arms: Sequence[Arm]) -> list[float]:
        return softmax([self.q.get(a, self.initial_q) for a in arms], self.temperature)

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        arms = ctx.arms()
        for a in arms:
            self.q.setdefault(a, self.initial_q)
        out = draw_problems(ctx.env, sample_counts(arms, self.probabilities(arms), n, rng), rng)
        rng.shuffle(out)
        self._remember(out)
        return out

    def step_reward(self, groups: list[list[float]]) -> float:
        """Mean |advantage| over the arm's rollouts of one step."""
        advs = [abs(x) for g in groups for x in grpo_advantages(g, self.normalise)]
        return sum(advs) / len(advs) if advs else 0.0

    def observe_step(self, groups: StepGroups) -> None:
        for arm in list(self.q) + [a for a in groups if a not in self.q]:
            r = self.step_reward(groups[arm]) if arm in groups else 0.0
            self.q[arm] = (1 - self.lr) * self.q.get(arm, self.initial_q) + self.lr * r

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"q": {arm_key(a): v for a, v in self.q.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.q = {parse_arm(k): float(v) for k, v in state.get("q", {}).items()}


# ------------------------------------------------------------------------------------------ DUMP


class DUMPStrategy(StepStrategy):
    """DUMP (Wang et al., 2025, arXiv 2504.09710, Sec. 3; code: verl/utils/curriculum_learning.py,
    `LearnabilityEstimator` and `CurriculumController.compute_sampling_weights`, fed from the training
    batch in verl/trainer/ppo/ray_trainer.py every step): per arm (data distribution) a window of the
    last `window` per-rollout |advantage| values (GRPO's std-normalised advantage) and n_j, the
    rollouts it has had; score_j = mean(window_j) + c * sqrt(2 ln(N + 1) / (n_j + 1)) with N = sum
    n_j (at least 1); arms are sampled from softmax(score / temperature). Code values: window 300,
    c 1.0, temperature 0.1. Not reproduced: the official `_validate` also feeds validation rewards as
    advantages into the same estimators; the bench never shows a strategy its eval sets."""

    name = "dump"

    def __init__(self, window: int = 300, c: float = 1.0, temperature: float = 0.1, normalise: bool = True):
        super().__init__()
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window, self.c, self.temperature, self.normalise = window, c, temperature, normalise
        self.history: dict[Arm, deque[float]] = {}
        self.counts: dict[Arm, int] = {}

    def scores(self, arms: Sequence[Arm]) -> list[float]:
        big_n = max(1, sum(self.counts.values()))
        out = []
        for a in arms:
            h = self.history.get(a)
            mean = sum(h) / len(h) if h else 0.0
            out.append(mean + self.c * math.sqrt(2 * math.log(big_n + 1) / (self.counts.get(a, 0) + 1)))
        return out

    def probabilities(self, arms: Sequence[Arm]) -> list[float]:
        return softmax(self.scores(arms), self.temperature)

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        arms = ctx.arms()
        out = draw_problems(ctx.env, sample_counts(arms, self.probabilities(arms), n, rng), rng)
        rng.shuffle(out)
        self._remember(out)
        return out

    def observe_step(self, groups: StepGroups) -> None:
        for arm, gs in groups.items():
            h = self.history.setdefault(arm, deque(maxlen=self.window))
            for g in gs:
                h.extend(abs(x) for x in grpo_advantages(g, self.normalise))
                self.counts[arm] = self.counts.get(arm, 0) + len(g)

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
