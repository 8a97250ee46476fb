"""An LLM teacher: prompts built from the WeaknessReport and failure exemplars, replies parsed
into pydantic drafts. The reply is untrusted data — parsed, validated, then verified by the
environment's solver in the agent's `verify` node; nothing in it is ever executed.

It asks little of the model: only specs (the solver computes answers), in a JSON schema built
from the environment's per-skill spec schema that constrained backends decode against, after two
verified examples of the skill written exactly as the JSON expected back. Requests are sized so a
reply fits in max_tokens.
"""

from __future__ import annotations

import json
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from teachloop.agents.chat import ChatBackend, ChatResult, extract_json
from teachloop.agents.drafts import AuthorRequest, AuthorResponse, DiscoverRequest, DiscoverResponse, Draft, SubSkillProposal
from teachloop.skills.records import Problem, Rejected, TeacherCost

SYSTEM = (
    "You are a teacher who writes practice problems for a student model trained by reinforcement "
    "learning. Every problem you write is checked by an exact solver: give a structured spec in the "
    "requested format. Reply with JSON only."
)

ACTION_TEXT = {
    "create": "Write {n} new problems for this skill at difficulty level {d}.",
    "simplify": "The student fails these problems. Write {n} easier problems of the SAME skill at level {d} (smaller numbers, fewer steps), one per source where possible.",
    "diversify": "The student is half-way on these problems. Write {n} problems of the same skill and level {d} with different numbers, and a short wording for the student in `prompt` that contains exactly the spec's numbers.",
    "escalate": "The student solves these problems. Write {n} harder variants of the same skill one level up, level {d}.",
}
DIVERSIFY_SPECS = "The student is half-way on these problems. Write {n} problems of the same skill and level {d} with different numbers."
WORDING = (
    "Write the text a student reads for the problem {expr}: one short question that contains {expr} exactly as written "
    "and no other number. Reply as JSON, for example:\n{example}"
)
PROMPT_CHARS = 300  # longest student text asked of the model (the environment refuses longer ones)
CHARS_PER_TOKEN = 2.0  # conservative for JSON full of digits (SmolLM2 splits numbers into single digits)


class DraftOut(BaseModel):
    spec: dict[str, Any] = Field(description="Structured spec in the environment's format.")
    answer: str | int | None = Field(default=None, description="Optional: the solver computes the answer.")
    prompt: str | None = Field(default=None, description="Optional wording for the student.")


class DiscoverOut(BaseModel):
    feature: str | None = Field(description="One of the offered feature names, or null if failures do not cluster.")
    name: str = ""
    description: str = ""


def _with_prompt(req: AuthorRequest) -> bool:
    return req.action == "diversify"


def author_schema(req: AuthorRequest, n: int, with_prompt: bool | None = None) -> dict[str, Any]:
    """The JSON schema of a reply with exactly `n` drafts of the request's skill and level."""
    props: dict[str, Any] = {"spec": req.spec_schema or {"type": "object"}}
    if _with_prompt(req) if with_prompt is None else with_prompt:
        props["prompt"] = {"type": "string", "minLength": 5, "maxLength": PROMPT_CHARS}
    item = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return {
        "type": "object",
        "properties": {"problems": {"type": "array", "items": item, "minItems": n, "maxItems": n}},
        "required": ["problems"],
        "additionalProperties": False,
    }


def example_reply(req: AuthorRequest, examples: list[Problem], with_prompt: bool | None = None) -> str:
    """Verified problems written exactly as the reply the model should give."""
    worded = _with_prompt(req) if with_prompt is None else with_prompt
    items = [{"spec": p.spec} | ({"prompt": p.prompt} if worded else {}) for p in examples]
    return json.dumps({"problems": items}, ensure_ascii=False)


def _is_reply(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("problems"), list)) or (
        isinstance(obj, list) and any(isinstance(x, dict) and "spec" in x for x in obj)
    )


def _cost(results: list[ChatResult], name: str, broke_schema: bool = False) -> TeacherCost:
    modes = {r.mode for r in results}
    mode = "unenforced" if broke_schema and modes - {"text"} else (modes.pop() if len(modes) == 1 else "text")
    return TeacherCost(
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        requests=len(results),
        truncated=sum(r.truncated for r in results),
        modes={name: mode} if results else {},
    )


READ_BACK_SYSTEM = "You turn a short maths word problem into the arithmetic expression that answers it. Reply with JSON only."
READ_BACK_SCHEMA = {
    "type": "object",
    "properties": {"expression": {"type": "string", "pattern": "[0-9 ()+*/-]{1,80}"}},
    "required": ["expression"],
    "additionalProperties": False,
}
_SYMBOLIC = re.compile(r"\d\s*[-+*/×÷−]\s*\(?\s*\d")


def skill_state(report_text: str, skill_id: str) -> str:
    """The report's lines about one skill (its header and legend kept): an authoring request is
    about that skill, and the other skills' lines only lengthen the prompt (prefill is most of a
    small CPU model's time). The whole report when it has no line for the skill."""
    lines = report_text.splitlines()
    mine = [ln for ln in lines if ln.startswith((f"- {skill_id}:", f"- {skill_id} "))]
    return "\n".join(lines[:2] + mine) if mine else report_text


class LLMTeacher:
    """Authoring through any ChatBackend; requests for many problems are split into chunks that
    fit in the backend's max_tokens and run in parallel up to `concurrency`."""

    wants_examples = True  # the agent fills AuthorRequest.spec_schema and .examples for it

    def __init__(
        self,
        backend: ChatBackend,
        *,
        name: str,
        concurrency: int = 4,
        per_request: int = 4,
        env: Any = None,
        verifier: ChatBackend | None = None,
    ):
        self.backend = backend
        self.name = name
        self.concurrency = concurrency
        self.per_request = per_request
        self.env = env  # word problems are read back (`reads_back`/`read_back`) by an independent call
        self.verifier = verifier or backend

    def _prompt_in_reply(self, req: AuthorRequest) -> bool:
        """Whether the student's text comes in the same reply as the spec (no environment to pin it
        to the spec; see `_word`)."""
        return _with_prompt(req) and self.env is None

    def _word(self, req: AuthorRequest, draft: Draft, k: int) -> tuple[ChatResult, Draft | None]:
        """The student's text for a spec the model wrote, asked apart and decoded to the
        environment's `wording_pattern` for that spec (where it has one). In one reply a small model
        copied the shown example's text, numbers and all (SmolLM2-135M: every diversify draft
        `text_mismatch`); the pattern makes it write this spec's maths. Verification still checks
        the text. None when the reply does not parse."""
        pattern = self.env.wording_pattern(draft.spec) if self.env is not None else None
        # xgrammar ignores length bounds next to a pattern: the pattern bounds the length itself.
        text: dict[str, Any] = (
            {"type": "string", "pattern": pattern} if pattern else {"type": "string", "minLength": 5, "maxLength": PROMPT_CHARS}
        )
        schema = {"type": "object", "properties": {"prompt": text}, "required": ["prompt"], "additionalProperties": False}
        example = json.dumps({"prompt": req.examples[0].prompt if req.examples else "What is 3 + 4?"}, ensure_ascii=False)
        expr = str(draft.spec.get("expr") or json.dumps(draft.spec))
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": WORDING.format(expr=expr, example=example)}]
        seed = zlib.crc32(f"{req.seed}|{req.skill.id}|word|{k}".encode()) % 2**31
        res = self.backend.complete(msgs, schema, seed=seed, max_tokens=min(getattr(self.backend, "max_tokens", 160), 160))
        try:
            prompt = extract_json(res.text, lambda o: isinstance(o, dict) and isinstance(o.get("prompt"), str))["prompt"]
        except ValueError:
            return res, None
        return res, draft.model_copy(update={"prompt": prompt})

    def _read_back(self, draft: Draft) -> tuple[ChatResult | None, bool | None]:
        """Round trip for a word problem (a prompt without written arithmetic): a fresh call that
        sees only the student's text must derive an expression of the spec's value. (None, None)
        when not applicable; (result, None) when the reading could not be parsed."""
        env = self.env
        if env is None or not draft.prompt or _SYMBOLIC.search(draft.prompt):
            return None, None
        if not env.reads_back(draft.spec):
            return None, None
        msgs = [{"role": "system", "content": READ_BACK_SYSTEM}, {"role": "user", "content": f"Problem: {draft.prompt}"}]
        res = self.verifier.complete(msgs, READ_BACK_SCHEMA, max_tokens=64)
        try:
            expr = extract_json(res.text, lambda o: isinstance(o, dict) and isinstance(o.get("expression"), str))["expression"]
        except ValueError:
            return res, None
        return res, env.read_back(draft.spec, expr)

    def per_reply(self, req: AuthorRequest) -> int:
        """Drafts per request so that the reply fits in max_tokens: the longest example item, at a
        conservative characters-per-token rate, plus room for a student text where one is asked."""
        item_chars = max((len(json.dumps({"spec": p.spec})) for p in req.examples), default=60) + 4
        if self._prompt_in_reply(req):
            item_chars += PROMPT_CHARS // 2
        budget = getattr(self.backend, "max_tokens", 1024) - 24
        return max(1, min(self.per_request, int(budget * CHARS_PER_TOKEN // item_chars)))

    def _messages(self, req: AuthorRequest, n: int) -> list[dict[str, str]]:
        s = req.skill
        parts = [
            f"Skill: {s.id} — {s.name}. {s.description}".strip(),
            (DIVERSIFY_SPECS if req.action == "diversify" and not self._prompt_in_reply(req) else ACTION_TEXT[req.action]).format(
                n=n, d=req.difficulty
            ),
        ]
        if not req.examples:  # the examples show the format exactly; the help's own example is one more spec to copy
            parts.append(f"Spec format for this skill:\n{req.spec_help}")
        if req.sources:
            parts.append("Source problems:\n" + "\n".join(f"- {json.dumps(p.spec)}" for p in req.sources[:6]))
        if req.exemplars:
            parts.append(
                "Recent student failures:\n"
                + "\n".join(
                    f"- {str(e.get('prompt', ''))[:200]!r}: student said {str(e.get('student_answer', ''))[:40]!r}, expected {e.get('expected', '')}"
                    for e in req.exemplars[:3]
                )
            )
        if req.report_text:
            parts.append("Student state:\n" + skill_state(req.report_text, s.id)[:1500])
        if req.examples:
            lv = req.example_level or req.difficulty
            where = f"at level {lv}" + (f" (yours must be level {req.difficulty})" if lv != req.difficulty else "")
            shown = example_reply(req, req.examples[:2], self._prompt_in_reply(req))
            parts.append(f"Two verified problems of this skill {where}, as JSON:\n{shown}")
        parts.append(f"Reply with JSON of exactly this shape, {n} new problems, no answers (the solver computes them).")
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]

    def _one(self, req: AuthorRequest, n: int, k: int) -> tuple[ChatResult, list[Draft], list[Rejected]]:
        # A seed per plan item and chunk: with one seed for every item, similar requests drew the
        # same samples and a small model wrote the same specs again (duplicates).
        seed = zlib.crc32(f"{req.seed}|{req.skill.id}|{req.action}|{req.difficulty}|{k}".encode()) % 2**31
        res = self.backend.complete(self._messages(req, n), author_schema(req, n, self._prompt_in_reply(req)), seed=seed)

        def reject(reason: str, detail: str, draft: Any = None) -> Rejected:
            d = draft if isinstance(draft, dict) else {} if draft is None else {"item": str(draft)[:200]}
            return Rejected(draft=d, skill_id=req.skill.id, action=req.action, reason=reason, detail=detail[:200])  # type: ignore[arg-type]

        try:
            obj = extract_json(res.text, _is_reply)
        except ValueError as e:
            cut = " (cut at max_tokens)" if res.truncated else ""
            return res, [], [reject("unparsable", f"{e}{cut}", {"reply": res.text[:200]})]
        items = obj["problems"] if isinstance(obj, dict) else obj
        shown = [json.dumps(p.spec, sort_keys=True) for p in req.examples]
        drafts: list[Draft] = []
        rejected: list[Rejected] = []
        for it in items[:n]:
            try:
                d = DraftOut.model_validate(it)
            except ValidationError as e:
                rejected.append(reject("unparsable", f"not a draft: {e.errors()[0].get('msg', 'invalid')}", it))
                continue
            if json.dumps(d.spec, sort_keys=True) in shown:
                rejected.append(reject("duplicate", "copies an example shown in the request", it))
                continue
            drafts.append(
                Draft(
                    spec=d.spec,
                    answer=None if d.answer is None else str(d.answer),
                    prompt=d.prompt or None,
                    difficulty=req.difficulty,
                    parent_id=req.sources[len(drafts) % len(req.sources)].id if req.sources else None,
                )
            )
        return res, drafts, rejected

    def author(self, request: AuthorRequest) -> AuthorResponse:
        size = self.per_reply(request)
        chunks = [min(size, request.n - i) for i in range(0, request.n, size)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks))) as pool:
            outs = list(pool.map(lambda kn: self._one(request, kn[1], kn[0]), enumerate(chunks)))
        results = [r for r, _, _ in outs]
        rejected = [x for _, _, rs in outs for x in rs]
        # A structured reply that is not the asked shape (and not merely cut off): the server ignored the schema.
        broke = any(r.reason == "unparsable" and "cut at max_tokens" not in r.detail for r in rejected)
        authored = [d for _, ds, _ in outs for d in ds]
        if _with_prompt(request) and not self._prompt_in_reply(request):
            worded = list(map(lambda kd: self._word(request, kd[1], kd[0]), enumerate(authored)))
            results += [r for r, _ in worded]
            for (r, w), d in zip(worded, authored, strict=True):
                if w is None:
                    cut = " (cut at max_tokens)" if r.truncated else ""
                    why = f"the student's text did not parse{cut}"
                    rejected.append(
                        Rejected(draft=d.model_dump(), skill_id=request.skill.id, action=request.action, reason="unparsable", detail=why)
                    )
            authored = [w for _, w in worded if w is not None]
        cost = _cost(results, self.backend.name, broke)
        drafts: list[Draft] = []
        for d in authored:
            res, agreed = self._read_back(d)
            if res is not None:
                cost.add(_cost([res], self.verifier.name).model_copy(update={"modes": {}}))
                cost.round_trips += 1
                cost.round_trip_agreed += bool(agreed)
                if not agreed:
                    why = (
                        "could not be read back as an expression"
                        if agreed is None
                        else "reads back, in an independent call, to another value"
                    )
                    rejected.append(
                        Rejected(
                            draft=d.model_dump(),
                            skill_id=request.skill.id,
                            action=request.action,
                            reason="text_mismatch",
                            detail=f"word problem {why}",
                        )
                    )
                    continue
            drafts.append(d)
        return AuthorResponse(drafts=drafts, rejected=rejected, cost=cost)

    def discover(self, request: DiscoverRequest) -> DiscoverResponse:
        table = "\n".join(
            f"- {f}: {desc} (in {request.failure_feature_counts.get(f, 0)} failures, {request.success_feature_counts.get(f, 0)} successes)"
            for f, desc in request.features.items()
        )
        msg = (
            f"Skill {request.skill.id} — {request.skill.name}. The student failed {request.n_failed} and solved "
            f"{request.n_passed} held-out problems. Features of those problems:\n{table}\n\n"
            "If the failures cluster on one feature, name it as a new sub-skill. Reply as JSON: "
            '{"feature": "<one name from the list or null>", "name": "...", "description": "..."}'
        )
        schema = DiscoverOut.model_json_schema()
        if request.features:
            schema["properties"]["feature"] = {"anyOf": [{"enum": sorted(request.features)}, {"type": "null"}]}
        res = self.backend.complete([{"role": "system", "content": SYSTEM}, {"role": "user", "content": msg}], schema)
        cost = _cost([res], self.backend.name)
        try:
            out = DiscoverOut.model_validate(extract_json(res.text, lambda o: isinstance(o, dict) and "feature" in o))
        except (ValueError, ValidationError):
            return DiscoverResponse(cost=cost)
        if not out.feature or out.feature not in request.features:
            return DiscoverResponse(cost=cost)
        return DiscoverResponse(
            proposal=SubSkillProposal(
                feature=out.feature, name=out.name or f"{request.skill.name} ({out.feature})", description=out.description
            ),
            cost=cost,
        )
