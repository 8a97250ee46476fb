"""What a teacher model is asked for and what it answers: the seam between the agent
(policy) and the models (engines). LLM output is parsed into these and validated."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from teachloop.skills.records import Action, Problem, Record, Rejected, Skill, TeacherCost


class Draft(Record):
    """A problem as a teacher model proposes it: untrusted until the environment verifies it."""

    spec: dict[str, Any] = Field(description="Structured problem spec the environment's solver checks.")
    answer: str | None = Field(
        default=None, description="The teacher's claimed final answer; None = the solver's (a given one must agree with it)."
    )
    prompt: str | None = Field(default=None, description="Surface text; None = the environment renders the spec.")
    rendered: bool = Field(default=False, description="The environment wrote `prompt` (else it is checked against the spec).")
    difficulty: int | None = Field(default=None, description="Claimed difficulty level.")
    parent_id: str | None = Field(default=None, description="Problem this one rewrites, if any.")


class AuthorRequest(Record):
    """One authoring call: `n` drafts of `action` for `skill`."""

    action: Action
    skill: Skill
    n: int = Field(ge=1)
    difficulty: int
    round: int
    sources: list[Problem] = Field(default_factory=list, description="Problems to rewrite (simplify/diversify/escalate).")
    report_text: str = Field(default="", description="Compact WeaknessReport for LLM prompts.")
    exemplars: list[dict[str, str]] = Field(default_factory=list, description="Failures: prompt, student answer, expected.")
    spec_help: str = Field(default="", description="The environment's description of the spec format for this skill.")
    spec_schema: dict[str, Any] = Field(
        default_factory=dict, description="JSON schema of a spec of this skill and level ({} = any object); LLM backends constrain to it."
    )
    examples: list[Problem] = Field(default_factory=list, description="Verified problems of the skill, shown as the JSON expected back.")
    example_level: int | None = Field(default=None, description="The examples' level (None = the requested one).")
    seed: int = 0


class AuthorResponse(Record):
    drafts: list[Draft] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list, description="Replies or items refused before verification, with reasons.")
    unparsable: int = Field(default=0, description="Further outputs that did not parse, without details.")
    cost: TeacherCost = Field(default_factory=TeacherCost)
    author: str | None = Field(default=None, description="Who wrote the drafts, when not the teacher asked (its fallback).")


class DiscoverRequest(Record):
    """Failures of one skill, for proposing a sub-skill where they cluster."""

    skill: Skill
    round: int
    n_failed: int = Field(default=0, description="Held-out problems of the skill the student failed.")
    n_passed: int = Field(default=0, description="Held-out problems of the skill the student solved.")
    failed_specs: list[dict[str, Any]] = Field(default_factory=list, description="A sample of failed specs.")
    passed_specs: list[dict[str, Any]] = Field(default_factory=list, description="A sample of solved specs.")
    features: dict[str, str] = Field(default_factory=dict, description="Feature name -> what it means, as the environment offers them.")
    failure_feature_counts: dict[str, int] = Field(default_factory=dict)
    success_feature_counts: dict[str, int] = Field(default_factory=dict)


class SubSkillProposal(Record):
    feature: str = Field(description="One of the environment's feature names.")
    name: str = Field(description="Human-readable sub-skill name.")
    description: str = ""


class DiscoverResponse(Record):
    proposal: SubSkillProposal | None = None
    cost: TeacherCost = Field(default_factory=TeacherCost)
