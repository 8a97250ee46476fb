"""Teacher-model strings, the OpenAI-compatible backend under faults and refusals (loopback only),
the requests the LLM teacher builds, and the vLLM request (vLLM itself cannot be installed here)."""

from __future__ import annotations

import json
import time

import pytest

from teachloop.agents.backends import parse_teacher_spec
from teachloop.agents.chat import ChatResult, OpenAIChat, TeacherUnavailable, extract_json, vllm_request
from teachloop.agents.drafts import AuthorRequest
from teachloop.agents.llm_teacher import LLMTeacher, author_schema
from teachloop.config import TeacherSettings
from teachloop.environments import get_environment
from teachloop.skills.records import Skill, TeacherCost
from teachloop.teachers import preflight_teacher
from tests.fault_server import FaultServer

SKILL = Skill(id="add.1digit", name="1-digit addition")
SCHEMA = {"type": "object", "properties": {"problems": {"type": "array"}}, "required": ["problems"]}
HI = [{"role": "user", "content": "hi"}]


def _request(n: int = 2, action: str = "create") -> AuthorRequest:
    return AuthorRequest(action=action, skill=SKILL, n=n, difficulty=1, round=1, spec_help='{"op": "expr", "expr": "3 + 4"}')


def _drafts(*exprs: str) -> str:
    return json.dumps({"problems": [{"spec": {"op": "expr", "expr": e}} for e in exprs]})


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


def test_extract_json_from_prose_and_fences_and_past_a_decoy():
    assert extract_json('Sure! ```json\n{"problems": [{"a": 1}]}\n``` done') == {"problems": [{"a": 1}]}
    assert extract_json("x {bad} then [1, 2]") == [1, 2]
    decoy = 'First an example: {"note": "not it", "n": {"x": 1}} and now {"problems": [{"spec": {}}]}'
    want = lambda o: isinstance(o, dict) and "problems" in o  # noqa: E731
    assert extract_json(decoy, want) == {"problems": [{"spec": {}}]}
    assert extract_json(decoy) == {"note": "not it", "n": {"x": 1}}  # without a shape: the first
    with pytest.raises(ValueError):
        extract_json("no json here")
    with pytest.raises(ValueError, match="expected shape"):
        extract_json('{"a": 1}', want)


def test_llm_teacher_keeps_the_real_draft_behind_a_decoy():
    reply = 'Here is the format {"spec": "..."} — and my answer: ' + _drafts("3 + 4")
    with FaultServer("ok", reply=reply) as srv:
        resp = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="t", per_request=1).author(_request(1))
    assert [d.spec for d in resp.drafts] == [{"op": "expr", "expr": "3 + 4"}]


def test_llm_teacher_parses_valid_and_rejects_invalid_drafts_with_reasons():
    reply = json.dumps({"problems": [{"spec": {"op": "expr", "expr": "3 + 4"}, "answer": "7"}, {"spec": "not a dict", "answer": "1"}]})
    with FaultServer("ok", reply=reply) as srv:
        resp = LLMTeacher(OpenAIChat(srv.url, None, retries=0), name="test", per_request=2).author(_request(2))
    assert [(d.spec, d.answer) for d in resp.drafts] == [({"op": "expr", "expr": "3 + 4"}, "7")]
    assert [r.reason for r in resp.rejected] == ["unparsable"] and "not a draft" in resp.rejected[0].detail
    assert resp.cost.requests == 1 and resp.cost.prompt_tokens == 10 and resp.cost.completion_tokens == 5


def test_answer_is_optional():
    with FaultServer("ok", reply=_drafts("3 + 4")) as srv:
        resp = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="t", per_request=1).author(_request(1))
    assert resp.drafts[0].answer is None


def test_requests_are_split_and_run_concurrently():
    with FaultServer("slow", reply=_drafts("1 + 1", "2 + 2"), delay=1.0) as srv:
        t = LLMTeacher(OpenAIChat(srv.url, "m", retries=0, timeout_s=10), name="test", per_request=2, concurrency=3)
        resp = t.author(_request(6))
        assert srv.requests == 3 and srv.max_in_flight == 3  # three chunks, all in flight at once
    assert len(resp.drafts) == 6


def test_a_request_asks_only_for_specs_after_two_examples_in_the_reply_shape():
    env = get_environment("arithmetic")
    examples = env.generate("add.1digit", 1, 2, __import__("random").Random(0))
    req = _request(3).model_copy(update={"spec_schema": env.spec_schema("add.1digit", 1), "examples": examples})
    with FaultServer("ok", reply=_drafts("3 + 4", "5 + 1", examples[0].spec["expr"])) as srv:
        resp = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="t", per_request=3).author(req)
        body = srv.bodies[0]
    user = body["messages"][-1]["content"]
    shown = json.dumps({"problems": [{"spec": p.spec} for p in examples]})
    assert shown in user  # exactly the JSON expected back
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema == author_schema(req, 3)
    item = schema["properties"]["problems"]["items"]
    assert set(item["required"]) == {"spec"} and "answer" not in item["properties"]  # the solver computes answers
    assert item["properties"]["spec"]["properties"]["expr"]["pattern"]  # the skill's own spec schema
    assert schema["properties"]["problems"]["minItems"] == schema["properties"]["problems"]["maxItems"] == 3
    assert [r.reason for r in resp.rejected] == ["duplicate"]  # a copied example never counts
    assert len(resp.drafts) == 2


def test_requests_are_sized_to_fit_max_tokens():
    env = get_environment("arithmetic")
    examples = env.generate("add.3digit", 3, 2, __import__("random").Random(0))
    req = _request(8).model_copy(update={"examples": examples})
    roomy = LLMTeacher(OpenAIChat("http://127.0.0.1:9/v1", "m", max_tokens=1024), name="t", per_request=4)
    tight = LLMTeacher(OpenAIChat("http://127.0.0.1:9/v1", "m", max_tokens=64), name="t", per_request=4)
    assert roomy.per_reply(req) == 4
    assert tight.per_reply(req) < 4
    per_item_tokens = len(json.dumps({"spec": examples[0].spec})) / 2
    assert tight.per_reply(req) * per_item_tokens <= 64


# ---- refusals of structured output: a ladder, learned once per server --------------------------


@pytest.mark.parametrize(
    "refuse,learned",
    [
        ({"json_schema": 400}, "json_object"),
        ({"json_schema": 500}, "json_object"),  # a server that refuses with 500, not 400
        ({"json_schema": 422, "json_object": 422}, "text"),
        ({"json_schema": 400, "json_object": 500}, "text"),
    ],
)
def test_a_refused_response_format_walks_down_the_ladder_once(refuse, learned):
    with FaultServer("ok", reply=_drafts("3 + 4"), refuse=refuse) as srv:
        chat = OpenAIChat(srv.url, "m", retries=2)
        t = LLMTeacher(chat, name="t", per_request=1, concurrency=1)
        first = t.author(_request(1))
        n_first = srv.requests
        second = t.author(_request(1))
        kinds = [(b.get("response_format") or {}).get("type", "text") for b in srv.bodies]
    assert chat.mode == learned
    assert len(first.drafts) == len(second.drafts) == 1
    assert kinds[:n_first] == ["json_schema", "json_object", "text"][:n_first]  # one probe per mode, no retries burnt
    assert kinds[n_first:] == [learned]  # learned: the next request goes straight to the working mode
    if learned == "json_object":
        assert srv.bodies[-1]["response_format"]["schema"]["required"] == ["problems"]
    assert first.cost.modes == {chat.name: learned}


def test_a_server_that_ignores_the_schema_is_recorded_and_its_reply_rejected():
    reply = json.dumps({"answer": "I cannot do that", "problems": "none"})  # valid JSON, breaks the schema
    with FaultServer("ok", reply=reply) as srv:
        chat = OpenAIChat(srv.url, "m", retries=0)
        resp = LLMTeacher(chat, name="t", per_request=1).author(_request(1))
    assert resp.drafts == [] and [r.reason for r in resp.rejected] == ["unparsable"]
    assert resp.cost.modes == {chat.name: "unenforced"}


def test_truncated_replies_are_counted():
    with FaultServer("ok", reply='{"problems": [{"spec": {"op": "ex', finish_reason="length") as srv:
        resp = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="t", per_request=1).author(_request(1))
    assert resp.cost.truncated == 1 and "cut at max_tokens" in resp.rejected[0].detail
    assert resp.cost.modes != {}  # cut short is not "unenforced"
    assert "unenforced" not in resp.cost.modes.values()


def test_teacher_cost_adds_modes_and_truncations():
    total = TeacherCost()
    total.add(TeacherCost(requests=2, truncated=1, modes={"a": "json_schema"}), 1.5)
    total.add(TeacherCost(requests=1, modes={"a": "unenforced", "b": "grammar"}), 0.5)
    total.add(TeacherCost(requests=1, modes={"a": "json_schema"}))
    assert (total.requests, total.truncated, total.seconds) == (4, 1, 2.0)
    assert total.modes == {"a": "unenforced", "b": "grammar"}  # once seen unenforced, stays so


def test_repeated_500_ends_in_bounded_retries_then_unavailable():
    with FaultServer("500") as srv:
        chat = OpenAIChat(srv.url, "m", retries=2)
        t0 = time.monotonic()
        with pytest.raises(TeacherUnavailable, match="HTTP 500"):
            chat.complete(HI, SCHEMA)
        assert srv.requests == 1 + 1 + 3  # one probe per structured mode, then text: the first try + 2 retries
        assert time.monotonic() - t0 < 30


def test_flaky_server_recovers_within_retries():
    with FaultServer("flaky", reply=_drafts("2 + 2")) as srv:
        resp = LLMTeacher(OpenAIChat(srv.url, "m", retries=3), name="test").author(_request(1))
    assert len(resp.drafts) == 1


def test_slow_server_times_out():
    with FaultServer("slow", delay=3.0) as srv:
        chat = OpenAIChat(srv.url, "m", retries=0, timeout_s=0.5)
        t0 = time.monotonic()
        with pytest.raises(TeacherUnavailable, match="Timeout"):
            chat.complete(HI, SCHEMA)
        assert time.monotonic() - t0 < 3.0


def test_garbage_body_is_unavailable_never_a_crash():
    with FaultServer("garbage") as srv:
        t = LLMTeacher(OpenAIChat(srv.url, "m", retries=0), name="test")
        with pytest.raises(TeacherUnavailable, match="malformed response body"):
            t.author(_request(1))
        assert srv.requests == 1  # not a refusal: no ladder


def test_unreachable_server_is_unavailable():
    chat = OpenAIChat("http://127.0.0.1:9/v1", None, retries=1, timeout_s=1.0)
    with pytest.raises(TeacherUnavailable, match=r"http://127\.0\.0\.1:9/v1.*unreachable|unreachable.*http://127\.0\.0\.1:9/v1"):
        chat.complete(HI, SCHEMA)  # the error names the URL the user gave


def test_openai_backend_requires_key(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(TeacherUnavailable, match="MY_KEY"):
        OpenAIChat(None, "gpt", api_key_env="MY_KEY", require_key=True)


# ---- fail fast, before the student loads ---------------------------------------------------------


def test_preflight_unreachable_server_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(TeacherUnavailable, match="unreachable"):
        preflight_teacher(TeacherSettings(model="http://127.0.0.1:9/v1#x", timeout_s=60, request_retries=3))
    assert time.monotonic() - t0 < 10


def test_the_cli_teacher_check_builds_no_environment_before_refusing():
    """Building the environment (importing reasoning-gym) was most of the fail-fast's time."""
    from teachloop.errors import UserError
    from teachloop.preflight import check_teacher

    built = []
    with pytest.raises(UserError, match=r"cannot start: .*127\.0\.0\.1:9.*unreachable"):
        check_teacher(TeacherSettings(model="http://127.0.0.1:9/v1#x", request_retries=0), lambda: built.append(1))
    assert not built


def test_preflight_wrong_model_name_lists_what_is_served():
    with FaultServer("ok", models=["real-model"]) as srv:
        with pytest.raises(TeacherUnavailable, match="does not serve 'typo'.*real-model"):
            preflight_teacher(TeacherSettings(model=f"{srv.url}#typo"))
        preflight_teacher(TeacherSettings(model=f"{srv.url}#real-model"))


def test_preflight_missing_key_and_unloadable_hf_path(monkeypatch, tmp_path):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(TeacherUnavailable, match="NO_SUCH_KEY"):
        preflight_teacher(TeacherSettings(model="openai:gpt-4o-mini", api_key_env="NO_SUCH_KEY"))
    with pytest.raises(TeacherUnavailable, match="cannot load a model"):
        preflight_teacher(TeacherSettings(model=f"hf:{tmp_path}/nothing-here"))


# ---- vLLM: the request it builds ----------------------------------------------------------------


def test_vllm_request_constrains_to_the_schema():
    kw = vllm_request(SCHEMA, temperature=0.5, max_tokens=99, seed=3)
    assert kw == {"temperature": 0.5, "max_tokens": 99, "seed": 3, "structured_outputs": {"json": SCHEMA}}


def test_chat_result_truncation_flag():
    assert ChatResult("x", finish_reason="length").truncated and not ChatResult("x", finish_reason="stop").truncated
