"""The bench's fixed metric, pre-registered headline, budget accounting and split/seed namespaces,
on hand-built results (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from teachloop.bench import BenchConfig, BenchResult, CurvePoint, RunResult, summarize
from teachloop.bench.config import TEST_SEED0
from teachloop.bench.render import load_result, markdown
from teachloop.bench.stats import reach, reach_target

SKILLS = ["add.1digit", "sub.1digit"]
RECORDED = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "bench-arithmetic-tiny-8seeds.json"


def _cfg(**kw) -> BenchConfig:
    base = {"skills": SKILLS, "budget": 640, "seeds": 2, "seed0": TEST_SEED0, "steps_per_round": 2}
    base["grpo"] = {"prompts_per_step": 4, "num_generations": 8}
    return BenchConfig.model_validate(base | kw)


def _run(name: str, seed: int, ys: list[float], xs: list[int] | None = None) -> RunResult:
    xs = xs or [128 * (i + 1) for i in range(len(ys))]
    curve = [CurvePoint(rollouts=x, generations=x, steps=x // 32, accuracy={s: y for s in SKILLS}) for x, y in zip(xs, ys, strict=True)]
    return RunResult(strategy=name, seed=seed, curve=curve, heldout={s: ys[-1] for s in SKILLS}, ood={s: 0.0 for s in SKILLS})


def _result(runs: list[RunResult], start: float = 0.2, **kw) -> BenchResult:
    cfg = _cfg(**kw)
    acc = {s: start for s in SKILLS}
    res = BenchResult(config=cfg, start={"heldout": acc, "ood": acc}, start_curve=acc, runs=runs)
    res.summary = summarize(res)
    return res


def test_target_is_randoms_mean_final_smoothed_over_its_last_three_points():
    assert reach_target([[(1, 0.1), (2, 0.3), (3, 0.5), (4, 0.4)], [(1, 0.2), (2, 0.2), (3, 0.2)]]) == pytest.approx(0.3)
    assert reach([(0, 0.2), (100, 0.4)], 0.3, 640) == (pytest.approx(50.0), True)
    assert reach([(0, 0.2), (100, 0.25)], 0.3, 640) == (640.0, False)  # censored at the budget


def test_a_seed_that_never_reaches_is_censored_not_dropped():
    runs = [
        _run("random", TEST_SEED0, [0.3, 0.4, 0.5, 0.5, 0.5]),
        _run("random", TEST_SEED0 + 1, [0.3, 0.4, 0.5, 0.5, 0.5]),
        _run("sec", TEST_SEED0, [0.5, 0.5, 0.5, 0.5, 0.5]),  # reaches 0.5 at 128
        _run("sec", TEST_SEED0 + 1, [0.3, 0.3, 0.3, 0.3, 0.3]),  # never: counts 640
    ]
    sm = _result(runs).summary
    assert sm["reach_target"] == pytest.approx(0.5)
    row = sm["strategies"]["sec"]
    assert row["reached"] == [1, 2]
    assert row["reach"][0] == pytest.approx((128 + 640) / 2)
    assert sm["strategies"]["random"]["reach"][0] == pytest.approx(384)
    assert row["reach_ratio"] == pytest.approx(384 / 384)


def test_random_ending_at_the_start_does_not_drop_a_seed():
    """The old `and own` bug: random never rising above its start made every strategy 'never'."""
    runs = [
        _run("random", TEST_SEED0, [0.2, 0.2, 0.2]),
        _run("random", TEST_SEED0 + 1, [0.1, 0.1, 0.1]),
        _run("teacher", TEST_SEED0, [0.3, 0.3, 0.3]),
        _run("teacher", TEST_SEED0 + 1, [0.3, 0.3, 0.3]),
    ]
    row = _result(runs, start=0.1).summary["strategies"]["teacher"]
    assert row["reached"] == [2, 2]


def test_headline_is_every_skill_in_play_and_a_subset_needs_a_reason():
    cfg = _cfg()
    assert cfg.headline == SKILLS and not cfg.legacy
    with pytest.raises(ValueError, match="every skill in play"):
        _cfg(headline=["add.1digit"])
    with pytest.raises(ValueError, match="subset_reason"):
        _cfg(subset=["add.1digit"])
    runs = [_run("random", TEST_SEED0, [0.2, 0.3]), _run("sec", TEST_SEED0, [0.2, 0.4])]
    res = _result(runs, subset=["add.1digit"], subset_reason="the frontier skill")
    assert res.summary["headline"] == SKILLS
    assert res.summary["strategies"]["sec"]["delta_subset"][0] == pytest.approx(0.1)
    text = markdown(res)
    assert "pre-registered" in text and "the frontier skill" in text


def test_budget_charges_the_probe_before_every_decision():
    cfg = _cfg(budget=1000, steps_per_round=3)  # 32 rollouts per step
    assert cfg.schedule(0) == [3] * 10 + [1]  # 31 steps = 992 rollouts
    # each round: a 100-generation probe, then up to 3 steps (96): 196 per round; 5 rounds = 980,
    # the 6th probe leaves -80: stop
    assert cfg.schedule(100) == [3, 3, 3, 3, 3]
    assert cfg.schedule(300) == [3, 3]  # 300 + 96, 300 + 96, then the third probe would overdraw
    with pytest.raises(ValueError, match="no GRPO step"):
        cfg.schedule(1000)


def test_seed_namespaces_of_dev_and_test_are_disjoint():
    _cfg().check_seeds()
    with pytest.raises(ValueError, match="test run uses seeds from"):
        _cfg(seed0=0).check_seeds()
    _cfg(split="dev", seed0=0).check_seeds()
    with pytest.raises(ValueError, match="dev run uses seeds below"):
        _cfg(split="dev", seed0=TEST_SEED0 - 1).check_seeds()


def test_test_split_is_a_fresh_seed_namespace_never_trained_on():
    from teachloop.bench.parts import bench_env

    dev = bench_env(_cfg(split="dev", seed0=0, heldout_per_skill=20, ood_per_skill=5))
    test = bench_env(_cfg(heldout_per_skill=20, ood_per_skill=5))
    assert test.version == dev.version + "+test"
    dev_keys = {dev.spec_key(p.spec) for p in dev.eval_set("heldout")}
    test_keys = {test.spec_key(p.spec) for p in test.eval_set("heldout")}
    assert dev_keys and test_keys and dev_keys != test_keys
    assert test_keys <= test.eval_keys()  # generate() excludes them from training


def test_recorded_results_still_render_with_their_own_legacy_headline():
    res = load_result(RECORDED)
    assert res.config.legacy and res.config.split == "dev"
    assert res.config.headline == ["add.1digit", "sub.1digit", "mixed.addsub"]
    res.summary = summarize(res)
    text = markdown(res)  # its recorded table (tests/test_bench.py checks it byte for byte)
    assert "Targeted skills (headline numbers average them): add.1digit, sub.1digit, mixed.addsub" in text


def test_sec_dump_and_threshold_decide_before_every_grpo_step_by_default() -> None:
    cfg = _cfg(strategies=["random", "threshold", "sec", "dump", "variance", "teacher"], probe_per_skill=4)
    assert {n: cfg.decision_steps(n) for n in cfg.strategy_names()} == {
        "random": 2,
        "threshold": 1,
        "sec": 1,
        "dump": 1,
        "variance": 2,
        "teacher": 2,
    }
    assert cfg.schedule(0, cfg.decision_steps("sec")) == [1] * 20  # 640 generations = 20 steps of 32
    assert cfg.generations_used()["sec"] == cfg.generations_used()["random"] == 640
    assert cfg.curve_steps == 2  # curve points sit at the same steps for every strategy
    # a strategy given the probe reads it before each decision, so it decides once a round
    assert _cfg(probe_for="all", probe_per_skill=4).decision_steps("sec") == 2
    assert _cfg(step_strategy_steps=5).decision_steps("dump") == 5  # the deviation, as a field


def test_results_recorded_before_per_step_decisions_say_they_decided_once_a_round() -> None:
    res = load_result(RECORDED)
    assert res.config.step_strategy_steps == res.config.steps_per_round == 20
    assert BenchResult(config=_cfg()).config.step_strategy_steps == 1


def test_the_teacher_is_paired_against_every_baseline_and_the_best_is_named() -> None:
    runs = [
        _run("random", TEST_SEED0, [0.3, 0.4]),
        _run("random", TEST_SEED0 + 1, [0.3, 0.4]),
        _run("sec", TEST_SEED0, [0.4, 0.5]),
        _run("sec", TEST_SEED0 + 1, [0.4, 0.6]),
        _run("dump", TEST_SEED0, [0.4, 0.45]),
        _run("dump", TEST_SEED0 + 1, [0.4, 0.45]),
        _run("teacher", TEST_SEED0, [0.4, 0.6]),
        _run("teacher", TEST_SEED0 + 1, [0.4, 0.6]),
    ]
    res = _result(runs, strategies=["random", "sec", "dump", "teacher"])
    vs = res.summary["teacher_vs"]["teacher"]
    assert vs["best"] == "sec"  # mean held-out 0.55 against dump's 0.45
    mean, half = vs["against"]["sec"]["delta_heldout"]
    assert mean == pytest.approx(0.05) and half == pytest.approx(12.706 * 0.1 / 2**0.5 / 2**0.5, rel=1e-3)  # t(1) · sd(0.1, 0) / √2
    assert vs["against"]["dump"]["delta_heldout"][0] == pytest.approx(0.15)
    assert "random" not in vs["against"] and vs["against"]["sec"]["pairs"] == 2
    assert "| sec (best baseline: highest mean held-out) | +5.0 ± " in markdown(res)
