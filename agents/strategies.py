"""The curriculum registry: every strategy by name, once. The CLI's `--curriculum` help, the run
config's validation and the bench's `--strategies` all read `STRATEGIES`.

The interface and shared helpers live in `teachloop.agents.curriculum`, the literature's curricula
in `teachloop.agents.baselines`, the teacher agent in `teachloop.agents.teacher_strategy`; their
names are re-exported here so callers import from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from teachloop.agents.baselines import (
    DUMPStrategy,
    EasyToHardStrategy,
    RandomStrategy,
    SECStrategy,
    ThresholdStrategy,
    VarianceStrategy,
)
from teachloop.agents.curriculum import (
    Arm,
    CurriculumStrategy,
    Proposal,
    StrategyBase,
    StrategyContext,
    arm_key,
    draw_problems,
    parse_arm,
    sample_counts,
    softmax,
)
from teachloop.agents.teacher_strategy import TeacherStrategy

__all__ = [
    "Arm",
    "CurriculumStrategy",
    "DUMPStrategy",
    "EasyToHardStrategy",
    "Proposal",
    "RandomStrategy",
    "SECStrategy",
    "STRATEGIES",
    "StrategyBase",
    "StrategyContext",
    "TeacherStrategy",
    "ThresholdStrategy",
    "VarianceStrategy",
    "arm_key",
    "check_strategy_name",
    "draw_problems",
    "make_strategy",
    "parse_arm",
    "sample_counts",
    "softmax",
]

STRATEGIES: dict[str, Callable[..., CurriculumStrategy]] = {
    "random": RandomStrategy,
    "easy-to-hard": EasyToHardStrategy,
    "threshold": ThresholdStrategy,
    "sec": SECStrategy,
    "dump": DUMPStrategy,
    "variance": VarianceStrategy,
    "teacher": TeacherStrategy,
}


def check_strategy_name(name: str) -> str:
    """`name` if it is registered, else a one-line ValueError listing the choices."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy '{name}' (choose from: {', '.join(STRATEGIES)})")
    return name


def make_strategy(name: str, **kwargs: Any) -> CurriculumStrategy:
    """A fresh strategy by registry name; `kwargs` go to its constructor (e.g. `model=` for teacher)."""
    return STRATEGIES[check_strategy_name(name)](**kwargs)
