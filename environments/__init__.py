"""Task environments with verifiable rewards, looked up by name.

Environment modules import their generator libraries (reasoning-gym takes about a second), so the
registry imports them only when an environment is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from environments.base import Environment


def _arithmetic(**kw: Any) -> Environment:
    from environments.arithmetic import ArithmeticEnv

    return ArithmeticEnv(**kw)


ENVIRONMENTS: dict[str, Callable[..., Environment]] = {"arithmetic": _arithmetic}


def get_environment(name: str, **kw: Any) -> Environment:
    """A fresh environment instance by registry name."""
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment '{name}' (choose from: {', '.join(sorted(ENVIRONMENTS))})")
    return ENVIRONMENTS[name](**kw)
