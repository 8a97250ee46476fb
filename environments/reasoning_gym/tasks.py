"""`rg:TASK[,TASK...]`: an environment over any reasoning-gym tasks, levels from their curricula.

A task with a curriculum gives one skill per curriculum level k (every attribute at level k, or
its last), no prerequisites, trained at that level's config and evaluated OOD at level k+1's.
Levels are set on the curriculum directly and read in reasoning-gym's upper-bound mode (a range
attribute at level k spans its k-th segment), not through `update_difficulty`, which lags a level
for range attributes in 0.1.25. A task without a curriculum gives one skill at its default
config. At most `MAX_LEVELS` levels per task become skills (leg_counting alone has 36).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reasoning_gym.coaching.attributes import RangeAttributeDefinition, ScalarAttributeDefinition
from reasoning_gym.coaching.base_curriculum import DefaultCurriculumContext, RangeAttributeMode
from reasoning_gym.factory import CURRICULA, DATASETS, create_curriculum

from teachloop.environments.reasoning_gym.family import RGEnvironment, RGSkill, Topic

MAX_LEVELS = 8


def check_task_list(tasks: str) -> list[str]:
    """The task names of `rg:TASKS`; ValueError in one line for an empty or unknown one."""
    names = [t.strip() for t in tasks.split(",")]
    if not names or any(not n for n in names):
        raise ValueError(f"rg:{tasks}: give one or more reasoning-gym task names, comma-separated (`teachloop envs` lists environments)")
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise ValueError(
            f"unknown reasoning-gym task(s) in rg:{tasks}: {', '.join(unknown)} "
            f"({len(DATASETS)} tasks exist, e.g. leg_counting, countdown; `teachloop envs` lists environments)"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"rg:{tasks}: a task is listed twice")
    return names


def curriculum_levels(task: str) -> list[dict[str, Any]]:
    """Config dicts of the task's curriculum levels (only the fields its attributes set); [{}]
    for a task without a curriculum (its default config)."""
    if task not in CURRICULA:
        return [{}]
    cur = create_curriculum(task)
    attrs = list(cur.attributes.values())
    n = min(MAX_LEVELS, max(len(a.levels) for a in attrs))
    ctx = DefaultCurriculumContext(mode=RangeAttributeMode.UPPER_BOUND)
    fields = []
    for a in attrs:
        if isinstance(a, RangeAttributeDefinition):
            fields += [a.lower_field_name, a.upper_field_name]
        elif isinstance(a, ScalarAttributeDefinition):
            fields.append(a.field_name)
    out = []
    for k in range(n):
        for a in attrs:
            cur.set_attr_level(a.name, min(k, len(a.levels) - 1))
        cfg = dataclasses.asdict(cur.generate_configuration(context=ctx))
        level = {f: _plain(cfg[f]) for f in fields}
        if not out or level != out[-1]:
            out.append(level)
    return out


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def task_skills(task: str) -> list[RGSkill]:
    levels = curriculum_levels(task)
    return [
        RGSkill(
            id=f"{task}.l{k + 1}",
            name=f"{task.replace('_', ' ')} level {k + 1}",
            task=task,
            levels=(cfg,),
            ood=levels[k + 1] if k + 1 < len(levels) else None,
            topic=task,
            description=f"reasoning-gym {task} at curriculum level {k + 1}.",
        )
        for k, cfg in enumerate(levels)
    ]


class AnyTaskEnv(RGEnvironment):
    """The environment `rg:TASKS`: one topic per task, one skill per curriculum level."""

    def __init__(self, tasks: str, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        names = check_task_list(tasks)
        self.name = f"rg:{','.join(names)}"  # type: ignore[misc]  # per instance: the tasks chosen
        self.base_version = f"{self.name}-v1"  # type: ignore[misc]
        self.domain_name = f"reasoning-gym: {', '.join(names)}"
        skills = [s for t in names for s in task_skills(t)]
        topics = [Topic(id=t, name=t.replace("_", " "), description=f"reasoning-gym task {t}.") for t in names]
        super().__init__(skills, topics, heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill)


def any_task_env(tasks: str, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> AnyTaskEnv:
    return AnyTaskEnv(tasks, heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill)
