"""Chat backends for LLM teachers: messages and a JSON schema in, text (ideally JSON that fits the
schema) out.

Every backend asks for structured output in the strongest form it has:
- `HFChat` (transformers in-process) constrains decoding to the schema with xgrammar's logits
  processor, so a reply always parses unless it is cut at max_tokens;
- `VLLMChat` uses vLLM's structured outputs (`StructuredOutputsParams(json=schema)`);
- `OpenAIChat` (any OpenAI-compatible server) asks for `response_format: json_schema`; servers
  refuse that in different ways (HTTP 400, 500, 422, or they ignore it), so on a refusal with any
  status it works down a ladder — json_schema, json_object with the schema, plain text — and
  learns once per server which mode works.
The openai SDK supplies timeouts and bounded retries with backoff on 429/5xx/connection errors.
Replies are untrusted text: `extract_json` only parses, nothing is ever executed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Mode = Literal["grammar", "json_schema", "json_object", "text"]
LADDER: tuple[Mode, ...] = ("json_schema", "json_object", "text")


class TeacherUnavailable(RuntimeError):
    """The teacher model could not be reached or kept failing after its retries."""


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "length" = cut at max_tokens
    mode: Mode = "text"  # how the reply was produced: "text" = unconstrained

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class ChatBackend(Protocol):
    name: str
    max_tokens: int

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], *, seed: int | None = None, max_tokens: int | None = None
    ) -> ChatResult: ...


def json_values(text: str) -> Iterator[Any]:
    """Every complete top-level JSON object or array in `text`, in order (a value found is
    skipped as a whole, so the objects nested inside it are not yielded again)."""
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        if text[i] in "{[":
            try:
                obj, end = dec.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            yield obj
            i = end
        else:
            i += 1


def extract_json(text: str, want: Callable[[Any], bool] | None = None) -> Any:
    """The first JSON object or array in `text` that `want` accepts (default: the first one).
    Models wrap JSON in prose or fences, and may put a decoy object before the real one.
    Raises ValueError when there is none. Parsing only: nothing is ever executed."""
    first = None
    for obj in json_values(text):
        if want is None or want(obj):
            return obj
        first = obj if first is None else first
    raise ValueError("no JSON object in the teacher's reply" if first is None else "no JSON object of the expected shape in the reply")


def _response_format(mode: Mode, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": False}}
    if mode == "json_object":  # llama.cpp, Ollama and others read a schema next to json_object
        return {"type": "json_object", "schema": schema}
    return None


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
        self.mode: Mode | None = None  # learned on the first request the server answers
        self._lock = threading.Lock()
        self.name = f"{base_url or 'openai'}#{model or ''}"

    def check(self, timeout_s: float = 8.0) -> None:
        """Fail fast: the server answers /models within `timeout_s` and serves the model asked for.
        A server without /models (404) is given the benefit of the doubt when a model is named."""
        o = self._openai
        where = self.base_url or "the OpenAI API"
        try:
            models = [m.id for m in self.client.with_options(timeout=timeout_s, max_retries=0).models.list().data]
        except o.NotFoundError:
            if self.model:
                return
            raise TeacherUnavailable(f"teacher server {where} lists no models; add #MODEL to --teacher") from None
        except o.AuthenticationError:
            raise TeacherUnavailable(f"teacher server {where} refused the API key (HTTP 401)") from None
        except (o.APIError, ValueError) as e:
            raise TeacherUnavailable(f"teacher server {where} unreachable: {type(e).__name__}") from None
        if not models and not self.model:
            raise TeacherUnavailable(f"teacher server {where} serves no model; add #MODEL to --teacher")
        if self.model and models and self.model not in models:
            raise TeacherUnavailable(f"teacher server {where} does not serve '{self.model}' (it serves: {', '.join(models[:5])})")
        with self._lock:
            self.model = self.model or models[0]

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

    def complete(self, messages, schema, *, seed=None, max_tokens=None) -> ChatResult:
        kw: dict[str, Any] = dict(
            model=self._model(), messages=messages, temperature=self.temperature, max_tokens=max_tokens or self.max_tokens
        )
        if seed is not None:
            kw["seed"] = seed
        o = self._openai
        learned = self.mode
        modes = (learned,) if learned else LADDER
        for k, mode in enumerate(modes):
            last = k == len(modes) - 1
            # While learning, a refusal must not burn the retries: probe each structured mode once.
            client = self.client if last else self.client.with_options(max_retries=0)
            fmt = _response_format(mode, schema)
            try:
                resp = client.chat.completions.create(**kw, **({"response_format": fmt} if fmt else {}))
            except o.APIStatusError as e:  # refused, with whatever status this server uses
                if last:
                    raise TeacherUnavailable(f"teacher request failed after retries: {type(e).__name__} (HTTP {e.status_code})") from None
                continue
            except o.APIError as e:  # connection, timeout and malformed bodies, after the SDK's retries
                raise TeacherUnavailable(f"teacher request failed after retries: {type(e).__name__}") from None
            except ValueError:  # a body that is not JSON at all
                raise TeacherUnavailable(f"teacher server {self.base_url or 'openai'} sent a malformed response body") from None
            if self.mode is None:
                self.mode = mode
            break
        choice = resp.choices[0] if getattr(resp, "choices", None) else None
        if choice is None and not hasattr(resp, "choices"):
            raise TeacherUnavailable(f"teacher server {self.base_url or 'openai'} sent a malformed response body")
        text = (choice.message.content or "") if choice else ""
        usage = resp.usage
        return ChatResult(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=getattr(choice, "finish_reason", None),
            mode=mode,
        )


class HFChat:
    """transformers in-process (works on a CPU with the cached SmolLM2). With `constrained`
    (the default) decoding follows the request's JSON schema through xgrammar."""

    def __init__(self, path: str, *, temperature: float = 0.7, max_tokens: int = 512, constrained: bool = True):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if constrained:
            try:
                import xgrammar
            except ImportError:
                raise TeacherUnavailable("hf teacher: constrained decoding needs xgrammar: pip install 'teachloop[serving]'") from None
        p = os.path.expanduser(path)
        try:
            self.tok = AutoTokenizer.from_pretrained(p)
            self.model = AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32)
        except (OSError, ValueError) as e:
            raise TeacherUnavailable(f"hf teacher: cannot load a model from '{path}' ({str(e).splitlines()[0][:120]})") from None
        self.model.eval()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.constrained = constrained
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self.name = f"hf:{path}"
        if constrained:
            info = xgrammar.TokenizerInfo.from_huggingface(self.tok, vocab_size=self.model.config.vocab_size)
            self._compiler = xgrammar.GrammarCompiler(info, max_threads=1)

    def _grammar(self, schema: dict[str, Any]) -> Any:
        """The schema compiled for this tokenizer (cached): compact JSON, no free whitespace, so a
        small model cannot spend its tokens on blank lines."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = self._compiler.compile_json_schema(key, any_whitespace=False)
        return self._grammars[key]

    def complete(self, messages, schema, *, seed=None, max_tokens=None) -> ChatResult:
        import torch

        limit = max_tokens or self.max_tokens
        with self._lock, torch.inference_mode():
            procs = []
            if self.constrained:
                from xgrammar.contrib.hf import LogitsProcessor

                procs.append(LogitsProcessor(self._grammar(schema)))  # one per generate() call
            if seed is not None:
                torch.manual_seed(seed)
            ids = self.tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
            out = self.model.generate(
                **ids,
                max_new_tokens=limit,
                do_sample=self.temperature > 0,
                temperature=self.temperature or None,
                pad_token_id=self.tok.pad_token_id or self.tok.eos_token_id,
                logits_processor=procs or None,
            )
            n_in = ids["input_ids"].shape[1]
            new = out[0, n_in:]
            text = self.tok.decode(new, skip_special_tokens=True)
        ended = len(new) > 0 and int(new[-1]) in _eos_ids(self.model, self.tok)
        return ChatResult(
            text=text,
            prompt_tokens=n_in,
            completion_tokens=len(new),
            finish_reason="stop" if ended or len(new) < limit else "length",
            mode="grammar" if self.constrained else "text",
        )


def _eos_ids(model: Any, tok: Any) -> set[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return ids


def vllm_request(schema: dict[str, Any], *, temperature: float, max_tokens: int, seed: int | None) -> dict[str, Any]:
    """The keyword arguments of vLLM's `SamplingParams` for one reply constrained to `schema`
    (`structured_outputs` is turned into `StructuredOutputsParams` by `VLLMChat`)."""
    return {"temperature": temperature, "max_tokens": max_tokens, "seed": seed, "structured_outputs": {"json": schema}}


class VLLMChat:
    """vLLM in-process (GPU), replies constrained by vLLM's structured outputs. Imported only when used."""

    def __init__(self, model: str, *, temperature: float = 0.7, max_tokens: int = 1024):
        try:
            from vllm import LLM, SamplingParams
            from vllm.sampling_params import StructuredOutputsParams
        except ImportError:
            raise TeacherUnavailable("vllm teacher needs vLLM on a GPU machine: pip install 'teachloop[vllm]'") from None
        self._SamplingParams = SamplingParams
        self._Structured = StructuredOutputsParams
        try:
            self.llm = LLM(model=model)
        except (OSError, ValueError, RuntimeError) as e:
            raise TeacherUnavailable(f"vllm teacher: cannot load '{model}' ({str(e).splitlines()[0][:120]})") from None
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self.name = f"vllm:{model}"

    def complete(self, messages, schema, *, seed=None, max_tokens=None) -> ChatResult:
        kw = vllm_request(schema, temperature=self.temperature, max_tokens=max_tokens or self.max_tokens, seed=seed)
        params = self._SamplingParams(**kw | {"structured_outputs": self._Structured(**kw["structured_outputs"])})
        with self._lock:
            out = self.llm.chat(messages, params, use_tqdm=False)[0]
        o = out.outputs[0]
        return ChatResult(
            text=o.text,
            prompt_tokens=len(out.prompt_token_ids or []),
            completion_tokens=len(o.token_ids),
            finish_reason=o.finish_reason,
            mode="grammar",
        )
