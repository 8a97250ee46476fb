"""The environment contract: the registry, eval-set sizes as constructor parameters, the protocol."""

from __future__ import annotations

import pytest

from teachloop.environments import ENVIRONMENTS, check_environment_name, environment_names, get_environment
from teachloop.environments.base import BaseEnvironment, Environment
from teachloop.environments.plugins import required_members


def test_every_registered_environment_keeps_the_protocol():
    for name in ENVIRONMENTS:
        env = get_environment(name)
        assert isinstance(env, Environment) and isinstance(env, BaseEnvironment)
        assert env.name == name
        assert not [m for m in required_members() if not hasattr(env, m)]


def test_eval_sizes_are_parameters_and_name_the_version():
    default = get_environment("arithmetic")
    assert (default.version, default.heldout_per_skill, default.ood_per_skill) == ("arithmetic-v1", 200, 100)
    # The sized version is the one the recorded benchmark drew its sets under (same seeds).
    sized = get_environment("arithmetic", heldout_per_skill=3, ood_per_skill=0)
    assert (sized.version, sized.heldout_per_skill, sized.ood_per_skill) == ("arithmetic-v1+bench-h3-o1", 3, 1)
    heldout = sized.eval_set("heldout")
    counts: dict[str, int] = {}
    for p in heldout:
        counts[p.skill_id] = counts.get(p.skill_id, 0) + 1
    assert counts and max(counts.values()) <= 3
    keys = {sized.spec_key(p.spec) for p in heldout + sized.eval_set("ood")}
    assert keys == sized.eval_keys()
    assert default.version == "arithmetic-v1"  # sizing one instance never touches another


@pytest.mark.parametrize("name", ["arithmetic", "rg:leg_counting"])
def test_eval_sizes_and_version_cannot_change_after_construction(name):
    """The old bench pattern (set the sizes on a built env) would pair one size with another's
    cached eval sets; it now raises instead of silently desyncing."""
    env = get_environment(name, heldout_per_skill=3, ood_per_skill=2)
    before = (env.heldout_per_skill, env.ood_per_skill, env.version)
    for attr, value in (("heldout_per_skill", 50), ("ood_per_skill", 20), ("version", "other-v9")):
        with pytest.raises(AttributeError):
            setattr(env, attr, value)
    assert (env.heldout_per_skill, env.ood_per_skill, env.version) == before
    assert {p.skill_id for p in env.eval_set("heldout")} and all(n <= 3 for n in _per_skill(env.eval_set("heldout")).values())


def _per_skill(problems) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.skill_id] = counts.get(p.skill_id, 0) + 1
    return counts


def test_unknown_names_fail_in_one_line_naming_the_listing():
    with pytest.raises(ValueError) as e:
        check_environment_name("nope")
    assert "\n" not in str(e.value) and "teachloop envs" in str(e.value)
    assert "arithmetic" in environment_names()


def test_a_domain_must_write_its_abstract_methods():
    class Half(BaseEnvironment):
        name = "half"
        base_version = "half-v1"

    with pytest.raises(TypeError, match="abstract"):
        Half()  # type: ignore[abstract]


def test_env_help_is_generated_from_the_registry():
    import typer

    from teachloop.cli import app

    params = {p.name: p for p in typer.main.get_command(app).commands["run"].params}
    assert all(name in params["env"].help for name in environment_names())


def test_teacher_text_checks_are_in_the_contract_with_a_safe_default():
    """The teacher agent calls `verify_text` on every teacher-written prompt; an environment that
    cannot check wording accepts only its own rendering and reads nothing back."""
    assert {"verify_text", "reads_back", "read_back"} <= set(required_members())
    env = get_environment("countdown")
    assert type(env).verify_text is BaseEnvironment.verify_text
    spec = env.generate(env.eval_skills()[0].id, env.eval_skills()[0].min_level, 1, __import__("random").Random(0))[0].spec
    assert env.verify_text(spec, "  " + env.render(spec).replace(" ", "  ")).accepted  # whitespace does not matter
    other = env.verify_text(spec, "What is 99 + 11?")
    assert (other.accepted, other.reason) == (False, "text_mismatch")
    assert env.reads_back(spec) is False and env.read_back(spec, "1 + 1") is None
    arith = get_environment("arithmetic")  # overrides: checks the numbers in free wording
    assert arith.verify_text({"op": "expr", "expr": "47 + 38"}, "Tom has 47 apples and gets 38 more. How many now?").accepted
    assert not arith.verify_text({"op": "expr", "expr": "47 + 38"}, "What is 99 + 11?").accepted
