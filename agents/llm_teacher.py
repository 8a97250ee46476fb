"""An LLM teacher: prompts built from the WeaknessReport and failure exemplars, replies parsed
into pydantic drafts. The reply is untrusted data — parsed, validated, then verified by the
environment's solver in the agent's `verify` node; nothing in it is ever executed."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from teachloop.agents.chat import ChatBackend, extract_json
from teachloop.agents.drafts import AuthorRequest, AuthorResponse, DiscoverRequest, DiscoverResponse, Draft, SubSkillProposal
from teachloop.skills.records import TeacherCost

SYSTEM = (
    "You are a teacher who writes practice problems for a student model trained by reinforcement "
    "learning. Every problem you write is checked by an exact solver: give a structured spec in the "
    "requested format and its correct final answer. Reply with JSON only."
)

ACTION_TEXT = {
    "create": "Write {n} new problems for this skill at difficulty level {d}.",
    "simplify": "The student fails these problems. Write {n} easier problems of the SAME skill at level {d} (smaller numbers, fewer steps), one per source where possible.",
    "diversify": "The student is half-way on these problems. Write {n} problems of the same skill and level {d} with different numbers and a different wording in `prompt`.",
    "escalate": "The student solves these problems. Write {n} harder variants of the same skill one level up, level {d}.",
}


class DraftOut(BaseModel):
    spec: dict[str, Any] = Field(description="Structured spec in the environment's format.")
    answer: str = Field(description="The correct final answer.")
    prompt: str | None = Field(default=None, description="Optional wording for the student.")


class AuthorOut(BaseModel):
    problems: list[DraftOut]


class DiscoverOut(BaseModel):
    feature: str | None = Field(description="One of the offered feature names, or null if failures do not cluster.")
    name: str = ""
    description: str = ""


def _cost(results) -> TeacherCost:
    return TeacherCost(
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        requests=len(results),
    )


class LLMTeacher:
    """Authoring through any ChatBackend; requests for many problems are split into chunks
    that run in parallel up to `concurrency`."""

    def __init__(self, backend: ChatBackend, *, name: str, concurrency: int = 4, per_request: int = 4):
        self.backend = backend
        self.name = name
        self.concurrency = concurrency
        self.per_request = per_request

    def _messages(self, req: AuthorRequest, n: int) -> list[dict[str, str]]:
        s = req.skill
        parts = [
            f"Skill: {s.id} — {s.name}. {s.description}".strip(),
            ACTION_TEXT[req.action].format(n=n, d=req.difficulty),
            f"Spec format for this skill:\n{req.spec_help}",
        ]
        if req.sources:
            parts.append("Source problems:\n" + "\n".join(f"- spec={json.dumps(p.spec)} answer={p.answer}" for p in req.sources[:6]))
        if req.exemplars:
            parts.append(
                "Recent student failures:\n"
                + "\n".join(
                    f"- {e.get('prompt', '')!r}: student said {e.get('student_answer', '')!r}, expected {e.get('expected', '')}"
                    for e in req.exemplars[:3]
                )
            )
        if req.report_text:
            parts.append("Student state:\n" + req.report_text[:1500])
        parts.append('Reply as JSON: {"problems": [{"spec": {...}, "answer": "...", "prompt": null}]}')
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]

    def _one(self, req: AuthorRequest, n: int, k: int):
        res = self.backend.complete(self._messages(req, n), AuthorOut, seed=req.seed * 100 + k)
        drafts, bad = [], 0
        try:
            obj = extract_json(res.text)
            items = obj.get("problems", []) if isinstance(obj, dict) else obj
            if not isinstance(items, list):
                raise ValueError("'problems' is not a list")
        except ValueError:
            return res, [], 1
        for it in items[:n]:
            try:
                d = DraftOut.model_validate(it)
                drafts.append(
                    Draft(
                        spec=d.spec,
                        answer=d.answer,
                        prompt=d.prompt or None,
                        difficulty=req.difficulty,
                        parent_id=req.sources[len(drafts) % len(req.sources)].id if req.sources else None,
                    )
                )
            except ValidationError:
                bad += 1
        return res, drafts, bad

    def author(self, request: AuthorRequest) -> AuthorResponse:
        chunks = [min(self.per_request, request.n - i) for i in range(0, request.n, self.per_request)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks))) as pool:
            outs = list(pool.map(lambda kn: self._one(request, kn[1], kn[0]), enumerate(chunks)))
        drafts = [d for _, ds, _ in outs for d in ds]
        return AuthorResponse(drafts=drafts, unparsable=sum(b for _, _, b in outs), cost=_cost([r for r, _, _ in outs]))

    def discover(self, request: DiscoverRequest) -> DiscoverResponse:
        table = "\n".join(
            f"- {f}: {desc} (in {request.failure_feature_counts.get(f, 0)} failures, {request.success_feature_counts.get(f, 0)} successes)"
            for f, desc in request.features.items()
        )
        msg = (
            f"Skill {request.skill.id} — {request.skill.name}. The student failed {request.n_failed} and solved "
            f"{request.n_passed} held-out problems. Features of those problems:\n{table}\n\n"
            "If the failures cluster on one feature, name it as a new sub-skill. Reply as JSON: "
            '{"feature": "<one name from the list or null>", "name": "...", "description": "..."}'
        )
        res = self.backend.complete([{"role": "system", "content": SYSTEM}, {"role": "user", "content": msg}], DiscoverOut)
        try:
            out = DiscoverOut.model_validate(extract_json(res.text))
        except (ValueError, ValidationError):
            return DiscoverResponse(cost=_cost([res]))
        if not out.feature or out.feature not in request.features:
            return DiscoverResponse(cost=_cost([res]))
        return DiscoverResponse(
            proposal=SubSkillProposal(
                feature=out.feature, name=out.name or f"{request.skill.name} ({out.feature})", description=out.description
            ),
            cost=_cost([res]),
        )
