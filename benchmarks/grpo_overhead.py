"""Benchmark: our GRPO round (`training.grpo.train_round`) vs a plain TRL `GRPOTrainer`, and the
share of an episode round spent outside the student.

Part 1, side by side in one process on the same model, batch and settings: the tiny student
(fresh random init each time, so both sides start equal), P prompts × G completions × at most L
tokens per step, N steps per round. Each side is timed from "given a list of problems" to "the
model is trained": ours builds the dataset, the reward recorder (per-problem Attempts), the trainer
and restores the model afterwards; the plain side builds a `datasets.Dataset` and a
`GRPOTrainer` with a plain reward function and calls `train()`. The sides alternate (A B A B …)
so that load from other processes hits both alike; medians are reported. Goal: ratio <= 1.05.

Part 2: a real `teachloop` episode (tiny student, procedural teacher) with the timers around
student generation and training (every `evaluate` call and every `train_round`); everything
else in the round (teacher agent, verification, mastery, weakness report, snapshots, checkpoint,
JSONL appends) is "outside the student". Goal: <= 5 % of the round.

Run: .venv/bin/python benchmarks/grpo_overhead.py [--steps 16] [--repeats 5] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from teachloop.environments import get_environment  # noqa: E402
from teachloop.training.grpo import GRPOSettings, _checkpointing_arg, train_round  # noqa: E402
from teachloop.training.prompts import to_messages  # noqa: E402
from teachloop.training.quiet import quiet  # noqa: E402
from teachloop.training.student import load_student  # noqa: E402
from teachloop.training.tiny_bench import TinyView  # noqa: E402

SKILLS = ("add.1digit", "add.2digit", "sub.1digit")


def problems(n: int, seed: int = 0):
    env = get_environment("arithmetic")
    view = TinyView()
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        sid = SKILLS[len(out) % len(SKILLS)]
        out += [view.to_student(p) for p in env.generate(sid, 1 + len(out) % 3, 1, rng)]
    return env, view.reward(env.reward), out[:n]


def ours(settings: GRPOSettings, probs, reward, seed: int) -> tuple[float, float]:
    student = load_student(f"tiny:{seed}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = train_round(student, probs, reward, settings, round=0, output_dir=Path(tmp))
        total = time.perf_counter() - t0
    return total, out.stats.get("seconds_per_step", float("nan"))


def plain(settings: GRPOSettings, probs, reward, seed: int) -> tuple[float, float]:
    """What a user of plain TRL writes for the same round: dataset, reward function, trainer, train."""
    from datasets import Dataset
    from transformers import PrinterCallback, ProgressCallback
    from trl import GRPOConfig, GRPOTrainer

    student = load_student(f"tiny:{seed}")
    by_id = {p.id: p for p in probs}

    def reward_fn(prompts, completions, problem_id, **kw):
        texts = [c if isinstance(c, str) else "".join(m.get("content") or "" for m in c) for c in completions]
        return [float(reward(by_id[i], t)) for i, t in zip(problem_id, texts)]

    rows = settings.steps * settings.prompts_per_step
    rng = random.Random(f"{settings.seed}:0")
    chosen = rng.sample(probs, rows) if len(probs) >= rows else [rng.choice(probs) for _ in range(rows)]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        t0 = time.perf_counter()
        ds = Dataset.from_list([{"prompt": to_messages(p), "problem_id": p.id} for p in chosen])
        config = GRPOConfig(
            output_dir=tmp,
            max_steps=settings.steps,
            per_device_train_batch_size=settings.prompts_per_step * settings.num_generations,
            num_generations=settings.num_generations,
            max_completion_length=settings.max_completion_length,
            learning_rate=settings.resolved_learning_rate(),
            lr_scheduler_type="constant",
            warmup_steps=0,
            temperature=settings.temperature,
            beta=0.0,
            loss_type=settings.loss_type,
            scale_rewards=settings.scale_rewards,
            seed=settings.seed,
            use_cpu=True,
            bf16=False,
            fp16=False,
            **{_checkpointing_arg(GRPOConfig): False},
            shuffle_dataset=False,
            disable_dropout=True,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            disable_tqdm=True,
            dataloader_pin_memory=False,
        )
        trainer = GRPOTrainer(
            model=student.model, reward_funcs=reward_fn, args=config, train_dataset=ds, processing_class=student.tokenizer
        )
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        t1 = time.perf_counter()
        trainer.train()
        train_s = time.perf_counter() - t1
        total = time.perf_counter() - t0
    return total, train_s / settings.steps


def part1(args) -> dict:
    settings = GRPOSettings(
        steps=args.steps,
        prompts_per_step=8,
        num_generations=8,
        max_completion_length=8,
        learning_rate=1e-4,
        temperature=1.0,
        seed=0,
    )
    _, reward, probs = problems(settings.steps * settings.prompts_per_step)
    ours(settings.model_copy(update={"steps": 2}), probs, reward, 99)  # warm-up: imports, first-call costs
    plain(settings.model_copy(update={"steps": 2}), probs, reward, 99)
    a, b, a_step, b_step = [], [], [], []
    for i in range(args.repeats):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            if side == 0:
                t, s = ours(settings, probs, reward, i)
                a.append(t)
                a_step.append(s)
            else:
                t, s = plain(settings, probs, reward, i)
                b.append(t)
                b_step.append(s)
        print(f"  repeat {i + 1}: ours {a[-1]:.2f}s, plain TRL {b[-1]:.2f}s", flush=True)
    ma, mb = statistics.median(a), statistics.median(b)
    return {
        "settings": f"{settings.prompts_per_step} prompts × {settings.num_generations} completions × ≤{settings.max_completion_length} tokens, "
        f"{settings.steps} steps per round, tiny student ({load_student('tiny:0').num_parameters:,} parameters)",
        "ours_round_s": ma,
        "plain_round_s": mb,
        "ratio": ma / mb,
        "ours_step_s": statistics.median(a_step),
        "plain_step_s": statistics.median(b_step),
        "step_ratio": statistics.median(a_step) / statistics.median(b_step),
        "ours_all": a,
        "plain_all": b,
    }


def part2(args) -> dict:
    """An episode with timers around the student: outside = round wall time − student time."""
    import teachloop.episode as episode_mod
    from teachloop.config import build_config
    from teachloop.rundir import RunDir

    timers = {"student": 0.0}
    real_train, real_eval = episode_mod.train_round, episode_mod.evaluate

    def timed(fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers["student"] += time.perf_counter() - t0

        return wrapper

    episode_mod.train_round, episode_mod.evaluate = timed(real_train), timed(real_eval)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = build_config(None, {"student": "tiny", "rounds": args.rounds, "profile": "default"})
            ep = episode_mod.Episode(cfg, RunDir(Path(tmp) / "run"))
            ep.console.quiet = True
            t_start = time.perf_counter()
            results = ep.run()
            total = time.perf_counter() - t_start
    finally:
        episode_mod.train_round, episode_mod.evaluate = real_train, real_eval
    walls = [r.wall_time for r in results]
    teach = sum(w.get("teach", 0.0) for w in walls)
    ckpt = sum(w.get("checkpoint", 0.0) for w in walls)
    outside = total - timers["student"]
    return {
        "rounds": len(results),
        "total_s": total,
        "student_s": timers["student"],
        "outside_s": outside,
        "outside_share": outside / total,
        "teach_s": teach,
        "checkpoint_s": ckpt,
        "profile": "default (8 GRPO steps × 4 prompts × 8 completions, 50 held-out + 20 OOD per skill, 32 problems per round)",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=16, help="GRPO steps per round (part 1)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="episode rounds (part 2)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("part 1: train_round vs plain GRPOTrainer", flush=True)
    p1 = part1(args)
    print(f"  median round: ours {p1['ours_round_s']:.2f}s, plain {p1['plain_round_s']:.2f}s, ratio {p1['ratio']:.3f}")
    print(
        f"  median step (inside trainer.train): ours {p1['ours_step_s']:.3f}s, plain {p1['plain_step_s']:.3f}s, ratio {p1['step_ratio']:.3f}"
    )
    print("part 2: an episode round outside the student", flush=True)
    p2 = part2(args)
    print(
        f"  {p2['rounds']} rounds, {p2['total_s']:.1f}s: student {p2['student_s']:.1f}s, outside {p2['outside_s']:.1f}s "
        f"({100 * p2['outside_share']:.1f} %), of which teach {p2['teach_s']:.1f}s, checkpoint {p2['checkpoint_s']:.1f}s"
    )
    if args.no_write:
        return
    load = os.getloadavg()
    md = f"""# GRPO overhead

{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC} · {platform.platform()} · {os.cpu_count()} CPUs · torch threads {args.threads} ·
torch {torch.__version__} · load average at the end {load[0]:.2f} (the machine is shared; sides alternate so load hits both)

## 1. `train_round` vs plain TRL `GRPOTrainer`, same model, batch and settings

{p1["settings"]}; {args.repeats} alternating repeats, medians.

| | ours (`train_round`) | plain `GRPOTrainer` | ratio (goal ≤ 1.05) |
|---|---|---|---|
| whole round (data, trainer, train, hand-back) | {p1["ours_round_s"]:.2f} s | {p1["plain_round_s"]:.2f} s | **{p1["ratio"]:.3f}** |
| per step inside `trainer.train()` | {p1["ours_step_s"]:.3f} s | {p1["plain_step_s"]:.3f} s | {p1["step_ratio"]:.3f} |

All repeats (s): ours {", ".join(f"{x:.2f}" for x in p1["ours_all"])}; plain {", ".join(f"{x:.2f}" for x in p1["plain_all"])}.

## 2. An episode round outside student generation and training

`teachloop run --student tiny --profile default --rounds {p2["rounds"]}` with the procedural teacher; {p2["profile"]}.
Student time = every `evaluate` (greedy generation) and `train_round` call. `--student tiny` here is the random-initialised
tiny model of `teachloop run` (its answers run to the full 16 tokens); outside = the whole run (initial evaluation included) minus student time.
The benchmark loop (`teachloop bench`) reports its own split per strategy; there the SFT-warmed tiny student trains at ~0.4 s per step.

| total | student | outside the student | share (goal ≤ 5 %) | of which teacher agent | checkpoint |
|---|---|---|---|---|---|
| {p2["total_s"]:.1f} s | {p2["student_s"]:.1f} s | {p2["outside_s"]:.1f} s | **{100 * p2["outside_share"]:.1f} %** | {p2["teach_s"]:.1f} s | {p2["checkpoint_s"]:.1f} s |

Run: `.venv/bin/python benchmarks/grpo_overhead.py --steps {args.steps} --repeats {args.repeats} --rounds {args.rounds}`
"""
    out = Path(__file__).resolve().parent / "results" / "grpo_overhead.md"
    out.write_text(md)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
