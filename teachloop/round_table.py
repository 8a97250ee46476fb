"""A round's record (`RoundResult`, one line of rounds.jsonl) and the table `teachloop run`
prints after each committed round."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.markup import escape
from rich.table import Table

from teachloop.agents.curriculum import Proposal
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import Problem, RoundResult, SkillEval
from teachloop.training.grpo import TrainOutcome


def round_result(
    r: int,
    before: list[SkillEval],
    after: list[SkillEval],
    batch: list[Problem],
    proposal: Proposal,
    train: TrainOutcome,
    tok_s: float,
    walls: dict[str, float],
) -> RoundResult:
    """Round `r`'s record: evals before/after, what the student trained on (repeats counted), and,
    for a teacher's batch, accepted/rejected per action, plan and cost."""
    accepted: dict[str, int] = defaultdict(int)
    rejected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if proposal.authored:
        for p in proposal.problems:
            accepted[p.action or "create"] += 1
        for x in proposal.rejected:
            rejected[x.action][x.reason] += 1
    # A discovered sub-skill is a skill, not an accepted problem: it is recorded in `new_skills`
    # only (records written before this counted it as accepted_per_action["discover"]).
    return RoundResult(
        round=r,
        eval_before=before,
        eval_after=after,
        problems_per_skill=dict(Counter(p.skill_id for p in batch)),
        plan=proposal.plan,
        accepted_per_action=dict(accepted),
        rejected_per_action={k: dict(v) for k, v in rejected.items()},
        train_stats=train.stats | {"eval_tokens_per_s": tok_s},
        teacher_cost=proposal.cost,
        wall_time=walls,
        new_skills=[s.id for s in proposal.new_skills],
    )


def round_table(result: RoundResult, graph: SkillGraph, curriculum: str = "teacher") -> Table:
    """Per skill: held-out accuracy before → after, OOD after, problems the curriculum gave it."""

    def acc(evals: list[SkillEval], split: str) -> dict[str, SkillEval]:
        return {e.skill_id: e for e in evals if e.split == split}

    before, after, ood = acc(result.eval_before, "heldout"), acc(result.eval_after, "heldout"), acc(result.eval_after, "ood")
    w = result.wall_time
    total = sum(w.values()) or 1.0
    split = " / ".join(f"{k} {v:.0f}s ({100 * v / total:.0f}%)" for k, v in w.items())
    t = Table(title=f"Round {result.round}", caption=f"wall time: {split}", caption_justify="left")
    t.add_column("skill")
    t.add_column("held-out before → after", justify="right")
    t.add_column("Δ", justify="right")
    t.add_column("OOD", justify="right")
    t.add_column("problems", justify="right")
    for s in graph.trainable():
        b, a = before.get(s.id), after.get(s.id)
        if a is None and b is None and not result.problems_per_skill.get(s.id):
            continue
        fb = f"{b.accuracy:.0%}" if b else "–"
        fa = f"{a.accuracy:.0%}" if a else "–"
        d = (a.accuracy - b.accuracy) if (a and b) else None
        ds = "" if d is None else (f"[green]+{d:.0%}[/green]" if d > 0 else (f"[red]{d:.0%}[/red]" if d < 0 else "0%"))
        o = ood.get(s.id)
        t.add_row(
            s.id + (" [cyan](new)[/cyan]" if s.id in result.new_skills else ""),
            f"{fb} → {fa}",
            ds,
            f"{o.accuracy:.0%}" if o else "–",
            str(result.problems_per_skill.get(s.id, 0)),
        )
    t.add_section()
    if curriculum == "teacher":
        t.add_row("[bold]teacher[/bold]", f"accepted: {result.accepted_text()}", "", "", f"rejected {result.rejected_total}")
        t.add_row("[bold]teacher cost[/bold]", escape(result.cost_text()), "", "", "")
    else:
        t.add_row(f"[bold]curriculum[/bold] {escape(curriculum)}", "problems drawn from the environment", "", "", "")
    return t
