"""The literature baselines' update rules against hand-computed values on a synthetic sequence of
GRPO steps (SEC's verl `BanditPriority`, DUMP's `CurriculumController`, reasoning-gym's curriculum
thresholds), and the per-step split of a round's rollouts."""

from __future__ import annotations

import math

import pytest

from teachloop.agents.baselines import (
    DUMPStrategy,
    SECStrategy,
    ThresholdStrategy,
    grpo_advantages,
    steps_of,
)
from teachloop.skills.records import Attempt

A, B, C = ("a", 1), ("a", 2), ("b", 1)
ONE_OF_FOUR = [1.0, 0.0, 0.0, 0.0]  # mean 0.25, unbiased std 0.5: advantages 1.5, -0.5, -0.5, -0.5
TWO_OF_FOUR = [1.0, 1.0, 0.0, 0.0]  # mean 0.5, unbiased std sqrt(1/3): |advantage| sqrt(3)/2 each
ALL = [1.0, 1.0, 1.0, 1.0]  # no variance: advantage 0


def test_grpo_advantages_are_verls_std_normalised_ones():
    assert grpo_advantages(ONE_OF_FOUR) == pytest.approx([1.5, -0.5, -0.5, -0.5], rel=1e-5)
    assert grpo_advantages(TWO_OF_FOUR) == pytest.approx([math.sqrt(3) / 2] * 2 + [-math.sqrt(3) / 2] * 2, rel=1e-5)
    assert grpo_advantages(ALL) == [0.0] * 4
    assert grpo_advantages(ONE_OF_FOUR, normalise=False) == pytest.approx([0.75, -0.25, -0.25, -0.25])
    assert grpo_advantages([0.7]) == pytest.approx([0.7], rel=1e-5)  # a group of one: mean 0, std 1


def test_sec_updates_every_arm_every_step_with_zero_for_undrawn_arms():
    s = SECStrategy()
    assert (s.lr, s.temperature) == (0.5, 0.2)  # paper: alpha 0.5; tau 0.2 for the 2-D (difficulty x type) arms
    s.q = {A: 0.0, B: 0.0, C: 0.0}
    s.observe_step({A: [ONE_OF_FOUR], B: [ALL]})  # C not drawn
    # A: mean |adv| = (1.5 + 3 * 0.5) / 4 = 0.75 -> Q = 0.5 * 0.75
    assert s.q == pytest.approx({A: 0.375, B: 0.0, C: 0.0}, rel=1e-5)
    s.observe_step({B: [TWO_OF_FOUR]})  # A not drawn: r = 0, it decays
    assert s.q == pytest.approx({A: 0.1875, B: 0.5 * math.sqrt(3) / 2, C: 0.0}, rel=1e-5)
    q = [0.1875, 0.5 * math.sqrt(3) / 2, 0.0]
    z = sum(math.exp(x / 0.2) for x in q)
    assert s.probabilities([A, B, C]) == pytest.approx([math.exp(x / 0.2) / z for x in q], rel=1e-5)


def test_sec_reward_is_the_mean_over_all_the_arms_rollouts_of_the_step():
    s = SECStrategy(lr=1.0)
    s.observe_step({A: [ONE_OF_FOUR, TWO_OF_FOUR]})  # (3.0 + 4 * sqrt(3)/2) / 8
    assert s.q[A] == pytest.approx((3.0 + 2 * math.sqrt(3)) / 8, rel=1e-5)
    unnormalised = SECStrategy(lr=1.0, normalise=False)
    unnormalised.observe_step({A: [ONE_OF_FOUR]})
    assert unnormalised.q[A] == pytest.approx(0.375)


def test_dump_window_counts_rollouts_and_ucb():
    d = DUMPStrategy()
    assert (d.window, d.c, d.temperature) == (300, 1.0, 0.1)
    d.observe_step({A: [ONE_OF_FOUR]})
    d.observe_step({A: [TWO_OF_FOUR], B: [[0.0] * 4]})
    assert d.counts == {A: 8, B: 4}  # rollouts, not problems
    big_n = 12
    mean_a = (3.0 + 4 * math.sqrt(3) / 2) / 8
    want = [
        mean_a + math.sqrt(2 * math.log(big_n + 1) / 9),
        0.0 + math.sqrt(2 * math.log(big_n + 1) / 5),
        0.0 + math.sqrt(2 * math.log(big_n + 1) / 1),  # never drawn
    ]
    assert d.scores([A, B, C]) == pytest.approx(want, rel=1e-5)
    z = sum(math.exp(x / 0.1) for x in want)
    assert d.probabilities([A, B, C]) == pytest.approx([math.exp(x / 0.1) / z for x in want], rel=1e-4)


def test_dump_window_keeps_the_last_values_and_starts_uniform():
    d = DUMPStrategy(window=3)
    assert d.probabilities([A, B]) == pytest.approx([0.5, 0.5])
    d.observe_step({A: [ONE_OF_FOUR]})
    assert list(d.history[A]) == pytest.approx([0.5, 0.5, 0.5], rel=1e-5)  # 1.5 slid out
    assert d.counts[A] == 4


def test_threshold_counts_exact_matches_not_partial_credit():
    t = ThresholdStrategy(window_steps=1)
    assert (t.up, t.down, t.window_steps) == (0.7, 0.3, 1)
    assert ThresholdStrategy().window_steps == 10  # reasoning-gym's last_k = 10 steps of rollouts
    t.level, t.scores, t._bounds = {"a": 1}, {"a": []}, {"a": (1, 3)}
    t.observe_step({A: [[1.0, 1.0, 0.9, 0.9]]})  # shaped mean 0.95, exact 0.5: stays
    assert t.level["a"] == 1
    assert t.scores["a"] == [1, 1, 0, 0]


def test_threshold_moves_after_last_k_rollouts_strictly_past_the_thresholds_and_clears():
    t = ThresholdStrategy(window_steps=2)  # last_k = 2 steps x 4 rollouts per step
    t.level, t.scores, t._bounds = {"a": 1, "b": 1}, {"a": [], "b": []}, {"a": (1, 3), "b": (1, 3)}
    t.observe_step({A: [[1.0, 1.0, 1.0, 1.0]]})
    assert t.level["a"] == 1  # 4 rollouts recorded, fewer than last_k = 8
    t.observe_step({A: [[1.0, 1.0, 0.0, 0.0]]})  # 6/8 = 0.75 > 0.7
    assert t.level["a"] == 2 and t.scores["a"] == []
    t.observe_step({A: [[1.0] * 4]})  # a level-1 group trained after the move says nothing about level 2
    assert t.scores["a"] == []
    t.observe_step({C: [[0.0] * 4]})
    t.observe_step({C: [[0.0] * 4]})  # 0/8 < 0.3, but level 1 is b's lowest: stays, record kept
    assert t.level["b"] == 1 and len(t.scores["b"]) == 8
    t.level["b"], t.scores["b"] = 2, [1, 1] + [0] * 8
    t.observe_step({C: [[1.0] * 4]})  # b@1 is not b's level now; b's last 8 are all 0 < 0.3: down
    assert t.level["b"] == 1 and t.scores["b"] == []


def test_threshold_exactly_at_the_threshold_does_not_move():
    t = ThresholdStrategy(up=0.75, down=0.25, window_steps=1)
    t.level, t.scores, t._bounds = {"a": 2}, {"a": []}, {"a": (1, 3)}
    t.observe_step({B: [[1.0, 1.0, 1.0, 0.0]]})  # 0.75 is not > 0.75
    t.observe_step({B: [[1.0, 0.0, 0.0, 0.0]]})  # last 4: 0.25 is not < 0.25
    assert t.level["a"] == 2


def test_a_round_is_split_into_its_grpo_steps():
    attempts = [
        Attempt(problem_id="p", skill_id="a", round=1, phase="train", rewards=[1.0, 0.0, 1.0, 1.0], steps=[1, 1, 2, 2]),
        Attempt(problem_id="q", skill_id="b", round=1, phase="train", rewards=[0.0, 0.0], steps=[2, 2]),
        Attempt(problem_id="r", skill_id="a", round=1, phase="train", rewards=[1.0, 1.0]),  # no steps recorded
    ]
    arm = {"p": A, "q": C, "r": B}
    got = steps_of(attempts, lambda a: arm[a.problem_id])
    assert got == [{B: [[1.0, 1.0]]}, {A: [[1.0, 0.0]]}, {A: [[1.0, 1.0]], C: [[0.0, 0.0]]}]


def test_sec_observe_updates_once_per_step_of_the_round():
    s = SECStrategy()
    s._arm_of = {"p": A}
    s.q = {A: 0.0, B: 0.0}
    s.observe([Attempt(problem_id="p", skill_id="a", round=1, phase="train", rewards=ONE_OF_FOUR * 2, steps=[1] * 4 + [2] * 4)])
    # two updates with r = 0.75: 0.375, then 0.5 * 0.375 + 0.5 * 0.75
    assert s.q[A] == pytest.approx(0.5625, rel=1e-5)
    assert s.q[B] == 0.0


def test_state_round_trips():
    for strat in (SECStrategy(), DUMPStrategy(), ThresholdStrategy()):
        strat._arm_of = {"p": A}
        strat.observe([Attempt(problem_id="p", skill_id="a", round=1, phase="train", rewards=ONE_OF_FOUR, steps=[1] * 4)])
        again = type(strat)()
        again.load_state_dict(strat.state_dict())
        assert again.state_dict() == strat.state_dict()
