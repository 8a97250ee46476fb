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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachloop.skills.records import Attempt, Record, SkillEval, is_correct

Phase = Literal["eval", "train"]
M = TypeVar("M", bound=BaseModel)


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


class SkillState(Record):
    """What the student knows of one skill, as every report and view shows it."""

    skill_id: str
    alpha: float = Field(description="Posterior alpha: prior + decayed weighted successes.")
    beta: float = Field(description="Posterior beta: prior + decayed weighted failures.")
    attempts: float = Field(description="Raw number of answers observed (eval + train, undecayed, unweighted).")
    successes: float = Field(description="Raw number of those that were right.")
    mean: float = Field(description="Posterior mean of the success probability.")
    ci_low: float = Field(description="Lower end of the equal-tailed credible interval.")
    ci_high: float = Field(description="Upper end of the equal-tailed credible interval.")
    evidence: float = Field(description="Effective observation count: alpha + beta minus the prior.")
    mastered: bool = Field(description="mean >= threshold and evidence >= min_evidence.")
    trend: float = Field(description="Learning progress: latest held-out accuracy minus the mean of the previous trend_window.")
    last_seen: int | None = Field(description="Last round with any evidence; None if never observed.")
    history: list[float | None] = Field(
        default_factory=list, description="Held-out accuracy per round (index = round); None where not evaluated."
    )
    regressed: bool = Field(
        default=False, description="Was mastered, and the latest held-out accuracy fell regression_drop below its best since."
    )


def trusted_constructor(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A builder of `cls` records from values this package computed itself (every field present,
    already of the right type), skipping validation. Validation costs ~5 µs per object on the
    2-core machine, half the 100 ms report budget at 10,000 skills; this does what
    `BaseModel.model_construct` does minus its per-field Python loop. Tests check its records
    equal validated copies, so a pydantic upgrade that changes the internals cannot slip by.
    All fields count as set, and the fields-set object is shared: pydantic only ever adds field
    names to it, and they are all there already."""
    fields_set = set(cls.model_fields)
    new = cls.__new__
    set_dict = object.__setattr__
    set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
    set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
    set_private = BaseModel.__dict__["__pydantic_private__"].__set__

    def make(values: dict[str, Any]) -> M:
        obj = new(cls)
        set_dict(obj, "__dict__", values)
        set_fields(obj, fields_set)
        set_extra(obj, None)
        set_private(obj, None)
        return obj

    return make


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
            self.last_seen.tolist(),
            hist.tolist(),
            self.regressed.tolist(),
        )
        make = _make_state
        return {
            sid: make(
                {
                    "skill_id": sid,
                    "alpha": a,
                    "beta": b,
                    "attempts": n,
                    "successes": s,
                    "mean": mu,
                    "ci_low": lo,
                    "ci_high": hi,
                    "evidence": ev,
                    "mastered": ms,
                    "trend": tr,
                    "last_seen": ls if ls >= 0 else None,
                    "history": h,
                    "regressed": rg,
                }
            )
            for sid, a, b, n, s, mu, lo, hi, ev, ms, tr, ls, h, rg in rows
        }


_make_state = trusted_constructor(SkillState)


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
        latest, trend = _latest_and_trend(acc, cfg.trend_window)
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


def _latest_and_trend(acc: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
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


# ---------------------------------------------------------------------- Beta quantiles
# numpy has no incomplete beta function and this layer takes no scipy, so the interval is
# computed here: Numerical Recipes' invbetai (a closed-form first guess, then Halley steps on the
# regularised incomplete beta evaluated by Lentz's continued fraction), vectorised over skills.

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Γ(x) for x > 0: shift below 7 up by 7 (Γ(x+7) = x(x+1)…(x+6) Γ(x)), then Stirling's
    series, whose first omitted term is < 3e-11 there."""
    x = np.asarray(x, dtype=float)
    small = x < 7.0
    z = np.where(small, x + 7.0, x)
    shift = np.where(small, x * (x + 1) * (x + 2) * (x + 3) * (x + 4) * (x + 5) * (x + 6), 1.0)
    zi = 1.0 / z
    zi2 = zi * zi
    series = zi * (1 / 12 - zi2 * (1 / 360 - zi2 * (1 / 1260 - zi2 * (1 / 1680))))
    return (z - 0.5) * np.log(z) - z + _HALF_LOG_2PI + series - np.log(shift)


def _betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray, tol: float = 1e-13, guard: bool = False) -> np.ndarray:
    """Continued fraction of the incomplete beta (modified Lentz), for x < (a+1)/(a+b+2).

    Entries leave the working set in batches as they converge, so the cost follows the typical
    entry, not the slowest. Lentz's guard against a zero denominator costs a third of the work and
    never fires in this region for a, b > 0, so it runs only to redo an entry that came out
    non-finite."""
    a0, b0, x0 = (np.array(v, dtype=float) for v in np.broadcast_arrays(a, b, x))
    a, b, x = a0, b0, x0
    out = np.empty_like(x)
    pos = np.arange(x.size)
    qab = a + b
    nz = _nz if guard else (lambda v: v)
    c = np.ones_like(x)
    d = 1.0 / nz(1.0 - qab * x / (a + 1.0))
    h = d.copy()
    pending = np.zeros(x.size, dtype=bool)
    for m in range(1, 301):
        t = a + 2 * m  # (a + 2m); the two Lentz steps need (t-1)t and t(t+1)
        aa = m * x * (b - m) / ((t - 1.0) * t)
        d = 1.0 / nz(1.0 + aa * d)
        c = nz(1.0 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / (t * (t + 1.0))
        d = 1.0 / nz(1.0 + aa * d)
        c = nz(1.0 + aa / c)
        de = d * c
        h *= de
        pending |= np.abs(de - 1.0) < tol
        n_done = np.count_nonzero(pending)
        if n_done == pending.size:
            break
        if n_done * 2 >= pending.size:  # drop converged entries once half have converged
            out[pos[pending]] = h[pending]
            keep = ~pending
            pos, a, b, x, qab, c, d, h = (v[keep] for v in (pos, a, b, x, qab, c, d, h))
            pending = np.zeros(pos.size, dtype=bool)
    out[pos] = h
    bad = ~np.isfinite(out)
    if not guard and bad.any():
        out[bad] = _betacf(a0[bad], b0[bad], x0[bad], tol, guard=True)
    return out


def _nz(v: np.ndarray, tiny: float = 1e-300) -> np.ndarray:
    """Lentz's guard: replace (near-)zeros by a tiny number."""
    return np.where(np.abs(v) < tiny, tiny, v)


def _log_beta_fn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _lgamma(a) + _lgamma(b) - _lgamma(a + b)


def beta_cdf(x: np.ndarray, a: np.ndarray, b: np.ndarray, log_beta: np.ndarray | None = None, tol: float = 1e-13) -> np.ndarray:
    """Regularised incomplete beta I_x(a, b), vectorised (`log_beta` = log B(a, b) if known;
    `tol` = relative accuracy of the continued fraction)."""
    x, a, b = np.broadcast_arrays(np.asarray(x, float), np.asarray(a, float), np.asarray(b, float))
    if log_beta is None:
        log_beta = _log_beta_fn(a, b)
    xc = np.clip(x, 1e-300, 1 - 1e-16)
    bt = np.exp(a * np.log(xc) + b * np.log1p(-xc) - log_beta)
    direct = xc < (a + 1.0) / (a + b + 2.0)
    cf = _betacf(np.where(direct, a, b), np.where(direct, b, a), np.where(direct, xc, 1.0 - xc), tol)
    out = np.where(direct, bt * cf / a, 1.0 - bt * cf / b)
    return np.where(x <= 0, 0.0, np.where(x >= 1, 1.0, out))


def beta_ppf(p: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quantile of Beta(a, b) at probability p (0 < p < 1), vectorised over a and b."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    a, b = a.astype(float), b.astype(float)
    with np.errstate(all="ignore"):
        # First guess: Abramowitz & Stegun 26.5.22 when a, b >= 1, else the tail power law.
        pp = p if p < 0.5 else 1.0 - p
        t = math.sqrt(-2.0 * math.log(pp))
        z = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t
        z = -z if p < 0.5 else z
        al = (z * z - 3.0) / 6.0
        h = 2.0 / (1.0 / (2.0 * a - 1.0) + 1.0 / (2.0 * b - 1.0))
        w = z * np.sqrt(al + h) / h - (1.0 / (2.0 * b - 1.0) - 1.0 / (2.0 * a - 1.0)) * (al + 5.0 / 6.0 - 2.0 / (3.0 * h))
        x_big = a / (a + b * np.exp(2.0 * w))
        lna, lnb = np.log(a / (a + b)), np.log(b / (a + b))
        tt, uu = np.exp(a * lna) / a, np.exp(b * lnb) / b
        ww = tt + uu
        x_small = np.where(p < tt / ww, (a * ww * p) ** (1.0 / a), 1.0 - (b * ww * (1.0 - p)) ** (1.0 / b))
        x = np.where((a >= 1.0) & (b >= 1.0), x_big, x_small)
        x = np.clip(np.nan_to_num(x, nan=0.5), 1e-300, 1.0 - 1e-16)

        log_beta = _log_beta_fn(a, b)
        a1, b1 = a - 1.0, b - 1.0
        active = np.ones(x.shape, dtype=bool)
        for j in range(12):
            if not active.any():
                break
            xa, aa, ba, a1a, b1a = x[active], a[active], b[active], a1[active], b1[active]
            lb = log_beta[active]
            # The first step starts ~1e-3 off, so a CDF good to 1e-8 serves it as well as an exact one.
            err = beta_cdf(xa, aa, ba, lb, 1e-8 if j == 0 else 1e-13) - p
            dens = np.exp(a1a * np.log(xa) + b1a * np.log1p(-xa) - lb)
            u = err / dens
            step = u / (1.0 - 0.5 * np.minimum(1.0, u * (a1a / xa - b1a / (1.0 - xa))))
            xn = xa - step
            xn = np.where(xn <= 0.0, 0.5 * (xa + 0.0), xn)  # bisect towards the boundary instead of crossing it
            xn = np.where(xn >= 1.0, 0.5 * (xa + 1.0), xn)
            x[active] = xn
            # Halley converges cubically: after a step below 1e-6 x, the error left is ~1e-18.
            done = (np.abs(step) < 1e-6 * xn) | ~np.isfinite(step)
            active[np.flatnonzero(active)[done]] = False
    return x


def beta_interval(a: np.ndarray, b: np.ndarray, tail: float = 0.025) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed credible interval of Beta(a, b): its `tail` and `1 - tail` quantiles. The upper
    quantile of Beta(a, b) is 1 minus the lower one of Beta(b, a), so both ends are solved in one
    vector pass at the same probability."""
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    q = beta_ppf(tail, np.concatenate([a, b]), np.concatenate([b, a]))
    return q[: a.size], 1.0 - q[a.size :]
