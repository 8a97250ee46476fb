"""What a caller other than `teachloop run` changes about an episode (`EpisodeOptions`: the
bench), how the student sees problems (`StudentView`), and what the per-round hook gets
(`RoundOutcome`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from teachloop.environments.base import Environment
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import Problem, RoundResult
from teachloop.training.grpo import TrainOutcome

if TYPE_CHECKING:
    from teachloop.episode import Episode

Reward = Callable[[Problem, str], float]


class StudentView(Protocol):
    """How problems are shown to the student and its answers scored."""

    def to_student(self, problem: Problem) -> Problem: ...

    def reward(self, train: bool = False) -> Reward: ...


class PlainView:
    """The environment's own text and reward (what a language-model student gets)."""

    def __init__(self, env: Environment):
        self.env = env

    def to_student(self, problem: Problem) -> Problem:
        return problem

    def reward(self, train: bool = False) -> Reward:
        return self.env.reward


@dataclass
class RoundOutcome:
    """What a committed round did, for `EpisodeOptions.on_round` (the bench's statistics)."""

    round: int
    steps_done: int  # GRPO steps of the episode so far
    last: bool
    batch: list[Problem]  # what the student trained on, repeats included
    train: TrainOutcome  # attempts carry the original problem ids
    result: RoundResult


@dataclass
class EpisodeOptions:
    """What a caller other than `teachloop run` changes; every default is what `run` does."""

    env: Environment | None = None  # None: get_environment(cfg.env)
    graph: SkillGraph | None = None  # the skill graph to start from (None: the environment's)
    skills: list[str] | None = None  # skills in play for the strategies (None: the graph's trainable)
    view: StudentView | None = None  # None: PlainView
    load_student: Callable[[str], Any] | None = None  # source -> student (None: load_student)
    # Diagnostic evaluation (feeds tracker, report and strategy) per split; None: the environment's
    # held-out and OOD eval sets, with discovered sub-skills scored on them.
    diagnostic: dict[str, list[Problem]] | None = None
    protected: list[Problem] | None = None  # problems no batch may copy (None: the diagnostic eval sets)
    schedule: list[tuple[int, int]] | None = None  # (GRPO steps, problems) per round (None: from cfg)
    rng_seed: str | None = None  # the strategy's rng (None: "CURRICULUM/SEED")
    exact_batches: bool = False  # the teacher tops its batch up to exactly the asked size
    teacher_checkpoints: bool = True  # the teacher's LangGraph checkpoints in state.sqlite (mid-round resume)
    on_round: Callable[[Episode, RoundOutcome], None] | None = None
