"""Chat backends for LLM teachers: messages in, text (ideally schema-conforming JSON) out.

The OpenAI-compatible backend leans on the `openai` SDK for timeouts and bounded retries with
exponential backoff on 429/5xx/connection errors; it asks for JSON-schema structured output and
remembers when a server refuses it, falling back to plain text that `extract_json` parses.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel


class TeacherUnavailable(RuntimeError):
    """The teacher model could not be reached or kept failing after its retries."""


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatBackend(Protocol):
    name: str

    def complete(self, messages: list[dict[str, str]], schema: type[BaseModel], *, seed: int | None = None) -> ChatResult: ...


def extract_json(text: str) -> Any:
    """The first complete JSON object or array in `text` (models wrap JSON in prose or fences).
    Raises ValueError when there is none. Parsing only: nothing is ever executed."""
    dec = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                obj, _ = dec.raw_decode(text[i:])
                return obj
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON object in the teacher's reply")


class OpenAIChat:
    """Any OpenAI-compatible server (OpenAI, vllm serve, llama.cpp, transformers serve, Ollama)."""

    def __init__(
        self,
        base_url: str | None,
        model: str | None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        require_key: bool = False,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        timeout_s: float = 60.0,
        retries: int = 3,
    ):
        import openai

        key = os.environ.get(api_key_env)
        if require_key and not key:
            raise TeacherUnavailable(f"no API key: set the environment variable {api_key_env}")
        self._openai = openai
        self.client = openai.OpenAI(base_url=base_url, api_key=key or "EMPTY", timeout=timeout_s, max_retries=retries)
        self.base_url = base_url
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._schema_ok = True
        self._lock = threading.Lock()
        self.name = f"{base_url or 'openai'}#{model or ''}"

    def _model(self) -> str:
        if self.model:
            return self.model
        with self._lock:
            if not self.model:
                try:
                    models = self.client.models.list().data
                except self._openai.OpenAIError as e:
                    raise TeacherUnavailable(f"teacher server {self.base_url} unreachable: {type(e).__name__}") from None
                if not models:
                    raise TeacherUnavailable(f"teacher server {self.base_url} serves no model; add #MODEL to --teacher")
                self.model = models[0].id
        return self.model

    def complete(self, messages, schema, *, seed=None) -> ChatResult:
        kw: dict[str, Any] = dict(model=self._model(), messages=messages, temperature=self.temperature, max_tokens=self.max_tokens)
        if seed is not None:
            kw["seed"] = seed
        o = self._openai
        try:
            if self._schema_ok:
                try:
                    resp = self.client.chat.completions.create(
                        **kw,
                        response_format={
                            "type": "json_schema",
                            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
                        },
                    )
                except o.BadRequestError:
                    self._schema_ok = False  # the server has no structured output: ask for text
                    resp = self.client.chat.completions.create(**kw)
            else:
                resp = self.client.chat.completions.create(**kw)
        except o.APIError as e:  # connection, timeout, 429, 5xx and malformed bodies, after the SDK's retries
            status = getattr(e, "status_code", None)
            raise TeacherUnavailable(
                f"teacher request failed after retries: {type(e).__name__}" + (f" (HTTP {status})" if status else "")
            ) from None
        except ValueError:  # a body that is not JSON at all
            raise TeacherUnavailable(f"teacher server {self.base_url or 'openai'} sent a malformed response body") from None
        choice = resp.choices[0] if resp.choices else None
        text = (choice.message.content or "") if choice else ""
        usage = resp.usage
        return ChatResult(
            text=text, prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0, completion_tokens=getattr(usage, "completion_tokens", 0) or 0
        )


class HFChat:
    """transformers in-process (works on a CPU with the cached SmolLM2)."""

    def __init__(self, path: str, *, temperature: float = 0.7, max_tokens: int = 512):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        p = os.path.expanduser(path)
        try:
            self.tok = AutoTokenizer.from_pretrained(p)
            self.model = AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32)
        except (OSError, ValueError) as e:
            raise TeacherUnavailable(f"hf teacher: cannot load a model from '{path}' ({str(e).splitlines()[0][:120]})") from None
        self.model.eval()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self.name = f"hf:{path}"

    def complete(self, messages, schema, *, seed=None) -> ChatResult:
        import torch

        with self._lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            ids = self.tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
            out = self.model.generate(
                **ids,
                max_new_tokens=self.max_tokens,
                do_sample=self.temperature > 0,
                temperature=self.temperature or None,
                pad_token_id=self.tok.pad_token_id or self.tok.eos_token_id,
            )
            n_in = ids["input_ids"].shape[1]
            text = self.tok.decode(out[0, n_in:], skip_special_tokens=True)
        return ChatResult(text=text, prompt_tokens=n_in, completion_tokens=int(out.shape[1] - n_in))


class VLLMChat:
    """vLLM in-process (GPU). Imported only when used."""

    def __init__(self, model: str, *, temperature: float = 0.7, max_tokens: int = 1024):
        try:
            from vllm import LLM, SamplingParams  # noqa: F401
        except ImportError:
            raise TeacherUnavailable("vllm teacher needs vLLM on a GPU machine: pip install 'teachloop[vllm]'") from None
        self._SamplingParams = SamplingParams
        self.llm = LLM(model=model)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self.name = f"vllm:{model}"

    def complete(self, messages, schema, *, seed=None) -> ChatResult:
        params = self._SamplingParams(temperature=self.temperature, max_tokens=self.max_tokens, seed=seed)
        with self._lock:
            out = self.llm.chat(messages, params, use_tqdm=False)[0]
        return ChatResult(
            text=out.outputs[0].text, prompt_tokens=len(out.prompt_token_ids or []), completion_tokens=len(out.outputs[0].token_ids)
        )
