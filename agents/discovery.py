"""Skill discovery for the teacher agent: what a teacher model is shown of a skill's failures,
and the sub-skill its proposal becomes (the environment still decides whether it is real)."""

from __future__ import annotations

from collections import Counter

from teachloop.agents.drafts import DiscoverRequest, SubSkillProposal
from teachloop.environments.base import Environment
from teachloop.skills.records import Attempt, Problem, Skill, is_correct


def discover_request(
    env: Environment, skill: Skill, round: int, eval_attempts: list[Attempt], problems: dict[str, Problem]
) -> DiscoverRequest:
    """The held-out problems of `skill` the student failed and solved, with the environment's
    feature counts over each, so a model can name the feature failures cluster on."""
    failed, passed = [], []
    for a in eval_attempts:
        if a.skill_id != skill.id or a.problem_id not in problems:
            continue
        (passed if is_correct(a.pass_rate) else failed).append(problems[a.problem_id].spec)
    # Sorted, so that ties between features break the same way in every process (a set's order
    # follows the per-process string hash seed, and a resumed run must discover what the first did).
    fc: Counter[str] = Counter()
    sc: Counter[str] = Counter()
    for s in failed:
        fc.update(sorted(env.features(s)))
    for s in passed:
        sc.update(sorted(env.features(s)))
    return DiscoverRequest(
        skill=skill,
        round=round,
        n_failed=len(failed),
        n_passed=len(passed),
        failed_specs=failed[:20],
        passed_specs=passed[:20],
        features=env.feature_descriptions(skill.id),
        failure_feature_counts=dict(fc),
        success_feature_counts=dict(sc),
    )


def sub_skill(skill: Skill, proposal: SubSkillProposal, round: int) -> Skill:
    """The child of `skill` a proposal describes: same prerequisites and levels, no OOD level."""
    return Skill(
        id=f"{skill.id}.{proposal.feature}",
        name=proposal.name,
        description=proposal.description,
        parent=skill.id,
        prerequisites=list(skill.prerequisites),
        min_level=skill.min_level,
        max_level=skill.max_level,
        ood_level=None,
        provenance="discovered",
        added_round=round,
        spec={"base": skill.id, "feature": proposal.feature},
    )
