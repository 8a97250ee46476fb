"""Benchmark: a GRPO round with and without freezing the older heap (`training.grpo._freeze_heap`).

transformers' `Trainer.train` starts with a full `gc.collect()`; with torch, transformers and TRL
loaded it walks about half a million objects. `train_round` freezes the objects older than the
round so that the collection skips them. Curricula that decide before every GRPO step (SEC, DUMP,
threshold in `teachloop bench`) run one round per step, so they pay that collection every step.

Side by side in one process, on one tiny student and the bench's batch (8 prompts × 8 completions
× ≤8 tokens, AdamW kept across rounds): rounds alternate between the two sides (A B A B …) so
that load from other processes hits both alike; medians are reported, for rounds of 1 step (a
per-step curriculum) and of 20 steps (the bench's per-round curricula).

Run: .venv/bin/python benchmarks/round_freeze.py [--rounds 20] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import teachloop.training.grpo as grpo  # noqa: E402
from benchmarks.grpo_overhead import problems  # noqa: E402
from teachloop.training.student import load_student  # noqa: E402


def measure(steps: int, rounds: int, student, probs, reward, out: Path) -> dict[str, list[float]]:
    settings = grpo.GRPOSettings(
        steps=steps,
        prompts_per_step=8,
        num_generations=8,
        max_completion_length=8,
        learning_rate=3e-5,
        temperature=1.0,
        keep_optimizer_state=True,
    )
    real = grpo._freeze_heap
    times: dict[str, list[float]] = {"freeze": [], "no freeze": []}
    try:
        for i in range(2 * rounds + 2):
            side = ("no freeze", "freeze")[i % 2]
            grpo._freeze_heap = real if side == "freeze" else (lambda: False)
            t0 = time.perf_counter()
            grpo.train_round(student, probs, reward, settings, round=i, output_dir=out)
            if i >= 2:  # the first pair pays first-call costs
                times[side].append(time.perf_counter() - t0)
    finally:
        grpo._freeze_heap = real
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=20, help="1-step rounds per side (20-step rounds: a quarter, at least 2)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, reward, probs = problems(64)
    student = load_student("tiny:0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for steps, rounds in ((1, args.rounds), (20, max(2, args.rounds // 4))):
            t = measure(steps, rounds, student, probs, reward, Path(tmp))
            a, b = statistics.median(t["freeze"]), statistics.median(t["no freeze"])
            rows.append((steps, rounds, a, b, t))
            print(f"rounds of {steps} step(s), {rounds} per side: freeze {a:.3f} s, no freeze {b:.3f} s, ratio {a / b:.3f}", flush=True)
    gc.collect()
    tracked = len(gc.get_objects())
    if args.no_write:
        return
    load = os.getloadavg()
    lines = [
        "# A GRPO round with and without freezing the older heap",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC} · {platform.platform()} · {os.cpu_count()} CPUs · torch threads {args.threads} · "
        f"torch {torch.__version__} · {tracked:,} objects tracked by gc in the process · load average at the end {load[0]:.2f} "
        "(the machine is shared; the sides alternate so load hits both)",
        "",
        "Tiny student (`tiny:0`), 8 prompts × 8 completions × ≤8 tokens per step, AdamW kept across rounds; "
        "whole `train_round` wall time, medians.",
        "",
        "| round | rounds per side | freeze (`train_round`) | no freeze (before) | ratio |",
        "|---|---|---|---|---|",
    ]
    for steps, rounds, a, b, _ in rows:
        lines.append(f"| {steps} step{'s' if steps > 1 else ''} | {rounds} | {a:.3f} s | {b:.3f} s | **{a / b:.3f}** |")
    lines += ["", "All rounds (s):", ""]
    for steps, _, _, _, t in rows:
        for side, xs in t.items():
            lines.append(f"- {steps} step(s), {side}: {', '.join(f'{x:.2f}' for x in xs)}")
    lines += ["", f"Run: `.venv/bin/python benchmarks/round_freeze.py --rounds {args.rounds} --threads {args.threads}`", ""]
    out = Path(__file__).resolve().parent / "results" / "round_freeze.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
