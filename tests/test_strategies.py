"""Curriculum strategies: each one's selection logic on synthetic rollout statistics.

No student is trained here: attempts are built by hand with the pass rates a test needs, so each
strategy's rule (SEC's per-step update, DUMP's exploration bonus, the variance preference, the
threshold level changes, the fixed easy-to-hard schedule) is checked exactly and fast.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest

from teachloop.agents.strategies import (
    STRATEGIES,
    CurriculumStrategy,
    DUMPStrategy,
    EasyToHardStrategy,
    RandomStrategy,
    SECStrategy,
    StrategyContext,
    TeacherStrategy,
    ThresholdStrategy,
    VarianceStrategy,
    make_strategy,
    softmax,
)
from teachloop.environments.arithmetic import ArithmeticEnv
from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import Attempt, Problem, SkillEval
from teachloop.skills.report import build_weakness_report

SKILLS = ["add.1digit", "add.2digit", "sub.1digit"]


@pytest.fixture(scope="module")
def env() -> ArithmeticEnv:
    return ArithmeticEnv()


@pytest.fixture()
def ctx(env: ArithmeticEnv) -> StrategyContext:
    full = {s.id: s for s in env.skill_graph()}
    keep = {"arithmetic", "addition", "subtraction", *SKILLS}
    graph = SkillGraph(
        [s.model_copy(update={"prerequisites": [p for p in s.prerequisites if p in keep]}) for sid, s in full.items() if sid in keep]
    )
    return StrategyContext(env=env, graph=graph, skills=list(SKILLS), eval_keys=env.eval_keys())


def attempts_for(problems: list[Problem], pass_rate_of, g: int = 8) -> list[Attempt]:
    """One Attempt per problem with round(pass_rate * g) of g rollouts correct."""
    out = []
    for p in problems:
        k = round(pass_rate_of(p) * g)
        out.append(
            Attempt(
                problem_id=p.id, skill_id=p.skill_id, round=1, phase="train", completions=["x"] * g, rewards=[1.0] * k + [0.0] * (g - k)
            )
        )
    return out


def arms_of(batch: list[Problem]) -> Counter:
    return Counter((p.skill_id, p.difficulty) for p in batch)


# ------------------------------------------------------------------------------------------ interface


def test_registry_builds_every_strategy_and_batches_have_the_asked_size(ctx: StrategyContext) -> None:
    assert set(STRATEGIES) == {"random", "easy-to-hard", "threshold", "sec", "dump", "variance", "teacher"}
    for name in STRATEGIES:
        s = make_strategy(name)
        assert isinstance(s, CurriculumStrategy)
        batch = s.next_batch(ctx, 24, random.Random(0))
        assert len(batch) == 24, name
        assert all(p.skill_id in SKILLS or p.skill_id.split(".")[0] + "." + p.skill_id.split(".")[1] in SKILLS for p in batch)
        eval_keys = ctx.eval_keys
        assert not any(ctx.env.spec_key(p.spec) in eval_keys for p in batch), f"{name} trains on an eval problem"
        s.observe(attempts_for(batch, lambda p: 0.5))
        json.dumps(s.state_dict())  # JSON-able
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("nope")


@pytest.mark.parametrize("name", ["threshold", "sec", "dump", "variance"])
def test_state_dict_round_trips(ctx: StrategyContext, name: str) -> None:
    a = make_strategy(name)
    for r in range(3):
        batch = a.next_batch(ctx, 32, random.Random(r))
        a.observe(attempts_for(batch, lambda p: 0.9 if p.skill_id == "add.1digit" else 0.4))
    b = make_strategy(name)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.state_dict() == a.state_dict()
    # Same state, same rng: the same next batch.
    assert [p.id for p in a.next_batch(ctx, 16, random.Random(9))] == [p.id for p in b.next_batch(ctx, 16, random.Random(9))]
    with pytest.raises(ValueError, match="given to"):
        make_strategy("random").load_state_dict(a.state_dict())


def test_random_is_uniform_over_skills_and_levels(ctx: StrategyContext) -> None:
    batch = RandomStrategy().next_batch(ctx, 900, random.Random(1))
    per_skill = Counter(p.skill_id for p in batch)
    assert all(abs(per_skill[s] - 300) < 60 for s in SKILLS), per_skill
    assert {p.difficulty for p in batch} == {1, 2, 3}


# ------------------------------------------------------------------------------------------ SEC


def test_sec_q_moves_toward_the_observed_abs_advantage_at_its_learning_rate(ctx: StrategyContext) -> None:
    sec = SECStrategy(lr=0.3, temperature=0.1)
    batch = sec.next_batch(ctx, 60, random.Random(0))
    # one GRPO step (no steps recorded); pass rate 0.5 of 8 rollouts: |advantage| = 0.5 / std, the
    # unbiased std being sqrt(2/7); pass rate 1: 0. Every arm, drawn or not, moves.
    r_half = 0.5 / math.sqrt(2 / 7)
    sec.observe(attempts_for(batch, lambda p: 0.5 if p.skill_id == "add.2digit" else 1.0))
    for arm in ctx.arms():
        expected = 0.3 * (r_half if arm[0] == "add.2digit" and arm in arms_of(batch) else 0.0)
        assert sec.q[arm] == pytest.approx(expected, rel=1e-5)
    # A second identical observation: Q <- (1 - lr) Q + lr r.
    q1 = dict(sec.q)
    sec._remember(batch)
    sec.observe(attempts_for(batch, lambda p: 0.5 if p.skill_id == "add.2digit" else 1.0))
    for arm, q in q1.items():
        r = r_half if arm[0] == "add.2digit" and arm in arms_of(batch) else 0.0
        assert sec.q[arm] == pytest.approx((1 - 0.3) * q + 0.3 * r, rel=1e-5)
    # Sampling follows softmax(Q / tau): add.2digit now dominates.
    nxt = sec.next_batch(ctx, 400, random.Random(1))
    share = sum(p.skill_id == "add.2digit" for p in nxt) / len(nxt)
    assert share > 0.6


def test_softmax_is_a_distribution_and_sharpens_with_low_temperature() -> None:
    p = softmax([0.0, 0.5], 1.0)
    assert sum(p) == pytest.approx(1.0) and p[1] > p[0]
    assert softmax([0.0, 0.5], 0.05)[1] > 0.99
    assert softmax([1.0, math.inf], 1.0) == [0.0, 1.0]


# ------------------------------------------------------------------------------------------ DUMP


def test_dump_explores_unseen_arms_first(ctx: StrategyContext) -> None:
    dump = DUMPStrategy(c=1.0, temperature=0.1)
    seen_arm = ("add.1digit", 1)
    problems = ctx.env.generate("add.1digit", 1, 30, random.Random(0))
    dump._remember(problems)
    dump.observe(attempts_for(problems, lambda p: 0.5))  # even a high |advantage| ...
    arms = ctx.arms()
    probs = dict(zip(arms, dump.probabilities(arms)))
    assert all(probs[a] > probs[seen_arm] for a in arms if a != seen_arm)  # ... loses to unseen arms
    batch = dump.next_batch(ctx, 200, random.Random(2))
    assert sum(1 for p in batch if (p.skill_id, p.difficulty) == seen_arm) < 10


def test_dump_score_is_window_mean_plus_ucb_bonus(ctx: StrategyContext) -> None:
    dump = DUMPStrategy(window=4, c=1.0)
    a = ("add.2digit", 1)
    dump.history[a] = __import__("collections").deque([0.1, 0.2, 0.3, 0.4], maxlen=4)
    dump.counts = {a: 9, ("sub.1digit", 1): 11}
    score = dump.scores([a])[0]
    assert score == pytest.approx(0.25 + math.sqrt(2 * math.log(20 + 1) / 10))  # N and n_j count rollouts
    # The window keeps only the last `window` per-rollout |advantage| values.
    problems = ctx.env.generate("add.2digit", 1, 3, random.Random(0))
    dump._remember(problems)
    dump.observe(attempts_for(problems, lambda p: 0.0))
    assert list(dump.history[a]) == [0.0, 0.0, 0.0, 0.0]
    assert dump.counts[a] == 9 + 3 * 8


# ------------------------------------------------------------------------------------------ variance


def test_variance_prefers_pass_rate_one_half(ctx: StrategyContext) -> None:
    var = VarianceStrategy(replay=0.0)
    batch = var.next_batch(ctx, 90, random.Random(0))
    rate = {"add.1digit": 1.0, "add.2digit": 0.5, "sub.1digit": 0.0}
    var.observe(attempts_for(batch, lambda p: rate[p.skill_id]))
    nxt = var.next_batch(ctx, 300, random.Random(1))
    per_skill = Counter(p.skill_id for p in nxt)
    assert per_skill["add.2digit"] > 0.8 * len(nxt), per_skill
    # Closer to 0.5 beats farther from it.
    var.pass_rate = {("add.2digit", 1): 0.5, ("add.2digit", 2): 0.2, ("add.2digit", 3): 0.95}
    w = dict(
        zip(
            [("add.2digit", 1), ("add.2digit", 2), ("add.2digit", 3)],
            var.weights([("add.2digit", 1), ("add.2digit", 2), ("add.2digit", 3)]),
        )
    )
    assert w[("add.2digit", 1)] > w[("add.2digit", 2)] > w[("add.2digit", 3)]


def test_variance_replays_the_highest_variance_problems(ctx: StrategyContext) -> None:
    var = VarianceStrategy(replay=0.25)
    batch = var.next_batch(ctx, 40, random.Random(0))
    half = {p.id for p in batch[:5]}
    var.observe(attempts_for(batch, lambda p: 0.5 if p.id in half else 1.0))
    nxt = var.next_batch(ctx, 40, random.Random(1))
    assert half <= {p.id for p in nxt}  # the five 0.5-pass-rate problems come back
    assert len(nxt) == 40


# ------------------------------------------------------------------------------------------ threshold


def test_threshold_levels_up_and_down_at_its_thresholds(ctx: StrategyContext) -> None:
    th = ThresholdStrategy(up=0.7, down=0.3, window_steps=1)
    step_of = {"add.1digit": 1, "add.2digit": 2, "sub.1digit": 3}  # one skill per GRPO step

    def observe(batch: list[Problem], rate: dict[str, float]) -> None:
        attempts = attempts_for(batch, lambda p: rate[p.skill_id])
        th.observe([a.model_copy(update={"steps": [step_of[a.skill_id]] * len(a.rewards)}) for a in attempts])

    def round_with(rate: dict[str, float]) -> list[Problem]:
        batch = th.next_batch(ctx, 60, random.Random(sum(th.level.values())))
        observe(batch, rate)
        return batch

    batch = th.next_batch(ctx, 60, random.Random(0))
    assert {p.difficulty for p in batch} == {1}  # every skill starts at its lowest level
    observe(batch, {"add.1digit": 0.75, "add.2digit": 0.5, "sub.1digit": 0.25})
    assert th.level == {"add.1digit": 2, "add.2digit": 1, "sub.1digit": 1}  # up above 0.7; 0.25 at the floor stays
    batch = round_with({"add.1digit": 0.25, "add.2digit": 0.625, "sub.1digit": 0.0})
    assert th.level["add.1digit"] == 1  # down below 0.3
    assert th.level["add.2digit"] == 1  # 0.625: between the thresholds, stays
    assert {(p.skill_id, p.difficulty) for p in batch if p.skill_id == "add.1digit"} == {("add.1digit", 2)}
    for _ in range(4):
        round_with({"add.1digit": 1.0, "add.2digit": 1.0, "sub.1digit": 1.0})
    assert th.level == {"add.1digit": 3, "add.2digit": 3, "sub.1digit": 3}  # capped at max_level


# ------------------------------------------------------------------------------------------ easy-to-hard


def test_easy_to_hard_follows_the_prerequisite_order(ctx: StrategyContext) -> None:
    e2h = EasyToHardStrategy(replay=0.25)
    stages = e2h.stages(ctx)
    assert stages[0] == ("add.1digit", 1) and stages[-1][1] == 3
    order = [s for s, _ in stages]
    assert order.index("add.1digit") < order.index("add.2digit") and order.index("add.1digit") < order.index("sub.1digit")
    ctx.progress = 0.0
    first = e2h.next_batch(ctx, 40, random.Random(0))
    assert arms_of(first) == Counter({("add.1digit", 1): 40})
    ctx.progress = 0.99
    last = e2h.next_batch(ctx, 40, random.Random(0))
    counts = arms_of(last)
    assert counts[stages[-1]] == 30 and sum(counts.values()) == 40  # 25 % replay of earlier stages


# ------------------------------------------------------------------------------------------ teacher


def test_teacher_targets_the_frontier_from_the_episodes_report(ctx: StrategyContext) -> None:
    # The episode feeds the one tracker and builds the report; the teacher reads it from the context.
    evals = [
        SkillEval(skill_id="add.1digit", split="heldout", n=50, correct=48),
        SkillEval(skill_id="add.2digit", split="heldout", n=50, correct=10),
        SkillEval(skill_id="sub.1digit", split="heldout", n=50, correct=12),
    ]
    tracker = MasteryTracker()
    tracker.record_eval(0, evals)
    ctx.report = build_weakness_report(ctx.graph, tracker, round=0)
    teacher = TeacherStrategy()
    proposal = teacher.propose(ctx, 32, random.Random(0))
    batch = proposal.problems
    assert len(batch) == 32 and proposal.authored
    per_skill = Counter(p.skill_id for p in batch)
    # add.1digit is mastered: the two frontier skills get most of the batch.
    assert per_skill["add.2digit"] + per_skill["sub.1digit"] > per_skill["add.1digit"]
    assert all(ctx.env.verify(p, p.skill_id).accepted for p in batch)
    assert teacher.cost["accepted"] >= 1
    teacher.observe(attempts_for(batch, lambda p: 0.5))
    state = json.loads(json.dumps(teacher.state_dict()))
    again = TeacherStrategy()
    again.load_state_dict(state)
    assert again.state_dict() == teacher.state_dict()


def test_teacher_without_exact_batches_trains_on_what_it_verified(ctx: StrategyContext) -> None:
    # What `teachloop run` does: no top-up, no shuffle, no use of the episode's rng.
    rng = random.Random(0)
    before = rng.getstate()
    proposal = TeacherStrategy(exact=False).propose(ctx, 8, rng)
    assert 1 <= len(proposal.problems) <= 8
    assert len({p.id for p in proposal.problems}) == len(proposal.problems)
    assert rng.getstate() == before
