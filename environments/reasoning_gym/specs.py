"""reasoning-gym problems as specs: {task, config at a level, seed}, regenerated on demand.

A spec's problem is item `seed` of the task's dataset built with `config` (dataset seed 0), so it
is the same in every process. Levels are plain config dicts; a config lies within a level when
it sets exactly the level's fields, each `min_X`/`max_X` pair inside the level's [min_X, max_X]
and every other field equal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import reasoning_gym
from reasoning_gym.factory import DATASETS

SEED_SPACE = 1_000_000  # seeds are item indices 0..SEED_SPACE-1 of one dataset per config


class SpecError(ValueError):
    """A spec that does not even parse (wrong shape, unknown task, seed out of range)."""


@dataclass(frozen=True)
class RGSpec:
    task: str
    config: dict[str, Any]
    seed: int
    config_json: str = field(init=False, repr=False)  # the config's identity, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "config_json", json.dumps(self.config, sort_keys=True))

    def as_dict(self) -> dict[str, Any]:
        return {"task": self.task, "config": dict(self.config), "seed": self.seed}


def parse_spec(spec: Any) -> RGSpec:
    """The spec's parts, checked for shape; SpecError says what is wrong in one line."""
    if not isinstance(spec, dict) or set(spec) != {"task", "config", "seed"}:
        raise SpecError('a spec must be {"task": <name>, "config": {<field>: <value>}, "seed": <int>}')
    task, config, seed = spec["task"], spec["config"], spec["seed"]
    if not isinstance(task, str) or task not in DATASETS:
        raise SpecError(f"unknown reasoning-gym task {task!r}")
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise SpecError("config must be an object of field names to values")
    if "seed" in config or "size" in config:
        raise SpecError("config may not set seed or size (the spec's seed picks the item)")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_SPACE:
        raise SpecError(f"seed must be an integer in 0..{SEED_SPACE - 1}")
    return RGSpec(task, dict(config), seed)


@lru_cache(maxsize=512)
def _dataset(task: str, config_json: str) -> Any:
    return reasoning_gym.create_dataset(task, seed=0, size=SEED_SPACE, **json.loads(config_json))


@lru_cache(maxsize=16384)
def _item(task: str, config_json: str, seed: int) -> dict[str, Any]:
    return _dataset(task, config_json)[seed]


def generate_item(spec: RGSpec) -> dict[str, Any]:
    """The reasoning-gym entry (question, answer, metadata) of a spec; raises whatever the
    task's generator raises for this config or seed (callers turn it into a reject reason)."""
    return _item(spec.task, spec.config_json, spec.seed)


def score(spec: RGSpec, answer: str | None, entry: dict[str, Any]) -> float:
    """The task's own scorer, clipped to [0, 1]."""
    got = _dataset(spec.task, spec.config_json).score_answer(answer, entry)
    return min(1.0, max(0.0, float(got)))


def text_key(task: str, question: str) -> str:
    """A problem's identity is its text: equal keys mean the student sees the same question."""
    return f"{task}:{hashlib.sha1(' '.join(question.split()).encode()).hexdigest()[:20]}"


def within(config: dict[str, Any], level: dict[str, Any]) -> bool:
    """Whether `config` lies within a level's bounds (see the module docstring)."""
    if set(config) != set(level):
        return False
    for name, want in level.items():
        got = config[name]
        bounds = range_bounds(level, name)
        if bounds is not None:
            lo, hi = bounds
            if isinstance(got, bool) or not isinstance(got, int | float) or not lo <= got <= hi:
                return False
        elif json.dumps(got, sort_keys=True) != json.dumps(want, sort_keys=True):
            return False
    return True


def range_bounds(level: dict[str, Any], field: str) -> tuple[Any, Any] | None:
    """[lo, hi] a `min_X`/`max_X` field may take at this level, or None for a plain field."""
    for prefix in ("min_", "max_"):
        if field.startswith(prefix):
            stem = field[len(prefix) :]
            lo, hi = level.get(f"min_{stem}"), level.get(f"max_{stem}")
            if isinstance(lo, int | float) and isinstance(hi, int | float) and not isinstance(lo, bool):
                return lo, hi
    return None
