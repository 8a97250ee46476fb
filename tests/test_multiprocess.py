"""Two training processes on the CPU (`torchrun --nproc_per_node 2`, gloo, the tiny student): a
2-round episode (round 1, then a resumed launch for round 2) writes a valid run dir, and both ranks
trained the same batch into the same weights (each rank traces the batch ids and a digest of its
weights after every round)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.test_episode import ENV, check_run, jsonl

# `torchrun` is `python -m torch.distributed.run`; run through this interpreter, so a copied venv
# whose script shebangs point elsewhere still tests this checkout.
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


@pytest.mark.slow
def test_two_processes_train_the_same_batch_into_the_same_weights_and_resume(tmp_path):
    run, trace = tmp_path / "run", tmp_path / "trace"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("eval: {heldout_per_skill: 2, ood_per_skill: 1}\ngrpo: {steps: 1}\n")
    cmd = [*TORCHRUN, "--nproc_per_node", "2", "--standalone", "-m", "teachloop", "run", "--student", "tiny", "--profile", "smoke"]
    cmd += ["--rounds", "1", "--config", str(cfg), "--run-dir", str(run)]
    env = ENV | {"TEACHLOOP_RANK_TRACE": str(trace), "OMP_NUM_THREADS": "1"}
    # round 1 in one launch, round 2 in a resumed launch: every rank must pick up rank 0's committed student
    resume = [*TORCHRUN, "--nproc_per_node", "2", "--standalone", "-m", "teachloop", "resume", str(run), "--rounds", "2"]
    for c in (cmd, resume):
        p = subprocess.run(c, capture_output=True, text=True, env=env, timeout=1500, cwd=tmp_path)
        assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-4000:])
        if c is cmd:  # rank 0 alone speaks, in the singular
            assert p.stdout.count("done: 1 round in") == 1 and "1 rounds" not in p.stdout, p.stdout[-2000:]
    check_run(run, 2)
    ranks = [[json.loads(line) for line in (trace / f"rank_{r}.jsonl").read_text().splitlines()] for r in (0, 1)]
    assert [row["round"] for row in ranks[0]] == [1, 2] == [row["round"] for row in ranks[1]]
    problems = jsonl(run / "problems.jsonl")
    for r0, r1 in zip(*ranks, strict=True):
        assert r0["batch"] == r1["batch"], "rank 1 trained on another batch than rank 0"
        assert r0["batch"] and set(r0["batch"]) <= {q["id"] for q in problems if q["round"] == r0["round"]}
        assert r0["steps"] == r1["steps"] == 1, "a rank did not train"
        assert r0["weights"] == r1["weights"], f"round {r0['round']}: the ranks hold different students"
    assert ranks[0][0]["weights"] != ranks[0][1]["weights"], "the student did not change between rounds"
    rounds = jsonl(run / "rounds.jsonl")
    assert all(r["train_stats"]["rollouts"] == 16 for r in rounds)  # 1 step × 2 prompts × 8, gathered from both ranks
