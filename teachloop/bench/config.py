"""The bench's configuration and records: what defines a benchmark, and what one run and the
whole comparison produce (written into the results JSON)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from teachloop.agents.policies import PlanConfig
from teachloop.agents.strategies import STRATEGIES
from teachloop.skills.records import Record
from teachloop.training.grpo import GRPOSettings
from teachloop.training.tiny_bench import TinyStudentSettings

# The tiny student's skills: the addition/subtraction families and their chains.
TINY_SKILLS = ["add.1digit", "sub.1digit", "mul.1digit", "add.2digit", "sub.2digit", "mixed.addsub"]
# The skills the recorded benches before the pre-registered headline averaged (mul.1digit was dropped
# after the results were in); kept only to name them, never a default.
TINY_TARGETED = ["add.1digit", "sub.1digit", "mixed.addsub"]
# Seed namespaces: tuning (dev) runs use seeds below TEST_SEED0, recorded comparisons (test) from it on.
# Every seed used in tuning so far was below 100.
TEST_SEED0 = 100_000

Log = Callable[[str], None]


# The teacher's plan settings the bench uses, chosen on the dev split (benchmarks/results/teacher_policy_dev.md):
# a blocked skill is fully ready once its requirements reach 25 % (mixed.addsub is taught while add/sub are
# still learned), and no discovered sub-skills take the round's target slots.
TEACHER_PLAN_TUNED: dict[str, Any] = {"ready_mastery": 0.25, "max_discoveries_per_round": 0}


class BenchConfig(Record):
    """Everything that defines a benchmark; written into the results."""

    env: str = Field(default="arithmetic", description="Task environment.")
    strategies: list[str] = Field(default_factory=lambda: list(STRATEGIES))
    teachers: list[str] = Field(default_factory=lambda: ["procedural"], description="Teacher models for 'teacher'.")
    seeds: int = Field(default=4, ge=1, description="GRPO seeds per warm start (S).")
    seed0: int = Field(default=0, description="First GRPO seed; warm start w's runs use seed0 + w·seeds .. seed0 + (w+1)·seeds - 1.")
    warm_starts: int = Field(
        default=1,
        ge=1,
        description="Warm starts (W): distinct SFT seeds, each the start of `seeds` GRPO seeds per strategy. CIs are "
        "t-intervals over the W warm-start means (GRPO seeds averaged within each), so they include warm-start variance.",
    )
    sft_seed0: int | None = Field(
        default=None,
        description="First SFT seed; warm starts use sft_seed0 .. sft_seed0 + warm_starts - 1 (in the split's seed "
        "namespace). None: the tiny settings' own seeds (one warm start; results recorded before this field).",
    )
    split: Literal["dev", "test"] = Field(
        default="test",
        description="Eval sets: 'dev' (the environment's held-out/OOD sets, tuned on) or 'test' (a seed namespace "
        "of their own, never tuned on). Tuning uses dev and seeds below 100000, a recorded comparison test and "
        "seeds from 100000 on.",
    )
    budget: int = Field(
        default=25600,
        ge=1,
        description="Student generations per run: GRPO rollouts plus every greedy generation a strategy reads "
        "for its decisions (the diagnostic probe).",
    )
    probe_for: Literal["own", "all"] = Field(
        default="own",
        description="Who gets the diagnostic probe: 'own' = the strategies that read it (the teacher), 'all' = every "
        "strategy the same probe. Either way it comes out of the strategy's budget.",
    )
    student: str = Field(default="tiny", description="tiny (SFT-warmed, cached) | tiny-raw[:SEED] | smollm2 | a model dir.")
    skills: list[str] = Field(default_factory=lambda: list(TINY_SKILLS), description="Skills in play.")
    headline: list[str] | None = Field(
        default=None,
        description="Pre-registered: the skills the headline numbers average, fixed before the run (every skill in "
        "play); None resolves to them at validation.",
    )
    subset: list[str] = Field(default_factory=list, description="Skills of a subset reported next to the headline.")
    subset_reason: str = Field(default="", description="Why the subset is reported (required with a subset).")
    targeted: list[str] | None = Field(
        default=None,
        description="Legacy results only (recorded before the pre-registered headline): the skills their headline "
        "averaged, chosen after the results.",
    )
    steps_per_round: int = Field(
        default=20,
        ge=1,
        description="GRPO steps between two curriculum decisions of the teacher and the per-round strategies (random, "
        "easy-to-hard, variance); curve points are taken every steps_per_round × eval_every steps for every strategy.",
    )
    step_strategy_steps: int = Field(
        default=1,
        ge=1,
        description="GRPO steps between two decisions of SEC, DUMP and threshold, whose papers sample before every "
        "step (1, the default). A larger value samples from statistics up to k-1 steps old: a deviation. Their "
        "statistics update after every step whatever this is.",
    )
    eval_every: int = Field(default=1, ge=1, description="Rounds of steps_per_round steps between two curve evaluations.")
    grpo: GRPOSettings = Field(
        default_factory=lambda: GRPOSettings(
            prompts_per_step=8, num_generations=8, max_completion_length=8, learning_rate=3e-5, temperature=1.0, keep_optimizer_state=True
        ),
        description="GRPO settings of every round (`steps` is set per strategy from its decision period). AdamW's state "
        "carries over between rounds by default, so strategies that decide every step and every `steps_per_round` steps "
        "train with the same optimizer.",
    )
    teacher_plan: PlanConfig = Field(
        default_factory=lambda: PlanConfig(**TEACHER_PLAN_TUNED),
        description="The teacher strategy's plan settings (`teacher.plan` of `teachloop run`). Default: tuned on the dev "
        "split for the tiny student (benchmarks/results/teacher_policy_dev.md); `teachloop run` keeps PlanConfig's own.",
    )
    partial_credit: float = Field(
        default=0.5,
        ge=0.0,
        lt=1.0,
        description="Training reward of a wrong tiny-student answer: this times the share of its characters right in "
        "place (0 = the environment's exact-match reward). Evaluation always scores exact match.",
    )
    heldout_per_skill: int = Field(default=500, ge=1, description="Held-out problems per skill, final evaluation.")
    ood_per_skill: int = Field(default=500, ge=0, description="OOD problems per skill, final evaluation.")
    curve_per_skill: int = Field(default=150, ge=1, description="Held-out prefix per skill for the curve points.")
    probe_per_skill: int = Field(default=48, ge=1, description="Diagnostic probe problems per skill (teacher's eval).")
    eval_batch_size: int = Field(default=256, ge=1)
    eval_max_new_tokens: int = Field(default=8, ge=1)
    tiny: TinyStudentSettings = Field(default_factory=lambda: TinyStudentSettings(skills=list(TINY_SKILLS)))
    jobs: int = Field(default=1, ge=1, description="Runs in parallel (worker processes).")
    threads: int = Field(default=1, ge=1, description="torch threads per run.")
    cache_dir: Path | None = None

    @field_validator("strategies")
    @classmethod
    def _known_strategies(cls, v: list[str]) -> list[str]:
        from teachloop.agents.strategies import check_strategy_name

        return [check_strategy_name(s) for s in v]

    @field_validator("env")
    @classmethod
    def _known_env(cls, v: str) -> str:
        from teachloop.environments import check_environment_name

        return check_environment_name(v)

    @field_validator("skills", "subset", "targeted")
    @classmethod
    def _known_skills(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        from teachloop.environments import get_environment

        if v is not None and "env" in info.data:  # (targeted is None in every result but a legacy one)  # else the env itself was refused
            known = {s.id for s in get_environment(info.data["env"]).skill_graph() if s.kind == "skill"}
            bad = [s for s in v if s not in known]
            if bad:
                raise ValueError(f"unknown skill {', '.join(bad)} (choose from: {', '.join(sorted(known))})")
        return v

    @model_validator(mode="after")
    def _headline(self) -> BenchConfig:
        if self.headline is None:
            self.headline = list(self.targeted if self.targeted is not None else self.skills)
        elif self.targeted is None and sorted(self.headline) != sorted(self.skills):
            raise ValueError("headline: it averages every skill in play; report a subset with subset and subset_reason")
        if self.subset and not self.subset_reason.strip():
            raise ValueError("subset_reason: say why the subset is reported")
        if not set(self.subset) <= set(self.skills):
            raise ValueError("subset: only skills in play")
        if self.sft_seed0 is None and self.warm_starts > 1:  # several warm starts: SFT seeds of the split's namespace
            self.sft_seed0 = TEST_SEED0 if self.split == "test" else 0
        return self

    @property
    def legacy(self) -> bool:
        """A result recorded before the pre-registered headline (its headline was chosen afterwards)."""
        return self.targeted is not None

    def check_seeds(self) -> None:
        """Dev (tuning) and test (recorded) runs use disjoint seed namespaces, GRPO and SFT seeds alike."""
        last = self.seed0 + self.warm_starts * self.seeds - 1
        if self.split == "test" and self.seed0 < TEST_SEED0:
            raise ValueError(f"seed0: a test run uses seeds from {TEST_SEED0} on (below are tuning seeds)")
        if self.split == "dev" and last >= TEST_SEED0:
            raise ValueError(f"seed0: a dev run uses seeds below {TEST_SEED0} (from there on they are test seeds)")
        if self.sft_seed0 is not None:
            if self.split == "test" and self.sft_seed0 < TEST_SEED0:
                raise ValueError(f"sft_seed0: a test run warm-starts from SFT seeds from {TEST_SEED0} on (below are tuning seeds)")
            if self.split == "dev" and self.sft_seed0 + self.warm_starts - 1 >= TEST_SEED0:
                raise ValueError(f"sft_seed0: a dev run uses SFT seeds below {TEST_SEED0} (from there on they are test seeds)")

    def sft_seeds(self) -> list[int | None]:
        """The SFT seed of each warm start (None: the tiny settings' own, for one warm start)."""
        if self.sft_seed0 is None:
            return [None]
        return [self.sft_seed0 + w for w in range(self.warm_starts)]

    def grpo_seeds(self, warm: int) -> list[int]:
        """The GRPO seeds of warm start `warm` (distinct across warm starts: nested, not crossed)."""
        first = self.seed0 + warm * self.seeds
        return list(range(first, first + self.seeds))

    def decision_steps(self, name: str) -> int:
        """GRPO steps per round (between two decisions) of strategy `name`."""
        from teachloop.agents.strategies import STRATEGIES

        base, _ = split_strategy(name, self.teachers)
        per_step = getattr(STRATEGIES[base], "decides_every_step", False) and not self.probe_size(name)
        return self.step_strategy_steps if per_step else self.steps_per_round  # a probed strategy: once a round

    @property
    def curve_steps(self) -> int:
        """GRPO steps between two curve points (the same for every strategy)."""
        return self.steps_per_round * self.eval_every

    def schedule(self, probe: int = 0, round_steps: int | None = None) -> list[int]:
        """GRPO steps per round such that training rollouts plus a `probe` of greedy generations
        before every decision fit the budget: rounds of `round_steps` (default `steps_per_round`),
        the last one shorter."""
        k = round_steps if round_steps is not None else self.steps_per_round
        rps, left, out = self.rollouts_per_step, self.budget, []
        while True:
            left -= probe
            steps = min(k, left // rps) if left > 0 else 0
            if steps <= 0:
                break
            out.append(steps)
            left -= steps * rps
        if not out:
            raise ValueError(f"budget: {self.budget} generations leave no GRPO step after a {probe}-generation probe")
        return out

    def probe_size(self, name: str) -> int:
        """Greedy probe generations before each decision of strategy `name` (nominal: the probe set
        has `probe_per_skill` problems per skill in play)."""
        from teachloop.agents.strategies import STRATEGIES

        base, _ = split_strategy(name, self.teachers)
        reads = STRATEGIES[base].needs_eval or self.probe_for == "all"
        return len(self.skills) * self.probe_per_skill if reads else 0

    def generations_used(self) -> dict[str, int]:
        """Student generations each strategy's run will charge: whole GRPO steps plus the probes
        before its decisions. Raises ValueError("budget: ...") when a budget fits no GRPO step."""
        out = {}
        for name in self.strategy_names():
            probe = self.probe_size(name)
            schedule = self.schedule(probe, self.decision_steps(name))
            out[name] = sum(schedule) * self.rollouts_per_step + len(schedule) * probe
        return out

    def all_runs(self) -> list[tuple[str, int, int]]:
        """Every (strategy, warm start, GRPO seed) run of the benchmark, in the order they run and are
        recorded; every strategy of a (warm start, seed) cell starts from the same student (paired)."""
        return [(name, w, seed) for w in range(self.warm_starts) for seed in self.grpo_seeds(w) for name in self.strategy_names()]

    @property
    def rollouts_per_step(self) -> int:
        return self.grpo.prompts_per_step * self.grpo.num_generations

    @property
    def total_steps(self) -> int:
        return max(1, self.budget // self.rollouts_per_step)

    def round_steps(self) -> list[int]:
        steps, k = self.total_steps, self.steps_per_round
        return [k] * (steps // k) + ([steps % k] if steps % k else [])

    def strategy_names(self) -> list[str]:
        """'teacher' becomes one entry per teacher model when several are compared."""
        out = []
        for s in self.strategies:
            if s == "teacher" and len(self.teachers) > 1:
                out += [f"teacher[{t}]" for t in self.teachers]
            elif s == "teacher":
                out.append("teacher")
            else:
                out.append(s)
        return out


def split_strategy(name: str, teachers: Sequence[str]) -> tuple[str, str | None]:
    if name.startswith("teacher[") and name.endswith("]"):
        return "teacher", name[len("teacher[") : -1]
    if name == "teacher":
        return "teacher", teachers[0] if teachers else "procedural"
    return name, None


class CurvePoint(Record):
    rollouts: int
    generations: int | None = Field(default=None, description="Rollouts plus the probe generations charged so far.")
    steps: int
    accuracy: dict[str, float] = Field(description="Held-out curve-subset accuracy per skill.")


class RunResult(Record):
    strategy: str
    seed: int
    warm_start: int = Field(default=0, description="Index of the warm start (SFT seed) the run started from.")
    curve: list[CurvePoint] = Field(default_factory=list)
    heldout: dict[str, float] = Field(default_factory=dict, description="Final held-out accuracy per skill (full set).")
    ood: dict[str, float] = Field(default_factory=dict, description="Final OOD accuracy per skill.")
    wall: dict[str, float] = Field(default_factory=dict, description="Seconds per phase.")
    rollouts: int = 0
    decisions: int = Field(default=0, description="Curriculum decisions (rounds) in the run; 0 in results recorded before.")
    problems_per_skill: dict[str, int] = Field(default_factory=dict)
    problems_per_level: dict[str, int] = Field(default_factory=dict)
    train_pass_rate: float = 0.0
    zero_variance_groups: float = Field(default=0.0, description="Share of GRPO groups with all-equal rewards.")
    diagnostic_generations: int = Field(
        default=0, description="Greedy probe generations charged to the budget (those that preceded a decision)."
    )
    generations: int = Field(default=0, description="All student generations charged: rollouts + diagnostic_generations.")
    strategy_state: dict[str, Any] = Field(default_factory=dict, description="Strategy-specific summary.")


class WarmStart(Record):
    """One warm start: its SFT seed, the student it gives and that student's start accuracy."""

    sft_seed: int | None = None
    student: str = ""
    start: dict[str, dict[str, float]] = Field(default_factory=dict, description="Start accuracy: split -> skill -> acc.")
    start_curve: dict[str, float] = Field(default_factory=dict)
    record: dict[str, Any] = Field(default_factory=dict, description="The warm start's record (SFT steps, calibration).")


class BenchResult(Record):
    config: BenchConfig
    meta: dict[str, Any] = Field(default_factory=dict)
    start: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Start accuracy: split -> skill -> acc (mean over the warm starts)."
    )
    start_curve: dict[str, float] = Field(default_factory=dict)
    warm: list[WarmStart] = Field(default_factory=list, description="Per warm start (empty in results recorded before them).")
    runs: list[RunResult] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _recorded_per_round(cls, data: Any) -> Any:
        """Results recorded before `step_strategy_steps` existed sampled every strategy once a round."""
        if isinstance(data, dict) and isinstance(data.get("config"), dict) and "step_strategy_steps" not in data["config"]:
            data = data | {"config": data["config"] | {"step_strategy_steps": data["config"].get("steps_per_round", 20)}}
        return data
