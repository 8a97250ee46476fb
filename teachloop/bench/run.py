"""Bench runs: each (strategy, seed) is one teaching episode (`teachloop.episode.Episode`, the loop
`teachloop run` uses) with the bench's options, in a temporary run dir; `RunStats` is its
per-round hook and turns the rounds into a `RunResult`. `run_bench` evaluates the shared start
once, runs every episode (in worker processes with `jobs` > 1) and summarises them."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from teachloop.bench.config import BenchConfig, BenchResult, CurvePoint, Log, RunResult, WarmStart, split_strategy
from teachloop.bench.parts import TaskView, bench_env, bench_graph, eval_sets, load_bench_student, probe_set, resolve_students
from teachloop.bench.stats import _mean, summarize
from teachloop.skills.records import Attempt, Problem, SkillEval, is_correct


def _accuracy(evals: Sequence[SkillEval]) -> dict[str, float]:
    return {e.skill_id: e.accuracy for e in evals}


def _subset_accuracy(attempts: Sequence[Attempt], keep: set[str]) -> dict[str, float]:
    c: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in attempts:
        if a.problem_id in keep:
            c[a.skill_id][0] += 1
            c[a.skill_id][1] += int(is_correct(a.pass_rate))
    return {s: k / n for s, (n, k) in c.items() if n}


def episode_config(cfg: BenchConfig, strategy: str, teacher: str | None, seed: int, student_ref: str, rounds: int) -> Any:
    """The run config of one bench episode: the bench's GRPO settings (seed `seed` × 7919 for
    every round), its eval sizes, a probe split feeding mastery, the teacher model to compare."""
    from teachloop.config import EvalConfig, RunConfig, TeacherSettings
    from teachloop.skills.mastery import MasteryConfig

    return RunConfig(
        env=cfg.env,
        student=student_ref,
        rounds=rounds,
        seed=seed,
        curriculum=strategy,
        cache_dir=cfg.cache_dir,
        teacher=TeacherSettings(model=teacher or "procedural", seed=seed, plan=cfg.teacher_plan),
        eval=EvalConfig(
            heldout_per_skill=cfg.heldout_per_skill,
            ood_per_skill=cfg.ood_per_skill,
            batch_size=cfg.eval_batch_size,
            max_new_tokens=cfg.eval_max_new_tokens,
        ),
        grpo=cfg.grpo.model_copy(update={"steps": cfg.steps_per_round, "seed": seed * 7919}),
        mastery=MasteryConfig(eval_split="probe"),
    )


class RunStats:
    """The bench's hook on one episode: counts where the rollouts went, takes a curve point on the
    held-out subset every `curve_steps` GRPO steps, and the final held-out and OOD evaluation.

    Budget accounting: every greedy probe generation that precedes a decision (the probe before
    round 1 and after each round but the last) is charged like a rollout; the probe after the last
    round, which no decision reads, is not. Curve points carry both counts."""

    def __init__(
        self,
        cfg: BenchConfig,
        name: str,
        seed: int,
        sets: tuple[list[Problem], list[Problem], list[Problem]],
        probes: int,
        schedule: list[int],
    ):
        self.cfg = cfg
        self.heldout, self.curve_set, self.ood = sets
        self.result = RunResult(strategy=name, seed=seed)
        self.wall: dict[str, float] = defaultdict(float)
        self.per_skill: dict[str, int] = defaultdict(int)
        self.per_level: dict[str, int] = defaultdict(int)
        self.passes, self.rollouts, self.groups, self.zero_groups = 0, 0, 0, 0
        self.probes = probes
        self.schedule = schedule

    def generations(self, rounds: int, steps: int) -> int:
        """Student generations after `rounds` rounds of `steps` GRPO steps in all."""
        return steps * self.cfg.rollouts_per_step + rounds * self.probes

    def on_round(self, ep: Any, out: Any) -> None:
        cfg = self.cfg
        want = self.schedule[out.round - 1] * cfg.grpo.prompts_per_step
        if len(out.batch) != want:
            raise RuntimeError(f"strategy {self.result.strategy} returned {len(out.batch)} problems, not {want}")
        for p in out.batch:
            self.per_skill[p.skill_id] += 1
            self.per_level[f"{p.skill_id}@{p.difficulty}"] += 1
        for a in out.train.attempts:
            self.passes += sum(map(is_correct, a.rewards))
            self.rollouts += len(a.rewards)
        stats = out.train.stats
        self.groups += int(stats.get("groups", 0))
        self.zero_groups += int(round(stats.get("frac_zero_variance_groups", 0.0) * stats.get("groups", 0)))
        w = out.result.wall_time
        self.wall["curriculum"] += w.get("teach", 0.0)
        self.wall["train"] += w.get("train", 0.0)
        self.wall["train_trl"] += stats.get("seconds_per_step", 0.0) * stats.get("steps", 0.0)
        if self.probes:
            self.wall["diagnostic_eval"] += w.get("evaluate", 0.0)
        before = out.steps_done - self.schedule[out.round - 1]
        if out.steps_done // cfg.curve_steps > before // cfg.curve_steps and not out.last:
            t0 = time.perf_counter()
            evals, _, _ = ep.evaluate(0, {"heldout": self.curve_set})
            self.result.curve.append(
                CurvePoint(
                    rollouts=out.steps_done * cfg.rollouts_per_step,
                    generations=self.generations(out.round, out.steps_done),
                    steps=out.steps_done,
                    accuracy=_accuracy(evals),
                )
            )
            self.wall["measure_eval"] += time.perf_counter() - t0

    def finish(self, ep: Any) -> RunResult:
        """The final evaluation (full held-out set, its curve subset, OOD) and the run's record."""
        cfg, result = self.cfg, self.result
        steps, rounds = sum(self.schedule), len(self.schedule)
        t0 = time.perf_counter()
        evals, attempts, _ = ep.evaluate(0, {"heldout": self.heldout})
        result.heldout = _accuracy(evals)
        curve_ids = {p.id for p in self.curve_set}
        result.curve.append(
            CurvePoint(
                rollouts=steps * cfg.rollouts_per_step,
                generations=self.generations(rounds, steps),
                steps=steps,
                accuracy=_subset_accuracy(attempts, curve_ids),
            )
        )
        if self.ood:
            result.ood = _accuracy(ep.evaluate(0, {"ood": self.ood})[0])
        self.wall["measure_eval"] += time.perf_counter() - t0
        result.wall = dict(self.wall)
        result.rollouts = self.rollouts
        result.decisions = rounds
        result.problems_per_skill = dict(self.per_skill)
        result.problems_per_level = dict(sorted(self.per_level.items()))
        result.train_pass_rate = self.passes / self.rollouts if self.rollouts else 0.0
        result.zero_variance_groups = self.zero_groups / self.groups if self.groups else 0.0
        result.diagnostic_generations = rounds * self.probes
        result.generations = result.rollouts + result.diagnostic_generations
        result.strategy_state = _strategy_summary(ep.strategy)
        return result


def run_key(run: RunResult) -> tuple[str, int, int]:
    """A run's place in the benchmark: (strategy, warm start, GRPO seed)."""
    return run.strategy, run.warm_start, run.seed


def _mean_acc(accs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per skill, the mean over the warm starts (one warm start: its own, exactly)."""
    if len(accs) == 1:
        return dict(accs[0])
    return {k: _mean([a.get(k, 0.0) for a in accs]) for k in accs[0]}


def _mean_start(starts: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {split: _mean_acc([s[split] for s in starts]) for split in starts[0]}


def run_one(cfg: BenchConfig, strategy_name: str, seed: int, student_ref: str, tiny_view: bool) -> RunResult:
    """One strategy, one seed, the whole rollout budget: one episode."""
    import torch
    from rich.console import Console

    from teachloop.agents.strategies import STRATEGIES
    from teachloop.episode import Episode, EpisodeOptions
    from teachloop.rundir import RunDir

    torch.set_num_threads(cfg.threads)
    env = bench_env(cfg)
    graph = bench_graph(env, cfg.skills)
    heldout, curve_set, ood = eval_sets(env, cfg)
    base, teacher = split_strategy(strategy_name, cfg.teachers)
    probes = probe_set(env, graph, cfg) if STRATEGIES[base].needs_eval or cfg.probe_for == "all" else []
    schedule = cfg.schedule(len(probes), cfg.decision_steps(strategy_name))
    stats = RunStats(cfg, strategy_name, seed, (heldout, curve_set, ood), len(probes), schedule)
    options = EpisodeOptions(
        env=env,
        graph=graph,
        skills=list(cfg.skills),
        view=TaskView(tiny_view, env, cfg.partial_credit),
        load_student=lambda source: load_bench_student(source, cfg),
        diagnostic={"probe": probes} if probes else {},
        protected=heldout + ood,
        schedule=[(k, k * cfg.grpo.prompts_per_step) for k in schedule],
        rng_seed=f"bench/{strategy_name}/{seed}",
        exact_batches=True,
        teacher_checkpoints=False,
        on_round=stats.on_round,
    )
    with tempfile.TemporaryDirectory(prefix="teachloop-bench-") as tmp:
        run_cfg = episode_config(cfg, base, teacher, seed, student_ref, len(schedule))
        ep = Episode(run_cfg, RunDir(Path(tmp) / "run"), Console(quiet=True), options)
        ep.run()
        return stats.finish(ep)


def _strategy_summary(strategy: Any) -> dict[str, Any]:
    state = strategy.state_dict()
    out: dict[str, Any] = {}
    for key in ("q", "level", "pass_rate", "counts"):
        if key in state:
            out[key] = state[key]
    if getattr(strategy, "cost", None):
        out["teacher_cost"] = dict(strategy.cost)
    return out


class _Stop(BaseException):
    """A worker was told to stop (SIGTERM from the bench's main process)."""


_in_job = False


def _worker_init() -> None:
    """Workers leave Ctrl-C to the main process, which saves what finished and then stops them
    (SIGTERM): a run in flight unwinds (its temporary run dir is removed) and the worker exits."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        if _in_job:
            raise _Stop()
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)


def _run_job(args: tuple[dict[str, Any], str, int, str, bool, int]) -> dict[str, Any]:
    global _in_job
    cfg_json, name, seed, ref, tiny, warm = args
    cfg = BenchConfig.model_validate(cfg_json)
    _in_job = True
    try:
        return run_one(cfg, name, seed, ref, tiny).model_copy(update={"warm_start": warm}).model_dump(mode="json")
    except _Stop:
        os._exit(143)  # not back to the pool's loop, which would start the next queued run
    finally:
        _in_job = False


def _stop_workers(pool: Any) -> None:
    """Stop a process pool's workers now (Python 3.14 has a method for it; before, its processes)."""
    stop = getattr(pool, "terminate_workers", None)
    if stop is not None:
        stop()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()


def _start_eval(
    student: Any, view: TaskView, problems: list[Problem], split: str, cfg: BenchConfig
) -> tuple[list[SkillEval], list[Attempt]]:
    """Greedy eval of the start student, shared by every run (original ids kept)."""
    from teachloop.training.evaluate import evaluate

    shown = [view.to_student(p) for p in problems]
    back = {s.id: p.id for s, p in zip(shown, problems, strict=True)}
    out = evaluate(
        student, shown, view.reward(), round=0, split=split, batch_size=cfg.eval_batch_size, max_new_tokens=cfg.eval_max_new_tokens
    )
    return out.per_skill, [a.model_copy(update={"problem_id": back[a.problem_id]}) for a in out.attempts]


def run_bench(
    cfg: BenchConfig,
    log: Log = print,
    prior: BenchResult | None = None,
    save: Callable[[BenchResult], None] | None = None,
) -> BenchResult:
    """Evaluate the shared start, run every (strategy, seed) episode not already in `prior` (a
    partial result being completed) and summarise. `save` gets the result after the start and
    after each finished run, so an interruption or a crash loses only the runs in flight."""
    import torch

    from teachloop.config import ConfigError

    cfg.check_seeds()
    torch.set_num_threads(cfg.threads)
    t_start = time.perf_counter()
    env = bench_env(cfg)
    t0 = time.perf_counter()
    heldout, curve_set, ood = eval_sets(env, cfg)
    log(f"eval sets: {len(heldout)} held-out, {len(ood)} OOD problems ({time.perf_counter() - t0:.1f}s)")
    students = resolve_students(cfg, env, log)
    tiny_view = students[0][1]
    view = TaskView(tiny_view, env)
    warm: list[WarmStart] = []
    n_params = 0
    for sft_seed, (ref, _, record_) in zip(cfg.sft_seeds(), students, strict=True):
        student = load_bench_student(ref, cfg)
        t0 = time.perf_counter()
        h_evals, h_attempts = _start_eval(student, view, heldout, "heldout", cfg)
        o_evals = _start_eval(student, view, ood, "ood", cfg)[0] if ood else []
        start = {"heldout": _accuracy(h_evals), "ood": _accuracy(o_evals)}
        warm.append(
            WarmStart(
                sft_seed=sft_seed,
                student=ref,
                start=start,
                start_curve=_subset_accuracy(h_attempts, {p.id for p in curve_set}),
                record=record_,
            )
        )
        which = f"warm start {len(warm) - 1} (SFT seed {sft_seed}) " if cfg.warm_starts > 1 else ""
        log(f"{which}start ({time.perf_counter() - t0:.1f}s): " + ", ".join(f"{s} {a:.0%}" for s, a in start["heldout"].items()))
        n_params = student.num_parameters
        del student
    start, start_curve = _mean_start([w.start for w in warm]), _mean_acc([w.start_curve for w in warm])
    records = [w.record for w in warm]

    earlier: list[dict[str, Any]] = []
    if prior is not None:  # the runs kept must be paired with these: same starts, same libraries
        before = [(w.start, w.start_curve) for w in prior.warm] or [(prior.start, prior.start_curve)]
        if before != [(w.start, w.start_curve) for w in warm]:
            raise ConfigError("--resume: the result starts from another student (its start accuracy differs from this one's)")
        now = _meta(cfg, records, n_params, 0.0)["versions"]
        if prior.meta.get("versions") != now:
            diff = sorted(k for k in set(now) | set(prior.meta.get("versions", {})) if now.get(k) != prior.meta["versions"].get(k))
            raise ConfigError(f"--resume: the result was run with other library versions ({', '.join(diff)})")
        earlier = list(prior.meta.get("sessions", [])) + [
            {k: prior.meta.get(k) for k in ("date", "seconds", "git_commit", "command")} | {"runs": len(prior.runs)}
        ]
    jobs = cfg.all_runs()
    order = {j: i for i, j in enumerate(jobs)}
    runs: list[RunResult] = [r for r in (prior.runs if prior else []) if run_key(r) in order]
    have = {run_key(r) for r in runs}
    todo = [j for j in jobs if j not in have]
    result = BenchResult(config=cfg, start=start, start_curve=start_curve, warm=warm, runs=runs)

    def record(run: RunResult | None = None) -> None:
        if run is not None:
            result.runs.append(run)
            result.runs.sort(key=lambda r: order[run_key(r)])
        result.meta = _meta(cfg, records, n_params, time.perf_counter() - t_start + sum(float(e.get("seconds") or 0) for e in earlier))
        if earlier:
            result.meta["sessions"] = earlier
        result.summary = summarize(result)
        if save is not None:
            save(result)

    names = cfg.strategy_names()
    warm_part = f"{cfg.warm_starts} warm starts × " if cfg.warm_starts > 1 else ""
    log(
        f"{len(jobs)} runs: {len(names)} strateg{'ies' if len(names) != 1 else 'y'} × {warm_part}{cfg.seeds} seed"
        f"{'s' if cfg.seeds != 1 else ''}{' each' if warm_part else ''} ({cfg.split} split), {cfg.budget} student generations each (probe for: "
        f"{cfg.probe_for}), {cfg.jobs} at a time" + (f"; {len(have)} already in the result, {len(todo)} to run" if have else "")
    )
    record()
    progress = Progress(len(jobs), len(have), log, cfg.warm_starts)
    if cfg.jobs <= 1:
        from teachloop.interrupt import graceful_sigint

        with graceful_sigint():  # the first Ctrl-C stops the run in flight at a safe point
            for name, w, seed in todo:
                progress.start(name, w, seed)  # a run takes minutes: say which one is in flight
                t0 = time.perf_counter()
                run = run_one(cfg, name, seed, warm[w].student, tiny_view)
                run.warm_start = w
                record(run)
                progress.done(run, _headline(run, cfg), time.perf_counter() - t0)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        payload = cfg.model_dump(mode="json")
        pool = ProcessPoolExecutor(max_workers=cfg.jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init)
        futs = {pool.submit(_run_job, (payload, name, seed, warm[w].student, tiny_view, w)): (name, w, seed) for name, w, seed in todo}
        failed: BaseException | None = None
        try:
            for fut in as_completed(futs):
                try:
                    run = RunResult.model_validate(fut.result())
                except Exception as e:  # keep the runs that still finish; report the first failure after
                    failed = failed or e
                    for f in futs:
                        f.cancel()
                    continue
                record(run)
                progress.done(run, _headline(run, cfg))
        except BaseException:  # Ctrl-C: every finished run is saved; the runs in flight are stopped
            _stop_workers(pool)  # (before shutdown, which forgets the processes)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
        if failed is not None:
            raise failed
    return result


class Progress:
    """One line per finished run: done k/n, the run's headline, elapsed time and an estimate of the
    time left (from the pace of the runs finished in this session)."""

    def __init__(self, total: int, done: int, log: Log, warm_starts: int = 1):
        self.total, self.done_before, self.k, self.log, self.warm_starts = total, done, done, log, warm_starts
        self.t0 = time.perf_counter()

    def start(self, name: str, warm_start: int, seed: int) -> None:
        warm = f" warm start {warm_start}" if self.warm_starts > 1 else ""
        pace = ""
        if self.k > self.done_before:  # from the runs finished in this session
            pace = f", ~{_hms((time.perf_counter() - self.t0) / (self.k - self.done_before))} a run"
        self.log(f"run {self.k + 1} of {self.total}: {name}{warm} seed {seed} …{pace}")

    def done(self, run: RunResult, headline: str, seconds: float | None = None) -> None:
        self.k += 1
        elapsed = time.perf_counter() - self.t0
        left = self.total - self.k
        eta = elapsed / (self.k - self.done_before) * left
        took = f" ({seconds:.0f}s)" if seconds is not None else ""
        tail = f"elapsed {_hms(elapsed)}" + (f", ETA {_hms(eta)}" if left else ", all runs done")
        warm = f" warm start {run.warm_start}" if self.warm_starts > 1 else ""
        self.log(f"[{self.k}/{self.total}] {run.strategy}{warm} seed {run.seed}: {headline}{took} · {tail}")


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


def _headline(run: RunResult, cfg: BenchConfig) -> str:
    skills = cfg.headline or cfg.skills
    h = _mean([run.heldout.get(s, 0.0) for s in skills])
    o = _mean([run.ood.get(s, 0.0) for s in skills]) if run.ood else float("nan")
    return f"{cfg.split} held-out {h:.1%}, OOD {o:.1%} (headline: {len(skills)} skills)"


def _meta(cfg: BenchConfig, warm: Sequence[dict[str, Any]], n_params: int, seconds: float) -> dict[str, Any]:
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
        "warm_start": warm[0],
        **({"warm_starts": list(warm)} if len(warm) > 1 else {}),
        "seconds": round(seconds, 1),
        "command": " ".join(sys.argv),
    }
