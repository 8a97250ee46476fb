"""A per-round snapshot of the skill graph: the graph as it stood, the mastery tracker's state
(so an episode resumes exactly), and the weakness report the teacher read. Saved as
`skill_graph/round_K.json` in the run dir; `teachloop inspect` and `teachloop report` read only these."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field

from skills.graph import SkillGraph
from skills.mastery import MasteryTracker
from skills.records import Record, Skill
from skills.report import WeaknessReport


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
        """Write atomically (temp file, fsync, rename), so a crash leaves the old file or the new one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o644)  # mkstemp makes it private; a run dir is meant to be read and shared
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.model_dump_json())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SkillGraphSnapshot:
        return cls.model_validate_json(Path(path).read_bytes())
