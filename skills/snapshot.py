"""A per-round snapshot of the skill graph: the graph as it stood, the mastery tracker's state
(so an episode resumes exactly), and the weakness report the teacher read. Saved as
`skill_graph/round_K.json` in the run dir; `teachloop inspect` and `teachloop report` read only these."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field

from teachloop.skills.files import write_atomic
from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import Record, Skill
from teachloop.skills.report import WeaknessReport


class SkillGraphSnapshot(Record):
    """Everything known after one round: enough to resume the episode and to draw every view."""

    round: int
    skills: list[Skill] = Field(description="Every node of the graph, in declaration order.")
    tracker: dict[str, Any] = Field(description="MasteryTracker.state_dict().")
    report: WeaknessReport

    @classmethod
    def capture(cls, round: int, graph: SkillGraph, tracker: MasteryTracker, report: WeaknessReport) -> SkillGraphSnapshot:
        return cls(round=round, skills=list(graph.skills.values()), tracker=tracker.state_dict(), report=report)

    def graph(self) -> SkillGraph:
        return SkillGraph(self.skills)

    def mastery(self) -> MasteryTracker:
        return MasteryTracker.from_state_dict(self.tracker)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically, so a crash leaves the old file or the new one."""
        write_atomic(path, self.model_dump_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SkillGraphSnapshot:
        return cls.model_validate_json(Path(path).read_bytes())
