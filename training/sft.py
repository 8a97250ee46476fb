"""Supervised fine-tuning (a warm start before GRPO), through TRL's `SFTTrainer`.

Examples are conversational prompt-completion pairs, the same chat template the student sees in
evaluation and GRPO: `prompt` = the problem as a user message, `completion` = the target answer
as the assistant message. The loss covers the completion only (TRL's `completion_only_loss`), so
the student learns to answer, not to repeat questions.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from teachloop.skills.records import Problem, Record
from teachloop.training.prompts import to_messages
from teachloop.training.quiet import quiet

if TYPE_CHECKING:
    from teachloop.training.student import Student

ProgressFn = Callable[[int, int], None]


class SFTSettings(Record):
    """How long and how hard the warm start trains. CPU-sized defaults for the tiny student."""

    steps: int = Field(
        default=1000,
        ge=1,
        description="Optimizer steps (TRL `max_steps`). 1,000 is calibrated for the tiny student: its target skills "
        "then sit at 20-50 % held-out accuracy, where GRPO has the most to learn.",
    )
    batch_size: int = Field(default=64, ge=1, description="Examples per optimizer step.")
    learning_rate: float = Field(default=1e-3, gt=0, description="AdamW peak learning rate.")
    lr_scheduler_type: str = Field(default="constant_with_warmup", description="transformers scheduler name.")
    warmup_steps: int = Field(default=30, ge=0, description="Linear warm-up steps.")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    seed: int = Field(default=0, description="Seed of batching and dropout.")
    max_length: int = Field(default=128, ge=8, description="Tokens per example at most (prompt + completion).")
    verbose: bool = Field(default=False, description="Let TRL/transformers print their logs.")


class SFTOutcome(Record):
    stats: dict[str, float] = Field(default_factory=dict, description="Final and mean loss, steps, seconds per step.")
    seconds: float = 0.0


def sft(
    student: Student,
    examples: Sequence[tuple[Problem, str]],
    settings: SFTSettings,
    *,
    output_dir: Path,
    on_progress: ProgressFn | None = None,
    stop_when: Callable[[int], bool] | None = None,
    check_every: int = 0,
) -> SFTOutcome:
    """Train `student.model` in place on (problem, target completion text) pairs.

    With `stop_when` and `check_every` > 0, `stop_when(step)` is asked every `check_every` steps
    and training ends at the first True: a warm start stopped at a measured skill level rather
    than a step count, which library versions and CPUs shift."""
    if not examples:
        raise ValueError("sft needs at least one example")
    start = time.perf_counter()
    from datasets import Dataset
    from transformers import PrinterCallback, ProgressCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    rows = [{"prompt": to_messages(p), "completion": [{"role": "assistant", "content": text}]} for p, text in examples]
    dataset = Dataset.from_list(rows)

    class _Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, D102
            if on_progress:
                on_progress(state.global_step, settings.steps)
            if stop_when and check_every > 0 and state.global_step % check_every == 0 and stop_when(state.global_step):
                control.should_training_stop = True

    model = student.model
    was_training = model.training
    with quiet(not settings.verbose):
        config = SFTConfig(
            output_dir=str(output_dir),
            max_steps=settings.steps,
            per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            lr_scheduler_type=settings.lr_scheduler_type,
            warmup_steps=settings.warmup_steps,
            weight_decay=settings.weight_decay,
            seed=settings.seed,
            data_seed=settings.seed,
            max_length=settings.max_length,
            completion_only_loss=True,
            packing=False,
            use_cpu=True,
            bf16=False,
            fp16=False,
            report_to="none",
            save_strategy="no",
            logging_strategy="steps",
            logging_steps=max(1, settings.steps // 20),
            disable_tqdm=True,
            dataloader_pin_memory=False,
        )
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=student.tokenizer,
            callbacks=[_Progress()],
        )
        if not settings.verbose:
            trainer.remove_callback(PrinterCallback)
            trainer.remove_callback(ProgressCallback)
        t0 = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - t0
        trained = trainer.accelerator.unwrap_model(trainer.model)
        if trained is not model:
            model.load_state_dict(trained.state_dict())
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e and "train_runtime" not in e]
        steps = trainer.state.global_step
        trainer = None
        gc.collect()
    model.train(was_training)
    model.eval()
    stats = {
        "steps": float(steps),
        "final_loss": losses[-1] if losses else math.nan,
        "mean_loss": sum(losses) / len(losses) if losses else math.nan,
        "seconds_per_step": train_seconds / steps if steps else math.nan,
        "examples": float(len(examples)),
    }
    return SFTOutcome(stats=stats, seconds=time.perf_counter() - start)
