"""Each registry exists once: help texts, config validation and listings are generated from it."""

from __future__ import annotations

import pytest
import typer
from pydantic import ValidationError

from teachloop.agents.backends import BACKENDS, parse_teacher_spec, teacher_forms
from teachloop.agents.policies import POLICIES, PolicyName
from teachloop.agents.teacher import TeacherConfig
from teachloop.cli import app
from teachloop.config import ConfigError, TeacherSettings, build_config
from teachloop.teachers import backend_status


def test_every_registered_backend_parses_its_example_and_is_listed() -> None:
    assert [row[0] for row in backend_status()] == list(BACKENDS)
    for kind, backend in BACKENDS.items():
        assert parse_teacher_spec(backend.example).kind == kind
    with pytest.raises(ValueError, match="unknown teacher"):
        parse_teacher_spec("gguf:model.bin")


def test_teacher_help_and_config_description_come_from_the_backend_registry() -> None:
    params = {p.name: p for p in typer.main.get_command(app).commands["run"].params}
    help_text = params["teacher"].help.replace("\\[", "[")  # rich markup escaped for typer
    forms = teacher_forms()
    assert forms in help_text and forms in TeacherSettings.model_fields["model"].description
    assert all(b.form in forms for b in BACKENDS.values())


def test_plan_policies_are_one_list_checked_by_the_teacher_config() -> None:
    assert POLICIES == PolicyName.__args__
    for name in POLICIES:
        assert TeacherConfig(policy=name).policy == name
    with pytest.raises(ValidationError, match="unknown plan policy 'zpd'"):
        TeacherConfig(policy="zpd")
    with pytest.raises(ConfigError, match=r"teacher\.policy: unknown plan policy"):
        build_config(overrides={"teacher": {"policy": "zpd"}})
    assert " | ".join(POLICIES) in TeacherConfig.model_fields["policy"].description
