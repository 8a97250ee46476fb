"""`teachloop bench`: curriculum strategies side by side, on equal student rollout budgets.

Every (strategy, seed) run starts from the same student, trains on the same number of student
rollouts (GRPO steps × prompts per step × generations) and is scored on the same fixed eval sets:

    for each round (K GRPO steps):
        batch   = strategy.next_batch(context, K × prompts_per_step, rng)   # curriculum
        outcome = train_round(student, batch, reward, grpo)                 # student (TRL GRPO)
        strategy.observe(outcome.attempts)                                  # rollout statistics
        [teacher only: diagnostic eval on a separate probe set → strategy.observe_eval]
        every `eval_every` rounds: greedy eval on the curve subset of the held-out set
    final: greedy eval on the full held-out set and the OOD level

Held-out and OOD problems are never trained on (the environment's `generate` excludes them) and
no strategy sees them: the teacher's weakness report reads its own probe set, drawn fresh from
the generators, whose cost (greedy generations, seconds) is reported with the teacher's.

Statistics: per seed the strategy's score minus random's (paired: same seed, same GRPO sampling
seed, same start), mean ± t-based 95 % interval over seeds. "Rollouts to random's final" is the
first point (linear interpolation on the accuracy-vs-rollouts curve, targeted skills) at which a
run reaches the final curve accuracy of random with the same seed, over the rollouts random itself
needed to reach it; runs that never reach it are counted apart.

Design of the default (tiny student) benchmark, calibrated on the 2-core CPU:
- Student: a 1.06 M-parameter char-level Llama (`teachloop.training.tiny_bench`), shown each problem's
  expression with numbers least-significant digit first (`36 + 8 + 58` -> `63+8+85=`) and answering
  the same way; the environment's own reward scores the answer reversed back.
- Warm start: SFT (TRL SFTTrainer, batch 64, lr 1e-3, ~4-5 min, cached) stopped by a measured rule,
  not a step count: every 50 steps the student answers 120 fresh calibration problems per targeted
  skill (never eval problems, kept out of the SFT data), and the SFT ends once their mean accuracy
  reaches 30 % (`--sft-stop-accuracy`). A fixed 1,000 steps was not reproducible: the same settings
  ended at a loss of 0.578 under transformers 5.23 and 0.598 under 5.24, and random's gain at 200
  steps went from +10.8 to +1.7 points between the two starts. The two two-digit skills stay near
  5 % (arms where GRPO groups are almost all-wrong, which a curriculum should avoid).
- Skills: add.1digit, sub.1digit, mul.1digit, add.2digit, sub.2digit, mixed.addsub (3 levels each
  = 2, 3, 4 terms; OOD = one term more). A 7-skill mix with 2-3 digit operands stayed at 0-10 % after
  1,500 SFT steps, so it could not be warm-started in minutes. Targeted (the headline numbers):
  add.1digit, sub.1digit, mixed.addsub. mul.1digit is in play but not targeted: in two earlier recorded
  benches (7 strategies x 4 seeds each) and a random-only calibration run no strategy raised its held-out accuracy by
  more than 2 points (-3.6 to +1.9 around its start), so it measured nothing about curricula; it
  stays an arm where rollouts are wasted.
- Reward: the environment's exact match, plus partial credit for training (`--partial-credit`,
  default 0.5): a wrong answer earns 0.5 × its share of digits right in place. Accuracy, pass rates
  and every eval stay exact-match. On one warm start (4 seeds, random, 400 steps) it cut the GRPO
  groups with all-equal rewards from 49 % to 10 % and raised random's gain from +7.2 ± 3.6 to
  +9.7 ± 2.8 points (over add, sub, mul and mixed; +12.8 over the three targeted skills).
- GRPO: 8 prompts x 8 completions x <= 8 tokens, temperature 1.0, lr 3e-5 constant, 400 steps =
  25,600 rollouts per run, a curriculum decision every 20 steps; ~0.25-0.45 s per step on one core.
  Measured with exact match on one warm start (2026-11-25, 4 seeds, random): 200 steps at lr 5e-5
  gained random +1.7 ± 1.8 points, lr 1e-4 lost 6.3 ± 3.9, 400 steps at lr 3e-5 gained +7.2 ± 3.6
  (3e-4 collapsed the student within 75 steps: 20-35 % -> 2-4 %).
- Recorded (benchmarks/results/bench-arithmetic-tiny-8seeds.md, 7 strategies x 8 seeds, ~50 min
  with --jobs 2): random gains +12.8 ± 3.1 points held-out on the targeted skills, but only
  +1.1 ± 1.7 on OOD (one term more): what GRPO teaches this student barely transfers to longer
  expressions, so OOD differences between strategies are small whichever way they go.
- GRPO itself is not bit-reproducible across machines and library versions either: compare
  strategies within one results file, whose runs share the start, the seeds and the versions.
- Eval: 500 held-out problems per skill (not 1,000: the one-digit levels are finite, 1,000 three-term
  one-digit sums in all, and the held-out set must leave most of them for training) + 500 OOD;
  curve points on a 150-per-skill prefix of the held-out set.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

import typer
from pydantic import Field, ValidationInfo, field_validator

from teachloop.skills.records import Attempt, Problem, Record, SkillEval
from teachloop.training.grpo import GRPOSettings
from teachloop.training.tiny_bench import TinyStudentSettings

ALL_STRATEGIES = ("random", "easy-to-hard", "threshold", "sec", "dump", "variance", "teacher")

# The tiny student's skills: the addition/subtraction families and their chains.
TINY_SKILLS = ["add.1digit", "sub.1digit", "mul.1digit", "add.2digit", "sub.2digit", "mixed.addsub"]
# mul.1digit is in play but not targeted: no strategy moved it by more than 2 points in any earlier
# recorded bench (times tables are facts to memorise, not a procedure GRPO sharpens); see above.
TINY_TARGETED = ["add.1digit", "sub.1digit", "mixed.addsub"]

Log = Callable[[str], None]


# ------------------------------------------------------------------------------------------ config


class BenchConfig(Record):
    """Everything that defines a benchmark; written into the results."""

    env: str = Field(default="arithmetic", description="Task environment.")
    strategies: list[str] = Field(default_factory=lambda: list(ALL_STRATEGIES))
    teachers: list[str] = Field(default_factory=lambda: ["procedural"], description="Teacher models for 'teacher'.")
    seeds: int = Field(default=4, ge=1)
    seed0: int = Field(default=0, description="First seed; runs use seed0 .. seed0 + seeds - 1.")
    budget: int = Field(default=25600, ge=1, description="Student rollouts per run (GRPO completions).")
    student: str = Field(default="tiny", description="tiny (SFT-warmed, cached) | tiny-raw[:SEED] | smollm2 | a model dir.")
    skills: list[str] = Field(default_factory=lambda: list(TINY_SKILLS), description="Skills in play.")
    targeted: list[str] = Field(default_factory=lambda: list(TINY_TARGETED), description="Skills the headline numbers average over.")
    steps_per_round: int = Field(default=20, ge=1, description="GRPO steps between two curriculum decisions.")
    eval_every: int = Field(default=1, ge=1, description="Rounds between two curve evaluations.")
    grpo: GRPOSettings = Field(
        default_factory=lambda: GRPOSettings(
            prompts_per_step=8, num_generations=8, max_completion_length=8, learning_rate=3e-5, temperature=1.0
        )
    )
    partial_credit: float = Field(
        default=0.5,
        ge=0.0,
        lt=1.0,
        description="Training reward of a wrong tiny-student answer: this times the share of its characters right in "
        "place (0 = the environment's exact-match reward). Evaluation always scores exact match.",
    )
    heldout_per_skill: int = Field(default=500, ge=1, description="Held-out problems per skill, final evaluation.")
    ood_per_skill: int = Field(default=500, ge=0, description="OOD problems per skill, final evaluation.")
    curve_per_skill: int = Field(default=150, ge=1, description="Held-out prefix per skill for the curve points.")
    probe_per_skill: int = Field(default=48, ge=1, description="Diagnostic probe problems per skill (teacher's eval).")
    eval_batch_size: int = Field(default=256, ge=1)
    eval_max_new_tokens: int = Field(default=8, ge=1)
    tiny: TinyStudentSettings = Field(default_factory=lambda: TinyStudentSettings(skills=list(TINY_SKILLS)))
    jobs: int = Field(default=1, ge=1, description="Runs in parallel (worker processes).")
    threads: int = Field(default=1, ge=1, description="torch threads per run.")
    cache_dir: Path | None = None

    @field_validator("env")
    @classmethod
    def _known_env(cls, v: str) -> str:
        from teachloop.environments import check_environment_name

        return check_environment_name(v)

    @field_validator("skills", "targeted")
    @classmethod
    def _known_skills(cls, v: list[str], info: ValidationInfo) -> list[str]:
        from teachloop.environments import get_environment

        if "env" in info.data:  # else the env itself was refused
            known = {s.id for s in get_environment(info.data["env"]).skill_graph() if s.kind == "skill"}
            bad = [s for s in v if s not in known]
            if bad:
                raise ValueError(f"unknown skill {', '.join(bad)} (choose from: {', '.join(sorted(known))})")
        return v

    @property
    def rollouts_per_step(self) -> int:
        return self.grpo.prompts_per_step * self.grpo.num_generations

    @property
    def total_steps(self) -> int:
        return max(1, self.budget // self.rollouts_per_step)

    def round_steps(self) -> list[int]:
        steps, k = self.total_steps, self.steps_per_round
        return [k] * (steps // k) + ([steps % k] if steps % k else [])

    def strategy_names(self) -> list[str]:
        """'teacher' becomes one entry per teacher model when several are compared."""
        out = []
        for s in self.strategies:
            if s == "teacher" and len(self.teachers) > 1:
                out += [f"teacher[{t}]" for t in self.teachers]
            elif s == "teacher":
                out.append("teacher")
            else:
                out.append(s)
        return out


def split_strategy(name: str, teachers: Sequence[str]) -> tuple[str, str | None]:
    if name.startswith("teacher[") and name.endswith("]"):
        return "teacher", name[len("teacher[") : -1]
    if name == "teacher":
        return "teacher", teachers[0] if teachers else "procedural"
    return name, None


# ------------------------------------------------------------------------------------------ records


class CurvePoint(Record):
    rollouts: int
    steps: int
    accuracy: dict[str, float] = Field(description="Held-out curve-subset accuracy per skill.")


class RunResult(Record):
    strategy: str
    seed: int
    curve: list[CurvePoint] = Field(default_factory=list)
    heldout: dict[str, float] = Field(default_factory=dict, description="Final held-out accuracy per skill (full set).")
    ood: dict[str, float] = Field(default_factory=dict, description="Final OOD accuracy per skill.")
    wall: dict[str, float] = Field(default_factory=dict, description="Seconds per phase.")
    rollouts: int = 0
    problems_per_skill: dict[str, int] = Field(default_factory=dict)
    problems_per_level: dict[str, int] = Field(default_factory=dict)
    train_pass_rate: float = 0.0
    zero_variance_groups: float = Field(default=0.0, description="Share of GRPO groups with all-equal rewards.")
    diagnostic_generations: int = Field(default=0, description="Greedy generations spent on the teacher's probe set.")
    strategy_state: dict[str, Any] = Field(default_factory=dict, description="Strategy-specific summary.")


# ------------------------------------------------------------------------------------------ setup


class TaskView:
    """How problems are shown to the student and its answers scored (identity for real LMs)."""

    def __init__(self, tiny: bool, env: Any, partial_credit: float = 0.0):
        from teachloop.training.tiny_bench import TinyView

        self.tiny = TinyView() if tiny else None
        self.env = env
        self.partial_credit = partial_credit

    def to_student(self, p: Problem) -> Problem:
        return self.tiny.to_student(p) if self.tiny else p

    def reward(self, train: bool = False) -> Callable[[Problem, str], float]:
        """Exact match for evaluation; the training reward adds the partial credit, if any."""
        if not self.tiny:
            return self.env.reward
        return self.tiny.reward(self.env.reward, self.partial_credit if train else 0.0)


def bench_env(cfg: BenchConfig) -> Any:
    """A fresh environment whose eval sets have the benchmark's sizes (its own version, so its
    eval sets are cached apart from the default ones)."""
    from teachloop.environments import get_environment

    env = get_environment(cfg.env)
    base = env.version
    env.heldout_per_skill = cfg.heldout_per_skill
    env.ood_per_skill = max(cfg.ood_per_skill, 1)
    env.version = f"{base}+bench-h{cfg.heldout_per_skill}-o{max(cfg.ood_per_skill, 1)}"
    return env


def bench_graph(env: Any, skills: Sequence[str]) -> Any:
    """The environment's skill graph cut down to `skills` (plus their topic and domain), with
    prerequisites outside the cut dropped."""
    from teachloop.skills.graph import SkillGraph

    full = {s.id: s for s in env.skill_graph()}
    unknown = [s for s in skills if s not in full or full[s].kind != "skill"]
    if unknown:
        raise ValueError(f"unknown skill(s) for {env.name}: {', '.join(unknown)}")
    keep: set[str] = set()
    for sid in skills:
        cur: str | None = sid
        while cur is not None:
            keep.add(cur)
            cur = full[cur].parent
    out = []
    for sid, s in full.items():
        if sid in keep:
            out.append(s.model_copy(update={"prerequisites": [p for p in s.prerequisites if p in keep]}))
    return SkillGraph(out)


def eval_sets(env: Any, cfg: BenchConfig) -> tuple[list[Problem], list[Problem], list[Problem]]:
    """(held-out, curve subset, OOD) problems of the benchmark's skills."""
    want = set(cfg.skills)
    heldout = [p for p in env.eval_set("heldout", cfg.heldout_per_skill) if p.skill_id in want]
    curve = [p for p in env.eval_set("heldout", cfg.curve_per_skill) if p.skill_id in want]
    ood = [p for p in env.eval_set("ood", cfg.ood_per_skill) if p.skill_id in want] if cfg.ood_per_skill else []
    return heldout, curve, ood


def probe_set(env: Any, graph: Any, cfg: BenchConfig) -> list[Problem]:
    """The teacher's diagnostic set: fresh generated problems over each skill's training levels,
    the same for every run, disjoint from the eval sets."""
    from teachloop.environments.base import generate_over_levels

    return [p for sid in cfg.skills for p in generate_over_levels(env, graph.skills[sid], cfg.probe_per_skill, "bench-probe")]


def resolve_student(cfg: BenchConfig, env: Any, log: Log) -> tuple[str, bool, dict[str, Any]]:
    """(what `load_student` gets, whether the tiny view applies, warm-start record)."""
    spec = cfg.student.strip()
    if spec == "tiny":
        from teachloop.training.tiny_bench import warm_tiny_student

        tiny = cfg.tiny if cfg.tiny.skills else cfg.tiny.model_copy(update={"skills": list(cfg.skills)})
        if not tiny.stop_skills:
            tiny = tiny.model_copy(update={"stop_skills": [s for s in cfg.targeted if s in tiny.skills]})
        path, meta = warm_tiny_student(env, tiny, cfg.cache_dir, log=log)
        return str(path), True, meta
    if spec == "tiny-raw" or spec.startswith("tiny-raw:"):
        seed = spec.split(":", 1)[1] if ":" in spec else "0"
        return f"tiny:{seed}", True, {"source": "random-init"}
    return spec, False, {}


def _load(student_ref: str, cfg: BenchConfig) -> Any:
    from teachloop.training.student import load_student

    if student_ref.startswith("tiny:"):
        from teachloop.training.tiny_bench import build_tiny_student

        return build_tiny_student(cfg.tiny, seed=int(student_ref.split(":", 1)[1]))
    return load_student(student_ref, cache_dir=cfg.cache_dir)


def _accuracy(evals: Sequence[SkillEval]) -> dict[str, float]:
    return {e.skill_id: e.accuracy for e in evals}


def _subset_accuracy(attempts: Sequence[Attempt], keep: set[str]) -> dict[str, float]:
    c: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in attempts:
        if a.problem_id in keep:
            c[a.skill_id][0] += 1
            c[a.skill_id][1] += int(a.pass_rate >= 1.0)
    return {s: k / n for s, (n, k) in c.items() if n}


def _eval(student: Any, view: TaskView, problems: list[Problem], split: str, cfg: BenchConfig, round: int):
    """Greedy eval of original problems through the view; attempts carry the original ids."""
    from teachloop.training.evaluate import evaluate

    shown = [view.to_student(p) for p in problems]
    back = {s.id: p.id for s, p in zip(shown, problems, strict=True)}
    out = evaluate(
        student,
        shown,
        view.reward(),
        round=round,
        split=split,
        batch_size=cfg.eval_batch_size,
        max_new_tokens=cfg.eval_max_new_tokens,
    )
    attempts = [a.model_copy(update={"problem_id": back[a.problem_id]}) for a in out.attempts]
    return out.per_skill, attempts, out.seconds


# ------------------------------------------------------------------------------------------ one run


def run_one(cfg: BenchConfig, strategy_name: str, seed: int, student_ref: str, tiny_view: bool) -> RunResult:
    """One strategy, one seed, the whole rollout budget."""
    import torch

    from teachloop.agents.strategies import StrategyContext, make_strategy
    from teachloop.agents.teacher import normalise_text
    from teachloop.training.grpo import train_round

    torch.set_num_threads(cfg.threads)
    env = bench_env(cfg)
    graph = bench_graph(env, cfg.skills)
    heldout, curve_set, ood = eval_sets(env, cfg)
    curve_ids = {p.id for p in curve_set}
    student = _load(student_ref, cfg)
    view = TaskView(tiny_view, env, cfg.partial_credit)
    reward = view.reward(train=True)
    base, teacher_spec = split_strategy(strategy_name, cfg.teachers)
    kwargs: dict[str, Any] = {}
    if base == "teacher":
        from teachloop.config import TeacherSettings
        from teachloop.skills.mastery import MasteryConfig
        from teachloop.teachers import make_teacher

        settings = TeacherSettings(model=teacher_spec or "procedural", seed=seed)
        kwargs = {"model": make_teacher(settings, env), "config": settings, "mastery": MasteryConfig(eval_split="probe")}
    strategy = make_strategy(base, **kwargs)
    probes = probe_set(env, graph, cfg) if strategy.needs_eval else []
    eval_keys = env.eval_keys()
    eval_texts = {normalise_text(p.prompt) for p in heldout + ood}
    rng = random.Random(f"bench/{strategy_name}/{seed}")
    wall: dict[str, float] = defaultdict(float)
    per_skill: dict[str, int] = defaultdict(int)
    per_level: dict[str, int] = defaultdict(int)
    passes, rollouts, groups, zero_groups, diag = 0.0, 0, 0, 0, 0
    result = RunResult(strategy=strategy_name, seed=seed)
    used_texts: set[str] = set()
    problems_known: dict[str, Problem] = {p.id: p for p in probes}

    def probe(round: int) -> None:
        nonlocal diag
        t0 = time.perf_counter()
        evals, attempts, _ = _eval(student, view, probes, "probe", cfg, round)
        strategy.observe_eval(round, evals, attempts)
        diag += len(probes)
        wall["diagnostic_eval"] += time.perf_counter() - t0

    def curve_point(steps: int) -> None:
        t0 = time.perf_counter()
        evals, _, _ = _eval(student, view, curve_set, "heldout", cfg, 0)
        result.curve.append(CurvePoint(rollouts=steps * cfg.rollouts_per_step, steps=steps, accuracy=_accuracy(evals)))
        wall["measure_eval"] += time.perf_counter() - t0

    if strategy.needs_eval:
        probe(0)
    steps_done = 0
    with tempfile.TemporaryDirectory(prefix="teachloop-bench-") as tmp:
        for r, k in enumerate(cfg.round_steps(), start=1):
            t0 = time.perf_counter()
            ctx = StrategyContext(
                env=env,
                graph=graph,
                skills=list(cfg.skills),
                round=r,
                progress=steps_done / cfg.total_steps,
                problems=problems_known,
                eval_keys=eval_keys,
                eval_texts=eval_texts,
                used_texts=used_texts,
            )
            n = k * cfg.grpo.prompts_per_step
            batch = strategy.next_batch(ctx, n, rng)
            wall["curriculum"] += time.perf_counter() - t0
            if len(batch) != n:
                raise RuntimeError(f"strategy {strategy_name} returned {len(batch)} problems, not {n}")
            for p in batch:
                per_skill[p.skill_id] += 1
                per_level[f"{p.skill_id}@{p.difficulty}"] += 1
            shown = [view.to_student(p) for p in batch]
            back = {s.id: p for s, p in zip(shown, batch, strict=True)}
            settings = cfg.grpo.model_copy(update={"steps": k, "seed": seed * 7919})
            t0 = time.perf_counter()
            out = train_round(student, shown, reward, settings, round=r, output_dir=Path(tmp) / "trainer")
            wall["train"] += time.perf_counter() - t0
            wall["train_trl"] += out.stats.get("seconds_per_step", 0.0) * out.stats.get("steps", 0.0)
            attempts = [a.model_copy(update={"problem_id": back[a.problem_id].id}) for a in out.attempts]
            for a in attempts:
                passes += sum(x >= 1.0 for x in a.rewards)
                rollouts += len(a.rewards)
            groups += int(out.stats.get("groups", 0))
            zero_groups += int(round(out.stats.get("frac_zero_variance_groups", 0.0) * out.stats.get("groups", 0)))
            problems_known = {p.id: p for p in probes} | {p.id: p for p in batch}
            t0 = time.perf_counter()
            strategy.observe(attempts)
            wall["curriculum"] += time.perf_counter() - t0
            steps_done += k
            if strategy.needs_eval:
                probe(r)
            last = steps_done >= cfg.total_steps
            if r % cfg.eval_every == 0 and not last:
                curve_point(steps_done)
        t0 = time.perf_counter()
        evals, attempts, _ = _eval(student, view, heldout, "heldout", cfg, 0)
        result.heldout = _accuracy(evals)
        result.curve.append(
            CurvePoint(rollouts=steps_done * cfg.rollouts_per_step, steps=steps_done, accuracy=_subset_accuracy(attempts, curve_ids))
        )
        if ood:
            evals, _, _ = _eval(student, view, ood, "ood", cfg, 0)
            result.ood = _accuracy(evals)
        wall["measure_eval"] += time.perf_counter() - t0
    result.wall = dict(wall)
    result.rollouts = rollouts
    result.problems_per_skill = dict(per_skill)
    result.problems_per_level = dict(sorted(per_level.items()))
    result.train_pass_rate = passes / rollouts if rollouts else 0.0
    result.zero_variance_groups = zero_groups / groups if groups else 0.0
    result.diagnostic_generations = diag
    result.strategy_state = _strategy_summary(strategy)
    return result


def _strategy_summary(strategy: Any) -> dict[str, Any]:
    state = strategy.state_dict()
    out: dict[str, Any] = {}
    for key in ("q", "level", "pass_rate", "counts"):
        if key in state:
            out[key] = state[key]
    if getattr(strategy, "cost", None):
        out["teacher_cost"] = dict(strategy.cost)
    return out


def _run_job(args: tuple[dict[str, Any], str, int, str, bool]) -> dict[str, Any]:
    cfg_json, name, seed, ref, tiny = args
    cfg = BenchConfig.model_validate(cfg_json)
    return run_one(cfg, name, seed, ref, tiny).model_dump(mode="json")


# ------------------------------------------------------------------------------------------ the bench


class BenchResult(Record):
    config: BenchConfig
    meta: dict[str, Any] = Field(default_factory=dict)
    start: dict[str, dict[str, float]] = Field(default_factory=dict, description="Start accuracy: split -> skill -> acc.")
    start_curve: dict[str, float] = Field(default_factory=dict)
    runs: list[RunResult] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)


def run_bench(cfg: BenchConfig, log: Log = print) -> BenchResult:
    import torch

    torch.set_num_threads(cfg.threads)
    t_start = time.perf_counter()
    env = bench_env(cfg)
    t0 = time.perf_counter()
    heldout, curve_set, ood = eval_sets(env, cfg)
    log(f"eval sets: {len(heldout)} held-out, {len(ood)} OOD problems ({time.perf_counter() - t0:.1f}s)")
    ref, tiny_view, warm = resolve_student(cfg, env, log)
    student = _load(ref, cfg)
    view = TaskView(tiny_view, env)
    t0 = time.perf_counter()
    h_evals, h_attempts, _ = _eval(student, view, heldout, "heldout", cfg, 0)
    o_evals = _eval(student, view, ood, "ood", cfg, 0)[0] if ood else []
    start = {"heldout": _accuracy(h_evals), "ood": _accuracy(o_evals)}
    start_curve = _subset_accuracy(h_attempts, {p.id for p in curve_set})
    log(f"start ({time.perf_counter() - t0:.1f}s): " + ", ".join(f"{s} {a:.0%}" for s, a in start["heldout"].items()))
    n_params = student.num_parameters
    del student

    names = cfg.strategy_names()
    seeds = list(range(cfg.seed0, cfg.seed0 + cfg.seeds))
    jobs = [(name, seed) for seed in seeds for name in names]
    runs: list[RunResult] = []
    log(
        f"{len(jobs)} runs: {len(names)} strategies × {len(seeds)} seeds, {cfg.total_steps} GRPO steps "
        f"({cfg.total_steps * cfg.rollouts_per_step} rollouts) each, {cfg.jobs} at a time"
    )
    if cfg.jobs <= 1:
        for i, (name, seed) in enumerate(jobs, 1):
            t0 = time.perf_counter()
            runs.append(run_one(cfg, name, seed, ref, tiny_view))
            log(f"[{i}/{len(jobs)}] {name} seed {seed}: {_headline(runs[-1], cfg)} ({time.perf_counter() - t0:.0f}s)")
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        payload = cfg.model_dump(mode="json")
        with ProcessPoolExecutor(max_workers=cfg.jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = {pool.submit(_run_job, (payload, name, seed, ref, tiny_view)): (name, seed) for name, seed in jobs}
            for i, fut in enumerate(as_completed(futs), 1):
                run = RunResult.model_validate(fut.result())
                runs.append(run)
                log(f"[{i}/{len(jobs)}] {run.strategy} seed {run.seed}: {_headline(run, cfg)}")
        order = {j: i for i, j in enumerate(jobs)}
        runs.sort(key=lambda r: order[(r.strategy, r.seed)])
    result = BenchResult(config=cfg, start=start, start_curve=start_curve, runs=runs)
    result.meta = _meta(cfg, warm, n_params, time.perf_counter() - t_start)
    result.summary = summarize(result)
    return result


def _headline(run: RunResult, cfg: BenchConfig) -> str:
    h = _mean([run.heldout.get(s, 0.0) for s in cfg.targeted])
    o = _mean([run.ood.get(s, 0.0) for s in cfg.targeted]) if run.ood else float("nan")
    return f"held-out {h:.1%}, OOD {o:.1%} (targeted)"


def _meta(cfg: BenchConfig, warm: dict[str, Any], n_params: int, seconds: float) -> dict[str, Any]:
    versions: dict[str, str] = {}
    for mod in ("torch", "transformers", "trl", "reasoning_gym", "langgraph", "numpy"):
        with contextlib.suppress(Exception):
            versions[mod] = __import__(mod).__version__
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        versions["teachloop"] = version("teachloop")
    commit = None
    with contextlib.suppress(Exception):
        here = Path(__file__).resolve().parent
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=here,
            ).stdout.strip()
            or None
        )
        if (
            commit
            and subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=here,
            ).stdout.strip()
        ):
            commit += "+uncommitted-changes"
    load = None
    with contextlib.suppress(OSError):
        load = [round(x, 2) for x in os.getloadavg()]
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_end": load,
        },
        "versions": versions,
        "git_commit": commit,
        "student_parameters": n_params,
        "warm_start": warm,
        "seconds": round(seconds, 1),
        "command": " ".join(sys.argv),
    }


# ------------------------------------------------------------------------------------------ statistics

_T975 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
]


def t_critical(df: int) -> float:
    """Two-sided 95 % Student-t quantile (scipy-free)."""
    if df < 1:
        return float("nan")
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df


def mean_ci(xs: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the t-based 95 % interval); half-width NaN for fewer than 2 values."""
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return float("nan"), float("nan")
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float("nan")
    return m, t_critical(len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))


def _mean(xs: Sequence[float]) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def curve_metric(point: CurvePoint, skills: Sequence[str]) -> float:
    return _mean([point.accuracy.get(s, 0.0) for s in skills])


def rollouts_to_reach(curve: Sequence[tuple[int, float]], target: float) -> float | None:
    """First rollout count at which the curve reaches `target`, linearly interpolated between points;
    None if it never does."""
    prev: tuple[int, float] | None = None
    for x, y in curve:
        if y >= target - 1e-12:
            if prev is None or prev[1] >= y:
                return float(x)
            x0, y0 = prev
            return x0 + (x - x0) * (target - y0) / (y - y0)
        prev = (x, y)
    return None


def summarize(result: BenchResult) -> dict[str, Any]:
    cfg = result.config
    tg = [s for s in cfg.targeted if s in cfg.skills]
    by: dict[str, dict[int, RunResult]] = defaultdict(dict)
    for r in result.runs:
        by[r.strategy][r.seed] = r
    start_curve = _mean([result.start_curve.get(s, 0.0) for s in tg])

    def curve(run: RunResult) -> list[tuple[int, float]]:
        return [(0, start_curve)] + [(p.rollouts, curve_metric(p, tg)) for p in run.curve]

    base = by.get("random", {})
    start_h = _mean([result.start.get("heldout", {}).get(s, 0.0) for s in tg])
    start_o = _mean([result.start.get("ood", {}).get(s, 0.0) for s in tg])
    out: dict[str, Any] = {"targeted": tg, "start_heldout": start_h, "start_ood": start_o, "strategies": {}}
    for name, runs in by.items():
        seeds = sorted(runs)
        h = [_mean([runs[s].heldout.get(k, 0.0) for k in tg]) for s in seeds]
        o = [_mean([runs[s].ood.get(k, 0.0) for k in tg]) for s in seeds]
        allh = [_mean(list(runs[s].heldout.values())) for s in seeds]
        row: dict[str, Any] = {
            "seeds": seeds,
            "heldout": mean_ci(h),
            "ood": mean_ci(o),
            "heldout_all": mean_ci(allh),
            "gain": mean_ci([x - start_h for x in h]),
            "ood_gain": mean_ci([x - start_o for x in o]),
        }
        paired = [s for s in seeds if s in base]
        if base and name != "random":
            row["delta_heldout"] = mean_ci(
                [_mean([runs[s].heldout.get(k, 0.0) for k in tg]) - _mean([base[s].heldout.get(k, 0.0) for k in tg]) for s in paired]
            )
            row["delta_ood"] = mean_ci(
                [_mean([runs[s].ood.get(k, 0.0) for k in tg]) - _mean([base[s].ood.get(k, 0.0) for k in tg]) for s in paired]
            )
        ratios, reached = [], 0
        for s in paired:
            target = curve(base[s])[-1][1]
            own = rollouts_to_reach(curve(base[s]), target)
            got = rollouts_to_reach(curve(runs[s]), target)
            if got is not None and own:
                reached += 1
                ratios.append(got / own)
        row["reach_ratio"] = mean_ci(ratios) if ratios else (float("nan"), float("nan"))
        row["reach_median"] = statistics.median(ratios) if ratios else float("nan")
        row["reached"] = [reached, len(paired)]
        wall: dict[str, float] = defaultdict(float)
        for s in seeds:
            for k, v in runs[s].wall.items():
                wall[k] += v / len(seeds)
        row["wall"] = dict(wall)
        row["per_skill_heldout"] = {k: _mean([runs[s].heldout.get(k, 0.0) for s in seeds]) for k in cfg.skills}
        row["per_skill_ood"] = {k: _mean([runs[s].ood.get(k, 0.0) for s in seeds]) for k in cfg.skills}
        total = sum(sum(runs[s].problems_per_skill.values()) for s in seeds) or 1
        per_base: dict[str, int] = defaultdict(int)
        for s in seeds:
            for sid, c in runs[s].problems_per_skill.items():
                per_base[_base_skill(sid, cfg.skills)] += c
        row["share_per_skill"] = {k: per_base.get(k, 0) / total for k in cfg.skills}
        tw = wall.get("train", 0.0) + wall.get("curriculum", 0.0) + wall.get("diagnostic_eval", 0.0)
        row["curriculum_share"] = (wall.get("curriculum", 0.0) + wall.get("diagnostic_eval", 0.0)) / tw if tw else float("nan")
        row["zero_variance_groups"] = _mean([runs[s].zero_variance_groups for s in seeds])
        row["train_pass_rate"] = _mean([runs[s].train_pass_rate for s in seeds])
        row["curve"] = _mean_curve([curve(runs[s]) for s in seeds])
        out["strategies"][name] = row
    return out


def _base_skill(sid: str, skills: Sequence[str]) -> str:
    """A discovered sub-skill ('add.1digit.carry') counts for its seed skill."""
    for k in sorted(skills, key=len, reverse=True):
        if sid == k or sid.startswith(k + "."):
            return k
    return sid


def _mean_curve(curves: list[list[tuple[int, float]]]) -> list[list[float]]:
    pts: dict[int, list[float]] = defaultdict(list)
    for c in curves:
        for x, y in c:
            pts[x].append(y)
    return [[x, *mean_ci(ys)] for x, ys in sorted(pts.items())]


# ------------------------------------------------------------------------------------------ output


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def _pm(mc: Sequence[float], signed: bool = False) -> str:
    m, h = mc
    if m is None or math.isnan(m):
        return "–"
    s = f"{100 * m:+.1f}" if signed else f"{100 * m:.1f}"
    return s if math.isnan(h) else f"{s} ± {100 * h:.1f}"


def _setup_line(cfg: BenchConfig, meta: dict[str, Any]) -> str:
    """Training reward and warm start, the two things that decide how much there is to learn."""
    reward = (
        f"training reward: exact match, a wrong answer {cfg.partial_credit:g} × its share of digits right in place"
        if cfg.partial_credit
        else "training reward: exact match"
    )
    warm = meta.get("warm_start") or {}
    checks = warm.get("calibration") or []
    steps = (warm.get("stats") or {}).get("steps")
    if checks:  # only a stop-rule warm start records checks
        start = (
            f"warm start: SFT stopped at step {checks[-1]['step']}, where the stop skills' calibration accuracy "
            f"reached {100 * checks[-1]['accuracy']:.1f} % (rule: ≥ {100 * cfg.tiny.stop_accuracy:.0f} %)"
        )
    elif steps:
        start = f"warm start: SFT {steps:.0f} steps"
    else:
        start = "no SFT warm start"
    line = f"{reward}; {start}."
    if meta.get("merged_from"):
        line += (
            " Merged from "
            + "; ".join(f"{m['file']} (seeds {m['seeds'][0]}-{m['seeds'][-1]}, {m.get('date')})" for m in meta["merged_from"])
            + "."
        )
    return line


def markdown(result: BenchResult) -> str:
    cfg, sm, meta = result.config, result.summary, result.meta
    tg = ", ".join(sm["targeted"])
    lines = [
        f"# Curriculum benchmark: {cfg.env}, student `{cfg.student}`",
        "",
        f"{meta.get('date', '')} · {cfg.seeds} seed{'s' if cfg.seeds != 1 else ''} ({cfg.seed0}..{cfg.seed0 + cfg.seeds - 1}) · budget "
        f"{cfg.total_steps * cfg.rollouts_per_step} student rollouts per run ({cfg.total_steps} GRPO steps × "
        f"{cfg.grpo.prompts_per_step} prompts × {cfg.grpo.num_generations} completions, lr {cfg.grpo.resolved_learning_rate():g}, "
        f"T {cfg.grpo.temperature:g}) · a curriculum decision every {cfg.steps_per_round} steps · eval: "
        f"{cfg.heldout_per_skill} held-out + {cfg.ood_per_skill} OOD problems per skill",
        "",
        _setup_line(cfg, meta),
        "",
        f"Targeted skills (headline numbers average them): {tg}. Start: held-out {_pct(sm['start_heldout'])} %, "
        f"OOD {_pct(sm['start_ood'])} %. Accuracy in %, mean ± 95 % CI over seeds; Δ paired against random.",
        "",
        "| strategy | held-out | Δ vs random | OOD | Δ OOD vs random | all skills held-out | rollouts to random's final (× random's) | reached | wall s/run: train / curriculum / diagnostic eval (curriculum share) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in sm["strategies"].items():
        w = row["wall"]
        ratio = "1.00" if name == "random" else _ratio(row)
        lines.append(
            f"| {name} | {_pm(row['heldout'])} | {_pm(row.get('delta_heldout', (float('nan'), float('nan'))), True)} | "
            f"{_pm(row['ood'])} | {_pm(row.get('delta_ood', (float('nan'), float('nan'))), True)} | {_pm(row['heldout_all'])} | "
            f"{ratio} | {row['reached'][0]}/{row['reached'][1]} | "
            f"{w.get('train', 0):.0f} / {w.get('curriculum', 0):.1f} / {w.get('diagnostic_eval', 0):.1f} "
            f"({_pct(row.get('curriculum_share', float('nan')))} %) |"
        )
    rnd = sm["strategies"].get("random")
    if rnd:
        lines += [
            "",
            f"**random's gain on the targeted skills**: held-out {_pm(rnd['gain'], True)} points, "
            f"OOD {_pm(rnd['ood_gain'], True)} points (final − start).",
        ]
    lines += ["", "## Per skill (final held-out / OOD, mean over seeds, %)", ""]
    names = list(sm["strategies"])
    lines.append("| skill | start | " + " | ".join(names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for s in cfg.skills:
        cells = [f"{_pct(sm['strategies'][n]['per_skill_heldout'][s])} / {_pct(sm['strategies'][n]['per_skill_ood'][s])}" for n in names]
        st = f"{_pct(result.start.get('heldout', {}).get(s, float('nan')))} / {_pct(result.start.get('ood', {}).get(s, float('nan')))}"
        lines.append(f"| {s}{' *' if s in sm['targeted'] else ''} | {st} | " + " | ".join(cells) + " |")
    lines += ["", "## Where the rollouts went (share of training problems per skill, %)", ""]
    lines.append("| strategy | " + " | ".join(cfg.skills) + " | zero-variance groups | train pass rate |")
    lines.append("|---|" + "---|" * (len(cfg.skills) + 2))
    for n in names:
        row = sm["strategies"][n]
        lines.append(
            f"| {n} | "
            + " | ".join(_pct(row["share_per_skill"][s]) for s in cfg.skills)
            + f" | {_pct(row['zero_variance_groups'])} | {_pct(row['train_pass_rate'])} |"
        )
    lines += [
        "",
        "## Setup",
        "",
        "```json",
        json.dumps({"config": cfg.model_dump(mode="json"), "meta": meta}, indent=1, default=str)[:6000],
        "```",
        "",
    ]
    return "\n".join(lines)


def _ratio(row: dict[str, Any]) -> str:
    m, h = row["reach_ratio"]
    if m is None or math.isnan(m):
        return "never"
    return f"{m:.2f}" + ("" if math.isnan(h) else f" ± {h:.2f}") + f" (median {row['reach_median']:.2f})"


def plot(result: BenchResult, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for name, row in result.summary["strategies"].items():
        pts = row["curve"]
        xs = [p[0] for p in pts]
        ys = [100 * p[1] for p in pts]
        line = ax.plot(xs, ys, marker="o", ms=3, label=name, lw=2.2 if name.startswith("teacher") else 1.4)[0]
        hs = [p[2] for p in pts]
        if all(not math.isnan(h) for h in hs[1:]):
            ax.fill_between(
                xs,
                [y - 100 * h if not math.isnan(h) else y for y, h in zip(ys, hs)],
                [y + 100 * h if not math.isnan(h) else y for y, h in zip(ys, hs)],
                color=line.get_color(),
                alpha=0.12,
            )
    cfg = result.config
    ax.set_xlabel("student rollouts")
    ax.set_ylabel("held-out accuracy, targeted skills (%)")
    ax.set_title(f"{cfg.env}: student {cfg.student}, {cfg.seeds} seeds (mean, 95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_results(result: BenchResult, out_dir: Path, name: str | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M")
    name = name or f"bench-{cfg.env}-{cfg.student.replace(':', '-').replace('/', '_')}-{stamp}"
    paths = {"json": out_dir / f"{name}.json", "md": out_dir / f"{name}.md", "png": out_dir / f"{name}.png"}
    paths["json"].write_text(json.dumps(result.model_dump(mode="json"), indent=1, default=str))
    png = plot(result, paths["png"])
    md = markdown(result)
    if png is not None:
        md = md.replace("## Per skill", f"![accuracy vs rollouts]({png.name})\n\n## Per skill", 1)
    else:
        paths.pop("png")
    paths["md"].write_text(md)
    return paths


def load_result(path: Path) -> BenchResult:
    """A results JSON, read the way it was written."""
    from teachloop.config import ConfigError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not a readable results JSON ({e})") from None
    # Results written before these settings existed ran without them; the defaults would misreport them.
    data.get("config", {}).setdefault("partial_credit", 0.0)
    data.get("config", {}).get("tiny", {}).setdefault("stop_accuracy", None)
    return BenchResult.model_validate(data)


def rerender(path: Path) -> dict[str, Path]:
    """Recompute the summary of a results JSON and write its Markdown, JSON and plot again."""
    result = load_result(path)
    result.summary = summarize(result)
    return write_results(result, Path(path).parent, Path(path).stem)


# Config fields that may differ between result files of one benchmark.
_MERGE_FREE = {"seeds", "seed0", "jobs", "threads", "cache_dir"}


def merge_results(paths: Sequence[Path]) -> BenchResult:
    """One result from runs of the same benchmark over disjoint seeds (e.g. seeds 0-3 and 4-7 run
    apart): the settings, the start and the library versions must be the same, or the paired
    comparison would mix two experiments."""
    from teachloop.config import ConfigError

    if len(paths) < 2:
        raise ConfigError("--merge: give at least two results JSONs, comma-separated")
    results = [load_result(p) for p in paths]
    first, base = results[0], results[0].config.model_dump(mode="json", exclude=_MERGE_FREE)
    seeds: list[int] = []
    own_seeds = [sorted({r.seed for r in res.runs}) for res in results]
    for path, res, own in zip(paths, results, own_seeds, strict=True):
        cfg = res.config.model_dump(mode="json", exclude=_MERGE_FREE)
        diff = sorted(k for k in base if cfg.get(k) != base[k])
        if diff:
            raise ConfigError(f"--merge: {path} was run with other settings ({', '.join(diff)})")
        if res.start != first.start:
            raise ConfigError(f"--merge: {path} starts from another student (start accuracy differs)")
        if res.meta.get("versions") != first.meta.get("versions"):
            raise ConfigError(f"--merge: {path} was run with other library versions")
        if set(own) & set(seeds):
            raise ConfigError(f"--merge: {path} repeats seed(s) {', '.join(map(str, sorted(set(own) & set(seeds))))}")
        seeds += own
    seeds.sort()
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ConfigError(f"--merge: the seeds {seeds} leave a gap")
    config = first.config.model_copy(update={"seeds": len(seeds), "seed0": seeds[0]})
    meta = dict(first.meta)
    meta["date"] = ", ".join(dict.fromkeys(str(r.meta.get("date", "")) for r in results))
    meta["seconds"] = round(sum(float(r.meta.get("seconds", 0.0)) for r in results), 1)
    meta["merged_from"] = [
        {
            "file": Path(p).name,
            "date": r.meta.get("date"),
            "seeds": own,
            "machine": r.meta.get("machine"),
            "git_commit": r.meta.get("git_commit"),
            "command": r.meta.get("command"),
        }
        for p, r, own in zip(paths, results, own_seeds, strict=True)
    ]
    runs = [run for r in results for run in r.runs]
    order = {name: i for i, name in enumerate(config.strategy_names())}
    runs.sort(key=lambda r: (r.seed, order.get(r.strategy, len(order))))
    merged = BenchResult(config=config, meta=meta, start=first.start, start_curve=first.start_curve, runs=runs)
    merged.summary = summarize(merged)
    return merged


# ------------------------------------------------------------------------------------------ CLI


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


# BenchConfig fields whose flag has another name.
_FLAGS = {
    "heldout_per_skill": "heldout",
    "ood_per_skill": "ood",
    "curve_per_skill": "curve",
    "probe_per_skill": "probe",
    "eval_max_new_tokens": "max_completion_length",
    "tiny.sft.steps": "sft_steps",
    "tiny.stop_accuracy": "sft_stop_accuracy",
}


def bench_command(
    env: str = typer.Option("arithmetic", help="Task environment."),
    strategies: str = typer.Option(",".join(ALL_STRATEGIES), help="Comma-separated strategies: " + ", ".join(ALL_STRATEGIES) + "."),
    seeds: int = typer.Option(4, help="Seeds per strategy (paired across strategies)."),
    budget: int = typer.Option(25600, help="Student rollouts per run (GRPO steps × prompts per step × completions)."),
    student: str = typer.Option("tiny", help="tiny (SFT warm start, cached) | tiny-raw[:SEED] | smollm2 | a model dir."),
    teachers: str = typer.Option(
        "procedural", help="Teacher models for the 'teacher' strategy, comma-separated; several are compared side by side."
    ),
    skills: Optional[str] = typer.Option(None, help="Comma-separated skills in play (default: the tiny student's add/sub skills)."),
    targeted: Optional[str] = typer.Option(
        None, help="Comma-separated skills the headline numbers average (default: the tiny student's frontier skills)."
    ),
    steps_per_round: int = typer.Option(20, help="GRPO steps between curriculum decisions."),
    eval_every: int = typer.Option(1, help="Rounds between curve evaluations."),
    prompts_per_step: int = typer.Option(8, help="Problems per GRPO step."),
    num_generations: int = typer.Option(8, help="Completions per problem (GRPO group size)."),
    learning_rate: float = typer.Option(3e-5, help="GRPO learning rate."),
    partial_credit: float = typer.Option(
        0.5, help="Tiny student only: training reward of a wrong answer, times its share of digits right in place (0 = exact match)."
    ),
    temperature: float = typer.Option(1.0, help="Rollout sampling temperature (0.7 suits SmolLM2)."),
    max_completion_length: int = typer.Option(8, help="Tokens per rollout and per eval answer (the tiny student needs 8; SmolLM2 16)."),
    probe: int = typer.Option(48, help="Diagnostic probe problems per skill for the teacher's weakness report."),
    heldout: int = typer.Option(500, help="Held-out problems per skill (final evaluation)."),
    ood: int = typer.Option(500, help="OOD problems per skill (final evaluation)."),
    curve: int = typer.Option(150, help="Held-out problems per skill at each curve point."),
    sft_steps: Optional[int] = typer.Option(None, help="Tiny student: a fixed number of SFT warm-start steps instead of the stop rule."),
    sft_stop_accuracy: float = typer.Option(
        0.30, help="Tiny student: stop the SFT warm start when the targeted skills' mean calibration accuracy reaches this."
    ),
    jobs: int = typer.Option(1, help="Runs in parallel (worker processes, one torch thread each)."),
    seed0: int = typer.Option(0, help="First seed."),
    out: Path = typer.Option(Path("benchmarks/results"), help="Directory for the Markdown, JSON and plot."),
    name: Optional[str] = typer.Option(None, help="Base name of the result files (default bench-ENV-STUDENT-DATE)."),
    from_json: Optional[Path] = typer.Option(
        None, "--from-json", help="Re-render the Markdown and plot of an earlier results JSON next to it (no training)."
    ),
    merge: Optional[str] = typer.Option(
        None,
        help="Comma-separated results JSONs of one benchmark over disjoint seeds: write them as one result to --out/--name (no training).",
    ),
) -> None:
    """Compare curriculum strategies on equal student rollout budgets: accuracy, OOD, rollouts to
    random's final accuracy, wall time; writes Markdown + JSON + a plot."""
    from rich.console import Console

    console = Console()
    if from_json is not None:
        paths = rerender(from_json)
        console.print("wrote " + ", ".join(str(p) for p in paths.values()))
        return
    if merge is not None:
        result = merge_results([Path(p) for p in _csv(merge)])
        paths = write_results(result, out, name)
        console.print(markdown(result).split("## Per skill")[0])
        console.print("wrote " + ", ".join(str(p) for p in paths.values()))
        return
    cfg_data: dict[str, Any] = {
        "env": env,
        "strategies": _csv(strategies),
        "teachers": _csv(teachers) or ["procedural"],
        "seeds": seeds,
        "seed0": seed0,
        "budget": budget,
        "student": student,
        "steps_per_round": steps_per_round,
        "eval_every": eval_every,
        "heldout_per_skill": heldout,
        "ood_per_skill": ood,
        "curve_per_skill": curve,
        "jobs": jobs,
        "probe_per_skill": probe,
        "eval_max_new_tokens": max_completion_length,
        "partial_credit": partial_credit,
    }
    base = BenchConfig()
    cfg_data["grpo"] = base.grpo.model_copy(
        update={
            "prompts_per_step": prompts_per_step,
            "num_generations": num_generations,
            "learning_rate": learning_rate,
            "temperature": temperature,
            "max_completion_length": max_completion_length,
        }
    ).model_dump()
    if skills:
        cfg_data["skills"] = _csv(skills)
    if targeted:
        cfg_data["targeted"] = _csv(targeted)
    elif skills:
        cfg_data["targeted"] = [s for s in TINY_TARGETED if s in _csv(skills)] or _csv(skills)
    tiny = base.tiny.model_copy(update={"skills": cfg_data.get("skills", base.skills), "stop_accuracy": sft_stop_accuracy})
    if sft_steps is not None:
        tiny = tiny.model_copy(update={"sft": tiny.sft.model_copy(update={"steps": sft_steps}), "stop_accuracy": None})
    cfg_data["tiny"] = tiny.model_dump()
    from pydantic import ValidationError

    from teachloop.config import ConfigError

    bad = [s for s in cfg_data["strategies"] if s not in ALL_STRATEGIES]
    if bad:
        raise ConfigError(f"--strategies: unknown strategy {', '.join(bad)} (choose from: {', '.join(ALL_STRATEGIES)})")
    try:
        cfg = BenchConfig.model_validate(cfg_data)
    except ValidationError as e:  # one line naming the flag, e.g. "--budget: Input should be greater than 0"
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        flag = _FLAGS.get(field, field.rsplit(".", 1)[-1]).replace("_", "-")
        raise ConfigError(f"--{flag}: {err['msg'].removeprefix('Value error, ')}") from None
    result = run_bench(cfg, log=lambda m: console.print(m, highlight=False))
    paths = write_results(result, out, name)
    console.print(markdown(result).split("## Per skill")[0])
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
