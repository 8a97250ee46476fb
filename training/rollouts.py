"""The reward side channel: score GRPO rollouts with the environment and remember every group.

TRL calls a reward function with the completions of one generation batch and the dataset columns
as keyword arguments, and keeps only the rewards. The curriculum needs more: per problem, all its
completions and rewards (pass rate, reward variance, mean |advantage| are `Attempt` properties).
`RolloutRecorder` is the reward function and the recorder at once, so nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teachloop.skills.records import Attempt, Problem, is_correct


@dataclass
class RolloutGroup:
    """The `num_generations` completions of one prompt, sampled at one optimizer step."""

    problem_id: str
    step: int
    completions: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)

    @property
    def zero_variance(self) -> bool:
        """All rewards equal: GRPO's advantages are all zero and the group gives no gradient."""
        return max(self.rewards) - min(self.rewards) < 1e-9

    @property
    def mean_abs_advantage(self) -> float:
        m = sum(self.rewards) / len(self.rewards)
        return sum(abs(r - m) for r in self.rewards) / len(self.rewards)


class RolloutRecorder:
    """A TRL reward function (a plain callable) that scores with `reward_fn` and records each group.

    TRL repeats each prompt `num_generations` times in a row (its `RepeatSampler`), so a batch is a
    sequence of whole groups; the recorder checks that each group shares one `problem_id`.
    """

    def __init__(self, problems: dict[str, Problem], reward_fn: Callable[[Problem, str], float], num_generations: int):
        self.problems = problems
        self.reward_fn = reward_fn
        self.num_generations = num_generations
        self.groups: list[RolloutGroup] = []
        self.__name__ = "environment_reward"  # TRL logs rewards/<name>/mean

    def __call__(self, prompts: list[Any], completions: list[Any], problem_id: list[str], **kwargs: Any) -> list[float]:
        state = kwargs.get("trainer_state")
        step = int(getattr(state, "global_step", 0)) + 1  # the optimizer step these rollouts feed
        texts = [_text(c) for c in completions]
        rewards = [float(self.reward_fn(self.problems[pid], text)) for pid, text in zip(problem_id, texts, strict=True)]
        g = self.num_generations
        if len(texts) % g:
            raise RuntimeError(f"TRL passed {len(texts)} completions, not a multiple of num_generations={g}")
        for lo in range(0, len(texts), g):
            ids = set(problem_id[lo : lo + g])
            if len(ids) != 1:
                raise RuntimeError(f"a GRPO group mixes problems {sorted(ids)}; TRL's sampler changed its layout")
            self.groups.append(RolloutGroup(problem_id[lo], step, texts[lo : lo + g], rewards[lo : lo + g]))
        return rewards

    def attempts(self, *, round: int) -> list[Attempt]:
        """One `Attempt` per problem, in first-trained order, with all its rollouts of the round."""
        merged: dict[str, Attempt] = {}
        for group in self.groups:
            problem = self.problems[group.problem_id]
            attempt = merged.setdefault(
                group.problem_id,
                Attempt(problem_id=problem.id, skill_id=problem.skill_id, round=round, phase="train"),
            )
            attempt.completions.extend(group.completions)
            attempt.rewards.extend(group.rewards)
            attempt.steps.extend([group.step] * len(group.rewards))
        return list(merged.values())

    def stats(self) -> dict[str, float]:
        """Rollout statistics of the round, computed from the recorded groups (not TRL's logs)."""
        rewards = [r for g in self.groups for r in g.rewards]
        if not rewards:
            return {}
        return {
            "reward_mean": sum(rewards) / len(rewards),
            "pass_rate": sum(map(is_correct, rewards)) / len(rewards),
            "mean_abs_advantage": sum(g.mean_abs_advantage for g in self.groups) / len(self.groups),
            "frac_zero_variance_groups": sum(g.zero_variance for g in self.groups) / len(self.groups),
            "groups": float(len(self.groups)),
            "rollouts": float(len(rewards)),
        }


def _text(completion: Any) -> str:
    """A completion's text: TRL passes conversational completions as `[{"role": "assistant", "content": ...}]`."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if isinstance(m, dict))
