"""Teacher-model strings and the OpenAI-compatible backend under faults (loopback only)."""

from __future__ import annotations

import json
import time

import pytest

from teachloop.agents.backends import parse_teacher_spec
from teachloop.agents.chat import OpenAIChat, TeacherUnavailable, extract_json
from teachloop.agents.drafts import AuthorRequest
from teachloop.agents.llm_teacher import AuthorOut, LLMTeacher
from teachloop.skills.records import Skill
from tests.fault_server import FaultServer

SKILL = Skill(id="add.1digit", name="1-digit addition")


def _request(n: int = 2) -> AuthorRequest:
    return AuthorRequest(action="create", skill=SKILL, n=n, difficulty=1, round=1, spec_help='{"op": "expr", "expr": "3 + 4"}')


@pytest.mark.parametrize(
    "spec,kind,target,model",
    [
        ("procedural", "procedural", "", None),
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini", None),
        ("http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B", "http", "http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-7B"),
        ("https://gw.example/v1/", "http", "https://gw.example/v1", None),
        ("vllm:meta/llama", "vllm", "meta/llama", None),
        ("hf:/models/x", "hf", "/models/x", None),
    ],
)
def test_teacher_strings_parse(spec, kind, target, model):
    s = parse_teacher_spec(spec)
    assert (s.kind, s.target, s.model) == (kind, target, model)


@pytest.mark.parametrize("bad", ["bogus:x", "", "openai:", "http://host:1/nope"])
def test_bad_teacher_string_is_one_line_error(bad):
    with pytest.raises(ValueError) as e:
        parse_teacher_spec(bad)
    assert "\n" not in str(e.value)


def test_extract_json_from_prose_and_fences():
    assert extract_json('Sure! ```json\n{"problems": [{"a": 1}]}\n``` done') == {"problems": [{"a": 1}]}
    assert extract_json("x {bad} then [1, 2]") == [1, 2]
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_llm_teacher_parses_valid_and_counts_invalid_drafts():
    reply = json.dumps(
        {
            "problems": [
                {"spec": {"op": "expr", "expr": "3 + 4"}, "answer": "7"},
                {"spec": "not a dict", "answer": "1"},
            ]
        }
    )
    with FaultServer("ok", reply=reply) as srv:
        t = LLMTeacher(OpenAIChat(srv.url, None, retries=0), name="test", per_request=2)
        resp = t.author(_request(2))
    assert [d.spec for d in resp.drafts] == [{"op": "expr", "expr": "3 + 4"}]
    assert resp.unparsable == 1
    assert resp.cost.requests == 1 and resp.cost.prompt_tokens == 10 and resp.cost.completion_tokens == 5


def test_requests_are_split_and_run_concurrently():
    reply = json.dumps({"problems": [{"spec": {"op": "expr", "expr": "1 + 1"}, "answer": "2"}] * 2})
    with FaultServer("ok", reply=reply) as srv:
        t = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="test", per_request=2, concurrency=3)
        resp = t.author(_request(6))
        assert srv.requests == 3
    assert len(resp.drafts) == 6


def test_repeated_500_ends_in_bounded_retries_then_unavailable():
    with FaultServer("500") as srv:
        chat = OpenAIChat(srv.url, "m", retries=2)
        t0 = time.monotonic()
        with pytest.raises(TeacherUnavailable, match="HTTP 500"):
            chat.complete([{"role": "user", "content": "hi"}], AuthorOut)
        assert srv.requests == 3  # the first try + 2 retries, then it stops
        assert time.monotonic() - t0 < 30


def test_flaky_server_recovers_within_retries():
    reply = json.dumps({"problems": [{"spec": {"op": "expr", "expr": "2 + 2"}, "answer": "4"}]})
    with FaultServer("flaky", reply=reply) as srv:
        t = LLMTeacher(OpenAIChat(srv.url, "m", retries=3), name="test")
        resp = t.author(_request(1))
    assert len(resp.drafts) == 1


def test_slow_server_times_out():
    with FaultServer("slow", delay=3.0) as srv:
        chat = OpenAIChat(srv.url, "m", retries=0, timeout_s=0.5)
        t0 = time.monotonic()
        with pytest.raises(TeacherUnavailable, match="Timeout"):
            chat.complete([{"role": "user", "content": "hi"}], AuthorOut)
        assert time.monotonic() - t0 < 3.0


def test_garbage_body_is_unavailable_or_unparsable_never_a_crash():
    with FaultServer("garbage") as srv:
        t = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="test")
        try:
            resp = t.author(_request(1))
        except TeacherUnavailable:
            return
        assert resp.drafts == [] and resp.unparsable == 1


def test_unreachable_server_is_unavailable():
    chat = OpenAIChat("http://127.0.0.1:9/v1", None, retries=1, timeout_s=1.0)
    with pytest.raises(TeacherUnavailable, match="unreachable"):
        chat.complete([{"role": "user", "content": "hi"}], AuthorOut)


def test_openai_backend_requires_key(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(TeacherUnavailable, match="MY_KEY"):
        OpenAIChat(None, "gpt", api_key_env="MY_KEY", require_key=True)
