"""`teachloop bench` never loses a finished run: output paths and flags are checked before any
training, each finished run is written as it finishes, Ctrl-C or a crash leaves a partial result
that says what is missing, and `--resume` completes it to what an uninterrupted bench gives."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

from teachloop.bench import BenchConfig, BenchResult, CurvePoint, RunResult, summarize
from tests.conftest import run_teachloop

# The smallest real bench: 2 strategies (one reads the probe) × 1 seed, 2 rounds of 1 GRPO step.
SMALL = [
    "--strategies",
    "random,teacher",
    "--seeds",
    "1",
    "--budget",
    "32",
    "--student",
    "tiny-raw:3",
    "--skills",
    "add.1digit,sub.1digit",
    "--steps-per-round",
    "1",
    "--prompts-per-step",
    "4",
    "--num-generations",
    "4",
    "--heldout",
    "8",
    "--ood",
    "4",
    "--curve",
    "4",
    "--probe",
    "2",
]


def _lines(err: str) -> list[str]:
    return [ln for ln in err.strip().splitlines() if ln.strip()]


def _runs(path: Path) -> list[dict]:
    """The runs of a results JSON without their wall times (the only thing a rerun changes: the
    phases' and the teacher's seconds)."""
    runs = json.loads(path.read_text())["runs"]
    for r in runs:
        r.pop("wall")
        r["strategy_state"].get("teacher_cost", {}).pop("seconds", None)
    return runs


def _count_runs(monkeypatch, fail_on: int | None = None, fail_with: object = None) -> list[tuple[str, int]]:
    """Record each run the bench starts; on run number `fail_on` (1-based) raise `fail_with` or,
    for "SIGINT", deliver a real Ctrl-C to this process first."""
    import teachloop.bench.run as bench_run

    real = bench_run.run_one
    started: list[tuple[str, int]] = []

    def run_one(cfg, name, seed, ref, tiny):  # noqa: ANN001
        started.append((name, seed))
        if len(started) == fail_on:
            if fail_with == "SIGINT":
                os.kill(os.getpid(), signal.SIGINT)  # stops the episode at its first safe point
            else:
                raise fail_with  # type: ignore[misc]
        return real(cfg, name, seed, ref, tiny)

    monkeypatch.setattr(bench_run, "run_one", run_one)
    return started


def test_ctrl_c_leaves_a_partial_result_that_resume_completes_to_the_uninterrupted_one(tmp_path: Path, capsys, monkeypatch) -> None:
    full = tmp_path / "full"  # uninterrupted, in worker processes (each run is saved as it finishes there too)
    assert run_teachloop("bench", *SMALL, "--jobs", "2", "--out", str(full), "--name", "r") == 0
    assert "[2/2]" in capsys.readouterr().out

    part = tmp_path / "part"
    started = _count_runs(monkeypatch, fail_on=2, fail_with="SIGINT")
    code = run_teachloop("bench", *SMALL, "--out", str(part), "--name", "r")
    out, err = capsys.readouterr()
    assert code == 130, (out, err)
    assert "Traceback" not in out + err
    s0 = 100_000
    assert started == [("random", s0), ("teacher", s0)]
    assert f"1 of 2 runs are in {part / 'r.json'}" in err and "--resume" in err
    assert [(r["strategy"], r["seed"]) for r in _runs(part / "r.json")] == [("random", s0)]
    md = (part / "r.md").read_text()
    assert "(partial)" in md and "**Partial result: 1 of 2 runs finished.** Missing: teacher seed 100000." in md
    assert "| random |" in md  # the table of what finished
    assert "[1/2] random seed 100000" in out and "ETA" in out  # progress per finished run
    assert "run 1 of 2: random seed 100000 …" in out  # and which run is in flight, before it finishes
    assert "run 2 of 2: teacher seed 100000 …, ~" in out  # with the pace of the runs before it
    monkeypatch.undo()

    # a flag that changes the benchmark is refused: the runs would not be one comparison
    code = run_teachloop("bench", "--resume", str(part / "r.json"), "--budget", "64")
    _, err = capsys.readouterr()
    assert code == 2 and len(_lines(err)) == 1 and "--budget 32, not 64" in err, err

    # completed in this process (--jobs may change): the same runs as the uninterrupted bench's
    code = run_teachloop("bench", "--resume", str(part / "r.json"), "--jobs", "1")
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "1 already in the result, 1 to run" in out and "[2/2] teacher seed 100000" in out  # only the missing run
    assert _runs(part / "r.json") == _runs(full / "r.json")
    done, whole = json.loads((part / "r.json").read_text()), json.loads((full / "r.json").read_text())
    assert done["start"] == whole["start"] and done["start_curve"] == whole["start_curve"]
    assert done["meta"]["sessions"][0]["runs"] == 1
    md = (part / "r.md").read_text()
    assert "Partial" not in md and "(partial)" not in md
    # the plot and the table say which eval set they use
    assert "the first 4 held-out problems per skill" in md and "full held-out set (8 per skill)" in md

    code = run_teachloop("bench", "--resume", str(part / "r.json"))
    assert code == 0 and "nothing to resume" in capsys.readouterr().out


def test_a_crash_mid_bench_keeps_the_finished_runs(tmp_path: Path, capsys, monkeypatch) -> None:
    _count_runs(monkeypatch, fail_on=2, fail_with=RuntimeError("boom"))
    code = run_teachloop("bench", *SMALL, "--out", str(tmp_path), "--name", "r")
    out, err = capsys.readouterr()
    assert code == 1 and "boom" in err, (out, err)
    assert f"1 of 2 runs are in {tmp_path / 'r.json'}" in err
    assert [(r["strategy"], r["seed"]) for r in _runs(tmp_path / "r.json")] == [("random", 100_000)]
    assert "**Partial result: 1 of 2 runs finished.**" in (tmp_path / "r.md").read_text()
    # a partial result is not merged as if it were whole
    code = run_teachloop("bench", "--merge", f"{tmp_path / 'r.json'},{tmp_path / 'r.json'}", "--out", str(tmp_path / "m"))
    _, err = capsys.readouterr()
    assert code == 2 and "is partial (1 of 2 runs missing)" in err and "--resume" in err


def _never_train(monkeypatch) -> None:
    import teachloop.bench.run as bench_run

    def run_bench(*a, **k):  # noqa: ANN002, ANN003
        raise AssertionError("the bench started although its flags were refused")

    monkeypatch.setattr(bench_run, "run_bench", run_bench)


BAD = {
    "out-is-a-file": (["--out", "FILE"], ["--out", "is a file"]),
    "out-under-a-file": (["--out", "FILE/results"], ["--out", "lies under"]),
    "empty-strategies": (["--strategies", ""], ["--strategies", "empty"]),
    "comma-strategies": (["--strategies", ","], ["--strategies", "empty"]),
    "twice-strategies": (["--strategies", "random,sec,random"], ["--strategies", "random named twice"]),
    "empty-teachers": (["--teachers", ""], ["--teachers", "empty"]),
    "budget-fits-no-step": (["--budget", "10"], ["--budget", "no GRPO step"]),
    "budget-fits-no-step-after-probe": (["--budget", "70", "--strategies", "teacher"], ["--budget", "probe"]),
    "curve-over-heldout": (["--curve", "600"], ["--curve", "--heldout 500"]),
    "sft-steps-and-stop": (["--sft-steps", "5", "--sft-stop-accuracy", "0.2"], ["--sft-stop-accuracy", "--sft-steps"]),
    "name-taken": (["--name", "taken"], ["--name", "taken.json", "exists"]),
    "name-a-path": (["--name", "a/b"], ["--name", "not a file name"]),
    "from-json-and-flags": (["--from-json", "x.json", "--budget", "64"], ["--from-json", "--budget"]),
    "merge-and-resume": (["--merge", "a.json,b.json", "--resume", "c.json"], ["--merge", "--resume"]),
    "resume-and-out": (["--resume", "RES", "--name", "x"], ["--resume", "--name"]),
    "teacher-plan-unknown-key": (["--teacher-plan", "ready_mastery=0.5,slots=3"], ["--teacher-plan: slots", "not permitted"]),
    "teacher-plan-bad-value": (["--teacher-plan", "ready_mastery=2"], ["--teacher-plan: ready_mastery", "less than or equal to 1"]),
    "teacher-plan-not-key-value": (["--teacher-plan", "ready_mastery"], ["--teacher-plan", "not KEY=VALUE"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bench_flags_are_refused_before_any_training(case: str, tmp_path: Path, capsys, monkeypatch) -> None:
    _never_train(monkeypatch)
    (tmp_path / "FILE").write_text("x")
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    (out_dir / "taken.json").write_text("{}")
    args, needles = BAD[case]
    args = [a.replace("FILE", str(tmp_path / "FILE")).replace("RES", str(out_dir / "taken.json")) for a in args]
    if "--out" not in args and "--resume" not in args:
        args += ["--out", str(out_dir)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = run_teachloop("bench", *args)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = _lines(err)
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in out + err, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


NOTES = {
    "budget-not-whole-steps": (["--budget", "100", "--strategies", "random"], "--budget 100: runs use only whole GRPO steps"),
    "teachers-unused": (["--teachers", "procedural", "--strategies", "random"], "--teachers is unused"),
    "teacher-plan-unused": (["--teacher-plan", "ready_mastery=0.5", "--strategies", "random"], "--teacher-plan is unused"),
    "probe-unused": (["--probe", "8", "--strategies", "random"], "--probe is unused"),
    "partial-credit-unused": (["--partial-credit", "0.2", "--student", "smollm2", "--strategies", "random"], "--partial-credit is unused"),
    "sft-steps-unused": (["--sft-steps", "5", "--student", "tiny-raw:1", "--strategies", "random"], "--sft-steps is unused"),
    "subset-reason-unused": (["--subset-reason", "why", "--strategies", "random"], "--subset-reason is unused"),
    "eval-every-past-the-rounds": (
        ["--eval-every", "9", "--budget", "640", "--steps-per-round", "2", "--strategies", "random"],
        "--eval-every 9",
    ),
}


@pytest.mark.parametrize("case", sorted(NOTES))
def test_flags_that_would_change_silently_are_named_in_a_note(case: str, tmp_path: Path, capsys, monkeypatch) -> None:
    import teachloop.bench.run as bench_run

    def run_bench(*a, **k):  # noqa: ANN002, ANN003
        raise KeyboardInterrupt  # stop where training would start

    monkeypatch.setattr(bench_run, "run_bench", run_bench)
    args, needle = NOTES[case]
    code = run_teachloop("bench", *args, "--out", str(tmp_path))
    _, err = capsys.readouterr()
    assert code == 130
    assert any(ln.startswith("note: " + needle) for ln in _lines(err)), err


def test_default_names_are_unique_to_the_second_and_never_overwrite(tmp_path: Path, monkeypatch) -> None:
    from teachloop.bench import render
    from teachloop.config import ConfigError

    cfg = BenchConfig(strategies=["random"], seeds=1, skills=["add.1digit"])
    assert re.fullmatch(r"bench-arithmetic-tiny-\d{8}-\d{6}", render.default_name(cfg))
    monkeypatch.setattr(render, "default_name", lambda cfg: "bench-x")
    assert render.choose_name(tmp_path, None, cfg) == ("bench-x", None)
    (tmp_path / "bench-x.md").write_text("an earlier result")
    (tmp_path / "bench-x-2.json").write_text("{}")
    name, note = render.choose_name(tmp_path, None, cfg)
    assert name == "bench-x-3" and note and "bench-x-3" in note
    with pytest.raises(ConfigError, match="--name: .*bench-x.md exists"):
        render.choose_name(tmp_path, "bench-x", cfg)


def test_plot_names_the_eval_set_it_uses(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    from teachloop.bench import plot

    cfg = BenchConfig(strategies=["random", "sec"], seeds=1, skills=["add.1digit"], heldout_per_skill=500, curve_per_skill=150)
    runs = [
        RunResult(strategy=n, seed=0, heldout={"add.1digit": 0.5}, curve=[CurvePoint(rollouts=64, steps=1, accuracy={"add.1digit": 0.4})])
        for n in ("random", "sec")
    ]
    res = BenchResult(config=cfg, start={"heldout": {"add.1digit": 0.3}}, start_curve={"add.1digit": 0.26}, runs=runs[:1])
    res.summary = summarize(res)
    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    plot(res, tmp_path / "p.png")
    ax = figs[0].axes[0]
    assert "curve set" in ax.get_ylabel() and "150 problems per skill" in ax.get_ylabel()
    assert "all 500 held-out problems" in ax.get_title() and "partial: 1/2 runs" in ax.get_title()


@pytest.mark.slow
def test_ctrl_c_of_a_parallel_bench_keeps_finished_runs_and_stops_its_workers(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT to the process group, as a terminal sends it) while worker processes
    run: exit 130, the finished runs in the result, the message counting what the file holds, and
    no worker left running."""
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "teachloop.cli", "bench", *SMALL, "--strategies", "random", "--seeds", "3", "--jobs", "2"]
    args += ["--out", str(tmp_path), "--name", "r"]
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as o, err.open("w") as e:
        # (a shell's background job would ignore SIGINT; a terminal's foreground one does not)
        proc = subprocess.Popen(
            args, stdout=o, stderr=e, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
        )
        try:
            while "[1/3]" not in out.read_text() and proc.poll() is None:
                time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    text = err.read_text()
    assert code == 130, (code, text, out.read_text())
    runs = _runs(tmp_path / "r.json")
    assert 1 <= len(runs) < 3 and f"interrupted: {len(runs)} of 3 runs are in" in text and "Traceback" not in text, text
    assert "Partial result" in (tmp_path / "r.md").read_text()
    deadline = time.monotonic() + 30  # (multiprocessing's resource tracker leaves once its pipe closes)
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive_in_group(proc.pid)  # no worker outlived the bench


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of a process group that still run (zombies, left for an absent reaper, do not)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_the_bench_teacher_runs_the_dev_tuned_plan_and_records_it(tmp_path: Path, monkeypatch) -> None:
    """The bench's teacher plan (tuned on dev) reaches the episode's teacher; --teacher-plan
    overrides single fields over it; a result recorded before the field loads with the plan
    defaults of its time, not today's tuned ones."""
    import teachloop.bench.run as bench_run
    from teachloop.agents.policies import PlanConfig
    from teachloop.bench.render import load_result
    from teachloop.bench.run import episode_config

    cfg = BenchConfig()
    assert (cfg.teacher_plan.ready_mastery, cfg.teacher_plan.max_discoveries_per_round) == (0.25, 0)
    assert episode_config(cfg, "teacher", None, 3, "tiny", 2).teacher.plan == cfg.teacher_plan

    seen: list[BenchConfig] = []

    def run_bench(cfg, *a, **k):  # noqa: ANN001, ANN002, ANN003
        seen.append(cfg)
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_run, "run_bench", run_bench)
    run_teachloop("bench", "--teacher-plan", "max_discoveries_per_round=1", "--strategies", "teacher", "--out", str(tmp_path))
    assert seen[0].teacher_plan == cfg.teacher_plan.model_copy(update={"max_discoveries_per_round": 1})

    old = json.loads((Path(__file__).parent.parent / "benchmarks/results/bench-arithmetic-tiny-test-w3s2.json").read_text())
    assert "teacher_plan" not in old["config"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert load_result(tmp_path / "old.json").config.teacher_plan == PlanConfig()
