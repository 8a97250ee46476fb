"""Results recorded before the pre-registered headline (their config names `targeted`, the skills
chosen after the results): their summary and Markdown table as they were recorded, so a re-render
reproduces the committed file. One fix applies: a seed where random never rose above its start
is no longer dropped from "reached" (the old `and own` condition)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from teachloop.bench.config import BenchResult, RunResult
from teachloop.bench.render import _pct, _pm, _setup_line, tables_and_setup
from teachloop.bench.stats import _mean, _mean_curve, curve_metric, mean_ci, rollouts_to_reach, run_aggregates

# BenchConfig fields added with the pre-registered headline (absent from the recorded files).
_NEW_FIELDS = {
    "headline",
    "subset",
    "subset_reason",
    "split",
    "probe_for",
    "warm_starts",
    "sft_seed0",
    "step_strategy_steps",
    "teacher_plan",
}


def legacy_summarize(result: BenchResult) -> dict[str, Any]:
    cfg = result.config
    tg = [s for s in (cfg.targeted or []) if s in cfg.skills]
    by: dict[str, dict[int, RunResult]] = defaultdict(dict)
    for r in result.runs:
        by[r.strategy][r.seed] = r
    start_curve = _mean([result.start_curve.get(s, 0.0) for s in tg])

    def curve(run: RunResult) -> list[tuple[int, float]]:
        return [(0, start_curve)] + [(p.rollouts, curve_metric(p, tg)) for p in run.curve]

    base = by.get("random", {})
    start_h = _mean([result.start.get("heldout", {}).get(s, 0.0) for s in tg])
    start_o = _mean([result.start.get("ood", {}).get(s, 0.0) for s in tg])
    out: dict[str, Any] = {"targeted": tg, "start_heldout": start_h, "start_ood": start_o, "strategies": {}}
    for name, runs in by.items():
        seeds = sorted(runs)
        h = [_mean([runs[s].heldout.get(k, 0.0) for k in tg]) for s in seeds]
        o = [_mean([runs[s].ood.get(k, 0.0) for k in tg]) for s in seeds]
        allh = [_mean(list(runs[s].heldout.values())) for s in seeds]
        row: dict[str, Any] = {
            "seeds": seeds,
            "heldout": mean_ci(h),
            "ood": mean_ci(o),
            "heldout_all": mean_ci(allh),
            "gain": mean_ci([x - start_h for x in h]),
            "ood_gain": mean_ci([x - start_o for x in o]),
        }
        paired = [s for s in seeds if s in base]
        if base and name != "random":
            row["delta_heldout"] = mean_ci(
                [_mean([runs[s].heldout.get(k, 0.0) for k in tg]) - _mean([base[s].heldout.get(k, 0.0) for k in tg]) for s in paired]
            )
            row["delta_ood"] = mean_ci(
                [_mean([runs[s].ood.get(k, 0.0) for k in tg]) - _mean([base[s].ood.get(k, 0.0) for k in tg]) for s in paired]
            )
        ratios, reached = [], 0
        for s in paired:
            target = curve(base[s])[-1][1]
            own = rollouts_to_reach(curve(base[s]), target)
            got = rollouts_to_reach(curve(runs[s]), target)
            if got is not None:  # reached, even where random never rose above its start (no ratio then)
                reached += 1
                if own:
                    ratios.append(got / own)
        row["reach_ratio"] = mean_ci(ratios) if ratios else (float("nan"), float("nan"))
        row["reach_median"] = statistics.median(ratios) if ratios else float("nan")
        row["reached"] = [reached, len(paired)]
        row.update(run_aggregates([runs[s] for s in seeds], cfg.skills))
        row["curve"] = _mean_curve([curve(runs[s]) for s in seeds])
        out["strategies"][name] = row
    return out


def legacy_markdown(result: BenchResult) -> str:
    cfg, sm, meta = result.config, result.summary, result.meta
    tg = ", ".join(sm["targeted"])
    lines = [
        f"# Curriculum benchmark: {cfg.env}, student `{cfg.student}`",
        "",
        f"{meta.get('date', '')} · {cfg.seeds} seed{'s' if cfg.seeds != 1 else ''} ({cfg.seed0}..{cfg.seed0 + cfg.seeds - 1}) · budget "
        f"{cfg.total_steps * cfg.rollouts_per_step} student rollouts per run ({cfg.total_steps} GRPO steps × "
        f"{cfg.grpo.prompts_per_step} prompts × {cfg.grpo.num_generations} completions, lr {cfg.grpo.resolved_learning_rate():g}, "
        f"T {cfg.grpo.temperature:g}) · a curriculum decision every {cfg.steps_per_round} steps · eval: "
        f"{cfg.heldout_per_skill} held-out + {cfg.ood_per_skill} OOD problems per skill",
        "",
        _setup_line(cfg, meta),
        "",
        f"Targeted skills (headline numbers average them): {tg}. Start: held-out {_pct(sm['start_heldout'])} %, "
        f"OOD {_pct(sm['start_ood'])} %. Accuracy in %, mean ± 95 % CI over seeds; Δ paired against random.",
        "",
        "| strategy | held-out | Δ vs random | OOD | Δ OOD vs random | all skills held-out | rollouts to random's final (× random's) | reached | wall s/run: train / curriculum / diagnostic eval (curriculum share) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in sm["strategies"].items():
        w = row["wall"]
        ratio = "1.00" if name == "random" else _ratio(row)
        lines.append(
            f"| {name} | {_pm(row['heldout'])} | {_pm(row.get('delta_heldout', (float('nan'), float('nan'))), True)} | "
            f"{_pm(row['ood'])} | {_pm(row.get('delta_ood', (float('nan'), float('nan'))), True)} | {_pm(row['heldout_all'])} | "
            f"{ratio} | {row['reached'][0]}/{row['reached'][1]} | "
            f"{w.get('train', 0):.0f} / {w.get('curriculum', 0):.1f} / {w.get('diagnostic_eval', 0):.1f} "
            f"({_pct(row.get('curriculum_share', float('nan')))} %) |"
        )
    rnd = sm["strategies"].get("random")
    if rnd:
        lines += [
            "",
            f"**random's gain on the targeted skills**: held-out {_pm(rnd['gain'], True)} points, "
            f"OOD {_pm(rnd['ood_gain'], True)} points (final − start).",
        ]
    return "\n".join(lines + tables_and_setup(result, _legacy_config(cfg)))


def _legacy_config(cfg: Any) -> dict[str, Any]:
    """The config as such results recorded it: without the newer bench fields, and with the GRPO
    settings' vLLM switch in its old shape (`use_vllm` + `vllm_mode`, before `vllm` replaced them)."""
    out = cfg.model_dump(mode="json", exclude=_NEW_FIELDS)
    grpo = {}
    for k, v in out["grpo"].items():
        if k == "vllm":
            grpo |= {"use_vllm": v is not None, "vllm_mode": v or "colocate", "vllm_server_base_url": None}
        elif k not in ("vllm_server_base_url", "keep_optimizer_state"):  # the latter came later (always off then)
            grpo[k] = v
    out["grpo"] = grpo
    return out


def _ratio(row: dict[str, Any]) -> str:
    m, h = row["reach_ratio"]
    if m is None or math.isnan(m):
        return "never"
    return f"{m:.2f}" + ("" if math.isnan(h) else f" ± {h:.2f}") + f" (median {row['reach_median']:.2f})"
