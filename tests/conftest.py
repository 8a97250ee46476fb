"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# The smallest real episode: the tiny random student, the procedural teacher, 2 rounds of one
# GRPO step on 2-problem eval sets (seconds of CPU; tests copy the run dir before changing it).
FAST_CONFIG = """\
rounds: 2
eval: {heldout_per_skill: 2, ood_per_skill: 1, max_new_tokens: 6}
teacher: {plan: {problems_per_round: 4, skills_per_round: 2}}
grpo: {steps: 1, prompts_per_step: 2, num_generations: 2, max_completion_length: 6}
"""


def run_teachloop(*args: str) -> int:
    """`teachloop ARGS` in this process, through the real error boundary; returns the exit code."""
    from teachloop.cli import main

    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-round run dir of a real (tiny) episode. Read-only: copy it to change it."""
    root = tmp_path_factory.mktemp("tiny-run")
    cfg = root / "fast.yaml"
    cfg.write_text(FAST_CONFIG)
    run = root / "run"
    code = run_teachloop("run", "--student", "tiny", "--profile", "smoke", "--seed", "0", "--config", str(cfg), "--run-dir", str(run))
    assert code == 0 and (run / "rounds.jsonl").read_text().count("\n") == 2
    return run
