"""Build the teacher model a `--teacher` string names, and list the backends."""

from __future__ import annotations

import importlib.util
from typing import Any

from teachloop.agents.backends import BACKENDS, parse_teacher_spec
from teachloop.agents.chat import HFChat, OpenAIChat, TeacherUnavailable, VLLMChat
from teachloop.agents.llm_teacher import LLMTeacher
from teachloop.agents.teacher_models import FallbackTeacher, ProceduralTeacher, TeacherModel
from teachloop.environments.base import Environment


class UnavailableTeacher:
    """A teacher whose backend could not even be built: every request raises the reason, so a
    `FallbackTeacher` around it records that the fallback wrote the round, and why."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason

    def author(self, request: Any) -> Any:
        raise TeacherUnavailable(self.reason)

    def discover(self, request: Any) -> Any:
        raise TeacherUnavailable(self.reason)


def make_teacher(settings: Any, env: Environment) -> TeacherModel:
    """The teacher `settings.model` names. A backend that cannot be built (no API key, a dir that
    is not a model, vLLM missing) raises `TeacherUnavailable`, unless `settings.fallback` is set:
    then the fallback teacher writes every round and the round records say why."""
    spec = parse_teacher_spec(settings.model)
    if spec.kind == "procedural":
        return ProceduralTeacher(env)
    try:
        teacher: TeacherModel = LLMTeacher(_backend(spec, settings), name=str(spec), concurrency=settings.concurrency)
    except (TeacherUnavailable, ImportError) as e:
        if settings.fallback != "procedural":
            raise TeacherUnavailable(str(e)) from None
        teacher = UnavailableTeacher(str(spec), f"cannot start: {e}")
    if settings.fallback == "procedural":
        teacher = FallbackTeacher(teacher, ProceduralTeacher(env))
    return teacher


def _backend(spec: Any, settings: Any) -> Any:
    common = dict(temperature=settings.temperature, max_tokens=settings.max_tokens)
    if spec.kind == "openai":
        backend = OpenAIChat(
            None,
            spec.target,
            api_key_env=settings.api_key_env,
            require_key=True,
            timeout_s=settings.timeout_s,
            retries=settings.request_retries,
            **common,
        )
    elif spec.kind == "http":
        backend = OpenAIChat(
            spec.target,
            spec.model,
            api_key_env=settings.api_key_env,
            timeout_s=settings.timeout_s,
            retries=settings.request_retries,
            **common,
        )
    elif spec.kind == "vllm":
        backend = VLLMChat(spec.target, **common)
    else:
        backend = HFChat(spec.target, **common)
    return backend


def backend_status() -> list[tuple[str, str, str]]:
    """(backend, status, example) for `teachloop teachers`, one row per registered backend."""
    rows = []
    for b in BACKENDS.values():
        if b.module is None:
            status = "built in"
        elif importlib.util.find_spec(b.module) is None:
            status = f"missing: {b.install}"
        else:
            status = f"installed ({b.module})"
        rows.append((b.kind, status, b.example))
    return rows
