"""The accelerator check that `benchmarks/device_check.sh` runs (see there for how to call it).

Two parts, both through teachloop's own code paths:
1. a 2-round tiny-student episode (`python -m teachloop run`, procedural teacher), bf16 on CUDA;
2. GRPO step time (`teachloop.training.grpo.train_round`) of a randomly initialised model of
   SmolLM2-135M's shape (no weights can reach the machine), bf16, 64 completions × 128 tokens a
   step. The reward is synthetic (a hash of the completion, so groups have variance and every
   step back-propagates); only time is measured. Under `--cpu` both parts run on the CPU and the
   model shape shrinks, so the test suite can run the same code quickly.
Writes `OUT/device_check.json` and prints one summary line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# SmolLM2-135M-Instruct's config (LlamaForCausalLM, 134.5 M parameters with tied embeddings).
SMOLLM2_SHAPE = dict(
    hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, vocab_size=49152
)
CPU_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=512)


def wide_char_tokenizer(vocab_size: int):  # noqa: ANN201
    """The tiny student's character tokenizer padded with filler tokens up to `vocab_size`."""
    from teachloop.training.student import build_char_tokenizer

    return build_char_tokenizer(vocab_size)


def synthetic_reward(problem, text: str) -> float:  # noqa: ANN001
    """Deterministic in the completion and spread over [0, 1]: real advantages, no learning signal."""
    return int(hashlib.blake2b(text.encode(), digest_size=2).hexdigest(), 16) / 0xFFFF


def time_grpo(device: str, steps: int, completions: int, tokens: int, shape: dict) -> dict:
    """Seconds per GRPO step: one warm-up round of one step, then one round of `steps` steps, timed
    by teachloop (trainer.train() / steps) and by TRL's own per-step `step_time`."""
    import random

    import torch

    from teachloop.environments import get_environment
    from teachloop.skills.graph import SkillGraph
    from teachloop.training.grpo import GRPOSettings, train_round
    from teachloop.training.student import Student, build_tiny_model

    cuda = device == "cuda"
    tok = wide_char_tokenizer(shape["vocab_size"])
    model = build_tiny_model(
        shape["vocab_size"],
        0,
        hidden_size=shape["hidden_size"],
        num_layers=shape["num_hidden_layers"],
        num_heads=shape["num_attention_heads"],
        num_kv_heads=shape["num_key_value_heads"],
        intermediate_size=shape["intermediate_size"],
        max_position_embeddings=2048,
        dtype=torch.bfloat16 if cuda else torch.float32,
        tokenizer=tok,
    )
    student = Student(model=model, tokenizer=tok, name="random", source="random-init")
    env = get_environment("arithmetic")
    skill = SkillGraph(env.skill_graph()).trainable()[0]
    problems = env.generate(skill.id, skill.min_level, 16, random.Random(0))
    group = 8
    settings = GRPOSettings(
        steps=1, prompts_per_step=completions // group, num_generations=group, max_completion_length=tokens, use_cpu=not cuda, bf16=cuda
    )
    out_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"device-check-grpo-{os.getpid()}"
    t0 = time.perf_counter()
    train_round(student, problems, synthetic_reward, settings, round=0, output_dir=out_dir)
    warmup = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    outcome = train_round(student, problems, synthetic_reward, settings.model_copy(update={"steps": steps}), round=1, output_dir=out_dir)
    return {
        "device": device,
        "dtype": "bfloat16" if cuda else "float32",
        "shape": shape,
        "parameters": sum(p.numel() for p in student.model.parameters()),
        "completions_per_step": completions,
        "max_completion_tokens": tokens,
        "mean_completion_tokens": outcome.stats.get("completion_mean_length"),
        "steps": int(outcome.stats["steps"]),
        "warmup_round_s": warmup,
        "seconds_per_step": outcome.stats["seconds_per_step"],
        "trl_step_time": outcome.stats.get("trl_step_time"),
        "round_s": outcome.seconds,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }


def run_episode(out: Path, cpu: bool) -> dict:
    """`python -m teachloop run` in a subprocess, as a user runs it; bf16 training on CUDA."""
    run_dir = out / "episode"
    cfg = out / "episode.yaml"
    grpo = "grpo: {use_cpu: true, bf16: false}\n" if cpu else "grpo: {use_cpu: false, bf16: true}\n"
    if cpu:  # keep the test-suite run short
        grpo = "grpo: {use_cpu: true, bf16: false, steps: 1}\neval: {heldout_per_skill: 4, ood_per_skill: 0}\n"
    cfg.write_text(grpo)
    cmd = [sys.executable, "-m", "teachloop", "run", "--student", "tiny", "--rounds", "2", "--profile", "smoke"]
    cmd += ["--config", str(cfg), "--run-dir", str(run_dir)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"COLUMNS": "160", "NO_COLOR": "1"})
    seconds = time.perf_counter() - t0
    (out / "episode.log").write_text(p.stdout + p.stderr)
    rounds = [json.loads(line) for line in (run_dir / "rounds.jsonl").read_text().splitlines() if line.strip()] if p.returncode == 0 else []
    return {
        "ok": p.returncode == 0 and [r["round"] for r in rounds] == [1, 2],
        "returncode": p.returncode,
        "seconds": seconds,
        "wall_time_per_round": [r["wall_time"] for r in rounds],
        "error_tail": "" if p.returncode == 0 else (p.stderr or p.stdout)[-2000:],
    }


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "vllm"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="Folder for device_check.json, the episode's run dir and its log.")
    ap.add_argument("--cpu", action="store_true", help="Skip CUDA: run both parts on the CPU, small.")
    ap.add_argument("--steps", type=int, default=5, help="Timed GRPO steps (after a one-step warm-up round).")
    args = ap.parse_args()
    import torch

    args.out.mkdir(parents=True, exist_ok=True)
    if not args.cpu and not torch.cuda.is_available():
        print("device_check: no CUDA device visible (use --cpu to run the CPU parts only)", file=sys.stderr)
        return 2
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "device": "cpu" if args.cpu else torch.cuda.get_device_name(0),
        "versions": versions(),
    }
    result["episode"] = run_episode(args.out, args.cpu)
    if args.cpu:
        result["grpo"] = time_grpo("cpu", min(args.steps, 2), completions=16, tokens=8, shape=CPU_SHAPE)
    else:
        result["grpo"] = time_grpo("cuda", args.steps, completions=64, tokens=128, shape=SMOLLM2_SHAPE)
    path = args.out / "device_check.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    ep, g = result["episode"], result["grpo"]
    print(
        f"device_check: {result['device']} torch {result['versions']['torch']}; "
        f"episode {'ok' if ep['ok'] else 'FAILED (rc ' + str(ep['returncode']) + ')'} (2 rounds, {ep['seconds']:.0f}s); "
        f"GRPO {g['parameters'] / 1e6:.1f}M params {g['dtype']} {g['completions_per_step']}x{g['max_completion_tokens']}: "
        f"{g['seconds_per_step']:.2f} s/step over {g['steps']} steps -> {path}"
    )
    return 0 if ep["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
