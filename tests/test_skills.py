"""The skill graph, the mastery model and the weakness report: what the teacher and the views rely on."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.special import betainc

from teachloop.skills.graph import SkillGraph, SkillGraphError
from teachloop.skills.mastery import MasteryConfig, MasteryTracker
from teachloop.skills.records import Attempt, Problem, Skill, SkillEval
from teachloop.skills.report import FailureExemplar, WeaknessReport, build_weakness_report
from teachloop.skills.skill_state import SKILL_STATE, SkillState, beta_interval
from teachloop.skills.snapshot import SkillGraphSnapshot


def S(id: str, *prereqs: str, parent: str | None = None, kind: str = "skill", **kw) -> Skill:
    return Skill(id=id, name=id, parent=parent, prerequisites=list(prereqs), kind=kind, **kw)


@pytest.fixture
def graph() -> SkillGraph:
    """arith/add: a, b (needs a), c (needs b); arith/mul (topic needs topic add): m1, m2 (needs m1)."""
    return SkillGraph(
        [
            S("arith", kind="domain"),
            S("add", parent="arith", kind="topic"),
            S("mul", "add", parent="arith", kind="topic"),
            S("m2", "m1", parent="mul"),
            S("m1", parent="mul"),
            S("c", "b", parent="add"),
            S("b", "a", parent="add"),
            S("a", parent="add"),
        ]
    )


def evals(**acc: tuple[int, int]) -> list[SkillEval]:
    return [SkillEval(skill_id=s, split="heldout", n=n, correct=c) for s, (c, n) in acc.items()]


# ---------------------------------------------------------------------- graph
def test_graph_orders_prerequisites_first_and_expands_topic_prerequisites(graph: SkillGraph) -> None:
    order = [s.id for s in graph.trainable()]
    assert order.index("a") < order.index("b") < order.index("c")
    assert order.index("m1") < order.index("m2")
    assert max(order.index(x) for x in "abc") < order.index("m1")  # mul needs all of add
    assert graph.prerequisites("b") == ["a"] and graph.prerequisites("m1") == []
    assert graph.requirements("m1") == ("a", "b", "c")  # prerequisites first
    assert set(graph.requirements("m2")) == {"a", "b", "c", "m1"}  # inherited from topic mul + own
    assert graph.children("add") == ["c", "b", "a"]
    assert graph.g.edges["add", "a"]["kind"] == "parent" and graph.g.edges["a", "b"]["kind"] == "prereq"
    assert [sid for sid, _ in graph.tree_order()][:3] == ["arith", "add", "c"]
    topo = graph.topo_order()
    assert topo.index("c") < topo.index("add") < topo.index("m1")  # a topic after its skills


@pytest.mark.parametrize(
    "skills, message",
    [
        ([S("a", "c"), S("b", "a"), S("c", "b")], "prerequisite cycle: a -> b -> c -> a"),
        ([S("a", "a")], "prerequisite cycle: a -> a"),
        ([S("t", "a", kind="topic"), S("a", parent="t")], "prerequisite cycle: a -> a (inherited from 't')"),
        ([S("t", kind="topic"), S("a", "t", parent="t")], "prerequisite cycle: a requires its own parent t"),
        ([S("a", "x")], "unknown skill 'x' (prerequisite of 'a')"),
        ([S("a", parent="nope")], "unknown skill 'nope' (parent of 'a')"),
        ([S("a"), S("a")], "duplicate skill id 'a'"),
        ([S("a"), S("t", parent="a", kind="topic")], "topic 't' cannot be under skill 'a' (a skill's children are sub-skills)"),
        ([S("a"), S("b", "a", parent="a")], "sub-skill b cannot require its parent skill a (it refines it)"),
    ],
)
def test_invalid_graphs_are_rejected_with_one_line_naming_the_skills(skills: list[Skill], message: str) -> None:
    with pytest.raises(SkillGraphError) as e:
        SkillGraph(skills)
    assert str(e.value) == message


def test_cycle_through_a_topic_prerequisite_names_the_topic() -> None:
    with pytest.raises(SkillGraphError, match=r"^prerequisite cycle: .*via 'add'"):
        SkillGraph([S("add", "mul", kind="topic"), S("mul", kind="topic"), S("a", parent="add"), S("m", "add", parent="mul")])


def test_graph_grows_keeping_provenance_and_rejects_bad_additions_unchanged(graph: SkillGraph) -> None:
    new = S("d", "c", parent="add", provenance="discovered", added_round=3)
    graph.add_skill(new)
    assert graph.skills["d"].provenance == "discovered" and graph.skills["d"].added_round == 3
    assert graph.added_in(3) == ["d"] and graph.added_in(0) == []
    assert set(graph.requirements("m1")) == {"a", "b", "c", "d"}  # mul needs all of add, d included
    before = [s.id for s in graph.trainable()]
    # e under add needing m1 closes a loop: m1 needs all of add, e is in add.
    with pytest.raises(SkillGraphError, match="prerequisite cycle"):
        graph.add_skill(S("e", "m1", parent="add"))
    with pytest.raises(SkillGraphError, match="duplicate skill id 'a'"):
        graph.add_skill(S("a"))
    with pytest.raises(SkillGraphError, match=r"unknown skill 'zz' \(prerequisite of 'f'\)"):
        graph.add_skill(S("f", "zz"))
    assert [s.id for s in graph.trainable()] == before and "e" not in graph and "f" not in graph


def test_sub_skills_refine_their_parent(graph: SkillGraph) -> None:
    """The teacher's discoveries hang under the skill they refine and inherit its prerequisites."""
    graph.add_skill(S("b.carry", parent="b", provenance="discovered", added_round=2))
    assert graph.requirements("b.carry") == ("a",)  # inherited from b
    assert graph.children("b") == ["b.carry"]
    assert set(graph.requirements("m1")) == {"a", "b", "c"}  # topic add means its skills, not refinements
    tree = [sid for sid, _ in graph.tree_order()]
    assert tree.index("b.carry") == tree.index("b") + 1
    rep = build_weakness_report(graph, _tracker_for(graph), round=2)
    assert "b.carry" in rep.states and "b.carry" in rep.frontier  # a is mastered
    assert "b.carry" not in rep.blocked["m1"]
    assert rep.new_skills == ["b.carry"]


def test_graph_json_round_trip(graph: SkillGraph) -> None:
    graph.add_skill(S("d", "c", parent="add", provenance="discovered", added_round=2))
    back = SkillGraph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert list(back.skills.values()) == list(graph.skills.values())
    assert back.topo_order() == graph.topo_order()
    assert sorted(back.g.edges(data="kind")) == sorted(graph.g.edges(data="kind"))


# ---------------------------------------------------------------------- mastery
def test_posterior_on_known_counts() -> None:
    t = MasteryTracker(MasteryConfig(prior_alpha=1, prior_beta=1))
    t.observe("x", 7, 10, round=0, phase="eval")
    st = t.state("x")
    assert (st.alpha, st.beta, st.evidence, st.attempts, st.successes) == (8, 4, 10, 10, 7)
    assert st.mean == pytest.approx(8 / 12)
    # Beta(8, 4): the interval ends have CDF 2.5 % and 97.5 % (checked by numerical integration).
    grid = np.linspace(0, 1, 400_001)
    pdf = grid**7 * (1 - grid) ** 3 / (math.gamma(8) * math.gamma(4) / math.gamma(12))
    cdf = np.concatenate([[0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(grid))])
    assert np.interp(st.ci_low, grid, cdf) == pytest.approx(0.025, abs=1e-6)
    assert np.interp(st.ci_high, grid, cdf) == pytest.approx(0.975, abs=1e-6)
    assert st.ci_low < st.mean < st.ci_high


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (5.0, 1.0), (1.0, 12.0), (0.5, 1.0), (31.7, 1.0)])
def test_credible_interval_matches_closed_forms(a: float, b: float) -> None:
    lo, hi = beta_interval(np.array([a]), np.array([b]), 0.025)
    if b == 1.0:  # CDF x^a
        expect = (0.025 ** (1 / a), 0.975 ** (1 / a))
    else:  # a == 1: CDF 1 - (1-x)^b
        expect = (1 - 0.975 ** (1 / b), 1 - 0.025 ** (1 / b))
    assert lo[0] == pytest.approx(expect[0], rel=1e-9) and hi[0] == pytest.approx(expect[1], rel=1e-9)


def test_credible_interval_is_exact_over_a_wide_range() -> None:
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0.2, 3, 200), rng.uniform(1, 400, 200)])
    b = np.concatenate([rng.uniform(0.2, 3, 200), rng.uniform(1, 400, 200)])
    lo, hi = beta_interval(a, b, 0.025)
    assert np.all((0 <= lo) & (lo < hi) & (hi <= 1))
    assert np.abs(betainc(a, b, lo) - 0.025).max() < 1e-10
    assert np.abs(betainc(a, b, hi) - 0.975).max() < 1e-10


def test_credible_interval_equals_the_former_hand_written_inversion() -> None:
    # Reference values of the Numerical Recipes invbetai + Lentz code this module used before
    # scipy, on a 16 x 16 grid of a, b from 0.2 to 2000 (tests/data/beta_interval_reference.json).
    ref = json.loads((Path(__file__).parent / "data" / "beta_interval_reference.json").read_text())
    a, b = np.array(ref["a"]), np.array(ref["b"])
    for tail, old in ref["tails"].items():
        lo, hi = beta_interval(a, b, float(tail))
        old_lo, old_hi = np.array(old["lo"]), np.array(old["hi"])
        assert np.abs(lo - old_lo).max() < 1e-10 and np.abs(hi - old_hi).max() < 1e-10
        assert np.all(np.abs(lo - old_lo) <= 1e-8 * old_lo)  # tiny lower ends agree relatively too
        assert np.all(np.abs(hi - old_hi) <= 1e-8 * (1 - old_hi))


def test_training_rollouts_weigh_less_and_unseen_skills_read_as_the_prior() -> None:
    t = MasteryTracker(MasteryConfig(train_weight=0.5))
    t.observe_training(
        [
            Attempt(problem_id="p", skill_id="x", round=1, phase="train", completions=["1"] * 4, rewards=[1, 1, 1, 0]),
            Attempt(problem_id="q", skill_id="x", round=1, phase="eval", completions=["1"], rewards=[1]),  # skipped
        ]
    )
    st = t.state("x")
    assert (st.alpha, st.beta, st.attempts, st.last_seen) == (1 + 1.5, 1 + 0.5, 4, 1)
    prior = t.state("never")
    assert (prior.alpha, prior.beta, prior.evidence, prior.mastered, prior.last_seen, prior.history) == (1, 1, 0, False, None, [])
    assert (prior.ci_low, prior.ci_high) == pytest.approx((0.025, 0.975))


def test_recency_weighting_fades_old_evidence_once_per_round_boundary() -> None:
    t = MasteryTracker(MasteryConfig(decay=0.5))
    t.observe("x", 6, 10, round=0, phase="eval")
    t.observe("x", 4, 10, round=0, phase="train")  # several calls in one round: no decay between them
    t.end_round(0)
    assert (t.state("x").alpha, t.state("x").beta) == (1 + 6 + 2, 1 + 4 + 3)  # the round just closed: full weight
    t.end_round(0)  # a repeated call does nothing
    t.observe("x", 0, 10, round=1, phase="eval")
    st = t.state("x")
    assert (st.alpha, st.beta) == (1 + 4, 1 + 3.5 + 10)  # round 0 at half weight, round 1 at full
    assert st.mean < 0.35  # the recent failures dominate the older successes
    t.end_round(1)
    t.end_round(3)  # boundaries 1-2 and 2-3 crossed at once: two halvings
    assert (t.state("x").alpha, t.state("x").beta) == pytest.approx((1 + 4 / 4, 1 + 13.5 / 4))
    t.observe("x", 8, 8, round=2, phase="eval")  # late evidence fades as if it had come on time
    assert t.state("x").alpha == pytest.approx(1 + 4 / 4 + 8 * 0.5)
    for r in range(4, 40):
        t.end_round(r)
    assert t.state("x").evidence < 1e-6 and t.state("x").mean == pytest.approx(0.5)
    assert t.state("x").attempts == 38  # raw totals never fade


def test_reading_before_or_after_end_round_gives_the_same_states() -> None:
    """The episode may build its report before or after end_round, or resume from a snapshot."""

    def run(report_after_end: bool, restore: bool) -> list[SkillState]:
        t, seen = MasteryTracker(), []
        for r in range(4):
            t.observe("x", 3, 8, round=r, phase="train")
            t.record_eval(r, evals(x=(2 * r + 3, 10)))
            if report_after_end:
                t.end_round(r)
            seen.append(t.state("x"))
            if restore:
                t = MasteryTracker.from_state_dict(json.loads(json.dumps(t.state_dict())))
            if not report_after_end:
                t.end_round(r)
        return seen

    base = run(False, False)
    assert run(True, False) == base and run(False, True) == base and run(True, True) == base


def test_mastered_needs_threshold_and_enough_evidence() -> None:
    cfg = MasteryConfig(threshold=0.7, min_evidence=8)
    t = MasteryTracker(cfg)
    t.record_eval(0, evals(few=(5, 5), enough=(10, 10), low=(6, 10)))
    assert t.state("few").mean > 0.8 and not t.state("few").mastered  # 5 answers are too few
    assert t.state("enough").mastered
    assert not t.state("low").mastered  # mean 7/12 < 0.7


def test_history_trend_and_regression() -> None:
    t = MasteryTracker(MasteryConfig(trend_window=2, regression_drop=0.15))
    for r, c in enumerate([19, 20, 18]):
        t.record_eval(r, evals(x=(c, 20), y=(4 * r, 20)) + [SkillEval(skill_id="x", split="ood", n=5, correct=0)])
        t.end_round(r)
    assert t.state("x").history == [0.95, 1.0, 0.9]  # OOD evals stay out of mastery and history
    assert not t.state("x").regressed  # 0.9 is within 0.15 of the best mastered round
    t.record_eval(4, evals(x=(14, 20)))  # round 3 not evaluated
    st = t.state("x")
    assert st.history == [0.95, 1.0, 0.9, None, 0.7]
    assert st.regressed and st.trend == pytest.approx(0.7 - (1.0 + 0.9) / 2)
    y = t.state("y")
    assert y.history == [0.0, 0.2, 0.4, None, None] and y.trend == pytest.approx(0.4 - 0.1) and not y.regressed
    t.end_round(4)
    t.record_eval(5, evals(x=(19, 20)))
    assert not t.state("x").regressed  # recovered


def test_tracker_state_dict_round_trips_through_json() -> None:
    t = MasteryTracker(MasteryConfig(decay=0.6, threshold=0.8))
    t.record_eval(0, evals(a=(9, 10), b=(2, 10)))
    t.end_round(0)
    t.observe("c", 3, 4, round=1, phase="train")
    t.record_eval(1, evals(a=(5, 10)))
    back = MasteryTracker.from_state_dict(json.loads(json.dumps(t.state_dict())))
    assert back.config == t.config
    assert back.states(["a", "b", "c", "zz"]) == t.states(["a", "b", "c", "zz"])
    back.end_round(1)
    t.end_round(1)
    assert back.state("a") == t.state("a")


def test_fast_built_records_equal_validated_ones() -> None:
    t = MasteryTracker()
    t.record_eval(0, evals(a=(9, 10)))
    st = t.state("a")
    assert SKILL_STATE.validate_python(SKILL_STATE.dump_python(st)) == st
    assert SKILL_STATE.validate_json(SKILL_STATE.dump_json(st)) == st
    with pytest.raises(ValidationError):  # unknown fields are refused, as in every record
        SKILL_STATE.validate_python({**SKILL_STATE.dump_python(st), "bogus": 1})
    with pytest.raises(ValidationError):
        WeaknessReport.model_validate({"round": 0, "states": {"a": {**SKILL_STATE.dump_python(st), "mean": "high"}}})


# ---------------------------------------------------------------------- report
def _tracker_for(graph: SkillGraph) -> MasteryTracker:
    t = MasteryTracker()
    # a mastered; b learnt; c weak; m1 weak; m2 weakest. Round 1: a drops (regression).
    t.record_eval(0, evals(a=(19, 20), b=(9, 20), c=(4, 20), m1=(6, 20), m2=(1, 20)))
    t.end_round(0)
    t.record_eval(1, evals(a=(15, 20), b=(12, 20), c=(5, 20), m1=(8, 20), m2=(1, 20)))
    return t


def test_frontier_blocked_and_regressions_on_a_hand_built_graph(graph: SkillGraph) -> None:
    rep = build_weakness_report(graph, _tracker_for(graph), round=1)
    assert rep.mastered == ["a"]
    assert rep.frontier == ["b"]  # a mastered, b not
    assert rep.blocked == {"c": ["b"], "m1": ["b", "c"], "m2": ["b", "c", "m1"]}  # topic prerequisite expanded
    assert rep.regressions == ["a"]
    assert rep.weak == ["m2", "c", "m1", "b"]
    assert set(rep.states) == {"a", "b", "c", "m1", "m2"}


def test_exemplars_come_from_this_rounds_failed_eval_attempts(graph: SkillGraph) -> None:
    probs = {
        p.id: p
        for p in (Problem(skill_id="c", difficulty=2, prompt=f"What is {i} + 19?", answer=str(i + 19), env="arith") for i in range(6))
    }
    pids = list(probs)

    def att(pid: str, rewards: list[float], completions: list[str], **kw) -> Attempt:
        return Attempt(
            problem_id=pid,
            skill_id=kw.pop("skill", "c"),
            round=kw.pop("round", 1),
            phase=kw.pop("phase", "eval"),
            split=kw.pop("split", "heldout"),
            completions=completions,
            rewards=rewards,
        )

    long = "  I think\n the answer   is " + "very " * 80 + "42"
    attempts = [
        att(pids[0], [0.0], ["old round"], round=0),
        att(pids[1], [0.0], ["training rollout"], phase="train"),
        att(pids[2], [1.0, 1.0], ["21", "21"]),  # solved: not a failure
        att(pids[3], [0.0], ["ood miss"], split="ood"),
        att(pids[4], [1.0, 0.0], ["23", long]),
        att(pids[4], [0.0], ["same problem again"]),
        att(pids[5], [0.0], ["24?"]),
        att("unknown", [0.0], ["??"]),
        att(pids[5], [0.0], ["mastered skill"], skill="a"),
    ]
    rep = build_weakness_report(graph, _tracker_for(graph), round=1, attempts=attempts, problems=probs, k=3)
    ex = rep.exemplars["c"]
    assert [e.problem_id for e in ex] == [pids[4], pids[5], "unknown"]  # held-out first, one per problem, k=3
    first = ex[0]
    assert first.prompt == "What is 4 + 19?" and first.expected == "23"
    assert first.student_answer.startswith("I think the answer is very") and len(first.student_answer) <= 200
    assert ex[2].prompt is None and ex[2].expected is None
    assert "a" not in rep.exemplars
    rep4 = build_weakness_report(graph, _tracker_for(graph), round=1, attempts=attempts, problems=probs, k=4)
    assert rep4.exemplars["c"][-1].split == "ood"
    assert all(isinstance(e, FailureExemplar) for e in ex)


def _reference_exemplars(attempts, weak, round, problems, k, first_split="heldout"):
    """The exemplar rule written plainly, to check the single-pass implementation against."""
    out: dict[str, list[FailureExemplar]] = {}
    seen: set[str] = set()

    def take(a: Attempt) -> None:
        got = out.setdefault(a.skill_id, [])
        if len(got) >= k or a.problem_id in seen:
            return
        seen.add(a.problem_id)
        i = next(i for i, r in enumerate(a.rewards) if r < 1.0)
        p = problems.get(a.problem_id)
        answer = " ".join((a.completions[i] if i < len(a.completions) else "").split())
        got.append(
            FailureExemplar(
                problem_id=a.problem_id,
                prompt=p.prompt if p else None,
                split=a.split,
                expected=p.answer if p else None,
                student_answer=answer if len(answer) <= 200 else answer[:199] + "…",
            )
        )

    failed = (
        [a for a in attempts if a.skill_id in weak and a.round == round and a.phase == "eval" and a.rewards and min(a.rewards) < 1.0]
        if k > 0
        else []
    )
    for a in [a for a in failed if a.split == first_split] + [a for a in failed if a.split != first_split]:
        take(a)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_exemplars_equal_the_plain_rule_on_random_attempts(graph: SkillGraph, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tracker = _tracker_for(graph)
    skills = ["a", "b", "c", "m1", "m2"]
    probs = {p.id: p for p in (Problem(skill_id="c", difficulty=1, prompt=f"q{i}", answer=str(i), env="arith") for i in range(8))}
    pids = [*probs, "unknown1", "unknown2"]
    attempts = []
    for _ in range(int(rng.integers(0, 60))):
        n = int(rng.integers(0, 4))
        attempts.append(
            Attempt(
                problem_id=str(rng.choice(pids)),
                skill_id=str(rng.choice(skills)),
                round=int(rng.integers(0, 3)),
                phase=str(rng.choice(["eval", "eval", "train"])),
                split=str(rng.choice(["heldout", "heldout", "ood"])),
                completions=[f" answer\n {j}  " for j in range(int(rng.integers(0, n + 1)))],
                rewards=rng.choice([0.0, 0.5, 1.0, 1.0], size=n).tolist(),
            )
        )
    for k in range(4):
        rep = build_weakness_report(graph, tracker, round=1, attempts=attempts, problems=probs, k=k)
        ref = _reference_exemplars(attempts, set(rep.weak), 1, probs, k)
        assert rep.exemplars == {s: ref[s] for s in rep.weak if s in ref}


def test_states_equal_validated_records_with_unseen_skills_and_missing_rounds() -> None:
    t = MasteryTracker()
    t.record_eval(0, evals(a=(3, 4), b=(1, 4)))
    t.end_round(0)
    t.observe("c", 5, 8, round=1, phase="train")  # never evaluated: history all None
    t.record_eval(1, evals(a=(4, 4), d=(2, 4)))  # b skips round 1, d starts in it
    t.record_eval(2, evals(a=(2, 4), b=(3, 4), d=(1, 4)))
    table = t.table(["a", "b", "c", "d", "never"])
    states = table.states()
    assert list(states) == ["a", "b", "c", "d", "never"]
    assert [states[s].history for s in states] == [
        [0.75, 1.0, 0.5],
        [0.25, None, 0.75],
        [None, None, None],
        [None, 0.5, 0.25],
        [None, None, None],
    ]
    for i, (sid, st) in enumerate(states.items()):
        expect = SKILL_STATE.validate_python(
            dict(
                skill_id=sid,
                alpha=float(table.alpha[i]),
                beta=float(table.beta[i]),
                attempts=float(table.attempts[i]),
                successes=float(table.successes[i]),
                mean=float(table.mean[i]),
                ci_low=float(table.ci_low[i]),
                ci_high=float(table.ci_high[i]),
                evidence=float(table.evidence[i]),
                mastered=bool(table.mastered[i]),
                trend=float(table.trend[i]),
                last_seen=int(table.last_seen[i]) if table.last_seen[i] >= 0 else None,
                history=[None if math.isnan(v) else float(v) for v in table.accuracy[:, i]],
                regressed=bool(table.regressed[i]),
            )
        )
        assert st == expect
        assert [type(getattr(st, f.name)) for f in fields(st)] == [type(getattr(expect, f.name)) for f in fields(expect)]
        assert SKILL_STATE.dump_json(st) == SKILL_STATE.dump_json(expect)
    assert states["never"].last_seen is None and states["c"].last_seen == 1


def test_report_json_round_trip_and_prompt_text(graph: SkillGraph) -> None:
    graph.add_skill(S("d", "c", parent="add", provenance="discovered", added_round=1))
    p = Problem(skill_id="c", difficulty=1, prompt="What is 17 + 25?", answer="42", env="arith")
    q = Problem(skill_id="b", difficulty=1, prompt="What is 2 + 2?", answer="4", env="arith")
    attempts = [
        Attempt(problem_id=p.id, skill_id="c", round=1, phase="eval", split="heldout", completions=["32"], rewards=[0.0]),
        Attempt(problem_id=q.id, skill_id="b", round=1, phase="eval", split="heldout", completions=["5"], rewards=[0.0]),
    ]
    rep = build_weakness_report(graph, _tracker_for(graph), round=1, attempts=attempts, problems={p.id: p, q.id: q})
    assert rep.new_skills == ["d"]
    back = WeaknessReport.model_validate_json(rep.model_dump_json())
    assert back == rep and WeaknessReport.model_validate(rep.model_dump()) == rep
    text = rep.to_prompt_text()
    assert "round 1" in text and "1 mastered" in text
    assert "Frontier" in text and "- b: mastery" in text
    assert "- c needs b" in text and "- m2 needs b, c, d, m1" in text  # d joined topic add
    assert "Regressed" in text and "- a: mastery" in text
    assert "New this round: d" in text
    assert "What is 17 + 25? | '32' | 42" in text
    assert text.index("[b]") < text.index("[c]")  # the frontier's failures first: those are taught now
    short = rep.to_prompt_text(max_skills=1)
    assert "… and 3 more" in short  # 4 blocked, cut to 1 (the weakest kept), the cut is stated


def test_snapshot_save_load_restores_graph_tracker_and_report(graph: SkillGraph, tmp_path) -> None:
    tracker = _tracker_for(graph)
    rep = build_weakness_report(graph, tracker, round=1)
    path = tmp_path / "skill_graph" / "round_1.json"
    SkillGraphSnapshot.capture(1, graph, tracker, rep).save(path)
    assert [p.name for p in path.parent.iterdir()] == ["round_1.json"]  # no temp file left behind
    snap = SkillGraphSnapshot.load(path)
    assert snap.round == 1 and snap.report == rep
    assert snap.graph().topo_order() == graph.topo_order()
    assert snap.mastery().states(rep.states) == rep.states


def test_skills_layer_imports_nothing_above_it() -> None:
    """`skills` is the lowest layer: pydantic, networkx, numpy, scipy, the standard library and itself only."""
    import ast
    import sys
    from pathlib import Path

    allowed = {"pydantic", "networkx", "numpy", "scipy", "__future__"} | set(sys.stdlib_module_names)
    for path in (Path(__file__).parents[1] / "skills").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            )
            for name in names:
                ok = name.split(".")[0] in allowed or name == "teachloop.skills" or name.startswith("teachloop.skills.")
                assert ok, f"{path.name} imports {name}"
