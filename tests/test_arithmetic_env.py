"""The arithmetic environment: generators, solver, classifier, verifier, rewards, eval sets,
rewrites and skill discovery, as the teacher agent and the trainer rely on them."""

from __future__ import annotations

import graphlib
import random
import re

import pytest

from teachloop.environments import ENVIRONMENTS, get_environment
from teachloop.environments.answers import extract_answer, parse_answer
from teachloop.environments.arithmetic import ArithmeticEnv
from teachloop.environments.arithmetic.skills import SKILL_DEFS, SKILLS_BY_ID
from teachloop.environments.base import Environment
from teachloop.skills.records import Problem, Skill

SKILL_IDS = [d.id for d in SKILL_DEFS]


@pytest.fixture(scope="module")
def env() -> ArithmeticEnv:
    return ArithmeticEnv()


def problem(spec: object, answer: str, skill: str, difficulty: int = 1, env_name: str = "arithmetic") -> Problem:
    return Problem(skill_id=skill, difficulty=difficulty, prompt="p", answer=answer, spec=spec, env=env_name)  # type: ignore[arg-type]


def expr(text: str) -> dict:
    return {"op": "expr", "expr": text}


def _nested(depth: int) -> dict:
    out: dict = {}
    inner = out
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return out


# ---- registry and skill tree -------------------------------------------------------------------


def test_registry_builds_the_environment_and_names_the_choices():
    assert "arithmetic" in ENVIRONMENTS
    env = get_environment("arithmetic")
    assert isinstance(env, Environment)
    assert env.name == "arithmetic" and env.version == "arithmetic-v1"
    with pytest.raises(ValueError, match=r"unknown environment 'nope' \(choose from: arithmetic, .*teachloop envs"):
        get_environment("nope")


def test_skill_tree_has_domain_topics_and_a_prerequisite_dag(env):
    graph = {s.id: s for s in env.skill_graph()}
    trainable = [s for s in graph.values() if s.kind == "skill"]
    assert len(trainable) >= 12
    assert graph["arithmetic"].kind == "domain"
    for s in trainable:
        topic = graph[s.parent]
        assert topic.kind == "topic" and topic.parent == "arithmetic"
        assert s.min_level <= s.max_level < s.ood_level
        assert all(graph[p].kind == "skill" for p in s.prerequisites)
    order = list(graphlib.TopologicalSorter({s.id: s.prerequisites for s in trainable}).static_order())  # raises on a cycle
    assert set(order) == {s.id for s in trainable}
    assert graph["add.2digit"].prerequisites == ["add.1digit"]
    assert set(graph["mul.by1digit"].prerequisites) == {"mul.1digit", "add.2digit"}


# ---- generation round trip ---------------------------------------------------------------------


@pytest.mark.parametrize("skill_id", SKILL_IDS)
def test_generated_problems_solve_classify_and_verify_at_every_level(env, skill_id):
    sd = SKILLS_BY_ID[skill_id]
    rng = random.Random(skill_id)
    for level in range(sd.min_level, sd.ood_level + 1):
        problems = env.generate(skill_id, level, 5, rng)
        assert len(problems) == 5, (skill_id, level)
        for p in problems:
            assert (p.skill_id, p.difficulty, p.env, p.provenance) == (skill_id, level, "arithmetic", "generated")
            assert p.prompt == env.render(p.spec)
            assert p.prompt.endswith(("Reply with just the number.", "Reply as a/b."))
            assert env.solve(p.spec).answer == p.answer
            cls = env.classify(p.spec)
            assert cls.skill_ids[0] == skill_id and cls.difficulty == level
            assert cls.skill_ids[-1] == "arithmetic"
            verdict = env.verify(p)
            if level <= sd.max_level:
                assert verdict.accepted, (p.spec, verdict)
            else:  # the OOD level is never trained on
                assert verdict.reason == "off_skill"


def test_generation_is_reproducible_distinct_and_complete(env):
    a = env.generate("add.2digit", 2, 20, random.Random(7))
    b = env.generate("add.2digit", 2, 20, random.Random(7))
    c = env.generate("add.2digit", 2, 20, random.Random(8))
    assert [p.id for p in a] == [p.id for p in b]
    assert [p.id for p in a] != [p.id for p in c]
    assert len({env.spec_key(p.spec) for p in a}) == 20
    # Every skill at its hardest level yields the problems asked for, of that skill and level.
    # (Speed is a benchmark's business, not a test's: a wall-clock bound fails on busy CI cores.)
    for sd in SKILL_DEFS:
        got = env.generate(sd.id, sd.max_level, 100, random.Random(1))
        assert len(got) == 100 and {(p.skill_id, p.difficulty) for p in got} == {(sd.id, sd.max_level)}, sd.id


def test_generate_rejects_unknown_skills_and_levels(env):
    with pytest.raises(ValueError, match="unknown skill"):
        env.generate("add.9digit", 1, 1, random.Random(0))
    with pytest.raises(ValueError, match=r"levels 1\.\.4"):
        env.generate("add.1digit", 9, 1, random.Random(0))


def test_reasoning_gym_answers_agree_with_our_solver():
    """Where reasoning-gym's own answer is trustworthy, the sampler cross-checks it."""
    from teachloop.environments.arithmetic.generators import Sampler

    for sd in SKILL_DEFS:
        for recipes in sd.recipes.values():
            sampler = Sampler(recipes, random.Random(3))
            specs = [sampler.draw() for _ in range(25)]
            assert all(s is not None for s in specs), (sd.id, sampler.mismatches[:2])


# ---- solver ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "answer"),
    [
        (expr("12 + 7 * 3"), "33"),
        (expr("3 + 4 * 5"), "23"),  # reasoning-gym's basic_arithmetic would say 35 (left to right)
        (expr("(2 + 3) * 4"), "20"),
        (expr("84 / 12"), "7"),
        (expr("7 / 2"), "7/2"),
        (expr("5 - 8 - 1"), "-4"),
        (expr("12 \u00d7 3 \u2212 6 \u00f7 2"), "33"),  # school symbols
        ({"op": "gcd", "numbers": [12, 18]}, "6"),
        ({"op": "lcm", "numbers": [4, 6]}, "12"),
        ({"op": "fraction_simplify", "num": 6, "den": 8}, "3/4"),
        ({"op": "linear_eq", "equation": "5x + 6 = 26"}, "4"),
        ({"op": "linear_eq", "equation": "26 = 5*y + 6", "var": "y"}, "4"),
        ({"op": "linear_eq", "equation": "x/3 = 4"}, "12"),
        ({"op": "linear_eq", "equation": "2(x - 1) = 10"}, "6"),
        ({"op": "linear_eq", "equation": "2*x = 3"}, "3/2"),
    ],
)
def test_solver_answers(env, spec, answer):
    assert env.solve(spec).answer == answer


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (expr("__import__('os').system('true')"), "unparsable"),
        (expr("open('/etc/passwd')"), "unparsable"),
        (expr("x + 1"), "unparsable"),
        (expr("(1).__class__"), "unparsable"),
        (expr("2 ** 99999"), "unparsable"),
        (expr("10 ** 10 ** 10"), "unparsable"),
        (expr("lambda: 1"), "unparsable"),
        (expr("[1, 2][0]"), "unparsable"),
        (expr("1.5 + 2"), "unparsable"),
        (expr("True + 1"), "unparsable"),
        (expr("1 +"), "unparsable"),
        (expr("9" * 400), "unparsable"),
        (expr("(" * 150 + "1" + ")" * 150), "unparsable"),
        (expr("999999999999 * " * 18 + "9"), "unsolvable"),  # 10**216: too large
        (expr("1 / 0"), "unsolvable"),
        (expr("5 / (3 - 3)"), "unsolvable"),
        ({"op": "gcd", "numbers": [True, 4]}, "unparsable"),
        ({"op": "gcd", "numbers": [0, 4]}, "unparsable"),
        ({"op": "lcm", "numbers": "4, 6"}, "unparsable"),
        ({"op": "fraction_simplify", "num": 3, "den": 0}, "unsolvable"),
        ({"op": "linear_eq", "equation": "x * x = 4"}, "unparsable"),
        ({"op": "linear_eq", "equation": "x + y = 4"}, "unparsable"),
        ({"op": "linear_eq", "equation": "x + 1 = x + 2"}, "unsolvable"),
        ({"op": "linear_eq", "equation": "3 = 4"}, "unparsable"),
        ({"op": "linear_eq", "equation": "x = 1", "var": "__import__"}, "unparsable"),
        ({"op": "expr", "expr": "1 + 1", "extra": 1}, "unparsable"),
        ({"op": "teleport"}, "unparsable"),
        ({}, "unparsable"),
        ("1 + 1", "unparsable"),
        (None, "unparsable"),
        ({"op": "expr", "expr": {"nested": "dict"}}, "unparsable"),
        ({"op": "expr", "expr": "1" * 100_000}, "unparsable"),
        (_nested(3000), "unparsable"),
    ],
)
def test_solver_refuses_garbage_without_raising(env, spec, reason):
    result = env.solve(spec)
    assert result.answer is None and result.error
    assert env.classify(spec).skill_ids == []
    assert isinstance(env.spec_key(spec), str)
    assert env.features(spec) == set()
    with pytest.raises(ValueError):
        env.render(spec)
    if isinstance(spec, dict):  # a Problem only holds dicts
        assert env.verify(problem(spec, "2", "add.1digit")).reason == reason
        assert env.reward(problem(spec, "2", "add.1digit"), "2") in (0.0, 1.0)


def test_deeply_nested_but_short_input_is_handled(env):
    assert env.solve(expr("-" * 280 + "1")).answer == "1"
    assert env.solve(expr("(" * 90 + "1" + ")" * 90)).answer == "1"


# ---- classifier --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "skill", "level"),
    [
        (expr("47 + 85"), "add.2digit", 1),
        (expr("47 + 5 + 3"), "add.2digit", 2),
        (expr("(47) + 5"), "add.2digit", 1),
        (expr("9 - 3"), "sub.1digit", 1),
        (expr("4 + 6 - 6"), "mixed.addsub", 1),
        (expr("47 * 6"), "mul.by1digit", 1),
        (expr("6 * 473"), "mul.by1digit", 2),
        (expr("47 * 36"), "mul.by2digit", 1),
        (expr("3 * 4 * 5"), "mul.1digit", 2),
        (expr("84 / 4"), "div.exact", 1),
        (expr("3 + 4 * 5"), "mixed.order", 1),
        (expr("12 + 7 * 3"), "mixed.order", 2),
        (expr("(3 + 4) * 5"), "mixed.parens", 1),
        ({"op": "gcd", "numbers": [12, 18]}, "nt.gcd", 1),
        ({"op": "lcm", "numbers": [4, 36]}, "nt.lcm", 3),
        ({"op": "fraction_simplify", "num": 6, "den": 8}, "frac.simplify", 1),
        ({"op": "linear_eq", "equation": "x + 7 = 12"}, "alg.onestep", 1),
        ({"op": "linear_eq", "equation": "6y = 42"}, "alg.onestep", 1),
        ({"op": "linear_eq", "equation": "3*x + 2 = 20"}, "alg.twostep", 2),
    ],
)
def test_classifier_names_skill_and_level(env, spec, skill, level):
    cls = env.classify(spec)
    assert cls.skill_ids[0] == skill and cls.difficulty == level
    topic = SKILLS_BY_ID[skill].topic
    assert cls.skill_ids[1:] == [topic, "arithmetic"]


@pytest.mark.parametrize(
    "spec",
    [
        expr("1234 + 1"),  # four digits: no seed skill
        expr("3 - -5"),  # negative literals
        expr("(1 + 2)"),  # brackets that change nothing are no bracket skill...
        expr("7 / 2"),  # not exact
        expr("5"),
        {"op": "gcd", "numbers": [4, 6, 8]},
        {"op": "fraction_simplify", "num": 3, "den": 4},  # nothing to cancel
        {"op": "fraction_simplify", "num": 6, "den": 3},  # a whole number
        {"op": "linear_eq", "equation": "x = 5"},
        {"op": "linear_eq", "equation": "2*x + 3*x = 10"},
        {"op": "linear_eq", "equation": "2*x = 3"},
    ],
)
def test_classifier_refuses_specs_outside_the_seed_skills(env, spec):
    cls = env.classify(spec)
    seed = [s for s in cls.skill_ids if s in SKILLS_BY_ID]
    if spec == expr("(1 + 2)"):
        assert seed == ["add.1digit"]  # ...but plain addition
        return
    assert seed == [] and cls.difficulty is None
    assert cls.skill_ids[-1] == "arithmetic"


def test_spec_key_normalises_the_maths_only(env):
    assert env.spec_key(expr("12+7")) == env.spec_key(expr("(12) + 7")) == env.spec_key(expr(" 12 +  7 "))
    assert env.spec_key(expr("12 + 7")) != env.spec_key(expr("7 + 12"))
    assert env.spec_key({"op": "gcd", "numbers": [12, 18]}) == env.spec_key({"op": "gcd", "numbers": [18, 12]})
    eq_x = {"op": "linear_eq", "equation": "5*x + 6 = 26", "var": "x"}
    eq_b = {"op": "linear_eq", "equation": "5b+6=26"}
    assert env.spec_key(eq_x) == env.spec_key(eq_b)
    assert env.spec_key(expr("6 / 8")) != env.spec_key({"op": "fraction_simplify", "num": 6, "den": 8})


def test_features_describe_structure(env):
    assert "carry" in env.features(expr("47 + 85")) and "no_carry" in env.features(expr("42 + 35"))
    assert "borrow" in env.features(expr("52 - 37")) and "borrow" not in env.features(expr("57 - 32"))
    assert "negative_result" in env.features(expr("3 - 8"))
    assert "precedence_trap" in env.features(expr("3 + 4 * 5"))
    assert "precedence_trap" not in env.features(expr("3 * 4 + 5"))
    assert "subtracted_group" in env.features(expr("9 - (2 + 3)"))
    assert "coprime" in env.features({"op": "gcd", "numbers": [8, 15]})
    assert "negative_coefficient" in env.features({"op": "linear_eq", "equation": "5 - 8*e = -51"})
    descriptions = env.feature_descriptions("add.2digit")
    assert "carry" in descriptions and "borrow" not in descriptions


# ---- verifier ----------------------------------------------------------------------------------


def test_verify_accepts_a_correct_on_skill_problem_and_tolerates_answer_formats(env):
    assert env.verify(problem(expr("47 + 85"), "132", "add.2digit")).accepted
    assert env.verify(problem(expr("600 + 634"), "1,234", "add.3digit")).accepted
    assert env.verify(problem({"op": "linear_eq", "equation": "x + 7 = 12"}, "x = 5", "alg.onestep")).accepted
    assert env.verify(problem({"op": "fraction_simplify", "num": 6, "den": 8}, "3/4", "frac.simplify")).accepted


@pytest.mark.parametrize(
    ("p", "target", "reason"),
    [
        (problem(expr("47 + 85"), "131", "add.2digit"), None, "wrong_answer"),
        (problem(expr("47 + 85"), "about 132 or so", "add.2digit"), None, "wrong_answer"),
        (problem({"op": "fraction_simplify", "num": 6, "den": 8}, "6/8", "frac.simplify"), None, "wrong_answer"),
        (problem(expr("47 / 0"), "0", "div.exact"), None, "unsolvable"),
        (problem(expr("import os"), "0", "add.1digit"), None, "unparsable"),
        (problem(expr("1 + 1"), "2", "add.1digit", env_name="chess"), None, "unparsable"),
        (problem(expr("47 + 85"), "132", "add.1digit"), None, "off_skill"),  # wrong skill
        (problem(expr("47 + 85"), "132", "add.2digit", difficulty=2), None, "off_skill"),  # wrong level
        (problem(expr("47 + 85"), "132", "add.2digit"), "sub.2digit", "off_skill"),  # target overrides
        (problem(expr("47 + 85"), "132", "add.2digit"), "addition", "off_skill"),  # topics are not trainable
        (problem(expr("47 + 85"), "132", "add.2digit"), "no.such.skill", "off_skill"),
        (problem(expr("4 + 5 + 6 + 7 + 8"), "30", "add.1digit", difficulty=4), None, "off_skill"),  # OOD level
    ],
)
def test_verify_reasons(env, p, target, reason):
    verdict = env.verify(p, target)
    assert not verdict.accepted and verdict.reason == reason and verdict.detail


# ---- rewards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "reward"),
    [
        ("-12", 1.0),
        ("Answer: -12", 1.0),
        ("\\boxed{-12}", 1.0),
        ("The result is \u221212.", 1.0),  # unicode minus, trailing period
        ("3 - 15 = -12", 1.0),
        ("First 3 - 15 gives -12, so the answer is -12", 1.0),
        ("Let me think. 3 minus 15 is negative. Twelve below zero: -12", 1.0),
        ("Answer: -12\nCheck: 3 - 15 = -12", 1.0),
        ("-12.0", 1.0),
        ("12", 0.0),
        ("3-15", 0.0),  # the last number is 15, not -15
        ("-1", 0.0),
        ("-123", 0.0),
        ("", 0.0),
        ("I don't know", 0.0),
    ],
)
def test_reward_on_negative_integer_answers(env, completion, reward):
    assert env.reward(problem(expr("3 - 15"), "-12", "sub.2digit"), completion) == reward


@pytest.mark.parametrize(
    ("completion", "reward"),
    [
        ("1,234", 1.0),
        ("1234", 1.0),
        ("The sum is 1,234.", 1.0),
        ("600 + 634 = 1234", 1.0),
        ("12,34", 0.0),
        ("123", 0.0),
    ],
)
def test_reward_on_thousands_separators(env, completion, reward):
    assert env.reward(problem(expr("600 + 634"), "1234", "add.3digit"), completion) == reward


@pytest.mark.parametrize(
    ("completion", "reward"),
    [
        ("3/4", 1.0),
        ("The answer is 3 / 4.", 1.0),
        ("\\boxed{\\frac{3}{4}}", 1.0),
        ("$\\dfrac{3}{4}$", 1.0),
        ("6/8", 0.0),
        ("0.75", 0.0),
        ("4/3", 0.0),
        ("3", 0.0),
    ],
)
def test_reward_on_fractions_requires_lowest_terms(env, completion, reward):
    assert env.reward(problem({"op": "fraction_simplify", "num": 6, "den": 8}, "3/4", "frac.simplify"), completion) == reward


@pytest.mark.parametrize(("completion", "reward"), [("x = 4", 1.0), ("so x = 4.", 1.0), ("4", 1.0), ("x = -4", 0.0), ("x = 5", 0.0)])
def test_reward_on_equations(env, completion, reward):
    p = problem({"op": "linear_eq", "equation": "5x + 6 = 26"}, "4", "alg.twostep", 2)
    assert env.reward(p, completion) == reward


def test_reward_on_a_non_integer_answer_compares_values(env):
    p = problem(expr("7 / 2"), "7/2", "div.exact")
    assert env.reward(p, "7/2") == env.reward(p, "3.5") == 1.0
    assert env.reward(p, "3") == 0.0


def test_answer_extraction_helpers():
    assert extract_answer("Answer: 12 + 7 = 19") == "19"
    assert extract_answer("the answer is 19 because 10 + 9") == "19"
    assert extract_answer("\\boxed{x = 4}") == "4"
    assert extract_answer("no digits here") is None
    assert parse_answer(" 1,234 ") == "1234"
    assert parse_answer("x = -3/4") == "-3/4"
    assert parse_answer("12 or 13") is None


# ---- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("skill_id", SKILL_IDS)
def test_styles_reword_the_same_maths(env, skill_id):
    p = env.generate(skill_id, SKILLS_BY_ID[skill_id].min_level, 1, random.Random(11))[0]
    numbers = set(re.findall(r"\d+", p.spec.get("expr") or p.spec.get("equation") or str(p.spec)))
    texts = [env.render(p.spec, random.Random(0), style) for style in range(4)]
    assert texts[0] == p.prompt
    assert len(set(texts)) >= 3, texts
    for text in texts:
        assert set(re.findall(r"\d+", text.replace(",", ""))) >= numbers, text
        assert text.endswith(("Reply with just the number.", "Reply as a/b."))


def test_fraction_prompts_say_the_format(env):
    assert env.render({"op": "fraction_simplify", "num": 6, "den": 8}).endswith("Reply as a/b.")
    assert "fraction a/b" in env.render(expr("7 / 2"))


# ---- eval sets ---------------------------------------------------------------------------------


def test_eval_sets_are_fixed_sized_and_prefix_stable(env):
    fresh_sets, fresh_keys = ArithmeticEnv().build_eval_sets()  # an uncached second build (its time: benchmarks/environments.py)
    heldout = env.eval_set("heldout")
    assert [p.id for p in heldout] == [p.id for sid in SKILL_IDS for p in fresh_sets["heldout"][sid]]
    assert [p.id for p in env.eval_set("ood")] == [p.id for sid in SKILL_IDS for p in fresh_sets["ood"][sid]]
    assert fresh_keys == env.eval_keys()
    assert ArithmeticEnv().eval_set("heldout", 3) == env.eval_set("heldout", 3)
    by_skill: dict[str, list[Problem]] = {}
    for p in heldout:
        by_skill.setdefault(p.skill_id, []).append(p)
    assert set(by_skill) == set(SKILL_IDS)
    for sid, ps in by_skill.items():
        sd = SKILLS_BY_ID[sid]
        assert len(ps) == 200
        assert {p.difficulty for p in ps} == set(sd.levels)
        assert {p.difficulty for p in ps[: len(sd.levels)]} == set(sd.levels)  # prefixes span the levels
        assert all(p.provenance == "seed" for p in ps)
    ood = env.eval_set("ood")
    assert len(ood) == 100 * len(SKILL_IDS)
    assert all(p.difficulty == SKILLS_BY_ID[p.skill_id].ood_level for p in ood)
    small = env.eval_set("heldout", 6)
    assert [p.id for p in small] == [p.id for sid in SKILL_IDS for p in by_skill[sid][:6]]
    keys = env.eval_keys()
    assert len(keys) == len(heldout) + len(ood)  # no problem twice
    assert keys == {env.spec_key(p.spec) for p in heldout + ood}
    with pytest.raises(ValueError):
        env.eval_set("train")  # type: ignore[arg-type]


def test_generated_training_problems_never_collide_with_eval(env):
    keys = env.eval_keys()
    for sd in SKILL_DEFS:
        for level in [*sd.levels, sd.ood_level]:
            for p in env.generate(sd.id, level, 20, random.Random(level)):
                assert env.spec_key(p.spec) not in keys
    # The 100 one-digit sums: held-out takes only a few, training can still use the rest.
    assert len(env.generate("add.1digit", 1, 100, random.Random(0))) >= 70


# ---- rewrites ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "skill_id",
    [
        "add.2digit",
        "sub.1digit",
        "mul.by1digit",
        "nt.gcd",
        "frac.simplify",
        "alg.twostep",
        "mixed.order",
        "mixed.parens",
    ],
)
def test_rewrite_modes(env, skill_id):
    sd = SKILLS_BY_ID[skill_id]
    rng = random.Random(skill_id)
    keys = env.eval_keys()
    mid = env.generate(skill_id, sd.max_level - 1 if sd.max_level > sd.min_level else sd.min_level, 1, rng)[0]
    top = env.generate(skill_id, sd.max_level, 1, rng)[0]
    bottom = env.generate(skill_id, sd.min_level, 1, rng)[0]

    def check(out, source, level, provenance, action):
        assert out is not None
        assert (out.skill_id, out.difficulty, out.provenance, out.action) == (skill_id, level, provenance, action)
        assert out.parent_id == source.id
        assert env.verify(out).accepted
        assert env.spec_key(out.spec) not in keys

    check(env.rewrite(top, "simplify", rng), top, sd.max_level - 1, "rewritten", "simplify")
    low = env.rewrite(bottom, "simplify", rng)
    if low is not None:  # smaller numbers at the lowest level
        check(low, bottom, sd.min_level, "rewritten", "simplify")
        assert env.spec_key(low.spec) != env.spec_key(bottom.spec)
    div = env.rewrite(mid, "diversify", rng)
    check(div, mid, mid.difficulty, "rewritten", "diversify")
    assert env.spec_key(div.spec) != env.spec_key(mid.spec) and div.prompt != mid.prompt
    check(env.rewrite(mid, "escalate", rng), mid, mid.difficulty + 1, "escalated", "escalate")
    assert env.rewrite(top, "escalate", rng) is None  # the OOD level is never trained


def test_simplify_of_a_sum_keeps_its_start(env):
    p = problem(expr("23 + 45 + 61"), "129", "add.2digit", 2)
    out = env.rewrite(p, "simplify", random.Random(0))
    assert out is not None and out.spec["expr"] == "23 + 45" and out.difficulty == 1


def test_rewrite_of_garbage_is_none(env):
    assert env.rewrite(problem(expr("import os"), "1", "add.1digit"), "diversify", random.Random(0)) is None
    assert env.rewrite(problem(expr("1 + 1"), "2", "no.such"), "simplify", random.Random(0)) is None


# ---- skill discovery ---------------------------------------------------------------------------


def test_discover_accepts_a_generable_feature_sub_skill():
    env = ArithmeticEnv()
    sub = Skill(
        id="add.2digit.carry",
        name="Two-digit addition with carry",
        parent="add.2digit",
        spec={"base": "add.2digit", "feature": "carry"},
        provenance="discovered",
    )
    accepted = env.add_skill(sub)
    assert (accepted.id, accepted.parent, accepted.provenance) == ("add.2digit.carry", "add.2digit", "discovered")
    assert (accepted.min_level, accepted.max_level) == (1, 3)
    assert "add.2digit.carry" in {s.id for s in env.skill_graph()}
    problems = env.generate("add.2digit.carry", 2, 10, random.Random(0))
    assert len(problems) == 10
    for p in problems:
        assert "carry" in env.features(p.spec)
        assert env.classify(p.spec).skill_ids[:2] == ["add.2digit.carry", "add.2digit"]
        assert env.verify(p).accepted and env.verify(p, "add.2digit").accepted
    assert env.classify(expr("42 + 35")).skill_ids[0] == "add.2digit"
    assert not env.verify(problem(expr("42 + 35"), "77", "add.2digit.carry")).accepted
    assert env.add_skill(sub).id == sub.id  # re-adding the same sub-skill (a resumed run) is harmless
    assert "carry" not in env.feature_descriptions("add.2digit.carry")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"base": "add.2digit", "feature": "banana"}, "unknown feature 'banana'"),
        ({"base": "add.2digit", "feature": "borrow"}, "unknown feature 'borrow'"),  # a feature of subtraction
        ({"base": "add.1digit", "feature": "round_operand"}, "could not generate"),  # no 1-digit multiple of 10
        ({"base": "frac.simplify", "feature": "improper"}, "could not generate"),  # reasoning-gym draws proper ones
        ({"base": "addition", "feature": "carry"}, "not a seed skill"),
        ({"feature": "carry"}, "sub-skill spec"),
    ],
)
def test_discover_rejects_unknown_or_impossible_features(spec, message):
    env = ArithmeticEnv()
    with pytest.raises(ValueError, match=message):
        env.add_skill(Skill(id="x.sub", name="x", spec=spec))
    assert "x.sub" not in {s.id for s in env.skill_graph()}
