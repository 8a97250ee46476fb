"""A torn write or a crash at any point of a round never corrupts a run: resume ends where an
uninterrupted run of the same seed ends — the same rounds.jsonl (timing aside), problems.jsonl
and student weights, bit for bit. The reference is the session's `tiny_run` (2 rounds, seed 0)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import crash_points
from tests.conftest import FAST_CONFIG, run_teachloop

TIMING = ("second", "wall", "tokens_per_s", "_per_s", "runtime", "time")


def _strip(x):
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if not any(t in k for t in TIMING)}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _records(run: Path, name: str) -> list[dict]:
    return [_strip(json.loads(line)) for line in (run / name).read_text().splitlines() if line.strip()]


def assert_same_run(run: Path, reference: Path) -> None:
    from safetensors.torch import load_file

    for name in ("rounds.jsonl", "problems.jsonl"):
        assert _records(run, name) == _records(reference, name), name
    a, b = load_file(run / "student" / "model.safetensors"), load_file(reference / "student" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), "student weights differ"
    leftovers = sorted(p.name for p in run.iterdir() if p.name.startswith(".student"))
    assert leftovers in ([], [".student.prev-1"]), leftovers


def _start(tmp_path: Path) -> tuple[list[str], Path]:
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST_CONFIG)
    run = tmp_path / "run"
    return ["run", "--student", "tiny", "--profile", "smoke", "--seed", "0", "--config", str(cfg), "--run-dir", str(run)], run


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.98])
def test_a_cut_commit_line_is_repaired_and_its_round_redone(tiny_run: Path, tmp_path: Path, keep: float, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    data = (run / "rounds.jsonl").read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1  # the last line: round 2's commit
    (run / "rounds.jsonl").write_bytes(data[: start + int(keep * (len(data) - start - 1))])
    assert run_teachloop("resume", str(run)) == 0, capsys.readouterr()
    assert_same_run(run, tiny_run)
    assert run_teachloop("resume", str(run)) == 0  # and again: nothing to do, nothing broken
    assert "already finished" in " ".join(capsys.readouterr().out.split())


def test_crashes_at_every_point_of_a_round_then_resume(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """One run, crashed at each point in turn (each resume gets past the previous point)."""
    args, run = _start(tmp_path)
    plan = [
        ("after_snapshot", 1, 0),  # (point, round, committed rounds the crash leaves)
        ("mid_grpo", 2, 1),
        ("after_snapshot", 2, 1),
        ("after_stage", 2, 1),
        ("between_renames", 2, 2),
    ]
    for i, (point, rnd, committed) in enumerate(plan):
        landed = tmp_path / "landed"
        landed.unlink(missing_ok=True)
        undo = crash_points.install(point, rnd, landed=landed)
        try:
            with pytest.raises(crash_points.Crash):
                run_teachloop(*(args if i == 0 else ["resume", str(run)]))
        finally:
            crash_points.uninstall(undo)
        assert landed.read_text() == point
        assert (run / "rounds.jsonl").read_text().count("\n") == committed, point
    assert not (run / "student").exists()  # the last crash: between the two renames
    assert run_teachloop("resume", str(run)) == 0, capsys.readouterr()
    assert_same_run(run, tiny_run)


def _kill_at(args: list[str], point: str, rnd: int, landed: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys; from pathlib import Path; from tests import crash_points as c; "
        f"c.install({point!r}, {rnd}, action='kill', landed=Path({str(landed)!r})); "
        "from teachloop.cli import main; main(sys.argv[1:])"
    )
    env = os.environ | {"COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=900)


def test_kill_9_inside_round_2_then_resume(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """Real SIGKILLs at progress points inside round 2, checked to have landed there."""
    args, run = _start(tmp_path)
    landed = tmp_path / "landed"
    p = _kill_at(args, "mid_grpo", 2, landed)
    assert p.returncode == -signal.SIGKILL and landed.read_text() == "mid_grpo", p.stderr[-2000:]
    assert (run / "rounds.jsonl").read_text().count("\n") == 1
    p = _kill_at(["resume", str(run)], "after_commit_line", 2, landed)
    assert p.returncode == -signal.SIGKILL and landed.read_text() == "after_commit_line", p.stderr[-2000:]
    assert (run / "rounds.jsonl").read_text().count("\n") == 2 and (run / ".student.staged-2").is_dir()
    assert run_teachloop("resume", str(run)) == 0, capsys.readouterr()
    from teachloop.training.checkpoint import find_committed

    assert find_committed(run / "student", 2) == run / "student"  # the swap the kill interrupted is done
    assert _records(run, "rounds.jsonl")[:1] == _records(tiny_run, "rounds.jsonl")[:1]
    assert_same_run(run, tiny_run)


def test_a_missing_or_changed_student_is_refused_unless_restarted(tiny_run: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    for p in run.glob(".student.prev-*"):
        shutil.rmtree(p)
    weights = run / "student" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert run_teachloop("resume", str(run), "--rounds", "3") == 2
    err = capsys.readouterr().err
    assert "was changed since round 2" in err and "--restart-student" in err and len(err.strip().splitlines()) == 1
    shutil.rmtree(run / "student")
    assert run_teachloop("resume", str(run), "--rounds", "3") == 2
    assert "is missing" in capsys.readouterr().err
    assert (run / "rounds.jsonl").read_text().count("\n") == 2  # nothing was trained
    assert run_teachloop("resume", str(run), "--rounds", "3", "--restart-student") == 0, capsys.readouterr()
    assert (run / "rounds.jsonl").read_text().count("\n") == 3


def test_a_resumed_run_continues_the_kept_optimizer_state(tmp_path: Path, capsys) -> None:
    """With grpo.keep_optimizer_state, AdamW's moments are part of the checkpoint: a run stopped
    after round 1 and resumed trains round 2 from the same moments and step count as an
    uninterrupted run, and ends with the same weights (a fresh AdamW would sign-step instead)."""
    import torch

    cfg = tmp_path / "keep.yaml"
    cfg.write_text(FAST_CONFIG.replace("max_completion_length: 6}", "max_completion_length: 6, keep_optimizer_state: true}"))
    args = ["--student", "tiny", "--profile", "smoke", "--seed", "0", "--config", str(cfg)]
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert run_teachloop("run", *args, "--run-dir", str(whole)) == 0, capsys.readouterr()
    assert run_teachloop("run", *args, "--rounds", "1", "--run-dir", str(resumed)) == 0, capsys.readouterr()
    after_1 = torch.load(resumed / "student" / "optimizer.pt", weights_only=True)
    assert {int(s["step"]) for s in after_1["state"].values()} == {1}  # one GRPO step in round 1
    assert run_teachloop("resume", str(resumed), "--rounds", "2", "--force") == 0, capsys.readouterr()
    assert_same_run(resumed, whole)
    for run in (whole, resumed):
        state = torch.load(run / "student" / "optimizer.pt", weights_only=True)["state"]
        assert {int(s["step"]) for s in state.values()} == {2}, run.name  # round 2 continued round 1's count
