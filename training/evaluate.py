"""Greedy evaluation of the student on a fixed problem set, scored by the environment's reward.

Greedy decoding makes an eval deterministic, so two evals differ only because the student changed.
Problems are sorted by prompt length before batching, so a batch wastes little on left padding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import Field

from teachloop.skills.records import Attempt, Problem, Record, SkillEval, is_correct, tally
from teachloop.training.prompts import to_prompt_text
from teachloop.training.quiet import quiet

if TYPE_CHECKING:
    from teachloop.training.student import Student

RewardFn = Callable[[Problem, str], float]
ProgressFn = Callable[[int, int], None]


class EvalOutcome(Record):
    """Per-skill accuracy plus every completion, and how fast the student generated them."""

    per_skill: list[SkillEval] = Field(default_factory=list, description="One entry per skill, in first-seen order.")
    attempts: list[Attempt] = Field(default_factory=list, description="phase='eval', one greedy completion each.")
    tokens_per_s: float = Field(default=0.0, description="Generated tokens per second of generation time.")
    seconds: float = Field(default=0.0, description="Wall time of the whole evaluation, scoring included.")
    generated_tokens: int = Field(default=0, description="Tokens generated, up to and including each EOS.")


def evaluate(
    student: Student,
    problems: list[Problem],
    reward_fn: RewardFn,
    *,
    round: int,
    split: str,
    batch_size: int = 32,
    max_new_tokens: int = 16,
    on_progress: ProgressFn | None = None,
) -> EvalOutcome:
    """Greedy-decode one completion per problem and score it with `reward_fn(problem, text)`.

    A problem counts as correct when its reward is at least 1.0 (the same rule as `Attempt.pass_rate`),
    so partial-credit format terms never inflate accuracy. `on_progress(done, total)` counts problems.
    """
    import torch
    from transformers import GenerationConfig

    start = time.perf_counter()
    total = len(problems)
    if on_progress:
        on_progress(0, total)
    if not problems:
        return EvalOutcome()
    model, tok = student.model, student.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    eos_ids = _eos_ids(model, tok)
    gen_config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=pad_id,
        eos_token_id=eos_ids,
        bos_token_id=tok.bos_token_id,
    )
    # Chat templates already contain their special tokens; adding BOS again would change the text
    # the student saw in training (TRL tokenizes with add_special_tokens=False too).
    rank, world = _process_group()
    encoded = tok([to_prompt_text(student, p) for p in problems], add_special_tokens=False)["input_ids"]
    order = sorted(range(total), key=lambda i: len(encoded[i]))[rank::world]  # this process's share
    texts: list[str] = [""] * total
    generated = 0
    gen_seconds = 0.0
    was_training = model.training
    model.eval()
    try:
        with quiet(), torch.inference_mode():
            for lo in range(0, len(order), batch_size):
                idx = order[lo : lo + batch_size]
                width = max(len(encoded[i]) for i in idx)
                ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):  # left padding: the prompts end where generation starts
                    n = len(encoded[i])
                    ids[row, width - n :] = torch.tensor(encoded[i], dtype=torch.long)
                    mask[row, width - n :] = 1
                t0 = time.perf_counter()
                out = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), generation_config=gen_config)
                gen_seconds += time.perf_counter() - t0
                new = out[:, width:].cpu()
                for row, i in enumerate(idx):
                    seq = new[row].tolist()
                    end = next((k + 1 for k, t in enumerate(seq) if t in eos_ids), len(seq))
                    generated += end
                    texts[i] = tok.decode(seq[:end], skip_special_tokens=True)
                if on_progress:
                    on_progress(min((lo + batch_size) * world, total), total)
    finally:
        model.train(was_training)
    if world > 1:  # every process ends with every completion (and the slowest process's time)
        texts, generated, gen_seconds = _gather({i: texts[i] for i in order}, total, generated, gen_seconds)

    attempts: list[Attempt] = []
    for problem, text in zip(problems, texts, strict=True):
        reward = float(reward_fn(problem, text))
        attempts.append(
            Attempt(
                problem_id=problem.id,
                skill_id=problem.skill_id,
                round=round,
                phase="eval",
                split=split,
                completions=[text],
                rewards=[reward],
            )
        )
    return EvalOutcome(
        per_skill=tally((a.skill_id, split, is_correct(a.rewards[0])) for a in attempts),
        attempts=attempts,
        tokens_per_s=generated / gen_seconds if gen_seconds > 0 else 0.0,
        seconds=time.perf_counter() - start,
        generated_tokens=generated,
    )


def _eos_ids(model: object, tok: object) -> list[int]:
    """Every token that ends a completion: the tokenizer's EOS and whatever the model declares."""
    declared = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = [] if declared is None else [declared] if isinstance(declared, int) else list(declared)
    if tok.eos_token_id is not None and tok.eos_token_id not in ids:  # type: ignore[attr-defined]
        ids.insert(0, tok.eos_token_id)  # type: ignore[attr-defined]
    return ids


def _process_group() -> tuple[int, int]:
    """(rank, world size) of an initialised torch.distributed group, else (0, 1): under
    `accelerate launch` / `torchrun` every process evaluates a share and all gather the texts."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather(mine: dict[int, str], total: int, generated: int, seconds: float) -> tuple[list[str], int, float]:
    import torch.distributed as dist

    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, (mine, generated, seconds))
    texts = [""] * total
    for share, _, _ in parts:
        for i, text in share.items():
            texts[i] = text
    return texts, sum(g for _, g, _ in parts), max(s for _, _, s in parts)
