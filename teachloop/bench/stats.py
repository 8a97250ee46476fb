"""Bench statistics: paired differences against random on the pre-registered headline (every
skill in play), t-based 95 % intervals, generations to random's smoothed final accuracy (censored
at the budget, never dropped), shares of the rollout budget.

With several warm starts (SFT seeds) the runs are two-level: GRPO seeds nested in warm starts. A
t-interval over all runs would treat the GRPO seeds of one warm start as independent and leave out
the warm-start variance (between two warm starts random's gain once moved from +10.8 to +1.7), so
every interval is clustered: average the per-run values (paired differences for Δ) over the GRPO
seeds within each warm start, then a t-interval over the W warm-start means (df = W − 1). With one
warm start this is today's t-interval over seeds, which leaves the warm-start variance out."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
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


CI_CLUSTERED = "CI: t over W warm-start means of the paired difference, GRPO seeds averaged within each"
CI_SEEDS = "CI: t over GRPO seeds (one warm start: the interval leaves out warm-start variance)"


def clustered_ci(groups: Mapping[int, Sequence[float]]) -> tuple[float, float]:
    """(mean, half-width) of the two-level model: each group (a warm start) averaged over its values
    (its GRPO seeds), then the t-based 95 % interval over the group means, df = groups − 1. With
    one group it falls back to `mean_ci` over its values."""
    kept = {w: [x for x in xs if x is not None and not math.isnan(x)] for w, xs in groups.items()}
    kept = {w: xs for w, xs in kept.items() if xs}
    if len(kept) <= 1:
        return mean_ci(next(iter(kept.values()), []))
    return mean_ci([sum(xs) / len(xs) for xs in kept.values()])


_Key = tuple[int, int]  # a run's (warm start, GRPO seed)


def ci_model(warm_starts: int) -> str:
    """The name of the interval's model, written into the result and the table."""
    return CI_CLUSTERED if warm_starts > 1 else CI_SEEDS


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
    by: dict[str, dict[_Key, RunResult]] = defaultdict(dict)
    for r in result.runs:
        by[r.strategy][(r.warm_start, r.seed)] = r

    def avg(acc: dict[str, float], skills: Sequence[str]) -> float:
        return _mean([acc.get(k, 0.0) for k in skills])

    # each run's start is its own warm start's (results before warm starts: the one shared start)
    starts = {w: (ws.start, ws.start_curve) for w, ws in enumerate(result.warm)}

    def start_of(key: _Key) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
        return starts.get(key[0], (result.start, result.start_curve))

    def curve(key: _Key, run: RunResult) -> list[tuple[int, float]]:
        return [(0, avg(start_of(key)[1], tg))] + [(_x(p), curve_metric(p, tg)) for p in run.curve]

    def ci(values: dict[_Key, float]) -> tuple[float, float]:
        groups: dict[int, list[float]] = defaultdict(list)
        for (w, _), v in sorted(values.items()):
            groups[w].append(v)
        return clustered_ci(groups)

    base = by.get("random", {})
    start_h = avg(result.start.get("heldout", {}), tg)
    start_o = avg(result.start.get("ood", {}), tg)
    target = reach_target([curve(k, base[k]) for k in sorted(base)]) if base else float("nan")
    budget = cfg.budget if not cfg.legacy else cfg.total_steps * cfg.rollouts_per_step
    out: dict[str, Any] = {
        "headline": tg,
        "targeted": tg,  # the key earlier renderers read
        "legacy": cfg.legacy,
        "subset": list(cfg.subset),
        "subset_reason": cfg.subset_reason,
        "split": cfg.split,
        "probe_for": cfg.probe_for,
        "warm_starts": cfg.warm_starts,
        "grpo_seeds_per_warm_start": cfg.seeds,
        "sft_seeds": cfg.sft_seeds(),
        "grpo_seeds": [cfg.grpo_seeds(w) for w in range(cfg.warm_starts)],
        "ci_model": ci_model(cfg.warm_starts),
        "start_heldout": start_h,
        "start_ood": start_o,
        "reach_target": target,
        "strategies": {},
    }
    heads: dict[str, tuple[dict[_Key, float], dict[_Key, float]]] = {}  # per strategy: each run's held-out, OOD headline
    for name, runs in by.items():
        keys = sorted(runs)
        h = {k: avg(runs[k].heldout, tg) for k in keys}
        o = {k: avg(runs[k].ood, tg) for k in keys}
        heads[name] = (h, o)
        row: dict[str, Any] = {
            "seeds": [s for _, s in keys],
            "warm_starts": [w for w, _ in keys],
            "heldout": ci(h),
            "ood": ci(o),
            "heldout_all": ci({k: _mean(list(runs[k].heldout.values())) for k in keys}),
            "gain": ci({k: h[k] - avg(start_of(k)[0].get("heldout", {}), tg) for k in keys}),
            "ood_gain": ci({k: o[k] - avg(start_of(k)[0].get("ood", {}), tg) for k in keys}),
            "rollouts": _mean([runs[k].rollouts for k in keys]),
            "generations": _mean([runs[k].generations or runs[k].rollouts + runs[k].diagnostic_generations for k in keys]),
        }
        paired = [k for k in keys if k in base]
        if cfg.subset:
            row["subset_heldout"] = ci({k: avg(runs[k].heldout, cfg.subset) for k in keys})
        if base and name != "random":
            row["delta_heldout"] = ci({k: h[k] - avg(base[k].heldout, tg) for k in paired})
            row["delta_ood"] = ci({k: o[k] - avg(base[k].ood, tg) for k in paired})
            if cfg.subset:
                row["delta_subset"] = ci({k: avg(runs[k].heldout, cfg.subset) - avg(base[k].heldout, cfg.subset) for k in paired})
        reached = {k: reach(curve(k, runs[k]), target, budget) for k in keys} if base else {}
        row["reach"] = ci({k: x for k, (x, _) in reached.items()}) if reached else (float("nan"), float("nan"))
        row["reached"] = [sum(ok for _, ok in reached.values()), len(reached)]
        row.update(run_aggregates([runs[k] for k in keys], cfg.skills))
        row["curve"] = _mean_curve([curve(k, runs[k]) for k in keys], [w for w, _ in keys])
        out["strategies"][name] = row
    out["teacher_vs"] = _teacher_vs(heads, ci)
    rnd = out["strategies"].get("random")
    for row in out["strategies"].values():
        m, r = row["reach"][0], (rnd["reach"][0] if rnd else float("nan"))
        row["reach_ratio"] = m / r if r and not math.isnan(r) and not math.isnan(m) else float("nan")
    return out


def run_aggregates(runs: Sequence[RunResult], skills: Sequence[str]) -> dict[str, Any]:
    """What a strategy's table rows show besides its headline, over its runs: mean wall time per
    phase, per-skill final accuracies, where its training problems went, and its rollout stats."""
    wall: dict[str, float] = defaultdict(float)
    for r in runs:
        for ph, v in r.wall.items():
            wall[ph] += v / len(runs)
    total = sum(sum(r.problems_per_skill.values()) for r in runs) or 1
    per_base: dict[str, int] = defaultdict(int)
    for r in runs:
        for sid, c in r.problems_per_skill.items():
            per_base[_base_skill(sid, skills)] += c
    tw = wall.get("train", 0.0) + wall.get("curriculum", 0.0) + wall.get("diagnostic_eval", 0.0)
    return {
        "wall": dict(wall),
        "per_skill_heldout": {sk: _mean([r.heldout.get(sk, 0.0) for r in runs]) for sk in skills},
        "per_skill_ood": {sk: _mean([r.ood.get(sk, 0.0) for r in runs]) for sk in skills},
        "share_per_skill": {sk: per_base.get(sk, 0) / total for sk in skills},
        "curriculum_share": (wall.get("curriculum", 0.0) + wall.get("diagnostic_eval", 0.0)) / tw if tw else float("nan"),
        "zero_variance_groups": _mean([r.zero_variance_groups for r in runs]),
        "train_pass_rate": _mean([r.train_pass_rate for r in runs]),
    }


def _teacher_vs(heads: Mapping[str, tuple[dict[_Key, float], dict[_Key, float]]], ci: Any) -> dict[str, dict[str, Any]]:
    """Each teacher against each baseline (not random, which the table pairs with already): the
    paired headline differences, same runs and same interval model as the table. `best` is the
    baseline with the highest mean held-out headline: the strongest opponent, named after the run."""
    out: dict[str, dict[str, Any]] = {}
    baselines = [n for n in heads if not n.startswith("teacher") and n != "random"]
    for name in (n for n in heads if n.startswith("teacher")):
        (th, to), rows = heads[name], {}
        for other in baselines:
            bh, bo = heads[other]
            keys = [k for k in th if k in bh]
            rows[other] = {
                "delta_heldout": ci({k: th[k] - bh[k] for k in keys}),
                "delta_ood": ci({k: to[k] - bo[k] for k in keys}),
                "pairs": len(keys),
            }
        if rows:
            out[name] = {"best": max(baselines, key=lambda n: _mean(heads[n][0].values())), "against": rows}
    return out


def _base_skill(sid: str, skills: Sequence[str]) -> str:
    """A discovered sub-skill ('add.1digit.carry') counts for its seed skill."""
    for k in sorted(skills, key=len, reverse=True):
        if sid == k or sid.startswith(k + "."):
            return k
    return sid


def _mean_curve(curves: list[list[tuple[int, float]]], warm: Sequence[int] | None = None) -> list[list[float]]:
    """[x, mean, half-width] per curve position; with `warm` (each curve's warm start) the band is
    the clustered interval of the table's numbers."""
    pts: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i, c in enumerate(curves):
        for x, y in c:
            pts[x][warm[i] if warm is not None else 0].append(y)
    return [[x, *clustered_ci(groups)] for x, groups in sorted(pts.items())]
