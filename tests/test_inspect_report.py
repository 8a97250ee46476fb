"""`teachloop inspect` and `teachloop report` on a small recorded run dir built here, the way the
episode writes one (3 rounds, a skill discovered in round 2, a regression in round 2)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from rich.console import Console

from teachloop.html_report import write_report
from teachloop.inspect import inspect_json, render_inspect
from teachloop.rundir import RunDir, RunDirError, append_jsonl, write_atomic
from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import (
    Attempt,
    PlanItem,
    Problem,
    Rejected,
    RoundResult,
    Skill,
    SkillEval,
    TeacherCost,
    TeachingPlan,
)
from teachloop.skills.report import WeaknessReport, build_weakness_report
from teachloop.skills.snapshot import SkillGraphSnapshot

SEED_SKILLS = [
    Skill(id="arith", name="Arithmetic", kind="domain"),
    Skill(id="add", name="Addition", kind="topic", parent="arith"),
    Skill(id="add.1", name="1-digit addition", parent="add"),
    Skill(id="add.2", name="2-digit addition", parent="add", prerequisites=["add.1"]),
    Skill(id="add.carry", name="Addition with carry", parent="add", prerequisites=["add.2"]),
    Skill(id="mul", name="Multiplication", kind="topic", parent="arith", prerequisites=["add.1"]),
    Skill(id="mul.1", name="1-digit multiplication", parent="mul"),
    Skill(id="mul.2", name="2×1-digit multiplication", parent="mul", prerequisites=["mul.1", "add.carry"]),
    Skill(id="logic", name="Logic", kind="domain"),
    Skill(id="kk.2", name="Knights and knaves, 2 people", parent="logic"),
]
DISCOVERED = Skill(id="add.3", name="3-digit addition", parent="add", prerequisites=["add.carry"], provenance="discovered", added_round=2)
# Held-out accuracy (out of 10) per round; add.1 is mastered, then drops in round 2 (a regression).
ACC = {
    0: {"add.1": 9, "add.2": 5, "add.carry": 2, "mul.1": 3, "mul.2": 1, "kk.2": 4},
    1: {"add.1": 10, "add.2": 8, "add.carry": 3, "mul.1": 5, "mul.2": 1, "kk.2": 8},
    2: {"add.1": 6, "add.2": 9, "add.carry": 5, "mul.1": 6, "mul.2": 2, "kk.2": 9, "add.3": 1},
}
ROUNDS = 2


def _problem(sid: str, j: int, rnd: int, action: str | None = None, provenance: str = "seed") -> Problem:
    a, b = 3 + j, 4 + rnd
    return Problem(
        skill_id=sid,
        difficulty=1 + j % 2,
        prompt=f"[{sid}] What is {a} + {b}? Reply with just the number.",
        answer=str(a + b),
        env="arith",
        provenance=provenance,
        round=rnd,
        action=action,
        teacher="procedural" if action else None,
    )


def build_run(root: Path, discovered: Skill = DISCOVERED) -> Path:
    """Write a recorded run dir with the records and call order the episode uses."""
    rd = RunDir(root)
    rd.create()
    write_atomic(rd.config, "name: fixture\nrounds: 2\nteacher: procedural\n")
    graph = SkillGraph(SEED_SKILLS)
    tracker = MasteryTracker()
    for rnd in range(ROUNDS + 1):
        if rnd == 2:
            graph.add_skill(discovered)
        evals = [SkillEval(skill_id=s, split="heldout", n=10, correct=c) for s, c in ACC[rnd].items()]
        evals.append(SkillEval(skill_id="add.2", split="ood", n=5, correct=0))
        attempts, problems = [], {}
        for s, c in ACC[rnd].items():
            for j in range(10):
                p = _problem(s, j, rnd)
                problems[p.id] = p
                ok = j < c
                attempts.append(
                    Attempt(
                        problem_id=p.id,
                        skill_id=s,
                        round=rnd,
                        phase="eval",
                        split="heldout",
                        completions=[p.answer if ok else f"The answer is {int(p.answer) + 1}.\n\n"],
                        rewards=[1.0 if ok else 0.0],
                    )
                )
        if rnd > 0:
            train = [
                Attempt(problem_id=f"t{rnd}{s}", skill_id=s, round=rnd, phase="train", completions=["x"] * 4, rewards=[1.0, 0.0, 1.0, 0.0])
                for s in ("add.2", "add.carry", "mul.1")
            ]
            tracker.observe_training(train)
            attempts += train
        tracker.record_eval(rnd, evals)
        report = build_weakness_report(graph, tracker, round=rnd, attempts=attempts, problems=problems, k=2)
        SkillGraphSnapshot.capture(rnd, graph, tracker, report).save(rd.skill_graph(rnd))
        tracker.end_round(rnd)
        append_jsonl(rd.attempts, attempts)
        if rnd == 0:
            continue
        accepted = [
            _problem(s, 20 + j, rnd, action=a, provenance="generated" if a == "create" else "rewritten")
            for s, a in (("add.2", "create"), ("add.carry", "simplify"), ("mul.1", "create"))
            for j in range(3)
        ]
        append_jsonl(rd.problems, accepted)
        rejects = [
            Rejected(
                draft={"prompt": "What is 2 + 2?", "answer": "5"},
                skill_id="add.2",
                action="create",
                reason="wrong_answer",
                detail="solver says 4",
            ),
            Rejected(
                draft={"prompt": "What is 3 × 4?", "answer": "12"},
                skill_id="add.carry",
                action="simplify",
                reason="off_skill",
                detail="classified as mul.1",
            ),
        ]
        append_jsonl(rd.rejected, [{**r.model_dump(mode="json"), "round": rnd} for r in rejects])
        append_jsonl(
            rd.rounds,
            [
                RoundResult(
                    round=rnd,
                    eval_before=[SkillEval(skill_id=s, split="heldout", n=10, correct=c) for s, c in ACC[rnd - 1].items()],
                    eval_after=evals,
                    problems_per_skill={"add.2": 3, "add.carry": 3, "mul.1": 3},
                    plan=TeachingPlan(
                        items=[
                            PlanItem(skill_id="add.2", action="create", budget=3, rationale="frontier, weakest"),
                            PlanItem(skill_id="add.carry", action="simplify", budget=3),
                            PlanItem(skill_id="mul.1", action="create", budget=3),
                        ]
                    ),
                    accepted_per_action={"create": 6, "simplify": 3},
                    rejected_per_action={"create": {"wrong_answer": 1}, "simplify": {"off_skill": 1}},
                    teacher_cost=TeacherCost(prompt_tokens=1200 * rnd, completion_tokens=300 * rnd, requests=4, seconds=2.5 * rnd),
                    wall_time={"evaluate": 3.0, "teach": 2.5, "train": 40.0},
                    new_skills=["add.3"] if rnd == 2 else [],
                )
            ],
        )
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run(tmp_path_factory.mktemp("runs") / "fixture")


def _text(renderable) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


# ---------------------------------------------------------------------- inspect
def test_inspect_shows_every_skill_with_mastery_interval_delta_and_marks(run: Path) -> None:
    out = _text(render_inspect(run))
    for s in SEED_SKILLS + [DISCOVERED]:
        assert s.id in out
    lines = {ln.lstrip("│├└─ ").split(" ", 1)[0]: ln for ln in out.splitlines()}
    snap = SkillGraphSnapshot.load(RunDir(run).skill_graph(2))
    prev = SkillGraphSnapshot.load(RunDir(run).skill_graph(1))
    st = snap.report.states["add.2"]
    add2 = lines["add.2"]
    assert f"{st.mean:.2f} [{st.ci_low:.2f}, {st.ci_high:.2f}]" in add2
    assert f"Δ{st.mean - prev.report.states['add.2'].mean:+.2f}" in add2
    assert "█" in add2
    assert "★ frontier" in lines["add.carry"]
    assert "⛔ blocked by add.carry" in lines["mul.2"]  # mul.1 is not mastered either: both are named
    assert "mul.1" in lines["mul.2"].split("blocked by", 1)[1]
    assert "↓ regressed" in lines["add.1"]
    assert "✚ new" in lines["add.3"] and "Δ  new" in lines["add.3"]
    assert "round 2" in out and "Δ vs round 1" in out
    # The round's teacher: what it did and what it cost per accepted problem (3,000 tokens, 5 s, 9 accepted).
    assert "Teacher in round 2: accepted create 6, simplify 3; 1 new sub-skill; rejected 2" in out
    assert "3,000 tokens" in out and "333 tokens and 0.56 s per accepted problem" in out


def test_inspect_earlier_round_and_errors(run: Path, tmp_path: Path) -> None:
    out = _text(render_inspect(run, round=0))
    assert "add.3" not in out  # not discovered yet in round 0
    assert "Δ vs round" not in out
    with pytest.raises(RunDirError, match=r"^round 7 not found in .*: snapshots exist for rounds 0-2$"):
        render_inspect(run, round=7)
    with pytest.raises(RunDirError, match="does not exist"):
        inspect_json(tmp_path / "nope")
    with pytest.raises(RunDirError, match="not a teachloop run dir"):
        inspect_json(tmp_path)


def test_inspect_json_validates_against_the_schema(run: Path) -> None:
    js = inspect_json(run)
    rep = WeaknessReport.model_validate_json(js)
    assert rep == SkillGraphSnapshot.load(RunDir(run).skill_graph(2)).report
    assert rep.round == 2 and rep.new_skills == ["add.3"] and rep.regressions == ["add.1"]
    assert set(rep.states) == {s.id for s in SEED_SKILLS + [DISCOVERED] if s.kind == "skill"}
    assert WeaknessReport.model_validate_json(inspect_json(run, round=1)).round == 1
    ex = rep.exemplars["add.3"][0]
    assert ex.student_answer == "The answer is 11." and ex.expected == "10" and ex.prompt.startswith("[add.3]")


# ---------------------------------------------------------------------- report
def test_report_is_self_contained_and_covers_every_skill(run: Path) -> None:
    path = write_report(run)
    assert path == run / "report.html"
    doc = path.read_text()
    for s in SEED_SKILLS + [DISCOVERED]:
        assert f"<code>{s.id}</code>" in doc
    images = re.findall(r'<img[^>]+src="([^"]+)"', doc)
    assert len(images) == 4  # mastery over rounds, heatmap, skill graph, teacher actions
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(|@import|<script|<link""", doc, re.I)
    # teacher actions, cost per accepted problem, rejection reasons, sample problems
    assert "wrong_answer" in doc and "off_skill" in doc and "solver says 4" in doc
    assert "per accepted problem" in doc and "3,000 tokens" in doc
    assert "Round 2: 9 accepted, 2 rejected" in doc
    assert "What is 23 + 6?" in doc  # an accepted problem of round 2


def test_report_custom_out_and_missing_snapshots(run: Path, tmp_path: Path) -> None:
    out = write_report(run, tmp_path / "sub" / "r.html")
    assert out == tmp_path / "sub" / "r.html" and out.stat().st_size > 10_000
    empty = tmp_path / "empty"
    RunDir(empty).create()
    with pytest.raises(RunDirError, match="no skill graph snapshots"):
        write_report(empty)


def test_a_corrupt_snapshot_is_one_line_naming_the_file(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    rd.skill_graph(0).parent.mkdir()
    rd.skill_graph(0).write_text('{"round": 0, "skills": [')
    with pytest.raises(RunDirError, match=r"round_0\.json: not a valid skill graph snapshot \(") as e:
        inspect_json(rd.root)
    assert "\n" not in str(e.value)


def test_one_population_of_trainable_skills_everywhere(tmp_path: Path) -> None:
    """A sub-skill discovered under a skill is a trainable skill: the report's "N trainable skills"
    and its domains' "k/N mastered" count the same skills, and so do inspect's header and rows
    (they said "8 trainable skills" next to "0/7 skills mastered")."""
    sub = DISCOVERED.model_copy(update={"parent": "add.2", "prerequisites": []})
    run = build_run(tmp_path / "sub", discovered=sub)
    snap = SkillGraphSnapshot.load(RunDir(run).skill_graph(2))
    n = len(snap.report.states)
    assert n == len(snap.graph().trainable()) == len(SEED_SKILLS) - 4 + 1  # 2 domains and 2 topics are not trainable

    doc = write_report(run).read_text()
    assert f"<b>{n}</b> trainable skills (incl. 1 discovered sub-skill)" in doc
    per_domain = {
        d: int(m.group(1)) for d in ("arith", "logic") for m in [re.search(rf"<code>{d}</code>.*?\d+/(\d+) trainable skills mastered", doc)]
    }
    assert sum(per_domain.values()) == n and per_domain["arith"] == n - 1

    out = _text(render_inspect(run))
    assert f"— {n} trainable skills" in out
    counts = [int(x) for x in re.findall(r"\d+/(\d+) mastered \(domain\)", out)]
    assert sum(counts) == n, out


def test_a_discovered_sub_skill_is_not_an_accepted_problem() -> None:
    """rounds.jsonl records a discovered sub-skill under new_skills only, never as an accepted
    "discover" action; records written before that still read the same."""
    from teachloop.agents.curriculum import Proposal
    from teachloop.round_table import round_result
    from teachloop.training.grpo import TrainOutcome

    made = [_problem("add.2", j, 1, action="create") for j in range(2)] + [_problem("add.3", 5, 1, action="create")]
    proposal = Proposal(problems=made, authored=True, new_skills=[DISCOVERED])
    rec = round_result(1, [], [], made, proposal, TrainOutcome(), 0.0, {})
    assert rec.accepted_per_action == {"create": 3} and rec.new_skills == ["add.3"]
    assert rec.accepted_problems == 3 and rec.accepted_text() == "create 3; 1 new sub-skill"
    old = RoundResult.model_validate(rec.model_dump() | {"accepted_per_action": {"create": 3, "discover": 1}})
    assert old.problems_per_action() == {"create": 3} and old.accepted_text() == rec.accepted_text()
