"""What the student is asked and how its answer is read back, per reasoning-gym task.

reasoning-gym's questions already carry the task's answer format ("Provide your solution as an
arithmetic expression", "Format your answer like: ..."), so the prompt is the question plus one
closing line. The answer is read from `<answer>...</answer>` when the student uses it, else from
the task's natural shape: Countdown an arithmetic expression, Knights-and-Knaves role
assignments, ARC-1D a sequence of cells, other tasks the last line. Scoring is always the task's
own `score_answer` on what was read.
"""

from __future__ import annotations

import re

CLOSING = "Reply with just the final answer."
_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_EXPR_RE = re.compile(r"^[\d\s+\-*/().]+$")
_CELLS_RE = re.compile(r"^\d+(?:\s+\d+)+$")
_ROLE_RE = re.compile(r"\b([A-Z][a-z]+) is (an? [a-z]+)")
_LEAD_RE = re.compile(r"^(?:final answer|answer)\s*[:=]\s*", re.I)


def prompt(task: str, question: str) -> str:
    """The student's prompt: the task's own question and one closing line."""
    return f"{question.rstrip()}\n\n{CLOSING}"


def _lines(text: str) -> list[str]:
    return [_LEAD_RE.sub("", ln.strip().strip("*`").strip()) for ln in text.splitlines() if ln.strip()]


def extract(task: str, completion: str) -> str | None:
    """The answer part of a completion, in the form the task's scorer reads; None if empty."""
    tagged = _TAG_RE.findall(completion)
    if tagged:
        return tagged[-1].strip()
    lines = _lines(completion)
    if not lines:
        return None
    if task == "countdown":
        exprs = [ln.split("=")[0].strip() for ln in lines if _EXPR_RE.match(ln.split("=")[0].strip()) and re.search(r"[+\-*/]", ln)]
        return exprs[-1] if exprs else lines[-1]
    if task == "arc_1d":
        cells = [ln for ln in lines if _CELLS_RE.match(ln)]
        return cells[-1] if cells else lines[-1]
    if task == "knights_knaves":
        roles = dict(_ROLE_RE.findall(completion))  # the last claim about each person counts
        return ", and ".join(f"{who} is {role}" for who, role in roles.items()) if roles else lines[-1]
    return lines[-1].rstrip(".") if task == "zebra_puzzles" else lines[-1]
