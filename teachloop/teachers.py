"""Build the teacher model a `--teacher` string names, check it before an episode starts, and
list the backends."""

from __future__ import annotations

import importlib.util
from typing import Any

from teachloop.agents.backends import BACKENDS, parse_teacher_spec
from teachloop.agents.chat import ChatBackend, HFChat, OpenAIChat, TeacherUnavailable, VLLMChat
from teachloop.agents.llm_teacher import LLMTeacher
from teachloop.agents.teacher_models import FallbackTeacher, ProceduralTeacher, TeacherModel
from teachloop.environments.base import Environment

_BACKENDS: dict[tuple, ChatBackend] = {}  # built once per process: the preflight's hf/vllm model is the episode's


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
        backend = make_backend(settings)
        assert backend is not None
        teacher: TeacherModel = LLMTeacher(backend, name=str(spec), concurrency=settings.concurrency, env=env)
    except (TeacherUnavailable, ImportError) as e:
        if settings.fallback != "procedural":
            raise TeacherUnavailable(str(e)) from None
        teacher = UnavailableTeacher(str(spec), f"cannot start: {e}")
    if settings.fallback == "procedural":
        teacher = FallbackTeacher(teacher, ProceduralTeacher(env))
    return teacher


def preflight_teacher(settings: Any, env: Environment | None = None, timeout_s: float = 8.0) -> None:
    """Fail fast, before the student loads: the teacher model can be built (an `hf:` path loads,
    an API key is set, vLLM is there) and a server answers within `timeout_s` and serves the model
    asked for. Raises TeacherUnavailable (one line) otherwise; the CLI's preflight makes that exit 2."""
    backend = make_backend(settings)
    if isinstance(backend, OpenAIChat):
        backend.check(timeout_s=min(timeout_s, settings.timeout_s))


def make_backend(settings: Any) -> ChatBackend | None:
    """The chat backend of an LLM teacher (None for procedural), built once per process and
    settings; raises TeacherUnavailable with one line when it cannot be built."""
    spec = parse_teacher_spec(settings.model)
    if spec.kind == "procedural":
        return None
    key = (settings.model, settings.temperature, settings.max_tokens, settings.timeout_s, settings.request_retries, settings.api_key_env)
    if key not in _BACKENDS:
        _BACKENDS[key] = _backend(spec, settings)
    return _BACKENDS[key]


def _backend(spec: Any, settings: Any) -> ChatBackend:
    common = dict(temperature=settings.temperature, max_tokens=settings.max_tokens)
    if spec.kind in ("openai", "http"):
        return OpenAIChat(
            spec.target if spec.kind == "http" else None,
            spec.model if spec.kind == "http" else spec.target,
            api_key_env=settings.api_key_env,
            require_key=spec.kind == "openai",
            timeout_s=settings.timeout_s,
            retries=settings.request_retries,
            **common,
        )
    if spec.kind == "vllm":
        return VLLMChat(spec.target, **common)
    return HFChat(spec.target, **common)


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
            if b.kind == "hf":
                xgr = importlib.util.find_spec("xgrammar") is not None
                status += ", constrained by xgrammar" if xgr else "; constrained decoding needs: pip install 'teachloop[serving]'"
        rows.append((b.kind, status, b.example))
    return rows
