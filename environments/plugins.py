"""Environments from other packages: the entry-point group `teachloop.environments`.

A distribution declares, in its metadata, `NAME = "package.module:Factory"`; the factory (usually
a `BaseEnvironment` subclass) is called with the eval-set sizes the user asked for, if any. A
plugin is checked when it is used: it must import, build, carry every member of the `Environment`
protocol and call itself by its registered name; otherwise one line says which and why.
"""

from __future__ import annotations

import importlib.metadata as md
from functools import cache
from typing import TYPE_CHECKING, Any

from teachloop.skills.records import Record

if TYPE_CHECKING:
    from teachloop.environments.base import Environment

GROUP = "teachloop.environments"


class EnvironmentPluginError(ValueError):
    """A plugin that cannot be used; the message is one line naming it and the reason."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where} {reason}")
        self.reason = reason


class EnvInfo(Record):
    """One row of `teachloop envs`."""

    name: str
    skills: int | None = None
    package: str
    version: str
    status: str = "ok"


def plugin_entry_points() -> dict[str, md.EntryPoint]:
    """Registered plugin environments by name (the first registration of a name wins)."""
    out: dict[str, md.EntryPoint] = {}
    for ep in md.entry_points(group=GROUP):
        out.setdefault(ep.name, ep)
    return out


def required_members() -> list[str]:
    """What an environment must have: every member of the `Environment` protocol."""
    from teachloop.environments.base import Environment

    return sorted(n for n in {*vars(Environment), *Environment.__annotations__} if not n.startswith("_"))


def distribution_of(ep: md.EntryPoint) -> tuple[str, str]:
    """(package, version) that registered `ep`."""
    dist = ep.dist
    return (dist.name, dist.version) if dist is not None else ("?", "?")


def _sized(**sizes: int | None) -> dict[str, Any]:
    return {k: v for k, v in sizes.items() if v is not None}


def load_plugin(name: str, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> Environment:
    """Build the plugin environment `name`, checked against the contract."""
    ep = plugin_entry_points().get(name)
    if ep is None:
        raise EnvironmentPluginError(f"environment '{name}':", "is not a registered plugin")
    package, _ = distribution_of(ep)
    where = f"environment plugin '{name}' (package {package}, {ep.value})"
    try:
        factory = ep.load()
    except Exception as e:  # a plugin's import may fail in any way: report, don't crash
        raise EnvironmentPluginError(where, f"failed to import: {type(e).__name__}: {_first_line(e)}") from None
    try:
        env = factory(**_sized(heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill))
    except Exception as e:
        raise EnvironmentPluginError(where, f"failed to build: {type(e).__name__}: {_first_line(e)}") from None
    missing = [m for m in required_members() if not hasattr(env, m)]
    if missing:
        raise EnvironmentPluginError(where, f"lacks required method(s): {', '.join(missing)}")
    if env.name != name:
        raise EnvironmentPluginError(where, f"builds an environment named '{env.name}', not '{name}'")
    return env


@cache
def check_plugin(name: str) -> str:
    """`name` if its plugin loads and keeps the contract (checked once per process)."""
    load_plugin(name)
    return name


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else ""


def plugin_infos() -> list[EnvInfo]:
    """A row per plugin; a broken one says why, and never hides the others."""
    rows = []
    for name, ep in plugin_entry_points().items():
        package, version = distribution_of(ep)
        try:
            env = load_plugin(name)
            rows.append(EnvInfo(name=name, skills=sum(s.kind == "skill" for s in env.skill_graph()), package=package, version=version))
        except EnvironmentPluginError as e:
            rows.append(EnvInfo(name=name, package=package, version=version, status=f"broken: {e.reason}"))
        except Exception as e:  # skill_graph itself failed
            rows.append(EnvInfo(name=name, package=package, version=version, status=f"broken: {type(e).__name__}: {_first_line(e)}"))
    return rows
