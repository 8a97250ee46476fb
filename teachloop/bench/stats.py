"""Bench statistics: paired differences against random on the pre-registered headline (every
skill in play), t-based 95 % intervals, generations to random's smoothed final accuracy (censored
at the budget, never dropped), shares of the rollout budget."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from teachloop.bench.config import BenchResult, CurvePoint, RunResult

_T975 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
]


def t_critical(df: int) -> float:
    """Two-sided 95 % Student-t quantile (scipy-free)."""
    if df < 1:
        return float("nan")
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df


def mean_ci(xs: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the t-based 95 % interval); half-width NaN for fewer than 2 values."""
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return float("nan"), float("nan")
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float("nan")
    return m, t_critical(len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))


def _mean(xs: Sequence[float]) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def curve_metric(point: CurvePoint, skills: Sequence[str]) -> float:
    return _mean([point.accuracy.get(s, 0.0) for s in skills])


def rollouts_to_reach(curve: Sequence[tuple[int, float]], target: float) -> float | None:
    """First rollout count at which the curve reaches `target`, linearly interpolated between points;
    None if it never does."""
    prev: tuple[int, float] | None = None
    for x, y in curve:
        if y >= target - 1e-12:
            if prev is None or prev[1] >= y:
                return float(x)
            x0, y0 = prev
            return x0 + (x - x0) * (target - y0) / (y - y0)
        prev = (x, y)
    return None


def _x(point: CurvePoint) -> int:
    """A curve point's position: student generations charged (rollouts before they were recorded)."""
    return point.generations if point.generations is not None else point.rollouts


def reach_target(curves: Sequence[Sequence[tuple[int, float]]], smooth: int = 3) -> float:
    """Random's mean final accuracy over seeds, each seed's final smoothed over its last `smooth`
    curve points (one curve point has a standard error of a few points)."""
    return _mean([_mean([y for _, y in c[-smooth:]]) for c in curves if c])


def reach(curve: Sequence[tuple[int, float]], target: float, budget: int) -> tuple[float, bool]:
    """(generations to reach `target`, reached?): a curve that never reaches it is censored at the
    budget (the value is then a lower bound), never dropped."""
    got = rollouts_to_reach(curve, target)
    return (got, True) if got is not None else (float(budget), False)


def summarize(result: BenchResult) -> dict[str, Any]:
    """The comparison's statistics; a legacy result (recorded before the pre-registered headline)
    gets its recorded ones (`teachloop.bench.legacy`)."""
    cfg = result.config
    if cfg.legacy:
        from teachloop.bench.legacy import legacy_summarize

        return legacy_summarize(result)
    tg = [s for s in (cfg.headline or cfg.skills) if s in cfg.skills]
    by: dict[str, dict[int, RunResult]] = defaultdict(dict)
    for r in result.runs:
        by[r.strategy][r.seed] = r
    start_curve = _mean([result.start_curve.get(s, 0.0) for s in tg])

    def curve(run: RunResult) -> list[tuple[int, float]]:
        return [(0, start_curve)] + [(_x(p), curve_metric(p, tg)) for p in run.curve]

    def avg(acc: dict[str, float], skills: Sequence[str]) -> float:
        return _mean([acc.get(k, 0.0) for k in skills])

    base = by.get("random", {})
    start_h = avg(result.start.get("heldout", {}), tg)
    start_o = avg(result.start.get("ood", {}), tg)
    target = reach_target([curve(base[s]) for s in sorted(base)]) if base else float("nan")
    budget = cfg.budget if not cfg.legacy else cfg.total_steps * cfg.rollouts_per_step
    out: dict[str, Any] = {
        "headline": tg,
        "targeted": tg,  # the key earlier renderers read
        "legacy": cfg.legacy,
        "subset": list(cfg.subset),
        "subset_reason": cfg.subset_reason,
        "split": cfg.split,
        "probe_for": cfg.probe_for,
        "start_heldout": start_h,
        "start_ood": start_o,
        "reach_target": target,
        "strategies": {},
    }
    for name, runs in by.items():
        seeds = sorted(runs)
        h = [avg(runs[s].heldout, tg) for s in seeds]
        o = [avg(runs[s].ood, tg) for s in seeds]
        row: dict[str, Any] = {
            "seeds": seeds,
            "heldout": mean_ci(h),
            "ood": mean_ci(o),
            "heldout_all": mean_ci([_mean(list(runs[s].heldout.values())) for s in seeds]),
            "gain": mean_ci([x - start_h for x in h]),
            "ood_gain": mean_ci([x - start_o for x in o]),
            "rollouts": _mean([runs[s].rollouts for s in seeds]),
            "generations": _mean([runs[s].generations or runs[s].rollouts + runs[s].diagnostic_generations for s in seeds]),
        }
        paired = [s for s in seeds if s in base]
        if cfg.subset:
            row["subset_heldout"] = mean_ci([avg(runs[s].heldout, cfg.subset) for s in seeds])
        if base and name != "random":
            row["delta_heldout"] = mean_ci([avg(runs[s].heldout, tg) - avg(base[s].heldout, tg) for s in paired])
            row["delta_ood"] = mean_ci([avg(runs[s].ood, tg) - avg(base[s].ood, tg) for s in paired])
            if cfg.subset:
                row["delta_subset"] = mean_ci([avg(runs[s].heldout, cfg.subset) - avg(base[s].heldout, cfg.subset) for s in paired])
        reached = [reach(curve(runs[s]), target, budget) for s in seeds] if base else []
        row["reach"] = mean_ci([x for x, _ in reached]) if reached else (float("nan"), float("nan"))
        row["reached"] = [sum(ok for _, ok in reached), len(reached)]
        wall: dict[str, float] = defaultdict(float)
        for s in seeds:
            for k, v in runs[s].wall.items():
                wall[k] += v / len(seeds)
        row["wall"] = dict(wall)
        row["per_skill_heldout"] = {k: _mean([runs[s].heldout.get(k, 0.0) for s in seeds]) for k in cfg.skills}
        row["per_skill_ood"] = {k: _mean([runs[s].ood.get(k, 0.0) for s in seeds]) for k in cfg.skills}
        total = sum(sum(runs[s].problems_per_skill.values()) for s in seeds) or 1
        per_base: dict[str, int] = defaultdict(int)
        for s in seeds:
            for sid, c in runs[s].problems_per_skill.items():
                per_base[_base_skill(sid, cfg.skills)] += c
        row["share_per_skill"] = {k: per_base.get(k, 0) / total for k in cfg.skills}
        tw = wall.get("train", 0.0) + wall.get("curriculum", 0.0) + wall.get("diagnostic_eval", 0.0)
        row["curriculum_share"] = (wall.get("curriculum", 0.0) + wall.get("diagnostic_eval", 0.0)) / tw if tw else float("nan")
        row["zero_variance_groups"] = _mean([runs[s].zero_variance_groups for s in seeds])
        row["train_pass_rate"] = _mean([runs[s].train_pass_rate for s in seeds])
        row["curve"] = _mean_curve([curve(runs[s]) for s in seeds])
        out["strategies"][name] = row
    rnd = out["strategies"].get("random")
    for row in out["strategies"].values():
        m, r = row["reach"][0], (rnd["reach"][0] if rnd else float("nan"))
        row["reach_ratio"] = m / r if r and not math.isnan(r) and not math.isnan(m) else float("nan")
    return out


def _base_skill(sid: str, skills: Sequence[str]) -> str:
    """A discovered sub-skill ('add.1digit.carry') counts for its seed skill."""
    for k in sorted(skills, key=len, reverse=True):
        if sid == k or sid.startswith(k + "."):
            return k
    return sid


def _mean_curve(curves: list[list[tuple[int, float]]]) -> list[list[float]]:
    pts: dict[int, list[float]] = defaultdict(list)
    for c in curves:
        for x, y in c:
            pts[x].append(y)
    return [[x, *mean_ci(ys)] for x, ys in sorted(pts.items())]
