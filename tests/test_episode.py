"""Closed-loop episodes end to end, as a user runs them: real `teachloop` processes, a tiny
random-initialised student, the procedural teacher — and kill -9 in the middle of it all."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from teachloop.environments import get_environment
from teachloop.skills.records import Problem, RoundResult
from teachloop.skills.snapshot import SkillGraphSnapshot
from tests.fault_server import FaultServer

CLI = [sys.executable, "-m", "teachloop.cli"]
ENV = os.environ | {"COLUMNS": "160", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def cli(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=ENV | (env or {}), timeout=timeout)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_run(run: Path, rounds: int) -> None:
    """The invariants a finished run keeps, however often it was killed and resumed."""
    results = [RoundResult.model_validate(r) for r in jsonl(run / "rounds.jsonl")]
    assert [r.round for r in results] == list(range(1, rounds + 1))
    env = get_environment("arithmetic")
    problems = [Problem.model_validate(p) for p in jsonl(run / "problems.jsonl")]
    for r in range(1, rounds + 1):
        ids = [p.id for p in problems if p.round == r]
        assert ids, f"round {r} has no problems"
        assert len(ids) == len(set(ids)), f"round {r} has a problem twice"
    for f in ("attempts.jsonl", "rejected.jsonl"):
        for row in jsonl(run / f):  # every line parses
            assert 0 <= row["round"] <= rounds
    for r in range(0, rounds + 1):
        snap = SkillGraphSnapshot.load(run / "skill_graph" / f"round_{r}.json")
        assert snap.round == r and snap.graph().trainable()
    for sk in {s.id for s in SkillGraphSnapshot.load(run / "skill_graph" / f"round_{rounds}.json").graph().trainable()} & {
        p.skill_id for p in problems
    }:
        for p in [p for p in problems if p.skill_id == sk][:5]:
            if p.skill_id in {s.id for s in env.skill_graph()}:
                assert env.verify(p).accepted


def test_two_round_episode_end_to_end(tmp_path):
    run = tmp_path / "run"
    p = cli(
        "run",
        "--env",
        "arithmetic",
        "--teacher",
        "procedural",
        "--student",
        "tiny",
        "--rounds",
        "2",
        "--profile",
        "smoke",
        "--run-dir",
        str(run),
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Round 1" in p.stdout and "Round 2" in p.stdout and "held-out before → after" in p.stdout
    assert p.stdout.count("teacher cost") == 2 and "no model calls" in p.stdout  # the procedural teacher
    check_run(run, 2)
    results = [RoundResult.model_validate(r) for r in jsonl(run / "rounds.jsonl")]
    for r in results:
        assert {e.split for e in r.eval_after} == {"heldout", "ood"}
        assert set(r.wall_time) >= {"evaluate", "teach", "train"}
        assert sum(r.problems_per_skill.values()) >= 8  # the smoke budget (+ a discovered sub-skill's), all verified
        assert r.train_stats["steps"] == 2
    assert (run / "student" / "config.json").exists()
    # Training attempts carry the rollout statistics the next round plans with.
    train = [a for a in jsonl(run / "attempts.jsonl") if a["phase"] == "train"]
    assert train and all(len(a["rewards"]) % 8 == 0 and "mean_abs_advantage" in a for a in train)
    # Resuming a finished run says so and exits 0; a changed config is refused, naming the field.
    p = cli("resume", str(run))
    assert p.returncode == 0 and "already finished" in p.stdout
    # --rounds may extend a run, never shrink it.
    p = cli("resume", str(run), "--rounds", "1")
    assert p.returncode == 2 and "--rounds 1" in p.stderr and "shrink" in p.stderr
    # Starting a new run over it is refused (it would mix two runs).
    p = cli("run", "--student", "tiny", "--profile", "smoke", "--run-dir", str(run))
    assert p.returncode == 2 and "resume" in p.stderr


def _without_timing(rows: list[dict]) -> list[dict]:
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if not any(t in k for t in ("second", "wall", "_per_s", "runtime", "time"))}
        return [strip(v) for v in x] if isinstance(x, list) else x

    return [strip(r) for r in rows]


@pytest.mark.slow
def test_any_curriculum_runs_as_an_episode_and_resumes_exactly(tmp_path):
    """`--curriculum sec`: the same episode, run dir, inspect, report and resume as the teacher's;
    a run stopped after round 1 and resumed writes exactly what an uninterrupted run writes (the
    strategy's state and rng come back from the last committed round)."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    args = ["--curriculum", "sec", "--student", "tiny", "--profile", "smoke"]
    p = cli("run", *args, "--rounds", "2", "--run-dir", str(whole))
    assert p.returncode == 0, p.stderr[-3000:]
    assert "curriculum sec" in p.stdout and p.stdout.count("Round ") >= 2
    check_run(whole, 2)
    state = json.loads((whole / "strategy" / "round_2.json").read_text())
    assert state["name"] == "sec" and state["state"]["q"]  # SEC learned Q values from the rollouts
    assert all(p["provenance"] == "generated" for p in jsonl(whole / "problems.jsonl"))
    p = cli("inspect", str(whole))
    assert p.returncode == 0 and "add.1digit" in p.stdout, p.stderr[-3000:]
    p = cli("report", str(whole))
    assert p.returncode == 0 and (whole / "report.html").stat().st_size > 1000, p.stderr[-3000:]
    p = cli("resume", str(whole))
    assert p.returncode == 0 and "already finished" in p.stdout

    p = cli("run", *args, "--rounds", "1", "--run-dir", str(resumed))
    assert p.returncode == 0, p.stderr[-3000:]
    p = cli("resume", str(resumed), "--rounds", "2", "--force")
    assert p.returncode == 0, p.stderr[-3000:]
    for f in ("rounds.jsonl", "problems.jsonl"):
        assert _without_timing(jsonl(resumed / f)) == _without_timing(jsonl(whole / f)), f
    assert json.loads((resumed / "strategy" / "round_2.json").read_text()) == state


def test_unknown_curriculum_is_one_line_naming_the_flag(tmp_path):
    p = cli("run", "--curriculum", "nope", "--student", "tiny", "--run-dir", str(tmp_path / "r"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "--curriculum" in p.stderr and "unknown strategy 'nope'" in p.stderr and "variance" in p.stderr


def _record_state(run: Path) -> dict:
    """(size, mtime) of every record file: changes whenever the run writes anything durable."""
    out = {}
    for f in run.rglob("*.json*") if run.exists() else ():
        try:
            st = f.stat()
            out[str(f)] = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:  # an atomic replace in flight
            pass
    return out


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume(tmp_path):
    """A run killed at random moments loses nothing committed; resume finishes it exactly.

    Kill points are tied to progress, not to wall time (which depends on the machine): each
    process is killed a random 0-2.5 s after it first writes a record, so kills land inside
    evaluation, teaching, training and checkpointing of different rounds."""
    run = tmp_path / "run"
    rounds = 3
    rng = random.Random(1234)
    kills = 0
    args = ["run", "--student", "tiny", "--rounds", str(rounds), "--profile", "smoke", "--run-dir", str(run)]
    for attempt in range(5):
        cmd = [*CLI, *(args if attempt == 0 else ["resume", str(run)])]
        before = _record_state(run)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        deadline = time.monotonic() + 300
        while proc.poll() is None and _record_state(run) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            proc.wait(timeout=rng.uniform(0.0, 2.5))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        assert proc.returncode == 0, proc.stderr.read()[-3000:]
        break
    p = cli("resume", str(run))  # finishes whatever is left, or says it is done
    assert p.returncode == 0, p.stderr[-3000:]
    assert kills >= 2, "the run finished before it could be killed"
    check_run(run, rounds)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    """SIGINT (Ctrl-C) mid-round: the run stops at the next safe point with exit 130 and says how
    to resume, no traceback; the resumed run then finishes with every invariant kept. Tried
    several times: a stray KeyboardInterrupt used to surface at random places (exit 1 with a
    traceback from an import, or death by signal)."""
    for attempt in range(3):
        run = tmp_path / f"run{attempt}"
        proc = subprocess.Popen(
            [*CLI, "run", "--student", "tiny", "--rounds", "2", "--profile", "smoke", "--run-dir", str(run)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        deadline = time.monotonic() + 300
        problems = run / "problems.jsonl"
        while not (problems.exists() and problems.stat().st_size):  # round 1's batch is written: training now
            assert time.monotonic() < deadline and proc.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.02 + 0.1 * attempt)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr[-3000:]
        assert "Traceback" not in stderr and f"teachloop resume {run}" in stderr
        assert (run / "rounds.jsonl").read_text() == ""
    p = cli("resume", str(run))
    assert p.returncode == 0, p.stderr[-3000:]
    check_run(run, 2)


@pytest.fixture()
def small_disk(tmp_path):
    """A 3 MB tmpfs: room for the records, not for the tiny student's checkpoint (root only)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_while_checkpointing_is_one_line_and_resumable(small_disk):
    run = small_disk / "run"
    p = cli("run", "--student", "tiny", "--rounds", "1", "--profile", "smoke", "--run-dir", str(run))
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[-3000:]
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "disk full" in lines[0] and "resume" in lines[0], p.stderr
    assert not [f for f in run.iterdir() if f.name.startswith(".student.")], "a partial checkpoint was left behind"
    assert (run / "rounds.jsonl").read_text() == ""  # the round was not committed
    subprocess.run(["mount", "-o", "remount,size=256M", str(small_disk)], check=True)
    p = cli("resume", str(run))
    assert p.returncode == 0, p.stderr[-3000:]
    check_run(run, 1)


def test_planted_api_key_never_written(tmp_path):
    """An LLM teacher over a loopback OpenAI-compatible server: the key goes to the server in
    the request header, and nowhere else: not the run dir, not the output."""
    key = "sk-planted-7f3a9c1e55d0"
    env = get_environment("arithmetic")
    drafts = []
    for level in (1, 2):
        for p in env.generate("add.1digit", level, 4, random.Random(level)):
            drafts.append({"spec": p.spec, "answer": p.answer, "prompt": None})
    reply = json.dumps({"problems": drafts})
    run = tmp_path / "run"
    with FaultServer("ok", reply=reply) as srv:
        p = cli(
            "run",
            "--student",
            "tiny",
            "--rounds",
            "1",
            "--profile",
            "smoke",
            "--run-dir",
            str(run),
            "--teacher",
            f"{srv.url}#fault-model",
            env={"OPENAI_API_KEY": key},
        )
        assert srv.auth_headers and all(h == f"Bearer {key}" for h in srv.auth_headers)
    assert p.returncode == 0, p.stderr[-3000:]
    assert key not in p.stdout + p.stderr
    for f in run.rglob("*"):
        if f.is_file():
            assert key.encode() not in f.read_bytes(), f
    r = RoundResult.model_validate(jsonl(run / "rounds.jsonl")[0])
    assert r.teacher_cost.requests >= 1 and r.teacher_cost.prompt_tokens >= 10
    assert "per accepted problem" in p.stdout  # the round table shows what the LLM teacher cost


def test_unreachable_teacher_fails_cleanly_or_falls_back(tmp_path):
    run = tmp_path / "run"
    p = cli(
        "run", "--student", "tiny", "--rounds", "1", "--profile", "smoke", "--run-dir", str(run), "--teacher", "http://127.0.0.1:9/v1#m"
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "127.0.0.1:9" in lines[0], p.stderr  # names the URL
    assert not run.exists()  # a start that failed before round 1 does not block the retry
    cfg = tmp_path / "c.yaml"
    cfg.write_text("teacher:\n  model: http://127.0.0.1:9/v1#m\n  fallback: procedural\n  request_retries: 0\n")
    run2 = tmp_path / "run2"
    p = cli("run", "--student", "tiny", "--rounds", "1", "--profile", "smoke", "--run-dir", str(run2), "--config", str(cfg))
    assert p.returncode == 0, p.stderr[-3000:]
    r = RoundResult.model_validate(jsonl(run2 / "rounds.jsonl")[0])
    assert r.teacher_cost.fallback and "procedural" in r.teacher_cost.fallback
    # a teacher that cannot even be built (openai: without a key) falls back too, with a note
    cfg.write_text("teacher:\n  model: openai:gpt-x\n  fallback: procedural\n")
    run3 = tmp_path / "run3"
    p = cli(
        "run",
        "--student",
        "tiny",
        "--rounds",
        "1",
        "--profile",
        "smoke",
        "--run-dir",
        str(run3),
        "--config",
        str(cfg),
        env={"OPENAI_API_KEY": ""},
    )
    assert p.returncode == 0 and "cannot start" in p.stderr and "fallback" in p.stderr, p.stderr[-3000:]
    assert {q["teacher"] for q in jsonl(run3 / "problems.jsonl")} == {"procedural"}


@pytest.mark.slow
def test_one_round_with_the_real_smollm2_student(tmp_path):
    """The embedded default student (SmolLM2-135M-Instruct from the PyPI wheel) for one short round."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("eval:\n  heldout_per_skill: 3\n  ood_per_skill: 1\ngrpo:\n  steps: 1\n")
    run = tmp_path / "run"
    p = cli("run", "--student", "smollm2", "--rounds", "1", "--profile", "smoke", "--config", str(cfg), "--run-dir", str(run), timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    check_run(run, 1)
    r = RoundResult.model_validate(jsonl(run / "rounds.jsonl")[0])
    assert r.train_stats["steps"] == 1 and r.train_stats["eval_tokens_per_s"] > 0
    # SmolLM2 answers some 1-digit sums: a greedy held-out accuracy of exactly 0 everywhere means a broken prompt.
    assert any(e.correct > 0 for e in r.eval_before if e.split == "heldout")
