"""Benchmark: teacher models side by side on one fixed teaching plan.

Every teacher model gets the same WeaknessReport, the same plan (create / simplify / diversify /
escalate on a few arithmetic skills, with the same source problems) and the same verifier; we
count what the environment accepted, the rejects by reason, and seconds and tokens per accepted
problem. Four teachers: procedural; SmolLM2-135M-Instruct in-process (`hf:`) with decoding
constrained to the request's JSON schema (xgrammar) and without; and the same model behind a real
OpenAI-compatible server on 127.0.0.1, `transformers serve` (which answers `response_format`
with 200 and ignores it, so its replies are text; started on the local model dir, offline, and
stopped here; one torch thread, as in the tests). Each LLM teacher gets the environment, as in a
run: diversify's student texts are asked apart, word problems read back.

Not a test: it prints its figures and records them in benchmarks/results/teacher_models.md.

Run: .venv/bin/python benchmarks/teacher_models.py [--budget 2] [--max-tokens 256] [--temperature 0.7] [--teachers ...] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from teachloop.agents.chat import HFChat, OpenAIChat  # noqa: E402
from teachloop.agents.llm_teacher import LLMTeacher  # noqa: E402
from teachloop.agents.teacher import TeacherAgent, TeacherConfig, TeachingContext, normalise_text  # noqa: E402
from teachloop.agents.teacher_models import ProceduralTeacher  # noqa: E402
from teachloop.environments import get_environment  # noqa: E402
from teachloop.skills.graph import SkillGraph  # noqa: E402
from teachloop.skills.mastery import MasteryTracker  # noqa: E402
from teachloop.skills.records import PlanItem, SkillEval, TeachingPlan  # noqa: E402
from teachloop.skills.report import build_weakness_report  # noqa: E402

SKILLS = [("add.1digit", 1), ("sub.1digit", 1), ("add.2digit", 2)]
ACTIONS = ["create", "simplify", "diversify", "escalate"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str, float]:
    exe = Path(sys.executable).with_name("transformers")
    port = free_port()
    hub = tempfile.mkdtemp(prefix="hf-hub-")  # an existing HF_HUB_CACHE, or /v1/models answers 500
    env = os.environ | {"HF_HUB_CACHE": hub, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t0 < 180:
        if proc.poll() is not None:
            raise SystemExit(f"transformers serve exited with {proc.returncode}; see {log_path}")
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return proc, f"{url}/v1", time.perf_counter() - t0
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("transformers serve did not become ready in 180 s")


def fixed_world(budget: int):
    """A student at 25 % everywhere; a plan with every authoring action on each skill."""
    env = get_environment("arithmetic")
    graph = SkillGraph(env.skill_graph())
    tracker = MasteryTracker()
    tracker.record_eval(0, [SkillEval(skill_id=s.id, split="heldout", n=20, correct=5) for s in graph.trainable()])
    report = build_weakness_report(graph, tracker, round=0)
    sources, items = {}, []
    for sid, level in SKILLS:
        src = env.generate(sid, level, 3, random.Random(7))
        sources.update({p.id: p for p in src})
        for action in ACTIONS:
            d = {"simplify": max(1, level - 1), "escalate": level + 1}.get(action, level)
            ids = [] if action == "create" else [p.id for p in src]
            items.append(PlanItem(skill_id=sid, action=action, budget=budget, difficulty=d, source_problem_ids=ids))
    eval_texts = {normalise_text(p.prompt) for p in env.eval_set("heldout") + env.eval_set("ood")}
    return env, graph, report, sources, TeachingPlan(items=items), eval_texts


def measure(name: str, model, budget: int, retries: int) -> dict:
    env, graph, report, sources, plan, eval_texts = fixed_world(budget)
    if isinstance(model, LLMTeacher):
        model.env = env  # as `make_teacher` builds it: word problems read back, texts asked apart
    ctx = TeachingContext(
        env=env,
        graph=graph,
        report=report,
        model=model,
        round=1,
        problems=sources,
        eval_keys=env.eval_keys(),
        eval_texts=eval_texts,
        fixed_plan=plan,
    )
    t0 = time.perf_counter()
    batch, cost, _ = TeacherAgent(TeacherConfig(max_retries=retries)).teach(ctx)
    wall = time.perf_counter() - t0
    acc = Counter(p.action for p in batch.problems)
    rej = Counter(r.action for r in batch.rejected)
    reasons = Counter(r.reason for r in batch.rejected)
    per_action = {a: {"asked": budget * len(SKILLS), "accepted": acc.get(a, 0), "rejected": rej.get(a, 0)} for a in ACTIONS}
    drafts = len(batch.problems) + len(batch.rejected)
    wrong: dict[str, list[str]] = {}
    for r in batch.rejected:
        if len(wrong.setdefault(r.reason, [])) < 3:
            wrong[r.reason].append(f"{json.dumps(r.draft)[:90]}: {r.detail[:90]}")
    return {
        "teacher": name,
        "parsable": (drafts - reasons.get("unparsable", 0)) / drafts if drafts else 0.0,
        "modes": cost.modes,
        "truncated": cost.truncated,
        "tokens_per_s": cost.completion_tokens / wall if cost.completion_tokens else None,
        "examples_rejected": wrong,
        "examples_accepted": [json.dumps(p.spec) for p in batch.problems[:4]],
        "accepted": len(batch.problems),
        "rejected": len(batch.rejected),
        "drafts": drafts,
        "acceptance": len(batch.problems) / drafts if drafts else 0.0,
        "reasons": dict(reasons),
        "per_action": per_action,
        "seconds": wall,
        "s_per_accepted": wall / len(batch.problems) if batch.problems else None,
        "requests": cost.requests,
        "prompt_tokens": cost.prompt_tokens,
        "completion_tokens": cost.completion_tokens,
        "tokens_per_accepted": (cost.prompt_tokens + cost.completion_tokens) / len(batch.problems) if batch.problems else None,
    }


def markdown(rows: list[dict], meta: dict) -> str:
    out = [
        "# Teacher models side by side",
        "",
        f"{meta['date']} · {meta['machine']} · command: `{meta['command']}`",
        "",
        f"One fixed plan: {len(SKILLS)} skills ({', '.join(s for s, _ in SKILLS)}) × {len(ACTIONS)} actions "
        f"({', '.join(ACTIONS)}), {meta['budget']} accepted problems asked per item, {meta['retries']} author calls per item "
        f"at most; every draft verified by the arithmetic environment's solver and classifier. "
        f"The LLM: {meta['llm']} (server ready in {meta['server_start_s']:.1f} s, not counted). "
        "`output`: how replies were produced (grammar = decoding constrained to the JSON schema; text = unconstrained); "
        "`parsable`: drafts that parsed into a spec; `tok/s`: completion tokens per wall second of the whole teaching.",
        "",
        "| teacher | output | parsable | accepted / drafts | acceptance | seconds | s per accepted | requests | tokens per accepted | tok/s | truncated | rejects by reason |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        spa = f"{r['s_per_accepted']:.3g}" if r["s_per_accepted"] is not None else "– (none accepted)"
        tpa = f"{r['tokens_per_accepted']:.0f}" if r["tokens_per_accepted"] is not None else "–"
        tps = f"{r['tokens_per_s']:.1f}" if r.get("tokens_per_s") else "–"
        modes = ", ".join(sorted(set(r.get("modes", {}).values()))) or "–"
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r["reasons"].items(), key=lambda kv: -kv[1])) or "–"
        out.append(
            f"| {r['teacher']} | {modes} | {100 * r['parsable']:.0f} % | {r['accepted']} / {r['drafts']} | {100 * r['acceptance']:.0f} % | "
            f"{r['seconds']:.3g} | {spa} | {r['requests']} | {tpa} | {tps} | {r.get('truncated', 0)} | {reasons} |"
        )
    out += ["", "## What the LLM teachers got wrong (first rejects per reason) and accepted", ""]
    for r in rows[1:]:
        out.append(f"- **{r['teacher']}** accepted e.g. " + (", ".join(f"`{x}`" for x in r["examples_accepted"]) or "nothing"))
        if r.get("note"):
            out.append(f"  - note: {r['note']}")
        for reason, xs in r["examples_rejected"].items():
            out += [f"  - {reason}: " + "; ".join(f"`{x}`" for x in xs)]
    out += ["", "## Accepted / rejected per action", "", "| teacher | " + " | ".join(ACTIONS) + " |", "|---|" + "---|" * len(ACTIONS)]
    for r in rows:
        cells = [f"{r['per_action'][a]['accepted']} / {r['per_action'][a]['rejected']}" for a in ACTIONS]
        out.append(f"| {r['teacher']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=int, default=2, help="Accepted problems asked per plan item.")
    ap.add_argument("--retries", type=int, default=2, help="Author calls per plan item at most.")
    ap.add_argument("--max-tokens", type=int, default=256, help="Completion tokens per LLM request.")
    ap.add_argument("--temperature", type=float, default=0.7, help="Sampling temperature of the LLM teachers.")
    ap.add_argument("--teachers", default="procedural,hf,hf-free,serve", help="Which: procedural, hf, hf-free, serve.")
    ap.add_argument("--merge", action="store_true", help="Add these rows to the recorded ones (other teachers, same plan).")
    ap.add_argument("--no-write", action="store_true", help="Print only; do not write benchmarks/results.")
    args = ap.parse_args()

    import torch

    from teachloop.training.student import convert_smollm2

    torch.set_num_threads(1)  # as the served model: the two in-process runs are comparable with it
    model_dir = convert_smollm2()
    wanted = args.teachers.split(",")
    rows = []
    if "procedural" in wanted:
        rows.append(measure("procedural", ProceduralTeacher(get_environment("arithmetic")), args.budget, args.retries))
    for key, constrained in (("hf", True), ("hf-free", False)):
        if key in wanted:
            chat = HFChat(str(model_dir), max_tokens=args.max_tokens, temperature=args.temperature, constrained=constrained)
            name = f"hf:SmolLM2-135M-Instruct ({'constrained' if constrained else 'unconstrained'})"
            rows.append(measure(name, LLMTeacher(chat, name=name, concurrency=1, per_request=args.budget), args.budget, args.retries))
    ready_s = 0.0
    if "serve" in wanted:
        log = Path(tempfile.mkdtemp(prefix="serve-")) / "serve.log"
        proc, base, ready_s = start_server(model_dir, log)
        try:
            chat = OpenAIChat(base, str(model_dir), max_tokens=args.max_tokens, timeout_s=300, retries=1, temperature=args.temperature)
            llm = LLMTeacher(chat, name="transformers-serve#SmolLM2-135M-Instruct", concurrency=1, per_request=args.budget)
            rows.append(measure(llm.name, llm, args.budget, args.retries))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        # The server answers 200 to `response_format` and drops it (its log says so): its replies are text.
        if "Ignoring unsupported fields in the request: {'response_format'}" in log.read_text():
            rows[-1]["note"] = "the server ignored response_format (its log: Ignoring unsupported fields): replies are unconstrained text"
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs shared with other jobs (load average at the end {os.getloadavg()[0]:.2f})",
        "command": "python benchmarks/teacher_models.py " + " ".join(sys.argv[1:]),
        "budget": args.budget,
        "retries": args.retries,
        "llm": f"SmolLM2-135M-Instruct (CPU, fp32, 1 thread), max_tokens {args.max_tokens}, T {args.temperature}",
        "server_start_s": ready_s,
    }
    out = Path(__file__).parent / "results"
    if args.merge and (out / "teacher_models.json").exists():
        old = json.loads((out / "teacher_models.json").read_text())
        mine = {r["teacher"] for r in rows}
        rows = [r for r in old["rows"] if r["teacher"] not in mine] + rows
        meta["command"] = f"{old['meta']['command']}, then {meta['command']}"
        meta["date"] = f"{old['meta']['date']} and {meta['date']}"
        meta["server_start_s"] = meta["server_start_s"] or old["meta"].get("server_start_s", 0.0)
    md = markdown(rows, meta)
    print(md)
    if not args.no_write:
        (out / "teacher_models.md").write_text(md)
        (out / "teacher_models.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
        print(f"wrote {out / 'teacher_models.md'}")


if __name__ == "__main__":
    main()
