"""Task environments with verifiable rewards, looked up by name.

Environment modules import their generator libraries (reasoning-gym takes about a second), so the
registry imports them only when an environment is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teachloop.environments.base import Environment


def _arithmetic(**kw: Any) -> Environment:
    from teachloop.environments.arithmetic import ArithmeticEnv

    return ArithmeticEnv(**kw)


ENVIRONMENTS: dict[str, Callable[..., Environment]] = {"arithmetic": _arithmetic}


def check_environment_name(name: str) -> str:
    """`name` if it is registered; else a ValueError whose one line lists the choices (config validators use it)."""
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment '{name}' (choose from: {', '.join(sorted(ENVIRONMENTS))})")
    return name


def get_environment(name: str, **kw: Any) -> Environment:
    """A fresh environment instance by registry name."""
    return ENVIRONMENTS[check_environment_name(name)](**kw)
