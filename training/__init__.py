"""The student: model loading, greedy evaluation and GRPO rounds (TRL).

Importing this package is cheap: torch, transformers and TRL load on first use, so configuration
code can use `GRPOSettings` without paying for them. No UI here: long operations report through
optional `on_progress(done, total)` callbacks.
"""

from teachloop.training.evaluate import EvalOutcome, evaluate
from teachloop.training.grpo import GRPOSettings, TrainOutcome, schedule, train_round
from teachloop.training.prompts import to_messages, to_prompt_text
from teachloop.training.rollouts import RolloutGroup, RolloutRecorder
from teachloop.training.student import (
    Student,
    StudentError,
    build_char_tokenizer,
    build_tiny_model,
    convert_smollm2,
    default_cache_dir,
    load_student,
    save_student,
)

__all__ = [
    "EvalOutcome",
    "GRPOSettings",
    "RolloutGroup",
    "RolloutRecorder",
    "Student",
    "StudentError",
    "TrainOutcome",
    "build_char_tokenizer",
    "build_tiny_model",
    "convert_smollm2",
    "default_cache_dir",
    "evaluate",
    "load_student",
    "save_student",
    "schedule",
    "to_messages",
    "to_prompt_text",
    "train_round",
]
