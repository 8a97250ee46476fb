"""One writer per run dir: an OS file lock held by `run`/`resume`, released by the kernel when
the holder dies (kill -9 included); `inspect` and `report` still read a locked run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from teachloop.rundir import RunDir, RunDirError
from tests.test_episode import CLI, ENV, check_run, cli, jsonl

SMOKE = ["--student", "tiny", "--profile", "smoke"]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> list[str]:
    """Smoke, smaller still: the lock is what these tests exercise, not training."""
    f = tmp_path_factory.mktemp("cfg") / "small.yaml"
    f.write_text("eval: {heldout_per_skill: 2, ood_per_skill: 0}\ngrpo: {steps: 1}\n")
    return [*SMOKE, "--config", str(f)]


def _one_line(p: subprocess.CompletedProcess | tuple[int, str], *needles: str) -> None:
    rc, stderr = (p.returncode, p.stderr) if isinstance(p, subprocess.CompletedProcess) else p
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in stderr, (rc, stderr)
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def one_round_run(tmp_path_factory, small) -> Path:
    run = tmp_path_factory.mktemp("lock") / "run"
    p = cli("run", *small, "--rounds", "1", "--run-dir", str(run))
    assert p.returncode == 0, p.stderr[-3000:]
    return run


def test_a_held_lock_refuses_a_second_writer_in_process(tmp_path):
    rd = RunDir(tmp_path / "r")
    rd.create()
    with rd.writer_lock():
        assert rd.lock_file.read_text().strip() == str(os.getpid())
        with pytest.raises(RunDirError, match=f"pid {os.getpid()}"):
            with RunDir(rd.root).writer_lock():
                pass
    with rd.writer_lock():  # released on exit: taken again at once
        pass


def test_locked_run_dir_refuses_run_and_resume_but_not_inspect_or_report(one_round_run, tmp_path):
    """While another process holds the lock, run and resume exit 2 naming its pid; the readers work."""
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from teachloop.rundir import RunDir\nimport sys,time\nwith RunDir({str(one_round_run)!r}).writer_lock():\n"
         "    print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        pid = f"pid {holder.pid}"
        _one_line(cli("resume", str(one_round_run), "--rounds", "2", "--force"), str(one_round_run), pid)
        _one_line(cli("run", *SMOKE, "--rounds", "2", "--run-dir", str(one_round_run)), str(one_round_run), pid)
        p = cli("inspect", str(one_round_run))
        assert p.returncode == 0 and "add" in p.stdout, p.stderr[-2000:]
        out = tmp_path / "report.html"
        p = cli("report", str(one_round_run), "--out", str(out))
        assert p.returncode == 0 and out.stat().st_size > 1000, p.stderr[-2000:]
        assert [r["round"] for r in jsonl(one_round_run / "rounds.jsonl")] == [1]
    finally:
        holder.kill()
        holder.wait()


def test_two_concurrent_resumes_exactly_one_runs(one_round_run):
    procs = [
        subprocess.Popen([*CLI, "resume", str(one_round_run), "--rounds", "2", "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        for _ in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], [(p.returncode, e[-1500:]) for p, (_, e) in zip(procs, outs)]
    winner, loser = (0, 1) if procs[0].returncode == 0 else (1, 0)
    _one_line((2, outs[loser][1]), str(one_round_run), f"pid {procs[winner].pid}")
    check_run(one_round_run, 2)  # round 2 once, no duplicated problems


def test_kill_9_holder_then_resume_at_once(tmp_path, small):
    """A lock left by a process killed with -9 does not block the resume started right after."""
    run = tmp_path / "run"
    proc = subprocess.Popen([*CLI, "run", *small, "--rounds", "1", "--run-dir", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)  # fmt: skip
    deadline = time.monotonic() + 600
    while proc.poll() is None and not (run / "config.yaml").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the config is written under the lock, before the student loads
    assert proc.poll() is None and (run / "config.yaml").exists(), "the run did not start in time"
    assert (run / ".lock").read_text().strip() == str(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    p = cli("resume", str(run))
    assert p.returncode == 0, p.stderr[-3000:]
    check_run(run, 1)
