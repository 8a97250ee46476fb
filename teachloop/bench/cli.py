"""`teachloop bench`: the command line of the curriculum benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from teachloop.agents.strategies import STRATEGIES, check_strategy_name
from teachloop.bench.config import TEST_SEED0, BenchConfig
from teachloop.bench.render import markdown, merge_results, rerender, write_results


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
    strategies: str = typer.Option(",".join(STRATEGIES), help="Comma-separated strategies: " + ", ".join(STRATEGIES) + "."),
    seeds: int = typer.Option(4, help="Seeds per strategy (paired across strategies)."),
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
        0.30,
        help="Tiny student: stop the SFT warm start when the frontier skills' (add/sub 1-digit, mixed) mean calibration accuracy reaches this.",
    ),
    jobs: int = typer.Option(1, help="Runs in parallel (worker processes, one torch thread each)."),
    seed0: Optional[int] = typer.Option(None, help="First seed (default: 0 for dev, 100000 for test)."),
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
        "seed0": seed0 if seed0 is not None else (TEST_SEED0 if split == "test" else 0),
        "split": split,
        "probe_for": probe_for,
        "subset": _csv(subset or ""),
        "subset_reason": subset_reason,
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
    tiny = base.tiny.model_copy(update={"skills": cfg_data.get("skills", base.skills), "stop_accuracy": sft_stop_accuracy})
    if sft_steps is not None:
        tiny = tiny.model_copy(update={"sft": tiny.sft.model_copy(update={"steps": sft_steps}), "stop_accuracy": None})
    cfg_data["tiny"] = tiny.model_dump()
    from pydantic import ValidationError

    from teachloop.config import ConfigError

    for s in cfg_data["strategies"]:
        try:
            check_strategy_name(s)
        except ValueError as e:
            raise ConfigError(f"--strategies: {e}") from None
    try:
        cfg = BenchConfig.model_validate(cfg_data)
    except ValidationError as e:  # one line naming the flag, e.g. "--budget: Input should be greater than 0"
        err = e.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        field = ".".join(str(x) for x in err["loc"])
        if not field:  # a check across fields names its field first: "subset_reason: ..."
            field, _, msg = msg.partition(": ")
        flag = _FLAGS.get(field, field.rsplit(".", 1)[-1]).replace("_", "-")
        raise ConfigError(f"--{flag}: {msg}") from None
    try:
        cfg.check_seeds()
    except ValueError as e:
        raise ConfigError(f"--{e}") from None
    from teachloop.bench.run import run_bench

    result = run_bench(cfg, log=lambda m: console.print(m, highlight=False))
    paths = write_results(result, out, name)
    console.print(markdown(result).split("## Per skill")[0])
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
