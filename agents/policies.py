"""Plan policies: turn a WeaknessReport and last round's rollout statistics into a TeachingPlan.

Three levels of structure, as in DataEnvGym: `open-ended` sees raw failures, `skill-list` sees
per-skill accuracy, `skill-tree` sees the graph (frontier, prerequisites) and balances exploit
(skills in the student's zone of proximal development) against explore (escalating mastered
skills).

Exploit in `skill-tree` scores every unmastered skill by readiness × learnability, and budgets
follow the scores. Readiness is how far its least-mastered requirement has come towards
`ready_mastery` (1 on the frontier), or its own mastery over `ready_mastery` if higher: a skill the
student already solves part of the time is ready, whatever the graph says. Learnability is
4·m·(1−m) of its own mastery m, the shape of GRPO's signal (a group whose rollouts all fail or all
pass has zero advantage, so no gradient). A strict frontier would starve a student whose first
skill sits below the mastery threshold; what was measured either way is in
benchmarks/results/skill_tree_policy_notes.md.

The action for a target skill comes from the rollout pass rates of the problems it was taught
(CLPO): hard ones are simplified, medium ones diversified, solved ones escalated; a skill never
taught gets new ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, get_args

from pydantic import Field

from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import Attempt, PlanItem, Record, Skill, TeachingPlan
from teachloop.skills.report import WeaknessReport

PolicyName = Literal["skill-tree", "skill-list", "open-ended"]
POLICIES: tuple[str, ...] = get_args(PolicyName)  # the one list of plan policies, in help order


def unknown_policy(name: str) -> str:
    return f"unknown plan policy '{name}' (choose from: {', '.join(POLICIES)})"


class PlanConfig(Record):
    problems_per_round: int = Field(default=16, ge=1, description="Accepted problems the plan asks for in total.")
    skills_per_round: int = Field(default=4, ge=1, description="Target skills per round.")
    hard_pass_rate: float = Field(default=0.3, description="Rollout pass rate at or below which a problem is simplified.")
    solved_pass_rate: float = Field(default=0.7, description="Rollout pass rate above which a problem is escalated.")
    explore_share: float = Field(default=0.25, ge=0, le=1, description="Share of target slots for exploration (skill-tree).")
    ready_mastery: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="skill-tree: requirement mastery at which a blocked skill counts as fully ready; below it, readiness falls linearly.",
    )
    min_score: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="skill-tree: readiness × learnability below which a skill is not taught (unless nothing scores higher).",
    )
    coverage: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="skill-tree: share of the round's problems spread evenly over every seed skill, targeted or not, "
        "so that no skill starves (a skill far below the frontier scores near 0 and would never be taught).",
    )
    nest_subskills: bool = Field(
        default=False,
        description="skill-tree: a discovered sub-skill shares its parent's slot and budget (by score) instead of "
        "competing with the seed skills for the `skills_per_round` slots.",
    )
    discover_after_rounds: int = Field(default=1, ge=0, description="Rounds a skill must stay weak before a sub-skill is sought.")
    discover_min_failures: int = Field(default=3, ge=1, description="Failure exemplars needed to look for a cluster.")
    max_discoveries_per_round: int = Field(default=1, ge=0, description="Sub-skills proposed per round at most.")


def teaching_level(skill: Skill, mastery: float) -> int:
    """The training level matching a mastery estimate, inside the skill's training range."""
    span = skill.max_level - skill.min_level + 1
    return min(skill.max_level, skill.min_level + int(mastery * span))


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _items_for_skill(skill: Skill, budget: int, level: int, attempts: list[Attempt], cfg: PlanConfig, rationale: str) -> list[PlanItem]:
    """CLPO-style restructuring of the skill's last-round problems, or fresh ones."""
    if budget <= 0:
        return []
    hard = [a.problem_id for a in attempts if a.pass_rate <= cfg.hard_pass_rate]
    medium = [a.problem_id for a in attempts if cfg.hard_pass_rate < a.pass_rate <= cfg.solved_pass_rate]
    solved = [a.problem_id for a in attempts if a.pass_rate > cfg.solved_pass_rate]
    groups = [(m, ids) for m, ids in (("simplify", hard), ("diversify", medium), ("escalate", solved)) if ids]
    if not groups:
        return [PlanItem(skill_id=skill.id, action="create", budget=budget, difficulty=level, rationale=rationale)]
    # Keep a share of fresh problems so the skill's pool does not collapse onto a few parents.
    n_create = budget // 4
    shares = _split(budget - n_create, len(groups))
    items = []
    for (mode, ids), share in zip(groups, shares):
        if share:
            d = {"simplify": max(skill.min_level, level - 1), "diversify": level, "escalate": min(skill.max_level, level + 1)}[mode]
            items.append(
                PlanItem(
                    skill_id=skill.id,
                    action=mode,
                    budget=share,
                    difficulty=d,
                    source_problem_ids=ids,
                    rationale=f"{rationale}; {len(ids)} problems at pass rate for {mode}",
                )
            )
    if n_create:
        items.append(PlanItem(skill_id=skill.id, action="create", budget=n_create, difficulty=level, rationale=rationale))
    return items


def make_plan(
    policy: str,
    report: WeaknessReport,
    graph: SkillGraph,
    last_train: list[Attempt],
    cfg: PlanConfig,
    round: int,
) -> TeachingPlan:
    by_skill: dict[str, list[Attempt]] = {}
    for a in last_train:
        by_skill.setdefault(a.skill_id, []).append(a)
    trainable = {s.id: s for s in graph.trainable()}

    def mean(sid: str) -> float:
        st = report.states.get(sid)
        return st.mean if st is not None else 0.5

    targets: list[tuple[str, str]] = []  # (skill_id, rationale)
    weights: dict[str, float] = {}  # skill-tree: budget weight per target (default: equal)
    nested: set[str] = set()  # skill-tree with nest_subskills: sub-skills that share their parent's budget
    if policy == "skill-tree":
        n_explore = round_half(cfg.skills_per_round * cfg.explore_share) if report.mastered else 0
        scores = zpd_scores(report, trainable, cfg)
        nested = {s for s in scores if cfg.nest_subskills and trainable[s].provenance == "discovered" and trainable[s].parent in trainable}
        ranked = sorted((s for s in scores if s not in nested), key=lambda s: -scores[s])  # stable: prerequisite order on ties
        exploit = [s for s in ranked if scores[s] >= cfg.min_score][: cfg.skills_per_round - n_explore] or ranked[:1]
        for s in exploit:
            where = "frontier" if s in report.frontier else f"nearly ready ({', '.join(report.blocked.get(s, []))} not mastered)"
            targets.append((s, f"{where}, mastery {mean(s):.2f}, score {scores[s]:.2f}"))
            weights[s] = scores[s]
        # Explore: push mastered skills that unlock frontier skills one level up (Socratic-Zero).
        mastered = sorted((s for s in report.mastered if s in trainable), key=mean, reverse=True)
        explore = mastered[:n_explore]
        for s in explore:
            targets.append((s, f"mastered ({mean(s):.2f}); escalate"))
        if explore and exploit:  # an explore slot weighs as much as an average exploit slot
            avg = sum(weights.values()) / len(weights)
            weights.update(dict.fromkeys(explore, avg))
    elif policy == "skill-list":
        weakest = sorted((s for s in trainable), key=mean)
        targets = [(s, f"weak skill, accuracy {mean(s):.2f}") for s in weakest[: cfg.skills_per_round]]
    elif policy == "open-ended":
        fails = Counter({s: len(ex) for s, ex in report.exemplars.items() if s in trainable and ex})
        targets = [(s, f"{n} raw failures") for s, n in fails.most_common(cfg.skills_per_round)]
        if not targets:
            targets = [(s, "no failures seen") for s in list(trainable)[: cfg.skills_per_round]]
    else:
        raise ValueError(unknown_policy(policy))

    items: list[PlanItem] = []
    seeds = [s for s in trainable if trainable[s].provenance == "seed"] if policy == "skill-tree" else []
    n_cover = int(cfg.coverage * cfg.problems_per_round) if seeds else 0
    n_target = cfg.problems_per_round - n_cover
    budgets = (
        _split_by_weight(n_target, [weights[s] for s, _ in targets])
        if weights and len(weights) == len(targets)
        else _split(n_target, max(1, len(targets)))
    )
    if n_cover:  # the coverage share: every seed skill, on top of what it gets as a target
        extra = dict(zip(seeds, _split(n_cover, len(seeds))))
        have = {sid for sid, _ in targets}
        budgets = [b + extra.pop(sid, 0) for (sid, _), b in zip(targets, budgets)]
        for sid, b in extra.items():
            if b and sid not in have:
                targets.append((sid, f"coverage, mastery {mean(sid):.2f}"))
                budgets.append(b)
    if nested:  # each target shares its budget with its discovered sub-skills
        targets, budgets = _share_with_subskills(targets, budgets, nested, trainable, scores, cfg)
    for (sid, why), budget in zip(targets, budgets):
        if budget <= 0:
            continue
        skill = trainable[sid]
        level = teaching_level(skill, mean(sid))
        if sid in report.mastered and not by_skill.get(sid):
            items.append(
                PlanItem(skill_id=sid, action="escalate", budget=budget, difficulty=min(skill.max_level, level + 1), rationale=why)
            )
            continue
        items += _items_for_skill(skill, budget, level, by_skill.get(sid, []), cfg, why)

    # Discovery: a weak target whose failures may cluster, and which has no sub-skill yet.
    if policy != "skill-list" and round > cfg.discover_after_rounds:
        found = 0
        for sid, _ in targets:
            if found >= cfg.max_discoveries_per_round:
                break
            has_child = any(graph.skills[c].provenance == "discovered" for c in graph.children(sid))
            if sid not in report.mastered and not has_child and len(report.exemplars.get(sid, [])) >= cfg.discover_min_failures:
                items.append(PlanItem(skill_id=sid, action="discover", budget=0, rationale="failures may cluster"))
                found += 1
    return TeachingPlan(items=items, policy=policy)


def _share_with_subskills(
    targets: list[tuple[str, str]],
    budgets: list[int],
    nested: set[str],
    trainable: dict[str, Skill],
    scores: dict[str, float],
    cfg: PlanConfig,
) -> tuple[list[tuple[str, str]], list[int]]:
    """A target's budget split over it and its discovered sub-skills scoring at least `min_score`,
    in proportion to their scores (the parent keeps the rounding)."""
    out_t: list[tuple[str, str]] = []
    out_b: list[int] = []
    for (sid, why), budget in zip(targets, budgets):
        kids = [k for k in nested if trainable[k].parent == sid and scores.get(k, 0.0) >= cfg.min_score]
        if not kids or budget <= 1:
            out_t.append((sid, why))
            out_b.append(budget)
            continue
        kids.sort()
        w = [max(scores.get(sid, 0.0), cfg.min_score)] + [scores[k] for k in kids]
        parts = _split_by_weight(budget, w)
        out_t.append((sid, why))
        out_b.append(parts[0])
        for k, b in zip(kids, parts[1:]):
            out_t.append((k, f"sub-skill of {sid}, score {scores[k]:.2f}"))
            out_b.append(b)
    return out_t, out_b


def zpd_scores(report: WeaknessReport, trainable: dict[str, Skill], cfg: PlanConfig) -> dict[str, float]:
    """readiness × learnability of every unmastered trainable skill, in prerequisite order.

    readiness: 1 on the frontier; for a blocked skill, the mastery of its least-mastered unmastered
    requirement over `ready_mastery`, or its own mastery over `ready_mastery` if that is higher
    (a student who already solves a skill part of the time is ready for it, whatever the graph
    says); capped at 1. learnability: 4·m·(1−m), m its own mastery."""
    out: dict[str, float] = {}
    for sid in trainable:
        st = report.states.get(sid)
        if st is None or sid in report.mastered:
            continue
        ready = 1.0
        for req in report.blocked.get(sid, ()):
            rs = report.states.get(req)
            ready = min(ready, (rs.mean if rs else 0.0) / cfg.ready_mastery)
        ready = min(1.0, max(ready, st.mean / cfg.ready_mastery))
        out[sid] = ready * 4.0 * st.mean * (1.0 - st.mean)
    return out


def _split_by_weight(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders), at least 1 each while it lasts."""
    n = len(weights)
    if total <= n or sum(weights) <= 0:
        return _split(total, n)
    w = [max(x, 0.0) for x in weights]
    raw = [1 + (total - n) * x / sum(w) for x in w]
    out = [int(x) for x in raw]
    for i in sorted(range(n), key=lambda i: raw[i] - out[i], reverse=True)[: total - sum(out)]:
        out[i] += 1
    return out


def round_half(x: float) -> int:
    return int(x + 0.5)
