"""The mastery model: per skill a Beta posterior over the student's success probability.

Evidence is a pseudo-count: a held-out eval problem answered right adds 1 to alpha, wrong adds 1 to
beta; a training rollout adds `train_weight` (it is on problems the student is being taught, so it
says less about the skill). The prior itself never fades: with no evidence the state returns to it.

Recency: the tracker keeps a round clock, the latest round it has heard of (from evidence or from
`end_round`). When the clock moves from round K to K+n, every pseudo-count gathered so far is
multiplied by `decay**n`: once per round boundary, however many calls a round has. Evidence of a
round older than the clock counts `decay**(clock - round)`. So the states read at the end of round
K show round K at full weight whichever order the episode calls record_eval, the report, the
snapshot and end_round in, and a tracker restored from a snapshot goes on exactly as before:

    observe_training(train attempts of K)     # any time during round K
    record_eval(K, evals)                     # held-out accuracy history + eval evidence
    build_weakness_report(...); snapshot      # round K at full weight, K-1 at decay, ...
    end_round(K)                              # closes K; idempotent

State lives in numpy arrays indexed by skill, so a 10,000-skill report is a handful of vector
operations rather than a Python loop over attempts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachloop.skills.records import Attempt, SkillEval, is_correct
from teachloop.skills.skill_state import MasteryTable, SkillState, beta_interval, latest_and_trend

Phase = Literal["eval", "train"]


class MasteryConfig(BaseModel):
    """Knobs of the mastery model; the defaults suit ~10-50 held-out problems per skill per round."""

    model_config = ConfigDict(extra="forbid")

    prior_alpha: float = Field(default=1.0, gt=0, description="Beta prior pseudo-successes (1, 1 = uniform).")
    prior_beta: float = Field(default=1.0, gt=0, description="Beta prior pseudo-failures.")
    decay: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="Per-round multiplier on the pseudo-counts gathered so far (recency weighting); 1 = never forget.",
    )
    threshold: float = Field(default=0.7, gt=0, lt=1, description="Posterior mean at or above which a skill can count as mastered.")
    min_evidence: float = Field(
        default=8.0, ge=0, description="Effective (decayed, weighted) observation count a skill needs before it can count as mastered."
    )
    train_weight: float = Field(default=0.5, ge=0, le=1, description="Weight of one training rollout relative to one held-out eval answer.")
    regression_drop: float = Field(
        default=0.15,
        gt=0,
        le=1,
        description="Drop in held-out accuracy, below the best accuracy seen while mastered, that flags a regression.",
    )
    trend_window: int = Field(
        default=2, ge=1, description="Learning progress = latest held-out accuracy minus the mean of this many earlier ones."
    )
    credible_mass: float = Field(default=0.95, gt=0, lt=1, description="Mass of the equal-tailed credible interval.")
    eval_split: str = Field(default="heldout", description="The eval split that feeds mastery and history (OOD splits do not).")


class MasteryTracker:
    """Beta posteriors for all skills seen so far; a skill never seen reads as the prior."""

    def __init__(self, config: MasteryConfig | None = None):
        self._reset(config or MasteryConfig())

    def _reset(self, config: MasteryConfig) -> None:
        self.config = config
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        cap = 16
        self._succ = np.zeros(cap)  # decayed weighted pseudo-successes (beyond the prior)
        self._fail = np.zeros(cap)
        self._raw_n = np.zeros(cap)
        self._raw_s = np.zeros(cap)
        self._last_seen = np.full(cap, -1, dtype=np.int64)
        self._peak = np.full(cap, np.nan)  # best held-out accuracy of a round where the skill was mastered
        self._hist_c = np.zeros((0, cap))  # held-out correct per round × skill
        self._hist_n = np.zeros((0, cap))  # held-out problems per round × skill (0 = not evaluated)
        self._clock: int | None = None  # latest round heard of; pseudo-counts are as of this round

    # ------------------------------------------------------------------ storage
    def _grow(self, need: int) -> None:
        cap = len(self._succ)
        if need <= cap:
            return
        new = max(need, 2 * cap)

        def pad(a: np.ndarray, fill: float) -> np.ndarray:
            out = np.full(a.shape[:-1] + (new,), fill, dtype=a.dtype)
            out[..., :cap] = a
            return out

        self._succ, self._fail = pad(self._succ, 0), pad(self._fail, 0)
        self._raw_n, self._raw_s = pad(self._raw_n, 0), pad(self._raw_s, 0)
        self._last_seen, self._peak = pad(self._last_seen, -1), pad(self._peak, np.nan)
        self._hist_c, self._hist_n = pad(self._hist_c, 0), pad(self._hist_n, 0)

    def _ensure(self, skill_ids: Iterable[str]) -> np.ndarray:
        """Indices of the given skills, registering new ones."""
        index = self._index
        out = []
        for sid in skill_ids:
            i = index.get(sid)
            if i is None:
                i = index[sid] = len(self._ids)
                self._ids.append(sid)
            out.append(i)
        self._grow(len(self._ids))
        return np.asarray(out, dtype=np.int64)

    def _grow_rounds(self, round: int) -> None:
        have = self._hist_c.shape[0]
        if round >= have:
            extra = np.zeros((round + 1 - have, self._hist_c.shape[1]))
            self._hist_c = np.vstack([self._hist_c, extra])
            self._hist_n = np.vstack([self._hist_n, extra])

    @property
    def skill_ids(self) -> list[str]:
        """Skills with any recorded evidence or eval, in first-seen order."""
        return list(self._ids)

    # ------------------------------------------------------------------ evidence
    def observe(self, skill_id: str, successes: float, attempts: float, *, round: int, phase: Phase) -> None:
        """Add `successes` right answers out of `attempts` for one skill."""
        self.observe_many([skill_id], [successes], [attempts], round=round, phase=phase)

    def observe_many(
        self,
        skill_ids: Sequence[str],
        successes: Sequence[float] | np.ndarray,
        attempts: Sequence[float] | np.ndarray,
        *,
        round: int,
        phase: Phase,
    ) -> None:
        """Vectorised `observe`: one entry per skill id (ids may repeat; their counts add up)."""
        s = np.asarray(successes, dtype=float)
        n = np.asarray(attempts, dtype=float)
        if s.shape != n.shape or s.shape != (len(skill_ids),):
            raise ValueError("observe_many: skill_ids, successes and attempts must have the same length")
        if np.any(s < 0) or np.any(s > n):
            raise ValueError("observe: need 0 <= successes <= attempts")
        if phase not in ("eval", "train"):
            raise ValueError(f"observe: phase must be 'eval' or 'train', not {phase!r}")
        self._observe_idx(self._ensure(skill_ids), s, n, round=round, phase=phase)

    def _observe_idx(self, idx: np.ndarray, s: np.ndarray, n: np.ndarray, *, round: int, phase: Phase) -> None:
        self._advance(round)
        w = 1.0 if phase == "eval" else self.config.train_weight
        if round < self._clock:  # late evidence fades as if it had arrived on time
            w *= self.config.decay ** (self._clock - round)
        np.add.at(self._succ, idx, w * s)
        np.add.at(self._fail, idx, w * (n - s))
        np.add.at(self._raw_s, idx, s)
        np.add.at(self._raw_n, idx, n)
        np.maximum.at(self._last_seen, idx, round)

    def observe_training(self, attempts: Iterable[Attempt]) -> None:
        """Add GRPO training rollouts: each completion is one trial, right when its reward >= 1.

        Eval attempts are skipped: `record_eval` already counts them through their SkillEvals."""
        groups: dict[tuple[int, str], list[float]] = {}
        for a in attempts:
            if a.phase != "train" or not a.rewards:
                continue
            g = groups.setdefault((a.round, a.skill_id), [0.0, 0.0])
            g[0] += sum(map(is_correct, a.rewards))
            g[1] += len(a.rewards)
        by_round: dict[int, list[tuple[str, float, float]]] = {}
        for (rnd, sid), (s, n) in groups.items():
            by_round.setdefault(rnd, []).append((sid, s, n))
        for rnd, rows in sorted(by_round.items()):
            ids, s, n = zip(*rows)
            self.observe_many(list(ids), s, n, round=rnd, phase="train")

    def record_eval(self, round: int, evals: Iterable[SkillEval]) -> None:
        """Record one evaluation of round `round`: the held-out split becomes that round's accuracy
        in each skill's history and is observed as eval evidence. Other splits (OOD levels never
        trained on) are not part of mastery. A second call for the same round replaces the history
        entry (it measured a newer student) and adds its evidence."""
        agg: dict[str, list[int]] = {}
        for e in evals:
            if e.split != self.config.eval_split or e.n <= 0:
                continue
            c = agg.setdefault(e.skill_id, [0, 0])
            c[0] += e.correct
            c[1] += e.n
        if agg:
            correct, n = zip(*agg.values())
            self.record_eval_counts(round, list(agg), correct, n)

    def record_eval_counts(
        self, round: int, skill_ids: Sequence[str], correct: Sequence[float] | np.ndarray, n: Sequence[float] | np.ndarray
    ) -> None:
        """Vectorised `record_eval` for already aggregated held-out counts (unique skill ids)."""
        c = np.asarray(correct, dtype=float)
        n_ = np.asarray(n, dtype=float)
        if c.shape != n_.shape or c.shape != (len(skill_ids),):
            raise ValueError("record_eval_counts: skill_ids, correct and n must have the same length")
        if np.any(c < 0) or np.any(c > n_):
            raise ValueError("record_eval: need 0 <= correct <= n")
        idx = self._ensure(skill_ids)
        if len(np.unique(idx)) != len(idx):
            raise ValueError("record_eval_counts: skill ids must be unique")
        self._grow_rounds(round)
        self._hist_c[round, idx] = c
        self._hist_n[round, idx] = n_
        self._observe_idx(idx, c, n_, round=round, phase="eval")
        ok = self._mastered(self._succ[idx], self._fail[idx]) & (n_ > 0)
        self._peak[idx[ok]] = np.fmax(self._peak[idx[ok]], c[ok] / n_[ok])

    def end_round(self, round: int) -> None:
        """Close round `round`: the clock moves to it if behind. The decay of the boundary is applied
        when the clock first moves past it (evidence of a later round, or end_round of one), so the
        round just finished reads at full weight until then; calling it again does nothing."""
        self._advance(round)

    def _advance(self, round: int) -> None:
        """Move the clock to `round` if that is later, decaying all pseudo-counts once per boundary."""
        if self._clock is None:
            self._clock = round
        elif round > self._clock:
            f = self.config.decay ** (round - self._clock)
            self._succ *= f
            self._fail *= f
            self._clock = round

    # ------------------------------------------------------------------ reading
    def _mastered(self, succ: np.ndarray, fail: np.ndarray) -> np.ndarray:
        """Posterior mean at the threshold or above, with enough evidence."""
        cfg = self.config
        a = cfg.prior_alpha + succ
        return (a / (a + cfg.prior_beta + fail) >= cfg.threshold) & (succ + fail >= cfg.min_evidence)

    def state(self, skill_id: str) -> SkillState:
        return self.states([skill_id])[skill_id]

    def states(self, skill_ids: Iterable[str]) -> dict[str, SkillState]:
        """States of the given skills, computed together (one vector pass); unseen ones get the prior."""
        return self.table(skill_ids).states()

    def table(self, skill_ids: Iterable[str]) -> MasteryTable:
        """Mastery of the given skills as numpy columns: what `states` and reports compute on."""
        ids = list(skill_ids)
        cfg = self.config
        pos = np.fromiter((self._index.get(s, -1) for s in ids), dtype=np.int64, count=len(ids))
        known = pos >= 0
        idx = pos[known]
        m = len(ids)

        def gather(arr: np.ndarray, fill: float) -> np.ndarray:
            """Column values for `ids`; unseen skills read `fill` (the prior's zero evidence)."""
            out = np.full(arr.shape[:-1] + (m,), fill, dtype=arr.dtype)
            out[..., known] = arr[..., idx]
            return out

        succ, fail = gather(self._succ, 0.0), gather(self._fail, 0.0)
        a = cfg.prior_alpha + succ
        b = cfg.prior_beta + fail
        mean = a / (a + b)
        evidence = succ + fail
        lo, hi = beta_interval(a, b, (1.0 - cfg.credible_mass) / 2)
        hc, hn = gather(self._hist_c, 0.0), gather(self._hist_n, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(hn > 0, hc / np.where(hn > 0, hn, 1), np.nan)
        latest, trend = latest_and_trend(acc, cfg.trend_window)
        peak = gather(self._peak, np.nan)
        with np.errstate(invalid="ignore"):
            regressed = latest <= peak - cfg.regression_drop + 1e-12  # False where either is NaN
        return MasteryTable(
            ids=ids,
            alpha=a,
            beta=b,
            attempts=gather(self._raw_n, 0.0),
            successes=gather(self._raw_s, 0.0),
            mean=mean,
            ci_low=lo,
            ci_high=hi,
            evidence=evidence,
            mastered=self._mastered(succ, fail),
            trend=trend,
            last_seen=gather(self._last_seen, -1),
            accuracy=acc,
            regressed=regressed,
        )

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        """Plain JSON-able state (lists, no NaN) for snapshots and resume."""
        n = len(self._ids)
        return {
            "config": self.config.model_dump(),
            "skills": list(self._ids),
            "succ": self._succ[:n].tolist(),
            "fail": self._fail[:n].tolist(),
            "attempts": self._raw_n[:n].tolist(),
            "successes": self._raw_s[:n].tolist(),
            "last_seen": self._last_seen[:n].tolist(),
            "peak": [None if math.isnan(p) else p for p in self._peak[:n].tolist()],
            "hist_correct": self._hist_c[:, :n].tolist(),
            "hist_n": self._hist_n[:, :n].tolist(),
            "clock": self._clock,
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Replace this tracker's state (and config) with a `state_dict()`."""
        self._reset(MasteryConfig.model_validate(d["config"]))
        n = len(d["skills"])
        self._ensure(d["skills"])
        self._succ[:n] = d["succ"]
        self._fail[:n] = d["fail"]
        self._raw_n[:n] = d["attempts"]
        self._raw_s[:n] = d["successes"]
        self._last_seen[:n] = d["last_seen"]
        self._peak[:n] = [np.nan if p is None else p for p in d["peak"]]
        R = len(d["hist_n"])
        if R:
            self._grow_rounds(R - 1)
            self._hist_c[:, :n] = np.asarray(d["hist_correct"], dtype=float).reshape(R, n)
            self._hist_n[:, :n] = np.asarray(d["hist_n"], dtype=float).reshape(R, n)
        self._clock = d["clock"]

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> MasteryTracker:
        t = cls()
        t.load_state_dict(d)
        return t
