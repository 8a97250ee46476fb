"""Teacher-model strings: one string picks the backend. `BACKENDS` is the one list of backends;
the CLI help, config validation and `teachloop teachers` are generated from it."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field, field_validator


@dataclass(frozen=True)
class Backend:
    """One way of naming a teacher model."""

    kind: str
    form: str  # how a --teacher string of this kind is written
    what: str  # what it runs
    example: str  # a complete --teacher string
    module: str | None  # the import it needs (None: built in)
    install: str  # what to do when that import is missing


BACKENDS: dict[str, Backend] = {
    b.kind: b
    for b in (
        Backend("procedural", "procedural", "the environment's generators (no LLM)", "procedural", None, ""),
        Backend(
            "openai",
            "openai:MODEL",
            "the OpenAI API (key from OPENAI_API_KEY or teacher.api_key_env)",
            "openai:gpt-4o-mini",
            "openai",
            "pip install openai",
        ),
        Backend(
            "http",
            "http(s)://HOST:PORT/v1[#MODEL]",
            "any OpenAI-compatible server (vllm serve, llama.cpp, transformers serve, Ollama)",
            "http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct",
            "openai",
            "pip install openai",
        ),
        Backend(
            "vllm", "vllm:MODEL", "vLLM in-process (GPU)", "vllm:Qwen/Qwen2.5-7B-Instruct", "vllm", "GPU: pip install 'teachloop[vllm]'"
        ),
        Backend(
            "hf",
            "hf:PATH_OR_ID",
            "transformers in-process",
            "hf:~/.cache/teachloop/smollm2-135m-instruct",
            "transformers",
            "pip install transformers",
        ),
    )
}
_PREFIXED = tuple(k for k in BACKENDS if BACKENDS[k].form.startswith(f"{k}:"))  # kinds written KIND:TARGET


def teacher_forms() -> str:
    """The accepted --teacher forms, for help texts: 'procedural | openai:MODEL | ...'."""
    return " | ".join(b.form for b in BACKENDS.values())


class TeacherSpec(BaseModel):
    kind: str = Field(description=f"Backend kind: {' | '.join(BACKENDS)}.")
    target: str = ""  # model name, base URL or path
    model: str | None = None  # model name for http servers

    @field_validator("kind")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in BACKENDS:
            raise ValueError(f"unknown teacher backend '{v}' (choose from: {', '.join(BACKENDS)})")
        return v

    def __str__(self) -> str:
        return {"procedural": "procedural", "http": f"{self.target}#{self.model or ''}"}.get(self.kind, f"{self.kind}:{self.target}")


def parse_teacher_spec(spec: str, model: str | None = None) -> TeacherSpec:
    """Parse a --teacher string; a bad one is a ValueError with a one-line message."""
    s = (spec or "").strip()
    if s == "procedural":
        return TeacherSpec(kind="procedural")
    if s.startswith(("http://", "https://")):
        url, _, frag = s.partition("#")
        if "/v1" not in url:
            raise ValueError(f"teacher URL '{url}' must end in the API root, e.g. http://127.0.0.1:8000/v1")
        return TeacherSpec(kind="http", target=url.rstrip("/"), model=frag or model)
    kind, sep, rest = s.partition(":")
    if sep and kind in _PREFIXED and rest:
        return TeacherSpec(kind=kind, target=rest)
    raise ValueError(f"unknown teacher '{spec}' (use one of: {', '.join(b.example for b in BACKENDS.values())})")
