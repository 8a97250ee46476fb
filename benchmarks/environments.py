"""Benchmark: the environments side by side.

Per environment: seconds to build its eval sets (default sizes, uncached); problems generated and
verified per second on one core (`env.generate`, which the procedural teacher calls, then
`env.verify` of each, over every skill's training levels, fresh seeds); and SmolLM2-135M-Instruct's
greedy held-out accuracy per skill before any training (a prefix of each skill's held-out set), with
the completion length a run would choose (the environment's answer-length hint).
That table says which skills the embedded student can learn from: GRPO needs some successes.

Not a test: it prints its figures and, unless --no-write, records them in
benchmarks/results/environments.md.

Run: .venv/bin/python benchmarks/environments.py [--envs countdown,zebra] [--per-skill 8] [--no-student]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from teachloop.environments import get_environment  # noqa: E402
from teachloop.environments.reasoning_gym import specs  # noqa: E402

ENVS = ["arithmetic", "countdown", "zebra", "arc1d", "knights_knaves", "rg:leg_counting"]
OUT = Path(__file__).resolve().parent / "results" / "environments.md"


def clear_caches() -> None:
    specs._item.cache_clear()
    specs._dataset.cache_clear()


def eval_build_seconds(name: str) -> tuple[float, int]:
    clear_caches()
    env = get_environment(name)
    t0 = time.perf_counter()
    sets, _ = env.build_eval_sets()
    return time.perf_counter() - t0, sum(len(v) for split in sets.values() for v in split.values())


def generate_verify_rate(name: str, seconds: float) -> tuple[float, int, int]:
    """(problems/s, problems, rejected by verify) over every (skill, training level) in turn."""
    env = get_environment(name)
    env.eval_keys()  # built before the clock starts
    arms = [(s.id, lv) for s in env.skill_graph() if s.kind == "skill" for lv in s.training_levels]
    rng = random.Random(2026)
    n = bad = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for sid, lv in arms:
            for p in env.generate(sid, lv, 4, rng):
                n += 1
                bad += not env.verify(p).accepted
    return n / (time.perf_counter() - t0), n, bad


def answer_length(name: str, student) -> tuple[int, int]:
    """(the environment's answer-length hint for this student, the eval length a default-profile
    run gives it): what `teachloop run --env NAME` evaluates with."""
    from teachloop.config import answer_lengths, build_config

    tok = student.tokenizer
    hint = get_environment(name).answer_tokens(lambda text: len(tok(text, add_special_tokens=False)["input_ids"]))
    return hint, answer_lengths(build_config(overrides={"env": name}), name, hint)[0]


def student_accuracy(name: str, per_skill: int, student, max_new_tokens: int) -> list[tuple[str, int, float]]:
    from teachloop.training.evaluate import evaluate

    env = get_environment(name)
    problems = env.eval_set("heldout", per_skill)
    out = evaluate(student, problems, env.reward, round=0, split="heldout", batch_size=8, max_new_tokens=max_new_tokens)
    return [(e.skill_id, e.n, e.accuracy) for e in out.per_skill]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", default=",".join(ENVS))
    ap.add_argument("--per-skill", type=int, default=8, help="Held-out problems per skill for the student.")
    ap.add_argument("--gen-seconds", type=float, default=10.0, help="Seconds of generate+verify per environment.")
    ap.add_argument(
        "--student-envs", default=",".join(ENVS[1:]), help="Environments the student is evaluated on (arithmetic's start is in DESIGN.md)."
    )
    ap.add_argument("--no-student", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--core", type=int, default=None, help="The core to pin to (default: the first one allowed).")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0] if args.core is None else args.core})  # one core
    import torch

    torch.set_num_threads(1)
    names = args.envs.split(",")
    load_start = loadavg()
    start = dt.datetime.now(dt.UTC)
    rows, acc_rows, lengths = [], [], []
    student = None
    if not args.no_student:
        from teachloop.training.student import load_student

        student = load_student("smollm2")
    for name in names:
        build_s, n_eval = eval_build_seconds(name)
        rate, n, bad = generate_verify_rate(name, args.gen_seconds)
        rows.append(f"| {name} | {n_eval} | {build_s:.1f} | {rate:,.0f} | {n} | {bad} |")
        print(rows[-1], flush=True)
        if student is not None and name in args.student_envs.split(","):
            hint, tokens = answer_length(name, student)
            lengths.append(f"{name} {tokens} (hint {hint})")
            for sid, k, acc in student_accuracy(name, args.per_skill, student, tokens):
                acc_rows.append(f"| {name} | {sid} | {k} | {acc:.0%} |")
                print(acc_rows[-1], flush=True)
    cmd = "python benchmarks/environments.py " + " ".join(sys.argv[1:])
    load_end = loadavg()
    text = "\n".join(
        [
            "# Environments: eval-set build, generate+verify rate, SmolLM2-135M at the start",
            "",
            f"- date: {start:%Y-%m-%d %H:%M}-{dt.datetime.now(dt.UTC):%H:%M} UTC; command: `{cmd}`",
            f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"pinned to one core, 1 torch thread; /proc/loadavg (1, 5, 15 min) at the start {load_start}, at the end "
            f"{load_end}. The machine is shared with other agents' jobs: rates on an idle core are higher.",
            "",
            "| environment | eval problems (default sizes) | eval build s | generate+verify problems/s (one core) | problems | verify rejects |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"SmolLM2-135M-Instruct, greedy, first {args.per_skill} held-out problems per skill, before training "
            "(max new tokens: the eval length a default-profile run chooses, the profile's 16 raised to the environment's "
            "answer-length hint, the longest eval answer in SmolLM2 tokens + 1: " + (", ".join(lengths) or "not run") + "):",
            "",
            "| environment | skill | problems | accuracy |",
            "|---|---|---|---|",
            *(acc_rows or ["| (not run) | | | |"]),
            "",
        ]
    )
    print(text)
    if not args.no_write:
        OUT.write_text(text)


if __name__ == "__main__":
    main()
