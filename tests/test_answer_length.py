"""The answer-length hint: each environment says how many student tokens its answers need, and a
run's eval and GRPO lengths follow it unless the user set them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teachloop.config import answer_lengths, build_config
from teachloop.environments import ENVIRONMENTS, get_environment
from teachloop.training.student import load_student
from tests.conftest import run_teachloop


@pytest.fixture(scope="module")
def count_tokens():
    tok = load_student("tiny").tokenizer  # a test tokenizer: characters, built offline
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("name", [n for n in ENVIRONMENTS] + ["rg:leg_counting"])
def test_the_chosen_length_fits_every_eval_answer(name, count_tokens):
    env = get_environment(name, heldout_per_skill=4, ood_per_skill=2)
    hint = env.answer_tokens(count_tokens)
    longest = max(count_tokens(p.answer) for split in ("heldout", "ood") for p in env.eval_set(split))
    assert hint == longest + 1  # the answer and one token to end it
    for profile in ("smoke", "default"):
        cfg = build_config(overrides={"profile": profile, "env": name})
        eval_tokens, grpo_tokens, notes = answer_lengths(cfg, name, hint)
        assert eval_tokens == grpo_tokens == max(hint, cfg.answer_tokens) and not notes


def test_long_answers_raise_the_profile_length_and_a_user_length_wins_with_a_note(count_tokens):
    kk = get_environment("knights_knaves", heldout_per_skill=4, ood_per_skill=2).answer_tokens(count_tokens)
    smoke = build_config(overrides={"profile": "smoke"})
    assert kk > smoke.answer_tokens == 12  # a role assignment is longer than the smoke profile's room
    assert answer_lengths(smoke, "knights_knaves", kk)[:2] == (kk, kk)
    mine = build_config(overrides={"profile": "smoke", "eval": {"max_new_tokens": 10}, "grpo": {"max_completion_length": kk + 5}})
    eval_tokens, grpo_tokens, notes = answer_lengths(mine, "knights_knaves", kk)
    assert (eval_tokens, grpo_tokens) == (10, kk + 5)
    assert len(notes) == 1 and notes[0].startswith("eval.max_new_tokens 10 is shorter than") and "knights_knaves" in notes[0]


@pytest.mark.slow  # a real 1-round run generating 91-character answers: minutes of CPU under load
def test_a_tiny_knights_and_knaves_run_evaluates_and_trains_with_the_longer_length(tmp_path: Path, monkeypatch, capsys, count_tokens):
    import teachloop.episode as episode

    seen: dict[str, list[int]] = {"eval": [], "grpo": []}
    real_eval, real_train = episode.evaluate_student, episode.train_round

    def spy_eval(*a, **k):
        seen["eval"].append(k["max_new_tokens"])
        return real_eval(*a, **k)

    def spy_train(student, problems, reward, settings, **k):
        seen["grpo"].append(settings.max_completion_length)
        return real_train(student, problems, reward, settings, **k)

    monkeypatch.setattr(episode, "evaluate_student", spy_eval)
    monkeypatch.setattr(episode, "train_round", spy_train)
    cfg = tmp_path / "fast.yaml"  # sizes only: the lengths are left to the environment
    cfg.write_text(
        "eval: {heldout_per_skill: 1, ood_per_skill: 0}\n"
        "teacher: {plan: {problems_per_round: 2, skills_per_round: 1}}\n"
        "grpo: {steps: 1, prompts_per_step: 1, num_generations: 2}\n"
    )
    run = tmp_path / "run"
    args = ["run", "--env", "knights_knaves", "--student", "tiny", "--rounds", "1", "--profile", "smoke", "--config", str(cfg)]
    assert run_teachloop(*args, "--run-dir", str(run)) == 0
    out = capsys.readouterr().out
    hint = get_environment("knights_knaves").answer_tokens(count_tokens)  # the run's env: default eval sizes
    assert hint > 12 and set(seen["eval"]) == {hint} and seen["grpo"] == [hint]
    assert f"answer length: eval {hint}, GRPO {hint} tokens" in " ".join(out.split())
    stored = json.loads(json.dumps(build_config(file=run / "config.yaml").model_dump(mode="json")))
    assert stored["eval"]["max_new_tokens"] is None and stored["grpo"]["max_completion_length"] is None  # resume re-derives it


def test_training_refuses_an_unset_completion_length():
    from teachloop.environments.arithmetic import ArithmeticEnv
    from teachloop.training.grpo import GRPOSettings, train_round

    problem = ArithmeticEnv(heldout_per_skill=1, ood_per_skill=1).eval_set("heldout", 1)[0]
    with pytest.raises(ValueError, match="max_completion_length"):
        train_round(None, [problem], lambda p, c: 0.0, GRPOSettings(), round=1, output_dir=Path("unused"))  # type: ignore[arg-type]
