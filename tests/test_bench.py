"""`teachloop bench` end to end on a tiny student, its statistics, and the tiny student's SFT warm start."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
from scipy.stats import t as scipy_t
from typer.testing import CliRunner

from teachloop.bench import (
    BenchConfig,
    BenchResult,
    CurvePoint,
    RunResult,
    markdown,
    mean_ci,
    merge_results,
    rollouts_to_reach,
    summarize,
    t_critical,
    write_results,
)
from teachloop.bench.config import TEST_SEED0
from teachloop.environments.arithmetic import ArithmeticEnv
from teachloop.skills.records import Problem
from teachloop.training.sft import SFTSettings, sft
from teachloop.training.student import StudentError, load_student
from teachloop.training.tiny_bench import (
    TinyStudentSettings,
    TinyView,
    build_tiny_student,
    calibration_set,
    sft_examples,
    warm_tiny_student,
)


def test_bench_runs_end_to_end_from_the_cli(tmp_path: Path) -> None:
    from teachloop.cli import app

    out = tmp_path / "results"
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "--env",
            "arithmetic",
            "--strategies",
            "random,sec,teacher",
            "--seeds",
            "2",
            "--budget",
            "64",
            "--student",
            "tiny-raw:3",
            "--skills",
            "add.1digit,add.2digit,sub.1digit",
            "--steps-per-round",
            "2",
            "--eval-every",
            "1",
            "--prompts-per-step",
            "4",
            "--num-generations",
            "4",
            "--heldout",
            "24",
            "--ood",
            "8",
            "--curve",
            "8",
            "--probe",
            "4",
            "--out",
            str(out),
            "--name",
            "t",
        ],
    )
    assert res.exit_code == 0, res.output + repr(res.exception)
    data = json.loads((out / "t.json").read_text())
    runs = data["runs"]
    s0 = TEST_SEED0  # a recorded (test-split) comparison uses the test seed namespace
    assert sorted((r["strategy"], r["seed"]) for r in runs) == [(name, s) for name in ("random", "sec", "teacher") for s in (s0, s0 + 1)]
    assert data["config"]["split"] == "test" and data["config"]["headline"] == ["add.1digit", "add.2digit", "sub.1digit"]
    for r in runs:
        assert r["generations"] <= 64  # the same budget of student generations for every strategy
        assert set(r["heldout"]) == {"add.1digit", "add.2digit", "sub.1digit"}
        assert set(r["ood"]) == {"add.1digit", "add.2digit", "sub.1digit"}
    for r in (r for r in runs if r["strategy"] in ("random", "sec")):
        assert r["rollouts"] == r["generations"] == 64  # 4 steps × 4 prompts × 4 completions
        assert [p["rollouts"] for p in r["curve"]] == [32, 64]  # a curve point every 2 steps, whatever the rounds
        # SEC samples before every GRPO step, as its paper does; random once a round of 2 steps
        assert r["decisions"] == {"random": 2, "sec": 4}[r["strategy"]]
    for r in (r for r in runs if r["strategy"] == "teacher"):
        # a 12-generation probe (4 per skill) before each decision: 12 + 32 fits, a second round does not
        assert (r["rollouts"], r["diagnostic_generations"], r["generations"]) == (32, 12, 44)
        assert [(p["rollouts"], p["generations"]) for p in r["curve"]] == [(32, 44)]
        assert r["wall"]["diagnostic_eval"] > 0
    md = (out / "t.md").read_text()
    assert "| random |" in md and "| teacher |" in md and "generations to target" in md and "pre-registered" in md
    assert "a curriculum decision every 2 steps (SEC, DUMP, threshold: every 1 step, as their papers)" in md
    assert "training reward: exact match, a wrong answer 0.5 × its share of digits" in md  # what was optimised
    assert data["meta"]["machine"]["cpus"] and data["meta"]["versions"]["trl"]
    assert (out / "t.png").stat().st_size > 1000


def test_recorded_bench_json_re_renders_to_the_committed_markdown(tmp_path: Path) -> None:
    """`teachloop bench --from-json` on the recorded 8-seed result writes the committed Markdown
    byte for byte (the summary is recomputed from the runs)."""
    from teachloop.cli import app

    results = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
    name = "bench-arithmetic-tiny-8seeds"
    (tmp_path / f"{name}.json").write_bytes((results / f"{name}.json").read_bytes())
    res = CliRunner().invoke(app, ["bench", "--from-json", str(tmp_path / f"{name}.json")])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert (tmp_path / f"{name}.md").read_bytes() == (results / f"{name}.md").read_bytes()


def _part(tmp_path: Path, seed0: int, finals: dict[str, float], tag: str = "", **cfg_update) -> Path:
    """A recorded result of 2 seeds from `seed0`, one strategy per key of `finals` (its final
    held-out accuracy; seed i adds i/10)."""
    cfg = BenchConfig(
        **(
            {
                "strategies": list(finals),
                "seeds": 2,
                "seed0": seed0,
                "skills": ["add.2digit"],
                "targeted": ["add.2digit"],
                "budget": 640,
            }
            | cfg_update
        )
    )
    runs = [
        RunResult(
            strategy=n,
            seed=seed0 + i,
            heldout={"add.2digit": f + i / 10},
            ood={"add.2digit": f},
            curve=[CurvePoint(rollouts=640, steps=10, accuracy={"add.2digit": f})],
        )
        for n, f in finals.items()
        for i in range(2)
    ]
    res = BenchResult(
        config=cfg,
        start={"heldout": {"add.2digit": 0.2}, "ood": {"add.2digit": 0.1}},
        meta={"date": f"day {seed0}{tag}", "versions": {"trl": "1"}, "git_commit": f"c{seed0}{tag}"},
        runs=runs,
    )
    res.summary = summarize(res)
    return write_results(res, tmp_path, f"part{seed0}-{len(cfg_update)}{tag}")["json"]


def test_results_over_disjoint_seeds_merge_into_one_paired_result(tmp_path: Path) -> None:
    from teachloop.config import ConfigError

    def part(seed0: int, finals: dict[str, float], **cfg_update) -> Path:
        return _part(tmp_path, seed0, finals, **cfg_update)

    a, b = part(0, {"random": 0.3, "sec": 0.5}), part(2, {"random": 0.4, "sec": 0.4})
    merged = merge_results([a, b])
    assert merged.config.seeds == 4 and merged.config.seed0 == 0
    assert [(r.strategy, r.seed) for r in merged.runs][:3] == [("random", 0), ("sec", 0), ("random", 1)]
    # paired per seed: sec - random = +0.2, +0.2, 0, 0
    delta, half = merged.summary["strategies"]["sec"]["delta_heldout"]
    assert delta == pytest.approx(0.1)
    # the paired interval: t(0.975, 3) · sd(+0.2, +0.2, 0, 0) / √4 (unpaired it would differ)
    assert half == pytest.approx(scipy_t.ppf(0.975, 3) * statistics.stdev([0.2, 0.2, 0, 0]) / 2, rel=2e-3)
    assert "Merged from part0-0.json (seeds 0-1, day 0); part2-0.json (seeds 2-3, day 2)" in markdown(merged)
    with pytest.raises(ConfigError, match="repeats seed"):
        merge_results([a, a])
    with pytest.raises(ConfigError, match="other settings \\(budget\\)"):
        merge_results([a, part(2, {"random": 0.4, "sec": 0.4}, budget=1280)])
    with pytest.raises(ConfigError, match="leave a gap"):
        merge_results([a, part(4, {"random": 0.4, "sec": 0.4})])


def test_results_over_the_same_seeds_with_other_strategies_merge_into_one(tmp_path: Path) -> None:
    """Baselines run later over the same seeds join a recorded comparison: the union of the
    strategies in the bench's order, every strategy paired with random on the same seeds, and a
    strategy both files ran is taken once, with how far its reruns were from the first file's."""
    from teachloop.config import ConfigError

    a = _part(tmp_path, 0, {"random": 0.3, "sec": 0.5}, "a")
    b = _part(tmp_path, 0, {"random": 0.31, "easy-to-hard": 0.2}, "b")
    merged = merge_results([a, b])
    assert merged.config.strategies == ["random", "easy-to-hard", "sec"] and merged.config.seeds == 2
    assert [(r.strategy, r.seed) for r in merged.runs] == [
        ("random", 0),
        ("easy-to-hard", 0),
        ("sec", 0),
        ("random", 1),
        ("easy-to-hard", 1),
        ("sec", 1),
    ]
    assert [r.heldout["add.2digit"] for r in merged.runs if r.strategy == "random"] == [0.3, 0.4]  # the first file's
    assert merged.meta["reproduced"] == {"random": pytest.approx(1.0)}  # 0.31 vs 0.30: 1 point
    assert merged.summary["strategies"]["easy-to-hard"]["delta_heldout"][0] == pytest.approx(-0.1)
    md = markdown(merged)
    assert "part0-0a.json (random, sec; day 0a, commit c0a); part0-0b.json (random, easy-to-hard; day 0b, commit c0b)" in md
    assert "random ran in more than one of them; its runs of the same seed differ by at most 1.00 points" in md
    assert "| easy-to-hard |" in md and "| sec |" in md
    with pytest.raises(ConfigError, match="other settings \\(budget\\)"):
        merge_results([a, _part(tmp_path, 0, {"random": 0.3, "dump": 0.2}, "c", budget=1280)])
    # the teacher's plan is compared only between files where a teacher ran
    plan = {"teacher_plan": {"ready_mastery": 0.4}}
    t = _part(tmp_path, 0, {"random": 0.3, "teacher": 0.35}, "t", **plan)
    merged = merge_results([a, t])
    assert merged.config.strategies == ["random", "sec", "teacher"] and merged.config.teacher_plan.ready_mastery == 0.4
    with pytest.raises(ConfigError, match="other settings \\(teacher_plan\\)"):
        merge_results([t, _part(tmp_path, 0, {"random": 0.3, "teacher": 0.2}, "u")])


def test_equal_budgets_split_into_rounds() -> None:
    cfg = BenchConfig(budget=64 * 50, steps_per_round=16)
    assert cfg.total_steps == 50 and cfg.round_steps() == [16, 16, 16, 2]
    assert cfg.strategy_names() == ["random", "easy-to-hard", "threshold", "sec", "dump", "variance", "teacher"]
    two = BenchConfig(strategies=["random", "teacher"], teachers=["procedural", "openai:gpt-x"])
    assert two.strategy_names() == ["random", "teacher[procedural]", "teacher[openai:gpt-x]"]


def test_statistics() -> None:
    assert t_critical(3) == pytest.approx(3.182)
    m, h = mean_ci([0.1, 0.2, 0.3, 0.4])
    assert m == pytest.approx(0.25) and h == pytest.approx(3.182 * 0.1290994 / 2, rel=1e-4)
    for df in (1, 2, 5, 10, 29):  # the table agrees with scipy's Student t
        assert t_critical(df) == pytest.approx(scipy_t.ppf(0.975, df), rel=2e-3), df
    assert math.isnan(mean_ci([0.5])[1])
    curve = [(0, 0.1), (100, 0.3), (200, 0.5)]
    assert rollouts_to_reach(curve, 0.4) == pytest.approx(150)
    assert rollouts_to_reach(curve, 0.1) == 0
    assert rollouts_to_reach(curve, 0.6) is None


def test_summary_pairs_seeds_against_random() -> None:
    cfg = BenchConfig(strategies=["random", "sec"], seeds=2, skills=["add.2digit"], targeted=["add.2digit"], budget=640)

    def run(name: str, seed: int, final: float, curve: list[tuple[int, float]]) -> RunResult:
        return RunResult(
            strategy=name,
            seed=seed,
            heldout={"add.2digit": final},
            ood={"add.2digit": final / 2},
            curve=[CurvePoint(rollouts=x, steps=x // 64, accuracy={"add.2digit": y}) for x, y in curve],
        )

    runs = [
        run("random", 0, 0.40, [(320, 0.3), (640, 0.4)]),
        run("random", 1, 0.50, [(320, 0.4), (640, 0.5)]),
        run("sec", 0, 0.50, [(320, 0.45), (640, 0.5)]),
        run("sec", 1, 0.70, [(320, 0.5), (640, 0.7)]),
    ]
    res = BenchResult(
        config=cfg, start={"heldout": {"add.2digit": 0.2}, "ood": {"add.2digit": 0.1}}, start_curve={"add.2digit": 0.2}, runs=runs
    )
    sm = summarize(res)
    sec = sm["strategies"]["sec"]
    assert sec["delta_heldout"][0] == pytest.approx(0.15)  # mean of the paired differences 0.1 and 0.2
    # half-width of the paired 95 % interval: t(0.975, 1) · sd(0.1, 0.2) / √2
    assert sec["delta_heldout"][1] == pytest.approx(scipy_t.ppf(0.975, 1) * statistics.stdev([0.1, 0.2]) / math.sqrt(2), rel=2e-3)
    assert sm["strategies"]["random"]["gain"][0] == pytest.approx(0.25)
    # seed 0: random reaches 0.4 at 640, sec at 320 * (0.4 - 0.2) / (0.45 - 0.2) = 256 -> 0.4;
    # seed 1: random 0.5 at 640, sec at 320 -> 0.5.
    assert sec["reach_ratio"][0] == pytest.approx(0.45)
    assert sec["reached"] == [2, 2]


# ------------------------------------------------------------------------------------------ tiny student


def test_tiny_view_reverses_numbers_and_scores_with_the_environment() -> None:
    env = ArithmeticEnv()
    p = Problem(
        skill_id="add.2digit",
        difficulty=2,
        prompt="What is 36 + 8 + 58?",
        answer="102",
        spec={"op": "expr", "expr": "36 + 8 + 58"},
        env="arithmetic",
    )
    view = TinyView()
    shown = view.to_student(p)
    assert shown.prompt == "63+8+85=" and shown.answer == "102" and shown.id != p.id
    assert view.target("102") == "201" and view.target("-15") == "51-"
    reward = view.reward(env.reward)
    assert reward(shown, " 201") == 1.0 and reward(shown, "102") == 0.0
    neg = p.model_copy(update={"spec": {"op": "expr", "expr": "3 - 18"}, "answer": "-15"})
    assert reward(view.to_student(neg), "51-") == 1.0


def test_partial_credit_rewards_digits_in_place_but_never_counts_as_correct() -> None:
    env = ArithmeticEnv()
    p = Problem(
        skill_id="add.2digit",
        difficulty=2,
        prompt="What is 36 + 8 + 58?",
        answer="102",
        spec={"op": "expr", "expr": "36 + 8 + 58"},
        env="arithmetic",
    )
    shown = TinyView().to_student(p)
    reward = TinyView().reward(env.reward, partial_credit=0.5)
    assert reward(shown, "201") == 1.0
    assert reward(shown, "209") == pytest.approx(0.5 * 2 / 3)  # units and tens right, hundreds wrong
    assert reward(shown, "2011") == pytest.approx(0.5 * 3 / 4)  # a digit too many costs
    assert reward(shown, "9") == 0.0
    assert reward(shown, "209") < 1.0  # so pass rates and accuracy stay exact-match
    with pytest.raises(ValueError, match="partial_credit"):
        TinyView().reward(env.reward, partial_credit=1.0)


def test_sft_stops_at_the_first_check_that_says_so(tmp_path: Path) -> None:
    env = ArithmeticEnv()
    settings = TinyStudentSettings(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, skills=["add.1digit"], examples=64)
    student = build_tiny_student(settings)
    asked: list[int] = []

    def stop_when(step: int) -> bool:
        asked.append(step)
        return step >= 4

    out = sft(
        student,
        sft_examples(env, settings),
        SFTSettings(steps=10, batch_size=8, warmup_steps=0),
        output_dir=tmp_path / "sft",
        stop_when=stop_when,
        check_every=2,
    )
    assert asked == [2, 4] and out.stats["steps"] == 4


def test_calibration_set_is_fresh_and_kept_out_of_the_sft_examples() -> None:
    env = ArithmeticEnv()
    settings = TinyStudentSettings(skills=["add.1digit", "sub.1digit"], stop_skills=["add.1digit"], examples=2000, calibration_per_skill=30)
    calib = calibration_set(env, settings)
    assert len(calib) == 30 and {p.skill_id for p in calib} == {"add.1digit"}
    eval_keys = env.eval_keys()
    assert not any(env.spec_key(p.spec) in eval_keys for p in calib)
    prompts = {p.prompt for p in calib}
    assert any(p.prompt in prompts for p, _ in sft_examples(env, settings))  # the space is small: they would meet
    assert not any(p.prompt in prompts for p, _ in sft_examples(env, settings, exclude=prompts))


def test_warm_start_that_never_reaches_its_stop_accuracy_is_refused_not_cached(tmp_path: Path) -> None:
    env = ArithmeticEnv()
    settings = TinyStudentSettings(
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
        skills=["add.1digit"],
        examples=64,
        sft=SFTSettings(steps=4, batch_size=8, warmup_steps=0),
        stop_accuracy=0.99,
        check_every=2,
        calibration_per_skill=8,
    )
    with pytest.raises(StudentError, match="raise sft.steps or lower stop_accuracy"):  # the CLI prints it as one line
        warm_tiny_student(env, settings, tmp_path)
    assert not list((tmp_path / "tiny-sft").glob("*/config.json"))


def test_tiny_warm_start_is_trained_once_and_cached(tmp_path: Path) -> None:
    env = ArithmeticEnv()
    settings = TinyStudentSettings(
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
        skills=["add.1digit"],
        examples=64,
        sft=SFTSettings(steps=3, batch_size=8, warmup_steps=0),
        stop_accuracy=None,
    )
    examples = sft_examples(env, settings)
    assert len(examples) >= 60 and all(p.prompt.endswith("=") for p, _ in examples)
    eval_keys = env.eval_keys()
    assert not any(env.spec_key(p.spec) in eval_keys for p, _ in examples)
    path, meta = warm_tiny_student(env, settings, tmp_path)
    assert meta["stats"]["steps"] == 3 and (path / "sft.json").is_file()
    again, meta2 = warm_tiny_student(env, settings, tmp_path)
    assert again == path and meta2 == meta  # cached: not trained again
    student = load_student(str(path))
    assert student.num_parameters == meta["parameters"]
