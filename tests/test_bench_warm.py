"""Warm-start variance in the bench: W warm starts (SFT seeds) × S GRPO seeds per strategy, paired
within each (warm start, seed) cell, and intervals from the two-level model (GRPO seeds averaged
within each warm start, a t-interval over the W warm-start means)."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
from scipy.stats import t as scipy_t

from teachloop.bench import BenchConfig, BenchResult, CurvePoint, RunResult, markdown, mean_ci, summarize
from teachloop.bench.config import TEST_SEED0, WarmStart
from teachloop.bench.run import _mean_acc, _mean_start
from teachloop.bench.stats import CI_CLUSTERED, CI_SEEDS, clustered_ci
from tests.conftest import run_teachloop
from tests.test_bench_robust import SMALL as ROBUST_SMALL

SKILLS = ["add.1digit", "sub.1digit"]


def test_clustered_interval_is_a_t_interval_over_the_warm_start_means() -> None:
    groups = {0: [0.1, 0.3], 1: [0.4, 0.4], 2: [0.0, 0.2]}  # warm-start means 0.2, 0.4, 0.1
    m, h = clustered_ci(groups)
    assert m == pytest.approx(0.7 / 3)
    # by hand: sd(0.2, 0.4, 0.1) = √(((-1/30)² + (5/30)² + (-4/30)²) / 2) = √(0.0466667 / 2) = 0.1527525
    assert statistics.stdev([0.2, 0.4, 0.1]) == pytest.approx(0.1527525, rel=1e-6)
    assert h == pytest.approx(4.303 * 0.1527525 / math.sqrt(3), rel=1e-4)  # t(0.975, df = W - 1 = 2)
    assert h == pytest.approx(scipy_t.ppf(0.975, 2) * 0.1527525 / math.sqrt(3), rel=2e-3)
    # pooling the six runs as if independent would be narrower: the warm-start variance left out
    assert mean_ci([x for xs in groups.values() for x in xs])[1] < h / 2


def test_one_warm_start_falls_back_to_the_t_interval_over_seeds() -> None:
    xs = [0.1, 0.25, 0.2, 0.4]
    assert clustered_ci({0: xs}) == mean_ci(xs)
    assert math.isnan(clustered_ci({0: [0.3]})[1])
    assert math.isnan(clustered_ci({})[0])


def test_runs_are_strategies_by_warm_starts_by_seeds_in_the_splits_namespace() -> None:
    cfg = BenchConfig(strategies=["random", "sec"], skills=SKILLS, seeds=2, warm_starts=3, seed0=TEST_SEED0)
    assert cfg.sft_seeds() == [TEST_SEED0, TEST_SEED0 + 1, TEST_SEED0 + 2]  # test split: SFT seeds of its namespace
    assert [cfg.grpo_seeds(w) for w in range(3)] == [[TEST_SEED0 + 2 * w, TEST_SEED0 + 2 * w + 1] for w in range(3)]
    runs = cfg.all_runs()
    assert len(runs) == 2 * 3 * 2 and len(set(runs)) == len(runs)
    assert runs[:4] == [("random", 0, TEST_SEED0), ("sec", 0, TEST_SEED0), ("random", 0, TEST_SEED0 + 1), ("sec", 0, TEST_SEED0 + 1)]
    cfg.check_seeds()
    dev = BenchConfig(strategies=["random"], skills=SKILLS, split="dev", warm_starts=2)
    assert dev.sft_seeds() == [0, 1]
    with pytest.raises(ValueError, match="sft_seed0: a test run"):
        BenchConfig(skills=SKILLS, warm_starts=2, seed0=TEST_SEED0, sft_seed0=0).check_seeds()
    with pytest.raises(ValueError, match="sft_seed0: a dev run"):
        BenchConfig(skills=SKILLS, split="dev", warm_starts=2, sft_seed0=TEST_SEED0 - 1).check_seeds()
    with pytest.raises(ValueError, match="seed0: a dev run"):  # W × S GRPO seeds must stay below the test namespace
        BenchConfig(skills=SKILLS, split="dev", warm_starts=2, seeds=2, seed0=TEST_SEED0 - 3).check_seeds()
    assert BenchConfig(skills=SKILLS).sft_seeds() == [None]  # one warm start, the tiny settings' own seeds


def _run(name: str, w: int, seed: int, final: float, curve: list[float]) -> RunResult:
    pts = [
        CurvePoint(rollouts=128 * (i + 1), generations=128 * (i + 1), steps=4 * (i + 1), accuracy={s: y for s in SKILLS})
        for i, y in enumerate(curve)
    ]
    return RunResult(
        strategy=name, seed=seed, warm_start=w, curve=pts, heldout={s: final for s in SKILLS}, ood={s: final / 2 for s in SKILLS}
    )


def test_summary_pairs_within_cells_and_clusters_by_warm_start() -> None:
    cfg = BenchConfig(
        strategies=["random", "sec"],
        skills=SKILLS,
        seeds=2,
        warm_starts=2,
        seed0=TEST_SEED0,
        budget=512,
        grpo={"prompts_per_step": 4, "num_generations": 8},
    )
    s0 = TEST_SEED0
    finals = {  # (warm start, seed): (random, sec)
        (0, s0): (0.40, 0.50),
        (0, s0 + 1): (0.50, 0.70),
        (1, s0 + 2): (0.30, 0.30),
        (1, s0 + 3): (0.20, 0.30),
    }
    runs = []
    for (w, seed), (r, s) in finals.items():
        never = (w, seed) == (1, s0 + 2)  # this sec run's curve stays at 0.1: it never reaches the target
        runs += [_run("random", w, seed, r, [r] * 3), _run("sec", w, seed, s, [0.1 if never else s] * 3)]
    warm = [
        WarmStart(
            sft_seed=s0,
            start={"heldout": dict.fromkeys(SKILLS, 0.2), "ood": dict.fromkeys(SKILLS, 0.1)},
            start_curve=dict.fromkeys(SKILLS, 0.2),
        ),
        WarmStart(
            sft_seed=s0 + 1,
            start={"heldout": dict.fromkeys(SKILLS, 0.1), "ood": dict.fromkeys(SKILLS, 0.0)},
            start_curve=dict.fromkeys(SKILLS, 0.1),
        ),
    ]
    res = BenchResult(
        config=cfg,
        start={"heldout": dict.fromkeys(SKILLS, 0.15), "ood": dict.fromkeys(SKILLS, 0.05)},
        start_curve=dict.fromkeys(SKILLS, 0.15),
        warm=warm,
        runs=runs,
    )
    res.summary = sm = summarize(res)
    assert sm["ci_model"] == CI_CLUSTERED and sm["warm_starts"] == 2 and sm["grpo_seeds_per_warm_start"] == 2
    assert sm["sft_seeds"] == [s0, s0 + 1] and sm["grpo_seeds"] == [[s0, s0 + 1], [s0 + 2, s0 + 3]]
    sec, rnd = sm["strategies"]["sec"], sm["strategies"]["random"]
    # paired differences per cell: +0.1, +0.2 | 0, +0.1 -> warm-start means 0.15, 0.05
    d, h = sec["delta_heldout"]
    assert d == pytest.approx(0.10)
    assert h == pytest.approx(scipy_t.ppf(0.975, 1) * statistics.stdev([0.15, 0.05]) / math.sqrt(2), rel=2e-3)
    # each run's gain is from its own warm start: random 0.2, 0.3 | 0.2, 0.1 -> means 0.25, 0.15
    assert rnd["gain"][0] == pytest.approx(0.20)
    assert rnd["gain"][1] == pytest.approx(12.706 * statistics.stdev([0.25, 0.15]) / math.sqrt(2), rel=1e-4)
    # target: random's smoothed finals 0.4, 0.5, 0.3, 0.2 -> 0.35; sec stays at 0.1 in cell (1, s0 + 2) and ends at
    # 0.30 in (1, s0 + 3): both censored at the budget and counted, clustered like the rest
    assert sm["reach_target"] == pytest.approx(0.35)
    assert sec["reached"] == [2, 4]
    # warm start 0: from its start 0.2 to 0.5 and 0.7 at 128 -> 64 and 38.4; warm start 1: 512, 512 (the budget)
    assert sec["reach"][0] == pytest.approx(((64 + 38.4) / 2 + 512) / 2)
    # the plot's band is the same model: at 128 generations sec's warm starts average 0.6 and 0.2
    x, m, h = sec["curve"][1]
    assert (x, m) == (128, pytest.approx(0.4)) and h == pytest.approx(clustered_ci({0: [0.5, 0.7], 1: [0.1, 0.3]})[1])
    assert h == pytest.approx(12.706 * statistics.stdev([0.6, 0.2]) / math.sqrt(2), rel=1e-4)
    md = markdown(res)
    assert CI_CLUSTERED in md and "2 warm starts (SFT seeds 100000..100001) × 2 GRPO seeds each (100000..100003)" in md

    one = BenchResult(
        config=cfg.model_copy(update={"warm_starts": 1, "sft_seed0": None}), start=warm[0].start, start_curve=warm[0].start_curve
    )
    one.runs = [r for r in runs if r.warm_start == 0]
    one.summary = summarize(one)
    assert one.summary["ci_model"] == CI_SEEDS and CI_SEEDS in markdown(one)
    assert one.summary["strategies"]["sec"]["delta_heldout"] == pytest.approx(mean_ci([0.1, 0.2]))


SMALL = [*ROBUST_SMALL, "--warm-starts", "2"]  # the robust tests' smallest real bench, with two warm starts


def test_two_warm_starts_end_to_end_and_resume_keys_runs_by_warm_start(tmp_path: Path, capsys, monkeypatch) -> None:
    import teachloop.bench.run as bench_run

    real, started = bench_run.run_one, []

    def run_one(cfg, name, seed, ref, tiny):  # noqa: ANN001
        started.append((name, seed, ref))
        return real(cfg, name, seed, ref, tiny)

    monkeypatch.setattr(bench_run, "run_one", run_one)
    assert run_teachloop("bench", *SMALL, "--out", str(tmp_path), "--name", "w") == 0
    out = " ".join(capsys.readouterr().out.split())
    s0 = TEST_SEED0
    # paired: both strategies of a (warm start, seed) cell start from that warm start's student
    assert started == [("random", s0, "tiny:3"), ("teacher", s0, "tiny:3"), ("random", s0 + 1, "tiny:4"), ("teacher", s0 + 1, "tiny:4")]
    assert "4 runs: 2 strategies × 2 warm starts × 1 seed each" in out and "[4/4] teacher warm start 1 seed 100001" in out
    path = tmp_path / "w.json"
    data = json.loads(path.read_text())
    assert [(r["strategy"], r["warm_start"], r["seed"]) for r in data["runs"]] == [
        ("random", 0, s0),
        ("teacher", 0, s0),
        ("random", 1, s0 + 1),
        ("teacher", 1, s0 + 1),
    ]
    assert data["config"]["warm_starts"] == 2 and data["config"]["seeds"] == 1 and data["config"]["sft_seed0"] == s0
    assert [w["student"] for w in data["warm"]] == ["tiny:3", "tiny:4"]  # distinct initialisations, each shared by its cell
    sm = data["summary"]
    assert sm["ci_model"] == CI_CLUSTERED and sm["sft_seeds"] == [s0, s0 + 1] and sm["grpo_seeds"] == [[s0], [s0 + 1]]
    assert sm["strategies"]["teacher"]["reached"][1] == 2
    assert CI_CLUSTERED in (tmp_path / "w.md").read_text()

    # a partial result missing warm start 1's teacher run: --resume runs only that one
    whole = data["runs"]
    data["runs"] = whole[:3]
    path.write_text(json.dumps(data))
    assert run_teachloop("bench", "--resume", str(path), "--jobs", "2") == 0  # the worker path keys its run too
    out = " ".join(capsys.readouterr().out.split())  # (the console wraps long lines)
    assert "3 already in the result, 1 to run" in out, out
    assert "[4/4] teacher warm start 1 seed 100001" in out, out
    again = json.loads(path.read_text())["runs"]
    assert [(r["strategy"], r["warm_start"], r["seed"]) for r in again] == [(r["strategy"], r["warm_start"], r["seed"]) for r in whole]
    drop = ("wall", "strategy_state")
    assert [{k: v for k, v in r.items() if k not in drop} for r in again] == [{k: v for k, v in r.items() if k not in drop} for r in whole]


def test_warm_starts_need_a_student_with_a_warm_start(tmp_path: Path, capsys) -> None:
    code = run_teachloop("bench", "--warm-starts", "2", "--student", "smollm2", "--strategies", "random", "--out", str(tmp_path))
    err = capsys.readouterr().err
    assert code == 2 and "--warm-starts" in err and len(err.strip().splitlines()) == 1, err


def test_each_warm_start_is_its_own_sft_seed_and_seed_0_is_the_old_warm_start(monkeypatch) -> None:
    """The tiny student's warm start w: init, SFT batching and example seeds all move with its SFT
    seed (so each is a distinct cached warm start); SFT seed 0 is the warm start of the settings
    as given (the one every bench before warm starts used)."""
    import teachloop.training.tiny_bench as tb
    from teachloop.bench.parts import bench_env, resolve_student, resolve_students
    from teachloop.training.tiny_bench import cache_key

    seen = []
    monkeypatch.setattr(tb, "warm_tiny_student", lambda env, settings, cache_dir, log=None: (seen.append(settings), (Path("x"), {}))[1])
    cfg = BenchConfig(skills=SKILLS, split="dev", warm_starts=3)
    env = bench_env(cfg)
    assert [ref for ref, _, _ in resolve_students(cfg, env, print)] == ["x"] * 3
    assert [(s.init_seed, s.sft.seed, s.data_seed) for s in seen] == [(w, w, cfg.tiny.data_seed + w) for w in range(3)]
    assert len({cache_key(s, "v") for s in seen}) == 3
    seen.clear()
    one = BenchConfig(skills=SKILLS, split="dev")  # one warm start, no SFT seed: the tiny settings as given
    resolve_student(one, env, print)
    resolve_student(one, env, print, 0)
    assert cache_key(seen[0], "v") == cache_key(seen[1], "v")  # SFT seed 0 is that same warm start


def _warm_result(sft0: int, warm_starts: int, seed0: int, **cfg_update) -> BenchResult:
    """random and sec over `warm_starts` warm starts from SFT seed `sft0`, 2 GRPO seeds each from
    `seed0`; a cell's finals and a warm start's start follow from its seeds."""
    cfg = BenchConfig(
        **{
            "strategies": ["random", "sec"],
            "skills": SKILLS,
            "seeds": 2,
            "warm_starts": warm_starts,
            "sft_seed0": sft0,
            "seed0": seed0,
            "budget": 512,
            "grpo": {"prompts_per_step": 4, "num_generations": 8},
        }
        | cfg_update
    )
    warm = [
        WarmStart(
            sft_seed=s,
            start={"heldout": dict.fromkeys(SKILLS, (s % 7) / 20), "ood": dict.fromkeys(SKILLS, (s % 5) / 20)},
            start_curve=dict.fromkeys(SKILLS, (s % 7) / 20),
        )
        for s in cfg.sft_seeds()
    ]
    runs = []
    for w in range(warm_starts):
        for seed in cfg.grpo_seeds(w):
            r = 0.3 + (seed % 3) / 10
            runs += [_run("random", w, seed, r, [r] * 3), _run("sec", w, seed, r + (seed % 4) / 20, [r] * 3)]
    res = BenchResult(
        config=cfg,
        start=_mean_start([w.start for w in warm]),  # as the bench records it
        start_curve=_mean_acc([w.start_curve for w in warm]),
        warm=warm,
        runs=runs,
        meta={"date": f"day {sft0}", "versions": {"trl": "1"}, "git_commit": f"c{sft0}"},
    )
    res.summary = summarize(res)
    return res


def test_results_over_further_warm_starts_merge_into_one(tmp_path: Path) -> None:
    """More warm starts join a recorded comparison: the merged result is what one bench of all the
    warm starts records (runs, starts, two-level intervals), and files that would not nest are refused."""
    from teachloop.bench.render import merge_results, write_results
    from teachloop.config import ConfigError

    s0 = TEST_SEED0

    def saved(res: BenchResult, name: str) -> Path:
        return write_results(res, tmp_path, name)["json"]

    a, b = saved(_warm_result(s0, 2, s0), "a"), saved(_warm_result(s0 + 2, 1, s0 + 4), "b")
    merged = merge_results([b, a])  # any order
    whole = _warm_result(s0, 3, s0)
    assert (merged.config.warm_starts, merged.config.sft_seed0, merged.config.seed0) == (3, s0, s0)
    assert [(r.strategy, r.warm_start, r.seed) for r in merged.runs] == [(r.strategy, r.warm_start, r.seed) for r in whole.runs]
    assert merged.warm == whole.warm
    for split, m in (("heldout", 7), ("ood", 5)):  # the merged start is the mean over all three warm starts
        assert merged.start[split] == pytest.approx(dict.fromkeys(SKILLS, statistics.mean((s % m) / 20 for s in range(s0, s0 + 3))))
    assert json.dumps(merged.summary, sort_keys=True) == json.dumps(summarize(whole), sort_keys=True)
    assert merged.summary["ci_model"] == CI_CLUSTERED and merged.summary["sft_seeds"] == [s0, s0 + 1, s0 + 2]
    assert "3 warm starts (" in markdown(merged)  # the setup line counts the merged warm starts
    assert "b.json (SFT seeds 100002-100002, GRPO seeds 100004-100005; day 100002, commit c100002)" in markdown(merged)

    with pytest.raises(ConfigError, match=r"no file has the warm start of SFT seed 100002"):
        merge_results([a, saved(_warm_result(s0 + 3, 1, s0 + 6), "gap")])
    with pytest.raises(
        ConfigError, match=r"GRPO seeds start at 100002; its warm starts nest seeds from 100004 \(run it with --seed0 100004\)"
    ):
        merge_results([a, saved(_warm_result(s0 + 2, 1, s0 + 2), "seeds")])
    with pytest.raises(ConfigError, match=r"overlap.json repeats the warm start of SFT seed 100001"):
        merge_results([a, saved(_warm_result(s0 + 1, 1, s0 + 2), "overlap")])
    with pytest.raises(ConfigError, match=r"other settings \(budget\)"):
        merge_results([a, saved(_warm_result(s0 + 2, 1, s0 + 4, budget=1024), "budget")])
