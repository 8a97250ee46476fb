"""Task environments with verifiable rewards, looked up by name: the one registry.

Three sources, in this order: the built-in environments below (one line each, imported only when
asked for, since generator libraries take about a second to import), `rg:TASK[,TASK...]` for any
reasoning-gym task, and third-party packages that register a factory in the entry-point group
`teachloop.environments` (see `plugins.py`). CLI help, config validation and `teachloop envs`
are all generated from here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teachloop.environments.base import Environment
    from teachloop.environments.plugins import EnvInfo

# name -> "module:factory"; a factory takes heldout_per_skill= and ood_per_skill= keywords.
ENVIRONMENTS: dict[str, str] = {
    "arithmetic": "teachloop.environments.arithmetic:ArithmeticEnv",
    "countdown": "teachloop.environments.reasoning_gym:CountdownEnv",
    "zebra": "teachloop.environments.reasoning_gym:ZebraEnv",
    "arc1d": "teachloop.environments.reasoning_gym:Arc1DEnv",
    "knights_knaves": "teachloop.environments.reasoning_gym:KnightsKnavesEnv",
}
RG_PREFIX = "rg:"
RG_HELP = "rg:TASK[,TASK...]"


def environment_names() -> list[str]:
    """Every environment name a user can pass: built-ins, the reasoning-gym pattern, plugins."""
    from teachloop.environments.plugins import plugin_entry_points

    return [*ENVIRONMENTS, RG_HELP, *(n for n in plugin_entry_points() if n not in ENVIRONMENTS)]


def check_environment_name(name: str) -> str:
    """`name` if it names an environment; else a ValueError whose one line says why and where
    the choices are listed (config validators use it)."""
    if name in ENVIRONMENTS:
        return name
    if name.startswith(RG_PREFIX):
        from teachloop.environments.reasoning_gym.tasks import check_task_list

        check_task_list(name[len(RG_PREFIX) :])
        return name
    from teachloop.environments.plugins import check_plugin, plugin_entry_points

    if name in plugin_entry_points():
        return check_plugin(name)
    raise ValueError(f"unknown environment '{name}' (choose from: {', '.join(environment_names())}; `teachloop envs` lists them)")


def get_environment(name: str, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> Environment:
    """A fresh environment by registry name. Eval-set sizes default to the environment's own;
    explicit sizes give it another version, so its eval sets are drawn and cached apart."""
    check_environment_name(name)
    sizes = {"heldout_per_skill": heldout_per_skill, "ood_per_skill": ood_per_skill}
    if name in ENVIRONMENTS:
        module, attr = ENVIRONMENTS[name].split(":")
        return getattr(importlib.import_module(module), attr)(**sizes)
    if name.startswith(RG_PREFIX):
        from teachloop.environments.reasoning_gym.tasks import any_task_env

        return any_task_env(name[len(RG_PREFIX) :], **sizes)
    from teachloop.environments.plugins import load_plugin

    return load_plugin(name, **sizes)


def environment_infos() -> list[EnvInfo]:
    """A row per environment for `teachloop envs`: name, trainable skills, package and version."""
    import importlib.metadata as md

    from teachloop.environments.plugins import EnvInfo, plugin_infos

    own = md.version("teachloop")
    rows = []
    for name in ENVIRONMENTS:
        skills = sum(s.kind == "skill" for s in get_environment(name).skill_graph())
        rows.append(EnvInfo(name=name, skills=skills, package="teachloop", version=own))
    rg = "any reasoning-gym task: a skill per curriculum level"
    rows.append(EnvInfo(name=RG_HELP, package="reasoning-gym", version=md.version("reasoning-gym"), status=rg))
    return rows + [r for r in plugin_infos() if r.name not in ENVIRONMENTS]
