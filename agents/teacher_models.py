"""Teacher models: the engines behind the agent. One protocol, many backends; the agent
never knows which one it talks to."""

from __future__ import annotations

import random
import zlib
from typing import Any, Protocol, runtime_checkable

from teachloop.agents.drafts import AuthorRequest, AuthorResponse, DiscoverRequest, DiscoverResponse, Draft, SubSkillProposal
from teachloop.environments.base import Environment
from teachloop.skills.records import Problem


def stable_rng(*parts: Any) -> random.Random:
    """A Random seeded from its arguments, the same in every process (unlike hash())."""
    return random.Random(zlib.crc32("|".join(map(str, parts)).encode()))


@runtime_checkable
class TeacherModel(Protocol):
    name: str

    def author(self, request: AuthorRequest) -> AuthorResponse:
        """Draft problems for one plan item; drafts are verified by the environment afterwards."""
        ...

    def discover(self, request: DiscoverRequest) -> DiscoverResponse:
        """Propose a sub-skill where a skill's failures cluster, or None."""
        ...


def _draft(p: Problem) -> Draft:
    return Draft(spec=p.spec, answer=p.answer, prompt=p.prompt, rendered=True, difficulty=p.difficulty, parent_id=p.parent_id)


class ProceduralTeacher:
    """No LLM: the environment's own generators and rewrites. The embedded default, and the
    fallback when an LLM teacher fails."""

    name = "procedural"

    def __init__(self, env: Environment):
        self.env = env

    def author(self, request: AuthorRequest) -> AuthorResponse:
        rng = stable_rng(request.seed, request.round, request.skill.id, request.action, request.n, len(request.sources))
        drafts: list[Draft] = []
        if request.action in ("simplify", "diversify", "escalate") and request.sources:
            seen: set[str] = set()
            for k in range(2 * request.n):
                src = request.sources[k % len(request.sources)]
                if request.action != "diversify" and k >= len(request.sources):
                    break  # simplify/escalate of a source is (nearly) deterministic: once each
                out = self.env.rewrite(src, request.action, rng)
                if out is not None and out.id not in seen:
                    seen.add(out.id)
                    drafts.append(_draft(out))
                if len(drafts) >= request.n:
                    break
        if len(drafts) < request.n:
            # create, or a rewrite with too few sources: fresh problems at the requested level.
            fresh = self.env.generate(request.skill.id, request.difficulty, request.n - len(drafts), rng)
            drafts.extend(_draft(p) for p in fresh)
        return AuthorResponse(drafts=drafts)

    def discover(self, request: DiscoverRequest) -> DiscoverResponse:
        """Pick the feature most over-represented among failures (needs >= 2 failures with it)."""
        best, best_score = None, 0.0
        for feat, fails in request.failure_feature_counts.items():
            if feat not in request.features or fails < 2:
                continue
            succ = request.success_feature_counts.get(feat, 0)
            n_fail = max(1, request.n_failed)
            n_succ = max(1, request.n_passed)
            # Failure rate lift of the feature: share among failures minus share among successes.
            score = fails / n_fail - succ / n_succ
            if score > best_score:
                best, best_score = feat, score
        if best is None:
            return DiscoverResponse()
        return DiscoverResponse(
            proposal=SubSkillProposal(
                feature=best,
                name=f"{request.skill.name} ({best.replace('_', ' ')})",
                description=f"{request.skill.name} where {request.features[best]}; failures cluster here.",
            )
        )


class FallbackTeacher:
    """An LLM teacher that hands a request to another teacher when it is unavailable; the
    response's cost says so, and the round record carries it."""

    def __init__(self, primary: TeacherModel, fallback: TeacherModel):
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def author(self, request: AuthorRequest) -> AuthorResponse:
        from teachloop.agents.chat import TeacherUnavailable

        try:
            return self.primary.author(request)
        except TeacherUnavailable as e:
            resp = self.fallback.author(request)
            resp.cost.fallback = f"{self.fallback.name}: {e}"
            resp.author = self.fallback.name  # its problems are the fallback's, not the primary's
            return resp

    def discover(self, request: DiscoverRequest) -> DiscoverResponse:
        from teachloop.agents.chat import TeacherUnavailable

        try:
            return self.primary.discover(request)
        except TeacherUnavailable as e:
            resp = self.fallback.discover(request)
            resp.cost.fallback = f"{self.fallback.name}: {e}"
            return resp
