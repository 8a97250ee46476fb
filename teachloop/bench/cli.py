"""`teachloop bench`: the command line of the curriculum benchmark."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from teachloop.agents.strategies import STRATEGIES, check_strategy_name
from teachloop.bench.config import TEST_SEED0, BenchConfig, BenchResult
from teachloop.bench.render import (
    choose_name,
    load_result,
    markdown,
    merge_results,
    missing_runs,
    rerender,
    result_paths,
    write_results,
)
from teachloop.errors import err, q


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _key_values(text: str, flag: str) -> dict[str, Any]:
    """KEY=VALUE,... with JSON values (a bare word stays a string)."""
    from teachloop.config import ConfigError

    out: dict[str, Any] = {}
    for item in _csv(text):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"{flag}: {item!r} is not KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


# BenchConfig fields whose flag has another name.
_FLAGS = {
    "heldout_per_skill": "heldout",
    "ood_per_skill": "ood",
    "curve_per_skill": "curve",
    "probe_per_skill": "probe",
    "eval_max_new_tokens": "max_completion_length",
    "tiny.sft.steps": "sft_steps",
    "tiny.stop_accuracy": "sft_stop_accuracy",
    "grpo.keep_optimizer_state": "fresh_optimizer",
}


def bench_command(
    ctx: typer.Context,
    env: str = typer.Option("arithmetic", help="Task environment."),
    strategies: str = typer.Option(",".join(STRATEGIES), help="Comma-separated strategies: " + ", ".join(STRATEGIES) + "."),
    seeds: int = typer.Option(4, help="GRPO seeds per strategy and warm start (paired across strategies)."),
    warm_starts: int = typer.Option(
        1,
        help="Warm starts (SFT seeds), each with --seeds GRPO seeds per strategy; with 2 or more the CIs are t-intervals "
        "over the warm-start means (warm-start variance included).",
    ),
    sft_seed0: Optional[int] = typer.Option(None, help="First SFT seed of the warm starts (default: 0 for dev, 100000 for test)."),
    budget: int = typer.Option(25600, help="Student rollouts per run (GRPO steps × prompts per step × completions)."),
    student: str = typer.Option("tiny", help="tiny (SFT warm start, cached) | tiny-raw[:SEED] | smollm2 | a model dir."),
    teachers: str = typer.Option(
        "procedural", help="Teacher models for the 'teacher' strategy, comma-separated; several are compared side by side."
    ),
    skills: Optional[str] = typer.Option(None, help="Comma-separated skills in play (default: the tiny student's add/sub skills)."),
    subset: Optional[str] = typer.Option(
        None, help="Comma-separated skills reported next to the headline (which always averages every skill in play)."
    ),
    subset_reason: str = typer.Option("", help="Why the subset is reported (required with --subset)."),
    split: str = typer.Option("test", help="Eval split: dev (tuning; seeds below 100000) | test (recorded; seeds from 100000)."),
    probe_for: str = typer.Option(
        "own", help="Diagnostic probe for: own (the strategies that read it) | all (every strategy the same); charged to the budget."
    ),
    steps_per_round: int = typer.Option(20, help="GRPO steps between curriculum decisions."),
    step_strategy_steps: int = typer.Option(
        1, help="GRPO steps between decisions of SEC, DUMP and threshold (their papers: 1, every step)."
    ),
    eval_every: int = typer.Option(1, help="Rounds of --steps-per-round steps between curve evaluations."),
    prompts_per_step: int = typer.Option(8, help="Problems per GRPO step."),
    num_generations: int = typer.Option(8, help="Completions per problem (GRPO group size)."),
    learning_rate: float = typer.Option(3e-5, help="GRPO learning rate."),
    teacher_plan: Optional[str] = typer.Option(
        None,
        help="The teacher's plan settings over the bench's dev-tuned ones, as KEY=VALUE,... of PlanConfig (e.g. "
        "ready_mastery=0.5,max_discoveries_per_round=1 gives back teachloop run's defaults). Tune on --split dev.",
    ),
    fresh_optimizer: bool = typer.Option(
        False,
        "--fresh-optimizer",
        help="Start every round with a fresh AdamW (results recorded before 2026-11-30 12:00 did). Default: AdamW's "
        "moments carry over, so a strategy deciding every step trains like one deciding every 20 steps.",
    ),
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
        0.30,
        help="Tiny student: stop the SFT warm start when the frontier skills' (add/sub 1-digit, mixed) mean calibration accuracy reaches this.",
    ),
    jobs: int = typer.Option(1, help="Runs in parallel (worker processes, one torch thread each)."),
    seed0: Optional[int] = typer.Option(None, help="First seed (default: 0 for dev, 100000 for test)."),
    out: Path = typer.Option(Path("benchmarks/results"), help="Directory for the Markdown, JSON and plot."),
    name: Optional[str] = typer.Option(
        None, help="Base name of the result files (default bench-ENV-STUDENT-DATE-TIME; an existing result is never overwritten)."
    ),
    from_json: Optional[Path] = typer.Option(
        None, "--from-json", help="Re-render the Markdown and plot of an earlier results JSON next to it (no training)."
    ),
    merge: Optional[str] = typer.Option(
        None,
        help="Comma-separated results JSONs of one benchmark, over disjoint seeds, over the same seeds with other strategies, or over further warm starts (--sft-seed0, with --seed0 where their GRPO seeds nest): write them as one result to --out/--name (no training).",
    ),
    resume: Optional[Path] = typer.Option(
        None,
        "--resume",
        help="Complete a partial results JSON (a bench interrupted or crashed): run only its missing runs, with its settings.",
    ),
) -> None:
    """Compare curriculum strategies on equal student rollout budgets: accuracy, OOD, rollouts to
    random's final accuracy, wall time; writes Markdown + JSON + a plot."""
    from rich.console import Console

    from teachloop.config import ConfigError
    from teachloop.preflight import check_writable

    def check_writable_dir(path: Path, what: str) -> None:
        check_writable(path, what, is_dir=True)

    console = Console()
    explicit = _explicit(ctx)

    def note(text: str) -> None:
        err.print(f"[yellow]note:[/yellow] {escape(text)}")

    modes = [f for f in ("from_json", "merge", "resume") if f in explicit]
    if len(modes) > 1:
        raise ConfigError(f"--{_flag(modes[0])} and --{_flag(modes[1])} exclude each other; give one")
    if from_json is not None:
        _refuse_unused(explicit - {"from_json"}, "--from-json re-renders a recorded result next to it")
        paths = rerender(from_json)
        console.print("wrote " + ", ".join(str(p) for p in paths.values()))
        return
    if merge is not None:
        _refuse_unused(explicit - {"merge", "out", "name"}, "--merge joins recorded results")
        check_writable_dir(out, "--out")
        result = merge_results([Path(p) for p in _csv(merge)])
        base, taken = choose_name(out, name, result.config)
        if taken:
            note(taken)
        paths = write_results(result, out, base)
        console.print(markdown(result).split("## Per skill")[0])
        console.print("wrote " + ", ".join(str(p) for p in paths.values()))
        return
    prior = None
    if resume is not None:
        if explicit & {"out", "name"}:
            raise ConfigError(f"--resume completes {q(resume)} in place; drop --{_flag(sorted(explicit & {'out', 'name'})[0])}")
        prior = load_result(resume)
        if prior.config.legacy:
            raise ConfigError(f"--resume: {q(resume)} was recorded before the pre-registered headline; it cannot be extended")
        check_writable_dir(resume.parent, "--resume")
    else:
        check_writable_dir(out, "--out")
    if "strategies" in explicit and not _csv(strategies):
        raise ConfigError("--strategies: empty; name at least one of " + ", ".join(STRATEGIES))
    if "teachers" in explicit and not _csv(teachers):
        raise ConfigError("--teachers: empty; name at least one teacher model (default: procedural)")
    for flag, items in (("strategies", _csv(strategies)), ("teachers", _csv(teachers)), ("skills", _csv(skills or ""))):
        dup = sorted({x for x in items if items.count(x) > 1})
        if dup:
            raise ConfigError(f"--{flag}: {', '.join(dup)} named twice")
    cfg_data: dict[str, Any] = {
        "env": env,
        "strategies": _csv(strategies),
        "teachers": _csv(teachers) or ["procedural"],
        "seeds": seeds,
        "seed0": seed0 if seed0 is not None else (TEST_SEED0 if split == "test" else 0),
        "warm_starts": warm_starts,
        "sft_seed0": sft_seed0 if sft_seed0 is not None else (TEST_SEED0 if split == "test" else 0) if student.startswith("tiny") else None,
        "split": split,
        "probe_for": probe_for,
        "subset": _csv(subset or ""),
        "subset_reason": subset_reason,
        "budget": budget,
        "student": student,
        "steps_per_round": steps_per_round,
        "step_strategy_steps": step_strategy_steps,
        "eval_every": eval_every,
        "heldout_per_skill": heldout,
        "ood_per_skill": ood,
        "curve_per_skill": curve,
        "jobs": jobs,
        "probe_per_skill": probe,
        "eval_max_new_tokens": max_completion_length,
        "partial_credit": partial_credit,
    }
    base_cfg = BenchConfig()
    cfg_data["grpo"] = base_cfg.grpo.model_copy(
        update={
            "prompts_per_step": prompts_per_step,
            "num_generations": num_generations,
            "learning_rate": learning_rate,
            "keep_optimizer_state": not fresh_optimizer,
            "temperature": temperature,
            "max_completion_length": max_completion_length,
        }
    ).model_dump()
    if skills:
        cfg_data["skills"] = _csv(skills)
    if teacher_plan is not None:
        cfg_data["teacher_plan"] = base_cfg.teacher_plan.model_dump() | _key_values(teacher_plan, "--teacher-plan")
    tiny = base_cfg.tiny.model_copy(update={"skills": cfg_data.get("skills", base_cfg.skills), "stop_accuracy": sft_stop_accuracy})
    if sft_steps is not None:
        tiny = tiny.model_copy(update={"sft": tiny.sft.model_copy(update={"steps": sft_steps}), "stop_accuracy": None})
    cfg_data["tiny"] = tiny.model_dump()
    from pydantic import ValidationError

    for s in cfg_data["strategies"]:
        try:
            check_strategy_name(s)
        except ValueError as e:
            raise ConfigError(f"--strategies: {e}") from None
    try:
        cfg = BenchConfig.model_validate(cfg_data)
    except ValidationError as e:  # one line naming the flag, e.g. "--budget: Input should be greater than 0"
        err_ = e.errors()[0]
        msg = err_["msg"].removeprefix("Value error, ")
        field = ".".join(str(x) for x in err_["loc"])
        if not field:  # a check across fields names its field first: "subset_reason: ..."
            field, _, msg = msg.partition(": ")
        raise ConfigError(f"--{_field_flag(field)}: {msg}") from None
    try:
        cfg.check_seeds()
    except ValueError as e:  # "FIELD: message"
        field, _, msg = str(e).partition(": ")
        raise ConfigError(f"--{_field_flag(field)}: {msg}") from None
    if prior is not None:
        cfg = _resumed_config(prior.config, cfg, explicit, resume)
    notes = _check_flags(cfg, explicit)
    if prior is not None:
        missing = missing_runs(prior)
        if not missing:
            console.print(f"{q(resume)} holds all {len(prior.runs)} runs; nothing to resume")
            return
        paths = result_paths(resume.parent, resume.stem)
    else:
        base, taken = choose_name(out, name, cfg)
        notes += [taken] if taken else []
        paths = result_paths(out, base)
    for text in notes:  # after every refusal: a note is for a bench that runs
        note(text)
    from teachloop.bench.run import run_bench
    from teachloop.interrupt import Interrupted

    latest: list[BenchResult] = []  # the result as run_bench holds it
    written: list[int] = []  # runs in the files as last written whole

    def save(result: BenchResult) -> None:
        latest[:] = [result]
        write_results(result, paths["json"].parent, paths["json"].stem)
        written[:] = [len(result.runs)]

    def kept() -> str:
        if latest and (not written or written[0] != len(latest[0].runs)):
            with contextlib.suppress(Exception, KeyboardInterrupt):  # a save the stop cut short
                save(latest[0])
        if not written:
            return "nothing was written (no run had started)"
        return (
            f"{written[0]} of {len(cfg.all_runs())} runs are in {q(paths['json'])}; complete it with "
            f"`teachloop bench --resume {q(paths['json'])}`"
        )

    try:
        result = run_bench(cfg, log=lambda m: console.print(m, highlight=False), prior=prior, save=save)
    except (Interrupted, KeyboardInterrupt):
        err.print(f"interrupted: {escape(kept())}")
        raise typer.Exit(130) from None
    except BaseException:
        if latest:
            err.print(f"the bench stopped: {escape(kept())}")
        raise
    console.print(markdown(result, paths["json"]).split("## Per skill")[0])
    console.print("wrote " + ", ".join(str(p) for p in paths.values() if p.exists()))


def _explicit(ctx: typer.Context) -> set[str]:
    """The parameters the user gave (on the command line or through the environment)."""
    out = set()
    for p in ctx.command.params:
        src = ctx.get_parameter_source(p.name) if p.name else None
        if src is not None and src.name in ("COMMANDLINE", "ENVIRONMENT"):
            out.add(p.name)
    return out


def _flag(param: str) -> str:
    return param.replace("_", "-")


def _field_flag(field: str) -> str:
    """The flag of a BenchConfig field (dotted for nested settings)."""
    if field.startswith("teacher_plan."):
        return f"teacher-plan: {field.removeprefix('teacher_plan.')}"
    return _flag(_param(field))


def _param(field: str) -> str:
    """The CLI parameter that sets a BenchConfig field (dotted for nested settings)."""
    if field.startswith("teacher_plan."):
        return "teacher_plan"
    return _FLAGS.get(field, field.rsplit(".", 1)[-1])


def _refuse_unused(given: set[str], what: str) -> None:
    from teachloop.config import ConfigError

    if given:
        flags = ", ".join(f"--{_flag(g)}" for g in sorted(given))
        raise ConfigError(f"{what}; {flags} would be ignored, drop {'it' if len(given) == 1 else 'them'}")


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# BenchConfig fields that may change when a partial result is completed.
_RESUME_FREE = {"jobs", "threads", "cache_dir"}


def _resumed_config(stored: BenchConfig, given: BenchConfig, explicit: set[str], path: Path) -> BenchConfig:
    """The stored config of the result being completed; a flag given now that asks for another
    value is refused (the runs would not be one benchmark). Only --jobs may change."""
    from teachloop.config import ConfigError

    old = _flat(stored.model_dump(mode="json", exclude=_RESUME_FREE))
    new = _flat(given.model_dump(mode="json", exclude=_RESUME_FREE))
    for field in sorted(set(old) | set(new)):
        flag = _param(field)
        if old.get(field) != new.get(field) and flag in explicit:
            raise ConfigError(
                f"--resume: {q(path)} was run with --{_flag(flag)} {_show(old.get(field))}, not {_show(new.get(field))}; "
                "drop the flag to complete it as it was run"
            )
    return stored.model_copy(update={"jobs": given.jobs if "jobs" in explicit else stored.jobs})


def _show(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list) else str(v)


def _check_flags(cfg: BenchConfig, explicit: set[str]) -> list[str]:
    """Flags whose value would silently change or be ignored: refused when the bench cannot do what
    they ask, else returned as notes to print."""
    from teachloop.config import ConfigError

    notes = []
    try:
        used = cfg.generations_used()
    except ValueError as e:
        raise ConfigError(f"--{e}; raise --budget or lower --prompts-per-step/--num-generations/--probe") from None
    short = {n: u for n, u in used.items() if u < cfg.budget}
    if short and "budget" in explicit:  # (the default budget is whole steps; a probe's remainder is by design)
        notes.append(
            f"--budget {cfg.budget}: runs use only whole GRPO steps of {cfg.rollouts_per_step} rollouts (plus probes): "
            + ", ".join(f"{n} {u}" for n, u in short.items())
            + " generations per run"
        )
    if cfg.curve_per_skill > cfg.heldout_per_skill:
        raise ConfigError(
            f"--curve: {cfg.curve_per_skill} is more than --heldout {cfg.heldout_per_skill} (the curve set is a prefix of the held-out set)"
        )
    for flag in ("teachers", "teacher_plan"):
        if flag in explicit and "teacher" not in cfg.strategies:
            notes.append(f"--{_flag(flag)} is unused: no 'teacher' strategy in --strategies")
    if "probe" in explicit and not any(cfg.probe_size(n) for n in cfg.strategy_names()):
        notes.append("--probe is unused: no strategy reads the diagnostic probe (only 'teacher', or any with --probe-for all)")
    for flag in ("partial_credit", "sft_steps", "sft_stop_accuracy"):
        warm_only = flag.startswith("sft")
        applies = cfg.student == "tiny" if warm_only else cfg.student == "tiny" or cfg.student.startswith("tiny-raw")
        if flag in explicit and not applies:
            what = "the tiny student's SFT warm start (--student tiny)" if warm_only else "the tiny student"
            notes.append(f"--{_flag(flag)} is unused: it applies to {what} only")
    if "sft_stop_accuracy" in explicit and "sft_steps" in explicit:
        raise ConfigError("--sft-stop-accuracy: a fixed --sft-steps warm start has no stop rule; give one of the two")
    if cfg.warm_starts > 1 and not (cfg.student == "tiny" or cfg.student.startswith("tiny-raw")):
        raise ConfigError(f"--warm-starts: student {cfg.student} has no warm start to vary (only tiny and tiny-raw have one)")
    if "sft_seed0" in explicit and not (cfg.student == "tiny" or cfg.student.startswith("tiny-raw")):
        notes.append("--sft-seed0 is unused: it applies to the tiny student only")
    if "subset_reason" in explicit and not cfg.subset:
        notes.append("--subset-reason is unused without --subset")
    rounds = min(len(cfg.schedule(cfg.probe_size(n))) for n in cfg.strategy_names())
    if cfg.eval_every >= rounds and rounds > 1:
        notes.append(f"--eval-every {cfg.eval_every}: a run has {rounds} rounds, so its curve is only the start and the final point")
    if cfg.jobs > len(cfg.all_runs()):
        notes.append(f"--jobs {cfg.jobs}: only {len(cfg.all_runs())} runs, so {len(cfg.all_runs())} at a time")
    return notes
