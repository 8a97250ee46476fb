"""The reasoning-gym family: named environments, rg:TASK, specs, verification, prompts, rewrites."""

from __future__ import annotations

import random
import sys

import pytest

from teachloop import cli
from teachloop.environments import ENVIRONMENTS, check_environment_name, get_environment
from teachloop.environments.reasoning_gym import answers
from teachloop.environments.reasoning_gym.family import RGEnvironment

NAMED = ["countdown", "zebra", "arc1d", "knights_knaves"]


@pytest.fixture(scope="module")
def legs():
    return get_environment("rg:leg_counting", heldout_per_skill=4, ood_per_skill=2)


def _fits(schema: dict, spec: dict) -> bool:
    """The subset of JSON schema spec_schema writes: const, integer bounds, required, no extras."""
    cfg_schema = schema["properties"]["config"]
    if spec["task"] != schema["properties"]["task"]["const"] or set(spec["config"]) != set(cfg_schema["required"]):
        return False
    for f, rule in cfg_schema["properties"].items():
        v = spec["config"][f]
        if "const" in rule and v != rule["const"]:
            return False
        if "minimum" in rule and not rule["minimum"] <= v <= rule["maximum"]:
            return False
    return True


@pytest.mark.parametrize("name", NAMED)
def test_named_graphs_explain_their_prerequisites(name):
    env = get_environment(name)
    assert name in ENVIRONMENTS and isinstance(env, RGEnvironment) and env.name == name
    skills = [s for s in env.skill_graph() if s.kind == "skill"]
    ids = {s.id for s in skills}
    assert len(skills) >= 2 and any(s.prerequisites for s in skills)
    assert all(set(s.prerequisites) <= ids and s.ood_level == s.max_level + 1 for s in skills)
    assert "prerequisite" in (type(env).__doc__ or "")


@pytest.mark.parametrize("name", ["arc1d", "knights_knaves"])
def test_generated_problems_verify_score_and_fit_their_schema(name):
    env = get_environment(name, heldout_per_skill=2, ood_per_skill=1)
    skill = next(s for s in env.skill_graph() if s.kind == "skill")
    for level in skill.training_levels:
        for p in env.generate(skill.id, level, 2, random.Random(level)):
            assert env.verify(p).accepted, env.verify(p)
            assert env.classify(p.spec).difficulty == level
            assert env.reward(p, p.answer) == 1.0 and env.reward(p, "") == 0.0
            assert _fits(env.spec_schema(skill.id, level), p.spec)
            assert env.render(p.spec) == p.prompt and p.prompt.endswith(answers.CLOSING)


def test_bad_specs_are_reject_reasons_not_crashes(legs):
    p = legs.generate("leg_counting.l2", 1, 1, random.Random(0))[0]
    assert legs.verify(p).accepted and legs.classify(p.spec).skill_ids[0] == "leg_counting.l2"
    cfg = dict(p.spec["config"])
    outside = p.model_copy(update={"spec": {**p.spec, "config": {**cfg, "max_animals": cfg["max_animals"] + 3}}})
    assert legs.verify(outside).reason == "off_skill"
    huge = p.model_copy(update={"spec": {**p.spec, "config": {**cfg, "max_animals": 10**9}}})
    assert legs.verify(huge).reason == "off_skill" and legs.solve(huge.spec).error  # never generated
    assert not _fits(legs.spec_schema("leg_counting.l2", 2), outside.spec)
    swapped = {**cfg, "min_instances": cfg["max_instances"], "max_instances": cfg["min_instances"]}  # in bounds, min > max
    raising = p.model_copy(update={"spec": {**p.spec, "config": swapped}})
    verdict = legs.verify(raising)
    assert verdict.reason == "unsolvable" and "cannot generate" in verdict.detail
    for spec in ({"task": "leg_counting"}, {"task": "nosuch", "config": {}, "seed": 1}, {**p.spec, "seed": -1}, "text"):
        assert legs.verify(p.model_copy(update={"spec": spec})).reason == "unparsable"
    assert legs.verify(p.model_copy(update={"answer": "-1"})).reason == "wrong_answer"


def test_any_task_levels_become_skills_and_eval_sets_stay_apart(legs):
    skills = [s for s in legs.skill_graph() if s.kind == "skill"]
    assert [s.id for s in skills][:2] == ["leg_counting.l1", "leg_counting.l2"] and not any(s.prerequisites for s in skills)
    heldout, ood = legs.eval_set("heldout"), legs.eval_set("ood")
    assert heldout and ood and all(p.difficulty == 2 for p in ood if p.skill_id == "leg_counting.l1")
    eval_texts = {p.prompt for p in heldout + ood}
    fresh = [p for s in skills[:3] for p in legs.generate(s.id, 1, 20, random.Random(5))]
    assert all(legs.verify(p).accepted for p in fresh)
    assert fresh and not {legs.spec_key(p.spec) for p in fresh} & legs.eval_keys()
    assert not {p.prompt for p in fresh} & eval_texts
    again = get_environment("rg:leg_counting", heldout_per_skill=4, ood_per_skill=2)
    assert [p.id for p in again.build_eval_sets()[0]["heldout"]["leg_counting.l1"]] == [
        p.id for p in heldout if p.skill_id == "leg_counting.l1"
    ]


def test_rewrites_move_one_level_and_never_into_ood():
    env = get_environment("knights_knaves", heldout_per_skill=2, ood_per_skill=1)
    p1 = env.generate("knights_knaves.p2", 1, 1, random.Random(0))[0]
    up = env.rewrite(p1, "escalate", random.Random(1))
    assert up is not None and up.difficulty == 2 and up.parent_id == p1.id and env.verify(up).accepted
    assert env.rewrite(up, "escalate", random.Random(1)) is None  # level 3 is OOD
    assert env.rewrite(p1, "simplify", random.Random(1)) is None
    div = env.rewrite(p1, "diversify", random.Random(2))
    assert div is not None and div.difficulty == 1 and div.spec["seed"] != p1.spec["seed"]


def test_answers_are_read_in_each_tasks_shape():
    assert answers.extract("countdown", "I try things.\n73 + 80 - 26 = 127") == "73 + 80 - 26"
    assert answers.extract("arc_1d", "The rule shifts right.\n0 0 1 2 0") == "0 0 1 2 0"
    kk = answers.extract("knights_knaves", "Maybe Zoe is a knave. So Zoe is a knight and Max is a knave.")
    assert kk == "Zoe is a knight, and Max is a knave"
    assert answers.extract("zebra_puzzles", "<answer>alice</answer>") == "alice"
    assert answers.extract("leg_counting", "  \n") is None


def test_unknown_tasks_fail_in_one_line(capsys, monkeypatch):
    assert check_environment_name("rg:leg_counting,countdown") == "rg:leg_counting,countdown"
    with pytest.raises(ValueError, match="teachloop envs"):
        check_environment_name("rg:nosuchtask")
    monkeypatch.setattr(sys, "argv", ["teachloop", "run", "--env", "rg:nosuchtask", "--student", "tiny"])
    with pytest.raises(SystemExit) as e:
        cli.main()
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "nosuchtask" in err and "teachloop envs" in err


def test_arc1d_rows_stay_where_reasoning_gyms_generator_terminates():
    """reasoning-gym's arc_1d hangs (an endless colour draw) for rows over 40 cells, e.g. at
    seed 2440 with 25-50 cells; the named environment's levels stay at or under 40."""
    env = get_environment("arc1d", heldout_per_skill=2, ood_per_skill=1)
    levels = [cfg for s in env.skill_graph() if s.kind == "skill" for cfg in s.spec["levels"]]
    assert levels and max(cfg["max_size"] for cfg in levels) <= 40
    for cfg in levels:
        assert env.solve({"task": "arc_1d", "config": cfg, "seed": 2440}).answer
