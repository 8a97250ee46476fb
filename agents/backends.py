"""Teacher-model strings: one string picks the backend.

procedural                     the environment's generators (no LLM)
openai:MODEL                   the OpenAI API (key from OPENAI_API_KEY or teacher.api_key_env)
http(s)://HOST:PORT/v1[#MODEL] any OpenAI-compatible server (vllm serve, llama.cpp, transformers serve, Ollama)
vllm:MODEL                     vLLM in-process (GPU)
hf:PATH_OR_ID                  transformers in-process
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

BackendKind = Literal["procedural", "openai", "http", "vllm", "hf"]
EXAMPLES: dict[str, str] = {
    "procedural": "procedural",
    "openai": "openai:gpt-4o-mini",
    "http": "http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct",
    "vllm": "vllm:Qwen/Qwen2.5-7B-Instruct",
    "hf": "hf:~/.cache/teachloop/smollm2-135m-instruct",
}


class TeacherSpec(BaseModel):
    kind: BackendKind
    target: str = ""  # model name, base URL or path
    model: str | None = None  # model name for http servers

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
    if sep and kind in ("openai", "vllm", "hf") and rest:
        return TeacherSpec(kind=kind, target=rest)  # type: ignore[arg-type]
    raise ValueError(f"unknown teacher '{spec}' (use one of: {', '.join(EXAMPLES.values())})")
