"""How a problem is shown to the student, the same way in evaluation and in GRPO.

A single user message with the environment's prompt and no custom system prompt: measured on
SmolLM2, asking for a format in a system prompt was never followed (0/300), whereas a user
message ending "Reply with just the number." (the environments add it) works. Both evaluation
and TRL go through the tokenizer's chat template, so the student sees identical text in both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teachloop.skills.records import Problem

if TYPE_CHECKING:
    from teachloop.training.student import Student


def to_messages(problem: Problem) -> list[dict[str, str]]:
    """The conversation for `problem`: one user message (TRL's conversational `prompt` column)."""
    return [{"role": "user", "content": problem.prompt}]


def to_prompt_text(student: Student, problem: Problem) -> str:
    """The chat-templated text the student continues, ending with the assistant turn's opening."""
    return student.tokenizer.apply_chat_template(to_messages(problem), add_generation_prompt=True, tokenize=False)
