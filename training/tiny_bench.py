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
its delimiter. Multi-digit mixes still learn too slowly to warm-start in minutes, so the
benchmark's default skills are the one-digit families, times tables, their chains, and two harder
two-digit skills the student stays poor at (the "too hard" arms a curriculum should avoid).

The warm start is a short SFT (TRL `SFTTrainer`, `teachloop.training.sft`) on fresh generated problems of the
benchmark's skills and training levels, stopped by a measured rule rather than a step count: every
`check_every` steps the student answers a fixed calibration set of the stop skills (fresh problems,
never eval ones) greedily, and the SFT ends at the first check where their mean accuracy reaches
`stop_accuracy` (30 %), so GRPO starts where it has something to learn; a fixed step count was not
reproducible across transformers versions. The warm start is cached
under the teachloop cache dir keyed by every setting that shapes it (and the environment's
eval-set version, which decides which problems are excluded from training); its record
(`sft.json`) keeps every check.

The optional partial-credit reward (`reward(..., partial_credit)`) gives a wrong answer a share of
credit for digits right in place, so fewer GRPO groups have all-equal rewards (no gradient).

The measurements behind these choices: benchmarks/results/tiny_student_notes.md.
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

from teachloop.environments.base import Environment
from teachloop.skills.records import Problem, Record
from teachloop.training.quiet import quiet
from teachloop.training.sft import SFTSettings, sft
from teachloop.training.student import (
    Student,
    StudentError,
    build_char_tokenizer,
    build_tiny_model,
    default_cache_dir,
    save_student,
)

_NUMBER_RE = re.compile(r"\d+")
TINY_VIEW_VERSION = "lsd-v1"
# Bumped when the warm start's recipe changes in a way its settings do not show (part of the cache key).
WARM_START_VERSION = "calibration-disjoint-v1"


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

    def reward(self, env_reward: Callable[[Problem, str], float], partial_credit: float = 0.0) -> Callable[[Problem, str], float]:
        """The environment's reward on the answer read back; with `partial_credit` > 0 a wrong
        answer earns that much times the share of its characters right in place (least-significant
        digit first, over the longer of answer and target), so "18" for 17 is worth more than "5".
        A wrong answer stays below 1, so pass rates and accuracy are unchanged."""
        if not 0.0 <= partial_credit < 1.0:
            raise ValueError(f"partial_credit must be in [0, 1), got {partial_credit}")

        def reward(problem: Problem, completion: str) -> float:
            r = env_reward(problem, self.read(completion))
            if r >= 1.0 or partial_credit == 0.0:
                return r
            said, want = completion.strip(), self.target(problem.answer)
            right = sum(a == b for a, b in zip(said, want))
            return max(r, partial_credit * right / max(len(said), len(want), 1))

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
    sft: SFTSettings = Field(
        default_factory=lambda: SFTSettings(steps=2000),
        description="The SFT run; with `stop_accuracy` its `steps` is the most it may take.",
    )
    stop_accuracy: float | None = Field(
        default=0.30,
        gt=0.0,
        le=1.0,
        description="Stop the SFT at the first check where the mean greedy accuracy over `stop_skills` on a fresh "
        "calibration set reaches this (None: run all `sft.steps`). A measured level, not a step count, so the warm "
        "start lands in the same place whatever library version or CPU shifts the SFT's path.",
    )
    stop_skills: list[str] = Field(default_factory=list, description="Skills the stop rule averages (default: `skills`).")
    check_every: int = Field(default=50, ge=1, description="SFT steps between two stop-rule checks.")
    calibration_per_skill: int = Field(default=120, ge=1, description="Calibration problems per stop skill (fresh, never eval).")


def sft_examples(
    env: Environment, settings: TinyStudentSettings, view: TinyView | None = None, exclude: frozenset[str] | set[str] = frozenset()
) -> list[tuple[Problem, str]]:
    """(tiny-view problem, target) pairs, evenly over the settings' (skill, level) pairs, fresh
    problems only (the environment's `generate` never returns an eval problem) and none whose
    tiny prompt is in `exclude` (the calibration set)."""
    view = view or TinyView()
    rng = random.Random(settings.data_seed)
    graph = {s.id: s for s in env.skill_graph()}
    arms = []
    for sid in settings.skills:
        arms += [(sid, lv) for lv in settings.levels.get(sid) or graph[sid].training_levels]
    per_arm = max(1, settings.examples // max(1, len(arms)))
    out: list[tuple[Problem, str]] = []
    for sid, lv in arms:
        for p in env.generate(sid, lv, per_arm, rng):
            shown = view.to_student(p)
            if shown.prompt not in exclude:
                out.append((shown, view.target(p.answer)))
    rng.shuffle(out)
    return out


def calibration_set(env: Environment, settings: TinyStudentSettings, view: TinyView | None = None) -> list[Problem]:
    """Fresh problems of the stop skills, evenly over their training levels: never eval problems,
    and kept out of the SFT examples, so the stop rule measures what held-out accuracy measures
    (answers to unseen problems; on seen ones the warm start scores higher than held-out says)."""
    from teachloop.environments.base import generate_over_levels

    view = view or TinyView()
    graph = {s.id: s for s in env.skill_graph()}
    return [
        view.to_student(p)
        for sid in settings.stop_skills or settings.skills
        for p in generate_over_levels(env, graph[sid], settings.calibration_per_skill, "tiny-calibration", settings.levels.get(sid))
    ]


def cache_key(settings: TinyStudentSettings, env_version: str) -> str:
    blob = json.dumps(
        {
            "settings": settings.model_dump(mode="json", exclude={"sft": {"verbose"}}),
            "env": env_version,
            "view": TINY_VIEW_VERSION,
            "recipe": WARM_START_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def build_tiny_student(settings: TinyStudentSettings, seed: int | None = None) -> Student:
    """A random-initialised tiny student with the settings' architecture."""
    tok = build_char_tokenizer()
    init = settings.init_seed if seed is None else seed
    model = build_tiny_model(
        len(tok),
        seed=init,
        hidden_size=settings.hidden_size,
        num_layers=settings.num_layers,
        num_heads=settings.num_heads,
        intermediate_size=settings.intermediate_size,
        tokenizer=tok,
    )
    return Student(model=model, tokenizer=tok, name=f"tiny:{init}", source="random-init")


def warm_tiny_student(
    env: Environment,
    settings: TinyStudentSettings,
    cache_dir: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """The directory of the SFT-warmed tiny student for `settings`, trained now if not cached;
    also returns the warm start's record (`sft.json`: settings, loss, seconds)."""
    from teachloop.training.student import load_student

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    key = cache_key(settings, getattr(env, "version", env.name))
    target = root / "tiny-sft" / key
    meta_path = target / "sft.json"
    if (target / "config.json").is_file() and meta_path.is_file():
        return target, json.loads(meta_path.read_text())
    if log:
        log(f"warm-starting the tiny student by SFT ({settings.sft.steps} steps), cached as {target}")
    t0 = time.perf_counter()
    calib = calibration_set(env, settings) if settings.stop_accuracy is not None else []
    examples = sft_examples(env, settings, exclude={p.prompt for p in calib})
    data_seconds = time.perf_counter() - t0
    student = build_tiny_student(settings)
    work = root / "tiny-sft" / f".work-{key}"
    checks: list[dict[str, float]] = []
    reached = False
    stop_when = None
    if settings.stop_accuracy is not None:
        from teachloop.training.evaluate import evaluate

        exact = TinyView().reward(env.reward)

        def stop_when(step: int) -> bool:
            nonlocal reached
            per_skill = evaluate(student, calib, exact, round=0, split="calibration", batch_size=256, max_new_tokens=8).per_skill
            acc = sum(e.accuracy for e in per_skill) / len(per_skill)
            checks.append({"step": step, "accuracy": round(acc, 4)})
            if log:
                log(f"  SFT step {step}: calibration accuracy {acc:.1%} (stop at {settings.stop_accuracy:.0%})")
            reached = acc >= settings.stop_accuracy
            return reached

    with quiet():
        outcome = sft(
            student,
            examples,
            settings.sft,
            output_dir=work,
            on_progress=on_progress,
            stop_when=stop_when,
            check_every=settings.check_every,
        )
    if settings.stop_accuracy is not None and not reached:
        shutil.rmtree(work, ignore_errors=True)
        raise StudentError(
            f"the tiny student's SFT reached only {checks[-1]['accuracy'] if checks else 0:.1%} calibration accuracy in "
            f"{settings.sft.steps} steps (stop_accuracy {settings.stop_accuracy:.0%}): raise sft.steps or lower stop_accuracy"
        )
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
        "calibration": checks,
    }
    tmp = target / "sft.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(meta_path)
    shutil.rmtree(work, ignore_errors=True)
    load_student(str(target))  # fail now, not in the benchmark, if it does not reload
    return target, meta
