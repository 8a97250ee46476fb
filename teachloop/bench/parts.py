"""What every bench run shares: the environment with the bench's eval-set sizes, the skill graph cut
to the skills in play, the eval/curve/probe sets, the student (and how it sees problems)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from teachloop.bench.config import TINY_TARGETED, BenchConfig, Log
from teachloop.environments.base import Environment
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import Problem


class TaskView:
    """How problems are shown to the student and its answers scored (identity for real LMs)."""

    def __init__(self, tiny: bool, env: Environment, partial_credit: float = 0.0):
        from teachloop.training.tiny_bench import TinyView

        self.tiny = TinyView() if tiny else None
        self.env = env
        self.partial_credit = partial_credit

    def to_student(self, p: Problem) -> Problem:
        return self.tiny.to_student(p) if self.tiny else p

    def reward(self, train: bool = False) -> Callable[[Problem, str], float]:
        """Exact match for evaluation; the training reward adds the partial credit, if any."""
        if not self.tiny:
            return self.env.reward
        return self.tiny.reward(self.env.reward, self.partial_credit if train else 0.0)


def bench_env(cfg: BenchConfig) -> Environment:
    """A fresh environment whose eval sets have the benchmark's sizes (a version of its own, so its
    eval sets are drawn and cached apart from the default ones), in the bench's split: 'dev' is
    that version's held-out and OOD sets, 'test' the same sizes drawn from a seed namespace of
    their own (`BaseEnvironment.use_eval_namespace`); training never draws the split's problems."""
    from teachloop.config import ConfigError
    from teachloop.environments import get_environment

    env = get_environment(cfg.env, heldout_per_skill=cfg.heldout_per_skill, ood_per_skill=cfg.ood_per_skill)
    if cfg.split == "test":
        use = getattr(env, "use_eval_namespace", None)
        if use is None:
            raise ConfigError(f"--split test: environment {cfg.env} has no test eval split (it is not a BaseEnvironment)")
        use("test")
    return env


def bench_graph(env: Environment, skills: Sequence[str]) -> SkillGraph:
    """The environment's skill graph cut down to `skills` (plus their topic and domain), with
    prerequisites outside the cut dropped."""
    full = {s.id: s for s in env.skill_graph()}
    unknown = [s for s in skills if s not in full or full[s].kind != "skill"]
    if unknown:
        raise ValueError(f"unknown skill(s) for {env.name}: {', '.join(unknown)}")
    keep: set[str] = set()
    for sid in skills:
        cur: str | None = sid
        while cur is not None:
            keep.add(cur)
            cur = full[cur].parent
    out = []
    for sid, s in full.items():
        if sid in keep:
            out.append(s.model_copy(update={"prerequisites": [p for p in s.prerequisites if p in keep]}))
    return SkillGraph(out)


def eval_sets(env: Environment, cfg: BenchConfig) -> tuple[list[Problem], list[Problem], list[Problem]]:
    """(held-out, curve subset, OOD) problems of the benchmark's skills."""
    want = set(cfg.skills)
    heldout = [p for p in env.eval_set("heldout", cfg.heldout_per_skill) if p.skill_id in want]
    curve = [p for p in env.eval_set("heldout", cfg.curve_per_skill) if p.skill_id in want]
    ood = [p for p in env.eval_set("ood", cfg.ood_per_skill) if p.skill_id in want] if cfg.ood_per_skill else []
    return heldout, curve, ood


def probe_set(env: Environment, graph: SkillGraph, cfg: BenchConfig) -> list[Problem]:
    """The teacher's diagnostic set: fresh generated problems over each skill's training levels,
    the same for every run, disjoint from the eval sets."""
    from teachloop.environments.base import generate_over_levels

    return [p for sid in cfg.skills for p in generate_over_levels(env, graph.skills[sid], cfg.probe_per_skill, "bench-probe")]


def resolve_student(cfg: BenchConfig, env: Environment, log: Log, sft_seed: int | None = None) -> tuple[str, bool, dict[str, Any]]:
    """(what `load_student` gets, whether the tiny view applies, warm-start record) of the warm
    start with SFT seed `sft_seed` (None: the tiny settings' own seeds). Seed s initialises the
    model and seeds the SFT's batching (s) and its generated examples (the settings' data seed + s),
    so seed 0 is the warm start recorded before warm starts had seeds. `tiny-raw:N` (no SFT) uses
    init seed N + the warm start's index."""
    spec = cfg.student.strip()
    if spec == "tiny":
        from teachloop.training.tiny_bench import warm_tiny_student

        tiny = cfg.tiny if cfg.tiny.skills else cfg.tiny.model_copy(update={"skills": list(cfg.skills)})
        if not tiny.stop_skills:
            # the warm start's stop rule reads the frontier skills (a warm-start setting, not the headline)
            tiny = tiny.model_copy(update={"stop_skills": [s for s in TINY_TARGETED if s in tiny.skills] or list(tiny.skills)})
        if sft_seed is not None:
            tiny = tiny.model_copy(
                update={
                    "init_seed": sft_seed,
                    "data_seed": cfg.tiny.data_seed + sft_seed,
                    "sft": tiny.sft.model_copy(update={"seed": sft_seed}),
                }
            )
        path, meta = warm_tiny_student(env, tiny, cfg.cache_dir, log=log)
        return str(path), True, meta
    if spec == "tiny-raw" or spec.startswith("tiny-raw:"):
        if ":" in spec:
            seed = int(spec.split(":", 1)[1]) + (cfg.sft_seeds().index(sft_seed) if sft_seed is not None else 0)
        else:
            seed = sft_seed or 0
        return f"tiny:{seed}", True, {"source": "random-init", "init_seed": seed}
    return spec, False, {}


def resolve_students(cfg: BenchConfig, env: Environment, log: Log) -> list[tuple[str, bool, dict[str, Any]]]:
    """`resolve_student` for each warm start (one per SFT seed), trained now if not cached."""
    return [resolve_student(cfg, env, log, s) for s in cfg.sft_seeds()]


def load_bench_student(student_ref: str, cfg: BenchConfig) -> Any:
    """`tiny:SEED`: a random-initialised tiny char-level student; else what `load_student` loads."""
    from teachloop.training.student import load_student

    if student_ref.startswith("tiny:"):
        from teachloop.training.tiny_bench import build_tiny_student

        return build_tiny_student(cfg.tiny, seed=int(student_ref.split(":", 1)[1]))
    return load_student(student_ref, cache_dir=cfg.cache_dir)
