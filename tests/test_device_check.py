"""`benchmarks/device_check.sh --cpu`: the accelerator check's own code, run on the CPU (small)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_device_check_runs_on_cpu(tmp_path):
    out = tmp_path / "out"
    env = os.environ | {"PYTHON": sys.executable, "WHEELS": str(tmp_path / "no-wheels"), "NO_COLOR": "1"}
    p = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "device_check.sh"), str(out), "--cpu", "--steps", "1"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-3000:])
    summary = [ln for ln in p.stdout.splitlines() if ln.startswith("device_check:")]
    assert len(summary) == 1 and "episode ok" in summary[0] and "s/step" in summary[0], p.stdout
    result = json.loads((out / "device_check.json").read_text())
    assert result["episode"]["ok"] and len(result["episode"]["wall_time_per_round"]) == 2
    assert result["grpo"]["steps"] == 1 and result["grpo"]["seconds_per_step"] > 0
    assert result["grpo"]["completions_per_step"] == 16 and result["versions"]["trl"]
    assert (out / "episode" / "rounds.jsonl").exists()


def test_device_check_refuses_without_out_dir():
    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_check.sh")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "usage" in p.stderr
