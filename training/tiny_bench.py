"""The `tiny` student's task view and its cached SFT warm start, for multi-seed curriculum benchmarks.

A char-level Llama of about a million parameters is shown the environment's problems in a form it
can learn, without changing what is asked or how it is scored:

- prompt: the spec's expression with every number written least-significant digit first and no
  spaces, then "=": `36 + 8 + 58` → `63+8+85=` (the chat template adds "Q: " and "\nA:");
- answer: also least-significant digit first, the sign last: 102 → `201`, -15 → `51-`;
- reward: the completion is reversed back and scored by the environment's own `reward`, so the
  answer check, the eval sets, the generators and the verifier are the environment's.

Written this way, digit i of a sum depends on digit i of every operand and the carry from digit
i-1, in the order a transformer generates, and every operand's digit i sits i characters after
its delimiter. What we measured on the 2-core CPU (1 torch thread, batch 64, lr 1e-3):
- one-digit sums alone (2-3 terms): 87-92 % after 500 SFT steps;
- two-digit sums alone (2-3 terms): 17 % after 1,000 steps, still climbing;
- a 7-skill mix with 2- and 3-digit addition and subtraction: 0-10 % on every skill after 1,500
  steps (answers only reversed: the same), too slow to warm-start in minutes.
So the benchmark's default skills are the one-digit families, times tables, their chains, and two
harder two-digit skills that stay near 5 % (the "too hard" arms a curriculum should avoid).

The warm start is a short SFT (TRL `SFTTrainer`, `training.sft`) on fresh generated problems of the
benchmark's skills and training levels, stopped on purpose after 1,000 steps (about 6 minutes),
where the targeted skills sit at 26-37 % held-out accuracy and GRPO has something to learn. It is
cached under the teachloop cache dir keyed by every setting that shapes it (and the environment's
eval-set version, which decides which problems are excluded from training).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from skills.records import Problem, Record
from training.quiet import quiet
from training.sft import SFTSettings, sft
from training.student import Student, build_char_tokenizer, build_tiny_model, default_cache_dir, save_student

_NUMBER_RE = re.compile(r"\d+")
TINY_VIEW_VERSION = "lsd-v1"


class TinyView:
    """Problems as the tiny student sees them, and the reward that reads its answers."""

    version = TINY_VIEW_VERSION

    @staticmethod
    def prompt(problem: Problem) -> str:
        expr = problem.spec.get("expr")
        if problem.spec.get("op") != "expr" or not isinstance(expr, str):
            raise ValueError(f"the tiny view shows arithmetic expressions only, not {problem.spec.get('op')!r}")
        return _NUMBER_RE.sub(lambda m: m.group()[::-1], expr.replace(" ", "")) + "="

    @staticmethod
    def target(answer: str) -> str:
        """The answer as the tiny student writes it: digits reversed, sign last."""
        return answer.strip()[::-1]

    @staticmethod
    def read(completion: str) -> str:
        """A tiny-student completion back in the environment's notation."""
        return completion.strip()[::-1]

    def to_student(self, problem: Problem) -> Problem:
        """The same problem (skill, level, spec, answer) with the tiny prompt; its id changes."""
        return problem.model_copy(update={"prompt": self.prompt(problem)})

    def reward(self, env_reward: Callable[[Problem, str], float]) -> Callable[[Problem, str], float]:
        def reward(problem: Problem, completion: str) -> float:
            return env_reward(problem, self.read(completion))

        return reward


class TinyStudentSettings(Record):
    """The tiny model and its warm start; every field is part of the cache key."""

    hidden_size: int = Field(default=128, ge=16)
    num_layers: int = Field(default=4, ge=1)
    num_heads: int = Field(default=4, ge=1)
    intermediate_size: int = Field(default=512, ge=16)
    init_seed: int = Field(default=0, description="Seed of the random initialisation.")
    skills: list[str] = Field(default_factory=list, description="Skills the SFT draws from (all their training levels).")
    levels: dict[str, list[int]] = Field(
        default_factory=dict, description="Per skill the levels to draw from; a skill not listed uses all training levels."
    )
    examples: int = Field(default=40_000, ge=1, description="Distinct generated SFT examples (spread evenly over skill levels).")
    data_seed: int = Field(default=12345, description="Seed of the generated SFT examples.")
    sft: SFTSettings = Field(default_factory=SFTSettings)


def sft_examples(env: Any, settings: TinyStudentSettings, view: TinyView | None = None) -> list[tuple[Problem, str]]:
    """(tiny-view problem, target) pairs, evenly over the settings' (skill, level) pairs, fresh
    problems only (the environment's `generate` never returns an eval problem)."""
    view = view or TinyView()
    rng = random.Random(settings.data_seed)
    graph = {s.id: s for s in env.skill_graph()}
    arms = []
    for sid in settings.skills:
        s = graph[sid]
        levels = settings.levels.get(sid) or list(range(s.min_level, s.max_level + 1))
        arms += [(sid, lv) for lv in levels]
    per_arm = max(1, settings.examples // max(1, len(arms)))
    out: list[tuple[Problem, str]] = []
    for sid, lv in arms:
        for p in env.generate(sid, lv, per_arm, rng):
            out.append((view.to_student(p), view.target(p.answer)))
    rng.shuffle(out)
    return out


def cache_key(settings: TinyStudentSettings, env_version: str) -> str:
    blob = json.dumps(
        {"settings": settings.model_dump(mode="json", exclude={"sft": {"verbose"}}), "env": env_version, "view": TINY_VIEW_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def build_tiny_student(settings: TinyStudentSettings, seed: int | None = None) -> Student:
    """A random-initialised tiny student with the settings' architecture."""
    tok = build_char_tokenizer()
    init = settings.init_seed if seed is None else seed
    model = build_tiny_model(
        len(tok), seed=init, hidden_size=settings.hidden_size, num_layers=settings.num_layers,
        num_heads=settings.num_heads, intermediate_size=settings.intermediate_size, tokenizer=tok,
    )
    return Student(model=model, tokenizer=tok, name=f"tiny:{init}", source="random-init")


def warm_tiny_student(
    env: Any,
    settings: TinyStudentSettings,
    cache_dir: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """The directory of the SFT-warmed tiny student for `settings`, trained now if not cached;
    also returns the warm start's record (`sft.json`: settings, loss, seconds)."""
    from training.student import load_student

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    key = cache_key(settings, getattr(env, "version", env.name))
    target = root / "tiny-sft" / key
    meta_path = target / "sft.json"
    if (target / "config.json").is_file() and meta_path.is_file():
        return target, json.loads(meta_path.read_text())
    if log:
        log(f"warm-starting the tiny student by SFT ({settings.sft.steps} steps), cached as {target}")
    t0 = time.perf_counter()
    examples = sft_examples(env, settings)
    data_seconds = time.perf_counter() - t0
    student = build_tiny_student(settings)
    work = root / "tiny-sft" / f".work-{key}"
    with quiet():
        outcome = sft(student, examples, settings.sft, output_dir=work, on_progress=on_progress)
    save_student(student, target)
    meta = {
        "key": key,
        "settings": settings.model_dump(mode="json"),
        "env_version": getattr(env, "version", env.name),
        "view": TINY_VIEW_VERSION,
        "parameters": student.num_parameters,
        "examples": len(examples),
        "data_seconds": round(data_seconds, 2),
        "sft_seconds": round(outcome.seconds, 2),
        "stats": outcome.stats,
    }
    tmp = target / "sft.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(meta_path)
    shutil.rmtree(work, ignore_errors=True)
    load_student(str(target))  # fail now, not in the benchmark, if it does not reload
    return target, meta
