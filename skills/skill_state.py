"""What the mastery model reports per skill: `SkillState` records, the `MasteryTable` columns they
are read from, and the column maths (credible intervals, learning trend).

A report reads thousands of skills each round, so the hot path stays in numpy columns and plain
dataclasses. pydantic still guards every boundary: a `SkillState` nested in a pydantic record
(`WeaknessReport`, snapshots) is validated when that record is loaded from JSON or validated, and
`SKILL_STATE` validates one on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from pydantic import ConfigDict, Field, TypeAdapter
from scipy.special import betaincinv


@dataclass(slots=True)
class SkillState:
    """What the student knows of one skill, as every report and view shows it. A plain dataclass:
    a report builds one per skill per round, and validating each (pydantic) would take most of
    the report's time budget; the values come from `MasteryTable`, already of the right types."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    skill_id: str
    alpha: Annotated[float, Field(description="Posterior alpha: prior + decayed weighted successes.")]
    beta: Annotated[float, Field(description="Posterior beta: prior + decayed weighted failures.")]
    attempts: Annotated[float, Field(description="Raw number of answers observed (eval + train, undecayed, unweighted).")]
    successes: Annotated[float, Field(description="Raw number of those that were right.")]
    mean: Annotated[float, Field(description="Posterior mean of the success probability.")]
    ci_low: Annotated[float, Field(description="Lower end of the equal-tailed credible interval.")]
    ci_high: Annotated[float, Field(description="Upper end of the equal-tailed credible interval.")]
    evidence: Annotated[float, Field(description="Effective observation count: alpha + beta minus the prior.")]
    mastered: Annotated[bool, Field(description="mean >= threshold and evidence >= min_evidence.")]
    trend: Annotated[float, Field(description="Learning progress: latest held-out accuracy minus the mean of the previous trend_window.")]
    last_seen: Annotated[int | None, Field(description="Last round with any evidence; None if never observed.")]
    history: Annotated[list[float | None], Field(description="Held-out accuracy per round (index = round); None where not evaluated.")] = (
        field(default_factory=list)
    )
    regressed: Annotated[
        bool, Field(description="Was mastered, and the latest held-out accuracy fell regression_drop below its best since.")
    ] = False


SKILL_STATE = TypeAdapter(SkillState)
"""Validates a SkillState from a dict or JSON (`SKILL_STATE.validate_python(...)`) and dumps one."""


@dataclass(frozen=True)
class MasteryTable:
    """Mastery of many skills as numpy columns, one entry per id (`accuracy` is rounds × skills,
    NaN where a skill was not evaluated). Reports select and sort on these columns, then turn them
    into SkillState records once."""

    ids: list[str]
    alpha: np.ndarray
    beta: np.ndarray
    attempts: np.ndarray
    successes: np.ndarray
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    evidence: np.ndarray
    mastered: np.ndarray
    trend: np.ndarray
    last_seen: np.ndarray
    accuracy: np.ndarray
    regressed: np.ndarray

    def states(self) -> dict[str, SkillState]:
        hist = self.accuracy.T.astype(object)
        hist[np.isnan(self.accuracy.T)] = None
        last_seen = [None if ls < 0 else ls for ls in self.last_seen.tolist()]
        rows = zip(
            self.ids,
            self.alpha.tolist(),
            self.beta.tolist(),
            self.attempts.tolist(),
            self.successes.tolist(),
            self.mean.tolist(),
            self.ci_low.tolist(),
            self.ci_high.tolist(),
            self.evidence.tolist(),
            self.mastered.tolist(),
            self.trend.tolist(),
            last_seen,
            hist.tolist(),
            self.regressed.tolist(),
        )
        return {row[0]: SkillState(*row) for row in rows}


def latest_and_trend(acc: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column of `acc` (rounds × skills, NaN = not evaluated): the latest value, and latest
    minus the mean of up to `window` earlier values (0 when there is no earlier one)."""
    R, m = acc.shape
    latest = np.full(m, np.nan)
    prev_sum = np.zeros(m)
    prev_cnt = np.zeros(m)
    for r in range(R - 1, -1, -1):  # rounds, not skills: a few dozen vector steps at most
        v = acc[r]
        ok = ~np.isnan(v)
        first = ok & np.isnan(latest)
        more = ok & ~first & ~np.isnan(latest) & (prev_cnt < window)
        latest[first] = v[first]
        prev_sum[more] += v[more]
        prev_cnt[more] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = np.where(prev_cnt > 0, latest - prev_sum / np.maximum(prev_cnt, 1), 0.0)
    return latest, trend


def beta_interval(a: np.ndarray, b: np.ndarray, tail: float = 0.025) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed credible interval of Beta(a, b): its `tail` and `1 - tail` quantiles. The upper
    end is taken as 1 minus the lower quantile of Beta(b, a), which keeps its distance from 1
    accurate when it lies close to 1; both ends come from one vectorised `betaincinv` call."""
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    q = betaincinv(np.concatenate([a, b]), np.concatenate([b, a]), tail)
    return q[: a.size], 1.0 - q[a.size :]
