"""Bad input: one line naming the problem, exit code 2, no traceback — from a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEACHLOOP = [sys.executable, "-m", "teachloop.cli"]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    e = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"} | (env or {})
    return subprocess.run([*TEACHLOOP, *args], capture_output=True, text=True, cwd=cwd, env=e, timeout=300)


def assert_one_line_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _config(tmp_path: Path, text: str) -> str:
    f = tmp_path / "c.yaml"
    f.write_text(text)
    return str(f)


@pytest.mark.parametrize(
    "args,needles",
    [
        (["run", "--env", "nosuchenv"], ["nosuchenv", "arithmetic"]),
        (["run", "--rounds", "0"], ["--rounds"]),
        (["run", "--teacher", "bogus:x"], ["bogus:x"]),
        (["run", "--profile", "huge"], ["huge", "smoke"]),
        (["run", "--student", "/nonexistent/model", "--rounds", "1", "--profile", "smoke"], ["/nonexistent/model"]),
        (["inspect", "/nonexistent/run"], ["/nonexistent/run"]),
        (["resume", "/nonexistent/run"], ["/nonexistent/run"]),
        (["bench", "--strategies", "random,bogus"], ["--strategies", "bogus", "dump"]),
        (["bench", "--budget", "0"], ["--budget"]),
        (["bench", "--seeds", "-1"], ["--seeds"]),
        (["bench", "--env", "nosuchenv"], ["--env", "nosuchenv"]),
        (["bench", "--skills", "add.1digit,bogus"], ["--skills", "bogus"]),
        (["bench", "--merge", "a.json"], ["--merge", "at least two"]),
        (["bench", "--merge", "nosuch1.json,nosuch2.json"], ["nosuch1.json", "not a readable results JSON"]),
        (["bench", "--sft-stop-accuracy", "1.5"], ["--sft-stop-accuracy"]),
        (["bench", "--partial-credit", "1"], ["--partial-credit"]),
    ],
)
def test_bad_flags(tmp_path, args, needles):
    args = [a if a != "/nonexistent/model" else str(tmp_path / "nomodel") for a in args]
    needles = [n if n != "/nonexistent/model" else str(tmp_path / "nomodel") for n in needles]
    if args[0] == "run":
        args += ["--run-dir", str(tmp_path / "run")]
    if args[0] == "bench":
        args += ["--out", str(tmp_path / "results")]
    assert_one_line_error(run_cli(*args), *needles)


@pytest.mark.parametrize(
    "text,needles",
    [
        ("roundz: 3\n", ["c.yaml", "roundz"]),
        ("teacher:\n  polciy: skill-tree\n", ["c.yaml", "teacher.polciy"]),
        ("grpo:\n  steps: -1\n", ["c.yaml", "grpo.steps"]),
        ("rounds: [1\n", ["c.yaml", "YAML"]),
        ("- just\n- a list\n", ["c.yaml", "mapping"]),
    ],
)
def test_bad_config_files(tmp_path, text, needles):
    p = run_cli("run", "--config", _config(tmp_path, text), "--run-dir", str(tmp_path / "run"))
    assert_one_line_error(p, *needles)


def test_missing_config_file(tmp_path):
    assert_one_line_error(run_cli("run", "--config", str(tmp_path / "nope.yaml")), "nope.yaml")


def test_run_dir_that_is_not_a_run(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("my files")
    assert_one_line_error(run_cli("run", "--student", "tiny", "--profile", "smoke", "--run-dir", str(d)), str(d), "not a teachloop run")
    assert (d / "notes.txt").read_text() == "my files"


def test_help_explains_commands():
    p = run_cli("--help")
    assert p.returncode == 0
    for cmd in ("run", "resume", "inspect", "report", "teachers"):
        assert cmd in p.stdout
