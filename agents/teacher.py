"""The teacher agent: a LangGraph StateGraph with small nodes.

    plan → [discover] → author ⇄ verify → curate

`author → verify` loops per plan item until its budget of accepted problems is met or its
retries run out. The graph is compiled with a SQLite checkpointer in the run dir, one thread per
round, so a crash mid-round resumes inside the teacher without re-authoring accepted problems.
Checkpointed state holds only JSON-able data; the round's context (environment, graph, report,
last round's problems) is rebuilt by the caller and closed over by the nodes.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from pydantic import Field, ValidationError, field_validator

from teachloop.agents.discovery import discover_request, sub_skill
from teachloop.agents.drafts import AuthorRequest, Draft
from teachloop.agents.policies import POLICIES, PlanConfig, make_plan, unknown_policy
from teachloop.agents.teacher_models import TeacherModel, stable_rng
from teachloop.environments.base import Environment
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import (
    Attempt,
    CurriculumBatch,
    PlanItem,
    Problem,
    Record,
    Rejected,
    Skill,
    TeacherCost,
    TeachingPlan,
)
from teachloop.skills.report import WeaknessReport


class TeachingFailed(RuntimeError):
    """A round's teaching produced nothing the student can train on."""


class TeacherConfig(Record):
    policy: str = Field(default="skill-tree", description=f"Plan policy: {' | '.join(POLICIES)}.")
    plan: PlanConfig = Field(default_factory=PlanConfig, description="Budgets and thresholds of the plan.")
    max_retries: int = Field(default=3, ge=1, description="Author calls per plan item before giving up on its budget.")
    overdraft: float = Field(default=1.0, ge=1.0, description="Drafts asked per missing problem (LLM teachers reject more).")
    discover_budget: int = Field(default=2, ge=0, description="Problems created for a newly discovered sub-skill.")
    seed: int = Field(default=0, description="Seed for authoring and batch order.")

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        if v not in POLICIES:
            raise ValueError(unknown_policy(v))
        return v


def normalise_text(text: str) -> str:
    """Text key for duplicate detection: case, whitespace and punctuation do not make a new problem."""
    return re.sub(r"[^a-z0-9+\-*/=()^%.]", "", text.lower())


@dataclass
class TeachingContext:
    """Everything a round's nodes read but never checkpoint (rebuilt from the run dir on resume)."""

    env: Environment
    graph: SkillGraph
    report: WeaknessReport
    model: TeacherModel
    round: int
    last_train: list[Attempt] = field(default_factory=list)
    eval_attempts: list[Attempt] = field(default_factory=list)
    problems: dict[str, Problem] = field(default_factory=dict)
    used_texts: set[str] = field(default_factory=set)
    eval_keys: set[str] = field(default_factory=set)
    eval_texts: set[str] = field(default_factory=set)
    fixed_plan: TeachingPlan | None = None  # a plan given by the user (or a test) instead of the policy's


class AcceptedProblem(TypedDict):
    """A verified problem as the checkpointed state holds it."""

    item: int  # index of the plan item it was authored for
    key: str  # the environment's spec key (duplicate check within the batch)
    problem: dict  # Problem.model_dump()


class TeacherState(TypedDict, total=False):
    """The checkpointed state of a round's graph: JSON-able data only."""

    round: int
    plan: dict  # TeachingPlan.model_dump()
    cursor: int  # index of the plan item being authored
    tries: dict[str, int]  # author calls per plan item index
    pending: list[dict]  # Draft dumps of the current item, awaiting verification
    pending_author: str  # who wrote them (the teacher, or its fallback)
    accepted: list[AcceptedProblem]
    rejected: list[dict]  # Rejected.model_dump()
    cost: dict  # TeacherCost.model_dump()
    new_skills: list[dict]  # Skill.model_dump() of the discovered sub-skills
    batch: dict  # CurriculumBatch.model_dump(), set by curate


def _item(state: TeacherState) -> tuple[int, PlanItem] | None:
    items = state["plan"]["items"]
    i = state.get("cursor", 0)
    return (i, PlanItem.model_validate(items[i])) if i < len(items) else None


def _accepted_for(accepted: list[AcceptedProblem], i: int) -> int:
    """How many accepted problems plan item `i` has."""
    return sum(1 for p in accepted if p["item"] == i)


class TeacherAgent:
    """Builds and runs the teacher graph for one round."""

    def __init__(self, config: TeacherConfig, checkpoint_path: Path | None = None, thread_suffix: str = ""):
        self.config = config
        self.checkpoint_path = checkpoint_path
        self.thread_suffix = thread_suffix

    # ---- nodes -------------------------------------------------------------------------
    def _plan(self, ctx: TeachingContext):
        def plan(state: TeacherState) -> TeacherState:
            p = ctx.fixed_plan or make_plan(self.config.policy, ctx.report, ctx.graph, ctx.last_train, self.config.plan, ctx.round)
            return {
                "plan": p.model_dump(),
                "cursor": 0,
                "tries": {},
                "accepted": [],
                "rejected": [],
                "pending": [],
                "cost": TeacherCost().model_dump(),
                "new_skills": [],
            }

        return plan

    def _discover(self, ctx: TeachingContext):
        def discover(state: TeacherState) -> TeacherState:
            items = [PlanItem.model_validate(x) for x in state["plan"]["items"]]
            cost = TeacherCost.model_validate(state["cost"])
            new_skills = list(state.get("new_skills", []))
            rejected = list(state.get("rejected", []))
            out: list[PlanItem] = []
            for it in items:
                if it.action != "discover":
                    out.append(it)
                    continue
                skill = ctx.graph.skills[it.skill_id]
                req = discover_request(ctx.env, skill, ctx.round, ctx.eval_attempts, ctx.problems)
                t0 = time.perf_counter()
                resp = ctx.model.discover(req)
                _add_cost(cost, resp.cost, time.perf_counter() - t0)
                if resp.proposal is None:
                    continue
                sub = sub_skill(skill, resp.proposal, ctx.round)
                try:
                    if sub.id in ctx.graph.skills:
                        raise ValueError(f"sub-skill {sub.id} already exists")
                    accepted = ctx.env.add_skill(sub)
                    ctx.graph.add_skill(accepted)
                except ValueError as e:
                    rejected.append(
                        Rejected(
                            draft=resp.proposal.model_dump(), skill_id=skill.id, action="discover", reason="off_skill", detail=str(e)
                        ).model_dump()
                    )
                    continue
                new_skills.append(accepted.model_dump())
                if self.config.discover_budget:
                    out.append(
                        PlanItem(
                            skill_id=accepted.id,
                            action="create",
                            budget=self.config.discover_budget,
                            difficulty=skill.min_level,
                            rationale=f"new sub-skill of {skill.id}",
                        )
                    )
            plan = TeachingPlan(items=out, policy=state["plan"]["policy"])
            # The record of what was planned keeps the discover actions that produced skills.
            return {"plan": plan.model_dump(), "cost": cost.model_dump(), "new_skills": new_skills, "rejected": rejected}

        return discover

    def _author(self, ctx: TeachingContext):
        def author(state: TeacherState) -> TeacherState:
            cur = _item(state)
            assert cur is not None
            i, item = cur
            accepted = state.get("accepted", [])
            need = item.budget - _accepted_for(accepted, i)
            skill = ctx.graph.skills[item.skill_id]
            sources = [ctx.problems[pid] for pid in item.source_problem_ids if pid in ctx.problems]
            # On a retry, rewrite the sources not yet used; when all are, diversify may reuse
            # them (new numbers each time) and the other modes fall back to fresh problems.
            used = {p["problem"].get("parent_id") for p in accepted if p["item"] == i}
            fresh_sources = [p for p in sources if p.id not in used]
            sources = fresh_sources or (sources if item.action == "diversify" else [])
            tries = state.get("tries", {}).get(str(i), 0)
            req = AuthorRequest(
                action=item.action,
                skill=skill,
                n=max(1, int(need * self.config.overdraft + 0.999)),
                difficulty=item.difficulty or skill.min_level,
                round=ctx.round,
                sources=sources,
                report_text=ctx.report.to_prompt_text(),
                exemplars=[e.for_prompt() for e in ctx.report.exemplars.get(skill.id, [])],
                spec_help=ctx.env.spec_help(skill.id),
                seed=self.config.seed * 1000 + tries,
            )
            if getattr(ctx.model, "wants_examples", False):  # LLM teachers: the skill's schema and two verified examples
                level = req.difficulty
                try:
                    req.spec_schema = ctx.env.spec_schema(skill.id, level)
                except NotImplementedError:  # an environment without schemas: any JSON object
                    req.spec_schema = {}
                req.example_level = example_level(skill, level)
                req.examples = ctx.env.generate(skill.id, req.example_level, 2, stable_rng("examples", skill.id, req.example_level))
            cost = TeacherCost.model_validate(state["cost"])
            t0 = time.perf_counter()
            resp = ctx.model.author(req)
            _add_cost(cost, resp.cost, time.perf_counter() - t0)
            pending = [d.model_dump() for d in resp.drafts]
            rejected = list(state.get("rejected", []))
            rejected += [r.model_dump() for r in resp.rejected]
            for _ in range(resp.unparsable):
                rejected.append(
                    Rejected(
                        draft={},
                        skill_id=skill.id,
                        action=item.action,
                        reason="unparsable",
                        detail="teacher output did not parse as a draft",
                    ).model_dump()
                )
            author = resp.author or getattr(ctx.model, "name", "unknown")
            return {"pending": pending, "pending_author": author, "cost": cost.model_dump(), "rejected": rejected}

        return author

    def _verify(self, ctx: TeachingContext):
        def verify(state: TeacherState) -> TeacherState:
            cur = _item(state)
            assert cur is not None
            i, item = cur
            accepted = list(state.get("accepted", []))
            rejected = list(state.get("rejected", []))
            batch_keys = {p["key"] for p in accepted}
            batch_texts = {normalise_text(p["problem"]["prompt"]) for p in accepted}
            teacher_name = state.get("pending_author") or getattr(ctx.model, "name", "unknown")
            for draft in state.get("pending", []):
                if _accepted_for(accepted, i) >= item.budget:
                    break
                verdict = self._check(ctx, item, draft, teacher_name, batch_keys, batch_texts)
                if isinstance(verdict, Problem):
                    key = ctx.env.spec_key(verdict.spec)
                    batch_keys.add(key)
                    batch_texts.add(normalise_text(verdict.prompt))
                    accepted.append(AcceptedProblem(item=i, key=key, problem=verdict.model_dump()))
                else:
                    rejected.append(verdict.model_dump())
            tries = dict(state.get("tries", {}))
            tries[str(i)] = tries.get(str(i), 0) + 1
            cursor = state.get("cursor", 0)
            if _accepted_for(accepted, i) >= item.budget or tries[str(i)] >= self.config.max_retries:
                cursor += 1
            return {"accepted": accepted, "rejected": rejected, "pending": [], "tries": tries, "cursor": cursor}

        return verify

    def _check(
        self, ctx: TeachingContext, item: PlanItem, raw: dict, teacher: str, batch_keys: set[str], batch_texts: set[str]
    ) -> Problem | Rejected:
        def reject(reason: str, detail: str) -> Rejected:
            return Rejected(draft=raw, skill_id=item.skill_id, action=item.action, reason=reason, detail=detail)  # type: ignore[arg-type]

        try:
            draft = Draft.model_validate(raw)
            prompt = draft.prompt or ctx.env.render(draft.spec)
            problem = Problem(
                skill_id=item.skill_id,
                difficulty=draft.difficulty or item.difficulty or 1,
                prompt=prompt,
                answer=_stated_answer(ctx.env, draft),
                spec=draft.spec,
                env=ctx.env.name,
                provenance=_provenance(item.action, teacher),
                parent_id=draft.parent_id,
                teacher=teacher,
                round=ctx.round,
                action=item.action,
            )
        except (ValidationError, ValueError, TypeError, KeyError) as e:
            return reject("unparsable", str(e).splitlines()[0][:200])
        verdict = ctx.env.verify(problem, item.skill_id)
        if not verdict.accepted:
            return reject(verdict.reason or "wrong_answer", verdict.detail)
        if draft.prompt is not None and not draft.rendered:
            wording = ctx.env.verify_text(problem.spec, problem.prompt)  # the student reads this text
            if not wording.accepted:
                return reject(wording.reason or "text_mismatch", wording.detail)
        canonical = ctx.env.solve(problem.spec).answer  # stored in the environment's form, not as the teacher wrote it
        if canonical is not None and canonical != problem.answer:
            problem = problem.model_copy(update={"answer": canonical})
        key = ctx.env.spec_key(problem.spec)
        text = normalise_text(problem.prompt)
        if key in ctx.eval_keys or text in ctx.eval_texts:
            return reject("eval_collision", "same problem as a held-out or OOD evaluation problem")
        if key in batch_keys or text in batch_texts or text in ctx.used_texts:
            return reject("duplicate", "already in this or an earlier batch")
        return problem

    def _curate(self, ctx: TeachingContext):
        def curate(state: TeacherState) -> TeacherState:
            rng = stable_rng(self.config.seed, ctx.round, "curate")
            problems = [Problem.model_validate(p["problem"]) for p in state.get("accepted", [])]
            rng.shuffle(problems)
            rejected = [Rejected.model_validate(r) for r in state.get("rejected", [])]
            batch = CurriculumBatch(round=ctx.round, problems=problems, rejected=rejected, plan=TeachingPlan.model_validate(state["plan"]))
            return {"batch": batch.model_dump()}

        return curate

    # ---- graph -------------------------------------------------------------------------
    def build(self, ctx: TeachingContext) -> StateGraph:
        g = StateGraph(TeacherState)
        g.add_node("plan", self._plan(ctx))
        g.add_node("discover", self._discover(ctx))
        g.add_node("author", self._author(ctx))
        g.add_node("verify", self._verify(ctx))
        g.add_node("curate", self._curate(ctx))
        g.add_edge(START, "plan")

        def after_plan(state: TeacherState) -> str:
            return "discover" if any(x["action"] == "discover" for x in state["plan"]["items"]) else _next_work(state)

        def _next_work(state: TeacherState) -> str:
            items = state["plan"]["items"]
            i = state.get("cursor", 0)
            while i < len(items) and items[i]["budget"] <= 0:
                i += 1
            return "author" if i < len(items) else "curate"

        g.add_conditional_edges("plan", after_plan, ["discover", "author", "curate"])
        g.add_conditional_edges("discover", _next_work, ["author", "curate"])
        g.add_conditional_edges("verify", _next_work, ["author", "curate"])
        g.add_edge("author", "verify")
        g.add_edge("curate", END)
        return g

    def teach(self, ctx: TeachingContext, on_item=None) -> tuple[CurriculumBatch, TeacherCost, list[Skill]]:
        """Run (or resume) the round's teacher thread; returns the batch, its cost and new skills."""
        graph = self.build(ctx)
        thread_id = f"round-{ctx.round}" + (f"-{self.thread_suffix}" if self.thread_suffix else "")
        thread = {"configurable": {"thread_id": thread_id}, "recursion_limit": 10_000}
        if self.checkpoint_path is None:
            app = graph.compile()
            final = app.invoke({"round": ctx.round}, thread)
        else:
            conn = sqlite3.connect(str(self.checkpoint_path), check_same_thread=False)
            try:
                app = graph.compile(checkpointer=SqliteSaver(conn))
                snap = app.get_state(thread)
                if snap.values and not snap.next:
                    final = snap.values  # the round's teaching already finished
                else:
                    # Discovered skills live in memory; re-register those a crashed run had added.
                    for s in (snap.values or {}).get("new_skills", []):
                        _reregister(ctx, Skill.model_validate(s))
                    start = None if snap.next else {"round": ctx.round}
                    final = None
                    for update in app.stream(start, thread, stream_mode="values"):
                        final = update
                        if on_item is not None and "plan" in update:
                            on_item(update.get("cursor", 0), len(update["plan"]["items"]))
            finally:
                conn.close()
        batch = CurriculumBatch.model_validate(final["batch"])
        cost = TeacherCost.model_validate(final["cost"])
        new = [Skill.model_validate(s) for s in final.get("new_skills", [])]
        for s in new:
            _reregister(ctx, s)
        return batch, cost, new


def example_level(skill: Skill, level: int) -> int:
    """The level of the examples shown to an LLM teacher: a neighbouring one where the skill has it.
    A small model copies shown specs verbatim (SmolLM2-135M: 13 of 15 rejects, at the requested
    level); decoding constrained to the requested level cannot copy a spec of another level whole,
    and a strong model reads the levels from the skill's description."""
    for lv in (level + 1, level - 1):
        if skill.min_level <= lv <= skill.max_level:
            return lv
    return level


def _stated_answer(env: Environment, draft: Draft) -> str:
    """The draft's answer as stated, or the solver's when the teacher left it out (ask less: the
    solver computes it; a stated answer must still agree with the solver)."""
    if draft.answer is not None and str(draft.answer).strip():
        return str(draft.answer).strip()
    return env.solve(draft.spec).answer or ""


def _reregister(ctx: TeachingContext, skill: Skill) -> None:
    if skill.id not in ctx.graph.skills:
        ctx.env.add_skill(skill)
        ctx.graph.add_skill(skill)


def _provenance(action: str, teacher: str) -> str:
    if action == "escalate":
        return "escalated"
    if action in ("simplify", "diversify"):
        return "rewritten"
    return "generated" if teacher == "procedural" else "authored"


def _add_cost(total: TeacherCost, part: TeacherCost, seconds: float) -> None:
    total.add(part, seconds)
