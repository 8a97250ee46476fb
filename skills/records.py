"""The core values that cross folder boundaries: every one a pydantic model.

`skills` is the lowest layer, so the records every other layer exchanges live here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

Provenance = Literal["seed", "generated", "rewritten", "escalated", "authored"]
Action = Literal["create", "simplify", "diversify", "escalate", "discover"]
RejectReason = Literal["wrong_answer", "off_skill", "duplicate", "eval_collision", "unparsable", "unsolvable", "text_mismatch"]


class Record(BaseModel):
    """Base for all records: unknown fields are an error, so typos in configs or JSON surface."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        # Computed fields are written to JSON for readers; they are derived again on load.
        if isinstance(data, dict) and cls.model_computed_fields:
            data = {k: v for k, v in data.items() if k not in cls.model_computed_fields}
        return data


class Skill(Record):
    """A node of the skill graph: a named, verifiable ability with a difficulty range."""

    id: str = Field(description="Stable identifier, e.g. 'add.2digit'.")
    name: str = Field(description="Human-readable name.")
    description: str = Field(default="", description="What the skill exercises.")
    parent: str | None = Field(default=None, description="Parent in the hierarchy (domain → topic → skill).")
    prerequisites: list[str] = Field(default_factory=list, description="Skills that must be mastered first.")
    kind: Literal["domain", "topic", "skill"] = Field(default="skill", description="Level in the hierarchy.")
    min_level: int = Field(default=1, ge=1, description="Easiest difficulty level used for training.")
    max_level: int = Field(default=3, ge=1, description="Hardest difficulty level used for training.")
    ood_level: int | None = Field(default=None, description="A harder level kept for OOD evaluation only.")
    provenance: Literal["seed", "discovered"] = Field(default="seed", description="Seed skill or added by the teacher.")
    added_round: int = Field(default=0, description="The round in which the skill appeared.")
    spec: dict[str, Any] = Field(default_factory=dict, description="Environment-specific generator spec.")

    @property
    def trainable(self) -> bool:
        return self.kind == "skill"

    @property
    def training_levels(self) -> list[int]:
        return list(range(self.min_level, self.max_level + 1))


class Problem(Record):
    """One verifiable problem. The id is a hash of its content, so duplicates collide."""

    skill_id: str
    difficulty: int = Field(ge=1)
    prompt: str = Field(description="Surface text shown to the student.")
    answer: str = Field(description="Ground-truth final answer, as the environment normalises it.")
    spec: dict[str, Any] = Field(default_factory=dict, description="Structured spec the solver checks.")
    env: str
    provenance: Provenance = "generated"
    parent_id: str | None = None
    teacher: str | None = Field(default=None, description="Teacher model that authored it.")
    round: int = 0
    action: Action | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        blob = json.dumps(
            {"env": self.env, "skill": self.skill_id, "prompt": self.prompt, "answer": self.answer},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def is_correct(reward: float) -> bool:
    """The one rule for "right": a full reward. Partial credit (a shaped training reward) never counts."""
    return reward >= 1.0


class Attempt(Record):
    """What the student did with one problem: its group of completions and their statistics."""

    problem_id: str
    skill_id: str
    round: int
    phase: Literal["eval", "train"]
    split: str | None = Field(default=None, description="Eval split name for phase='eval'.")
    completions: list[str] = Field(default_factory=list)
    rewards: list[float] = Field(default_factory=list)
    steps: list[int] = Field(
        default_factory=list,
        description="phase='train': the GRPO optimizer step each rollout fed (parallel to rewards), so per-step "
        "curricula (SEC, DUMP) can update after every step.",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pass_rate(self) -> float:
        return sum(map(is_correct, self.rewards)) / len(self.rewards) if self.rewards else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reward_variance(self) -> float:
        if not self.rewards:
            return 0.0
        m = sum(self.rewards) / len(self.rewards)
        return sum((r - m) ** 2 for r in self.rewards) / len(self.rewards)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean_abs_advantage(self) -> float:
        """Mean |r - mean(r)| of the group: GRPO's unscaled advantage magnitude (SEC and DUMP use the
        std-normalised one, per step: `teachloop.agents.baselines.grpo_advantages`)."""
        if not self.rewards:
            return 0.0
        m = sum(self.rewards) / len(self.rewards)
        return sum(abs(r - m) for r in self.rewards) / len(self.rewards)


class Verdict(Record):
    """The environment's verdict on a drafted problem."""

    accepted: bool
    reason: RejectReason | None = None
    detail: str = ""


class SolveResult(Record):
    """The solver's ground truth for a spec, or why there is none."""

    answer: str | None = None
    error: str | None = Field(default=None, description="Set when unsolvable or ambiguous.")


class Classification(Record):
    """Which skill(s) a spec exercises and at which difficulty."""

    skill_ids: list[str]
    difficulty: int | None = None


class Rejected(Record):
    """A drafted problem the verifier refused, with the reason."""

    draft: dict[str, Any]
    skill_id: str
    action: Action
    reason: RejectReason
    detail: str = ""


class PlanItem(Record):
    skill_id: str
    action: Action
    budget: int = Field(ge=0, description="Accepted problems wanted for this item.")
    difficulty: int | None = None
    source_problem_ids: list[str] = Field(default_factory=list, description="Problems to rewrite.")
    rationale: str = ""


class TeachingPlan(Record):
    items: list[PlanItem] = Field(default_factory=list)
    policy: str = "skill-tree"


class CurriculumBatch(Record):
    round: int
    problems: list[Problem] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    plan: TeachingPlan = Field(default_factory=TeachingPlan)

    def per_skill(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.skill_id] = out.get(p.skill_id, 0) + 1
        return out


class SkillEval(Record):
    skill_id: str
    split: str
    n: int
    correct: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def tally(outcomes: Iterable[tuple[str, str, bool]]) -> list[SkillEval]:
    """Per (skill, split) counts of `(skill_id, split, correct)` outcomes, in first-seen order: the one
    place where attempts become per-skill accuracy."""
    counts: dict[tuple[str, str], list[int]] = {}
    for skill_id, split, correct in outcomes:
        c = counts.setdefault((skill_id, split), [0, 0])
        c[0] += 1
        c[1] += bool(correct)
    return [SkillEval(skill_id=s, split=sp, n=n, correct=k) for (s, sp), (n, k) in counts.items()]


class TeacherCost(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    seconds: float = 0.0
    fallback: str | None = Field(default=None, description="Set when the round fell back to another teacher.")
    modes: dict[str, str] = Field(
        default_factory=dict,
        description="Per backend, how its replies were produced: 'grammar' (decoding constrained in-process), "
        "'json_schema' or 'json_object' (structured output the server honoured), 'unenforced' (asked for, but a "
        "reply broke the schema), 'text' (unconstrained).",
    )
    truncated: int = Field(default=0, description="Replies cut at max_tokens (finish_reason 'length').")
    round_trips: int = Field(default=0, description="Teacher-written texts checked by an independent round-trip call.")
    round_trip_agreed: int = Field(default=0, description="Round trips whose expression had the spec's value.")

    def add(self, part: TeacherCost, seconds: float = 0.0) -> None:
        """Fold `part` (one call's cost) into this running total."""
        self.prompt_tokens += part.prompt_tokens
        self.completion_tokens += part.completion_tokens
        self.requests += part.requests
        self.seconds += seconds
        self.truncated += part.truncated
        self.round_trips += part.round_trips
        self.round_trip_agreed += part.round_trip_agreed
        for name, mode in part.modes.items():  # a backend seen unenforced once stays so
            if self.modes.get(name) != "unenforced":
                self.modes[name] = mode
        if part.fallback:
            self.fallback = part.fallback


class RoundResult(Record):
    """One finished round, as appended to rounds.jsonl."""

    round: int
    eval_before: list[SkillEval] = Field(default_factory=list)
    eval_after: list[SkillEval] = Field(default_factory=list)
    problems_per_skill: dict[str, int] = Field(default_factory=dict)
    plan: TeachingPlan = Field(default_factory=TeachingPlan)
    accepted_per_action: dict[str, int] = Field(default_factory=dict)
    rejected_per_action: dict[str, dict[str, int]] = Field(default_factory=dict)
    train_stats: dict[str, float] = Field(default_factory=dict)
    teacher_cost: TeacherCost = Field(default_factory=TeacherCost)
    wall_time: dict[str, float] = Field(default_factory=dict, description="Seconds per phase.")
    new_skills: list[str] = Field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(sum(v.values()) for v in self.rejected_per_action.values())

    @property
    def accepted_problems(self) -> int:
        """Problems the round accepted: its lines in problems.jsonl. The one definition the round
        table, inspect, the report and the bench use; a discovered sub-skill is not a problem."""
        return sum(self.problems_per_skill.values())

    def problems_per_action(self) -> dict[str, int]:
        """Accepted problems per teaching action. A discovered sub-skill is in `new_skills`; run
        dirs written before that also counted it here as "discover", which is skipped."""
        return {k: v for k, v in self.accepted_per_action.items() if k != "discover" and v}

    def accepted_text(self) -> str:
        """Accepted problems per action, then discovered sub-skills, e.g. "create 5, simplify 2; 1 new sub-skill"."""
        text = ", ".join(f"{k} {v}" for k, v in sorted(self.problems_per_action().items())) or "0"
        if self.new_skills:
            text += f"; {len(self.new_skills)} new sub-skill" + ("s" if len(self.new_skills) != 1 else "")
        return text

    def cost_text(self) -> str:
        """The teacher's cost in one line, per accepted problem where any were (round table,
        `teachloop inspect`, the HTML report)."""
        c = self.teacher_cost
        accepted = self.accepted_problems
        tokens = c.prompt_tokens + c.completion_tokens
        if not tokens and not c.requests:
            return f"no model calls; {c.seconds:.1f} s" + (f"; fell back: {c.fallback}" if c.fallback else "")
        parts = [f"{tokens:,} tokens ({c.prompt_tokens:,} in, {c.completion_tokens:,} out)", f"{c.requests} requests", f"{c.seconds:.1f} s"]
        if accepted:
            parts.append(f"{tokens / accepted:,.0f} tokens and {c.seconds / accepted:.2f} s per accepted problem")
        if c.modes:
            parts.append("output " + ", ".join(f"{m}" for m in sorted(set(c.modes.values()))))
        if c.truncated:
            parts.append(f"{c.truncated} cut at max_tokens")
        if c.round_trips:
            parts.append(f"word problems read back {c.round_trip_agreed}/{c.round_trips}")
        if c.fallback:
            parts.append(f"fell back: {c.fallback}")
        return "; ".join(parts)
