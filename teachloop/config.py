"""Run configuration: pydantic models loadable from YAML; profiles < config file < CLI flags."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from teachloop.agents.backends import teacher_forms
from teachloop.agents.strategies import STRATEGIES, check_strategy_name
from teachloop.agents.teacher import TeacherConfig
from teachloop.skills.mastery import MasteryConfig
from teachloop.skills.records import Record
from teachloop.training.grpo import GRPOSettings


class ConfigError(ValueError):
    """Bad user configuration; the message is one line naming the field or file."""


class EvalConfig(Record):
    heldout_per_skill: int = Field(default=50, ge=1, description="Held-out problems per skill (a prefix of the fixed set).")
    ood_per_skill: int = Field(default=20, ge=0, description="Harder out-of-distribution problems per skill (never trained on).")
    batch_size: int = Field(default=32, ge=1, description="Generation batch size for evaluation.")
    max_new_tokens: int | None = Field(
        default=None, ge=1, description="Completion tokens per eval answer. Unset: answer_tokens, raised to the environment's hint."
    )


class TeacherSettings(TeacherConfig):
    model: str = Field(
        default="procedural",
        description=f"Teacher model: {teacher_forms()}.",
    )
    fallback: Literal["procedural"] | None = Field(
        default=None, description="On teacher failure, finish the round with this teacher (recorded)."
    )
    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Environment variable holding the API key (the key itself is never stored)."
    )
    temperature: float = Field(default=0.7, ge=0, description="Sampling temperature of an LLM teacher.")
    max_tokens: int = Field(default=1024, ge=16, description="Completion tokens per teacher request.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout of an LLM teacher.")
    request_retries: int = Field(default=3, ge=0, description="Retries per request on 429/5xx/timeouts, with backoff.")
    concurrency: int = Field(default=4, ge=1, description="Parallel requests when authoring.")


class RunConfig(Record):
    env: str = Field(default="arithmetic", description="Task environment.")
    student: str = Field(default="smollm2", description="Student: smollm2 | tiny | a local model dir | a hub id.")
    rounds: int = Field(default=5, ge=1, description="Teaching rounds in the episode.")
    curriculum: str = Field(
        default="teacher",
        description="Curriculum strategy that writes each round's batch: "
        + " | ".join(STRATEGIES)
        + ". Every one trains on teacher.plan.problems_per_round problems a round.",
    )
    seed: int = Field(default=0, ge=0, lt=2**32, description="Seed for teacher, training and sampling (0 ≤ seed < 2³²).")
    answer_tokens: int = Field(
        default=16,
        ge=1,
        description="Completion tokens of eval answers and GRPO rollouts where eval.max_new_tokens / grpo.max_completion_length "
        "are unset, raised to the environment's answer-length hint (its longest eval answer in the student's tokens) if longer.",
    )
    profile: Literal["smoke", "default"] = Field(default="default", description="Size preset the other fields start from.")
    cache_dir: Path | None = Field(default=None, description="Where the converted student is cached (default ~/.cache/teachloop).")
    teacher: TeacherSettings = Field(default_factory=TeacherSettings)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    mastery: MasteryConfig = Field(default_factory=MasteryConfig)

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _path(cls, v: Any) -> Any:
        return Path(v) if isinstance(v, str) else v  # YAML and JSON give a string; validation is strict

    @field_validator("env")
    @classmethod
    def _known_env(cls, v: str) -> str:
        from teachloop.environments import check_environment_name

        return check_environment_name(v)

    @field_validator("curriculum")
    @classmethod
    def _known_curriculum(cls, v: str) -> str:
        return check_strategy_name(v)

    @field_validator("teacher")
    @classmethod
    def _known_teacher(cls, v: TeacherSettings) -> TeacherSettings:
        from teachloop.agents.backends import parse_teacher_spec

        parse_teacher_spec(v.model)  # raises ValueError with a one-line message (the policy is checked by TeacherConfig)
        return v


PROFILES: dict[str, dict[str, Any]] = {
    # Minutes on 2 CPU cores with SmolLM2: small eval sets, a few short GRPO steps per round.
    "smoke": {
        "rounds": 3,
        "answer_tokens": 12,
        "eval": {"heldout_per_skill": 8, "ood_per_skill": 4},
        "teacher": {"plan": {"problems_per_round": 8, "skills_per_round": 3}},
        "grpo": {"steps": 2, "prompts_per_step": 2, "num_generations": 8},
    },
    "default": {
        "rounds": 5,
        "eval": {"heldout_per_skill": 50, "ood_per_skill": 20},
        "teacher": {"plan": {"problems_per_round": 32, "skills_per_round": 4}},
        "answer_tokens": 16,
        "grpo": {"steps": 8, "prompts_per_step": 4, "num_generations": 8},
    },
}


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _one_line(e: ValidationError, source: str) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "config"
    if source == "option":  # name the flag the user typed
        source, loc = "", "--" + {"teacher.model": "teacher", "grpo.vllm": "vllm"}.get(loc, loc)
        return f"{loc}: {err['msg'].removeprefix('Value error, ')}"
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (+{len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
    return f"{source}: {loc}: {msg}{more}"


def read_config_file(path: Path) -> dict:
    """The mapping a YAML config file holds; ConfigError naming the file (and line:column of a
    YAML error) for a file that is missing, binary, not YAML or not a mapping."""
    where = shlex.quote(str(path))
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config file {where}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {where} is not a text file (byte {e.start} is not UTF-8)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"{where}, line {mark.line + 1}, column {mark.column + 1}" if mark else where
        what = " ".join(x for x in (e.context, e.problem) if x) or "syntax error"
        raise ConfigError(f"config file {at}: not valid YAML: {what}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {where} is not valid YAML: {' '.join(str(e).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {where} must hold a mapping of fields, not {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"config file {where}: field names must be text, not {bad[0]!r}")
    return data


def validate(data: dict) -> RunConfig:
    """Strict: YAML's `rounds: "3"`, `rounds: true` or `rounds: 3.0` are errors, not coerced."""
    return RunConfig.model_validate(data, strict=True)


def build_config(file: Path | None = None, overrides: dict | None = None, base: RunConfig | None = None) -> RunConfig:
    """defaults < profile < config file < CLI overrides; errors name the field and the source.

    With `base` (a run's stored config, for `resume`), the file and flags layer on it instead of
    on a profile."""
    file_data = read_config_file(file) if file else {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if base is not None:
        start = base.model_dump(mode="json")
        profile = overrides.get("profile") or file_data.get("profile") or start["profile"]
        start = start | {"profile": profile}
    else:
        profile = overrides.get("profile") or file_data.get("profile") or "default"
        start = PROFILES.get(profile, {}) if isinstance(profile, str) else {}
    if not isinstance(profile, str) or profile not in PROFILES:
        source = "--profile" if overrides.get("profile") else f"config file {shlex.quote(str(file))}: profile"
        raise ConfigError(f"{source}: unknown profile {profile!r} (choose from: {', '.join(PROFILES)})")
    merged = deep_merge(start, file_data) | {"profile": profile}
    if file:
        try:
            validate(merged)
        except ValidationError as e:
            raise ConfigError(_one_line(e, f"config file {shlex.quote(str(file))}")) from None
    try:
        return validate(deep_merge(merged, overrides) | {"profile": profile})
    except ValidationError as e:
        raise ConfigError(_one_line(e, "option")) from None


def answer_lengths(cfg: RunConfig, env_name: str, hint: int) -> tuple[int, int, list[str]]:
    """(eval max_new_tokens, GRPO max_completion_length, notes) for an environment whose answers
    need `hint` tokens. A length the user set wins, with a note when it is shorter than the hint
    (longer answers are cut off and score 0); an unset one is `answer_tokens` raised to the hint,
    so short-answer environments keep the profile's room and long ones get what they need."""
    lengths, notes = [], []
    for field, value in (("eval.max_new_tokens", cfg.eval.max_new_tokens), ("grpo.max_completion_length", cfg.grpo.max_completion_length)):
        lengths.append(max(cfg.answer_tokens, hint) if value is None else value)
        if value is not None and value < hint:
            notes.append(f"{field} {value} is shorter than the {hint} tokens {env_name}'s answers need: longer answers are cut off")
    return lengths[0], lengths[1], notes


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
