"""The LangGraph teacher agent as a curriculum strategy, next to the baselines.

It reads what the episode gives every strategy: the weakness report of the last diagnostic
evaluation, that evaluation's answers and the last round's training rollouts. It keeps no mastery
tracker of its own: the episode feeds the one tracker and builds the one report, so `teachloop
run --curriculum teacher` and the bench's teacher runs are the same thing.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

from teachloop.agents.curriculum import Proposal, StrategyBase, StrategyContext, draw_problems
from teachloop.agents.policies import PlanConfig
from teachloop.agents.teacher import TeacherAgent, TeacherConfig, TeachingContext, TeachingFailed, normalise_text
from teachloop.agents.teacher_models import ProceduralTeacher
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import Problem
from teachloop.skills.report import WeaknessReport, build_weakness_report


class TeacherStrategy(StrategyBase):
    """The teacher agent with any teacher model (procedural by default).

    Each round it asks the agent for `n` verified problems. `exact` (the default, the protocol's
    contract): a batch that falls short of `n` (rejected drafts) is topped up by repeating accepted
    problems and shuffled, so every strategy trains on the same number of rollouts; a round where
    nothing verified trains on problems the environment draws for the first frontier skill.
    `exact=False` (what `teachloop run` does): the batch is what the agent verified, in its order,
    and a round where nothing verified falls back to the procedural teacher when `fallback` is
    "procedural", else raises `TeachingFailed`. `checkpoint_path`: the agent's LangGraph
    checkpoints (mid-round resume); None keeps them in memory."""

    name = "teacher"
    needs_eval = True

    def __init__(
        self,
        model: Any = None,
        config: TeacherConfig | None = None,
        checkpoint_path: Any = None,
        exact: bool = True,
        fallback: str | None = None,
    ):
        super().__init__()
        self.config = config if config is not None else TeacherConfig()
        self.checkpoint_path = checkpoint_path
        self.agent = TeacherAgent(self.config, checkpoint_path=checkpoint_path)
        self.model = model  # None: a ProceduralTeacher over the context's environment
        self.exact = exact
        self.fallback = fallback
        self.cost: dict[str, float] = defaultdict(float)
        self.last_plan: Any = None

    @property
    def model_name(self) -> str:
        return getattr(self.model, "name", "procedural") if self.model is not None else "procedural"

    def next_batch(self, ctx: StrategyContext, n: int, rng: random.Random) -> list[Problem]:
        return self.propose(ctx, n, rng).problems

    @staticmethod
    def _report(ctx: StrategyContext) -> WeaknessReport:
        """The episode's report; before any diagnosis (a bare context), a report of no evidence."""
        if ctx.report is not None:
            return ctx.report
        return build_weakness_report(ctx.graph, MasteryTracker(), round=max(ctx.round - 1, 0))

    def propose(self, ctx: StrategyContext, n: int, rng: random.Random) -> Proposal:
        if self.model is None:
            self.model = ProceduralTeacher(ctx.env)
        report = self._report(ctx)
        self.agent.config = self.config.model_copy(
            update={"plan": PlanConfig.model_validate(self.config.plan.model_dump() | {"problems_per_round": n})}
        )
        tctx = TeachingContext(
            env=ctx.env,
            graph=ctx.graph,
            report=report,
            model=self.model,
            round=ctx.round,
            last_train=ctx.last_train,
            eval_attempts=ctx.eval_attempts,
            problems=ctx.problems,
            used_texts=ctx.used_texts,
            eval_keys=ctx.eval_keys,
            eval_texts=ctx.eval_texts,
        )
        batch, cost, new_skills = self.agent.teach(tctx, on_item=ctx.on_progress)
        if not batch.problems and self.fallback == "procedural" and self.model_name != "procedural":
            # Nothing verified (a weak LLM teacher): the procedural teacher writes the round.
            tctx.model = ProceduralTeacher(ctx.env)
            fb, _, fb_new = TeacherAgent(self.config, self.checkpoint_path, thread_suffix="fallback").teach(tctx)
            batch = fb.model_copy(update={"rejected": batch.rejected + fb.rejected})
            new_skills += fb_new
            cost.fallback = f"procedural: {self.model_name} authored no verified problem"
        self._count(batch, cost, new_skills)
        out = list(batch.problems)
        if not self.exact:
            if not out:
                raise TeachingFailed(
                    f"round {ctx.round}: the teacher produced no verified problems ({len(batch.rejected)} rejected: "
                    + ", ".join(f"{k} {v}" for k, v in Counter(x.reason for x in batch.rejected).most_common())
                    + ")"
                )
        else:
            if not out:  # nothing verified: train on what the environment gives for the frontier
                frontier = [s for s in report.frontier if s in ctx.skills] or list(ctx.skills)
                out = draw_problems(ctx.env, {(frontier[0], ctx.levels(frontier[0])[0]): n}, rng)
            if len(out) > n:
                out = out[:n]
            elif len(out) < n:
                out = out + rng.choices(out, k=n - len(out))
        for p in batch.problems:
            ctx.used_texts.add(normalise_text(p.prompt))
        if self.exact:
            rng.shuffle(out)
        self._remember(out)
        return Proposal(problems=out, authored=True, rejected=batch.rejected, plan=batch.plan, cost=cost, new_skills=new_skills)

    def _count(self, batch: Any, cost: Any, new_skills: list) -> None:
        self.cost["prompt_tokens"] += cost.prompt_tokens
        self.cost["completion_tokens"] += cost.completion_tokens
        self.cost["requests"] += cost.requests
        self.cost["seconds"] += cost.seconds
        self.cost["rejected"] += len(batch.rejected)
        self.cost["accepted"] += len(batch.problems)
        self.cost["new_skills"] += len(new_skills)
        self.last_plan = batch.plan

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"cost": dict(self.cost)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.cost = defaultdict(float, state.get("cost", {}))
