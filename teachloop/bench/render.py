"""Bench output: the Markdown table, the accuracy-vs-rollouts plot, results JSON read and write,
re-rendering a recorded JSON, and merging results over disjoint seeds."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from teachloop.bench.config import TINY_TARGETED, BenchConfig, BenchResult, RunResult, WarmStart
from teachloop.bench.stats import CI_SEEDS, summarize
from teachloop.errors import q
from teachloop.skills.files import write_atomic


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def _pm(mc: Sequence[float], signed: bool = False) -> str:
    m, h = mc
    if m is None or math.isnan(m):
        return "–"
    s = f"{100 * m:+.1f}" if signed else f"{100 * m:.1f}"
    return s if math.isnan(h) else f"{s} ± {100 * h:.1f}"


def _setup_line(cfg: BenchConfig, meta: dict[str, Any]) -> str:
    """Training reward and warm start, the two things that decide how much there is to learn."""
    reward = (
        f"training reward: exact match, a wrong answer {cfg.partial_credit:g} × its share of digits right in place"
        if cfg.partial_credit
        else "training reward: exact match"
    )
    warm = meta.get("warm_start") or {}
    checks = warm.get("calibration") or []
    steps = (warm.get("stats") or {}).get("steps")
    if checks:  # only a stop-rule warm start records checks
        start = (
            f"warm start: SFT stopped at step {checks[-1]['step']}, where the stop skills' calibration accuracy "
            f"reached {100 * checks[-1]['accuracy']:.1f} % (rule: ≥ {100 * cfg.tiny.stop_accuracy:.0f} %)"
        )
    elif steps:
        start = f"warm start: SFT {steps:.0f} steps"
    else:
        start = "no SFT warm start"
    several = meta.get("warm_starts") or []
    if len(several) > 1:
        checks = [(w.get("calibration") or [{}])[-1] for w in several]
        if all(checks):
            start = (
                f"{len(several)} warm starts: SFT stopped at steps {', '.join(str(c['step']) for c in checks)}, where the stop "
                f"skills' calibration accuracy reached {', '.join(format(100 * c['accuracy'], '.1f') for c in checks)} % "
                f"(rule: ≥ {100 * (cfg.tiny.stop_accuracy or 0):.0f} %)"
            )
        else:
            start = f"{len(several)} warm starts ({', '.join(_warm_text(w) for w in several)})"
    line = f"{reward}; {start}."
    if meta.get("merged_from"):
        line += " Merged from " + "; ".join(_merged_text(m, cfg) for m in meta["merged_from"]) + "."
    for name, gap in (meta.get("reproduced") or {}).items():
        line += (
            f" {name} ran in more than one of them; its runs of the same seed differ by at most {gap:.2f} points on any "
            "skill's final accuracy (the first file's are used)."
        )
    return line


def _teacher_plan_text(cfg: BenchConfig) -> str:
    """The teacher's plan settings where they differ from `teachloop run`'s defaults."""
    from teachloop.agents.policies import PlanConfig

    if not _has_teacher(cfg):
        return ""
    default = PlanConfig().model_dump()
    diff = {k: v for k, v in cfg.teacher_plan.model_dump().items() if default.get(k) != v and k != "problems_per_round"}
    if not diff:
        return " The teacher's plan: PlanConfig's defaults."
    return " The teacher's plan: " + ", ".join(f"{k} {v}" for k, v in diff.items()) + " (tuned on dev), otherwise PlanConfig's defaults."


def _merged_text(m: dict[str, Any], cfg: BenchConfig) -> str:
    """One merged file: its seeds, or (files over the same seeds) its strategies, date and commit,
    or (files over other warm starts) its SFT and GRPO seeds."""
    if m.get("sft_seeds") and m["sft_seeds"] != cfg.sft_seeds():
        return (
            f"{m['file']} (SFT seeds {m['sft_seeds'][0]}-{m['sft_seeds'][-1]}, GRPO seeds {m['seeds'][0]}-{m['seeds'][-1]}; "
            f"{m.get('date')}, commit {m.get('git_commit')})"
        )
    if m.get("strategies") and m.get("seeds") == list(range(cfg.seed0, cfg.seed0 + cfg.warm_starts * cfg.seeds)):
        return f"{m['file']} ({', '.join(m['strategies'])}; {m.get('date')}, commit {m.get('git_commit')})"
    return f"{m['file']} (seeds {m['seeds'][0]}-{m['seeds'][-1]}, {m.get('date')})"


def _warm_text(record: dict[str, Any]) -> str:
    if record.get("source") == "random-init":
        return f"random init seed {record.get('init_seed')}"
    steps = (record.get("stats") or {}).get("steps")
    return f"SFT {steps:.0f} steps" if steps else "no SFT"


def _headline_line(cfg: BenchConfig, sm: dict[str, Any]) -> str:
    tg = ", ".join(sm["targeted"])
    line = f"Headline (pre-registered, fixed before the run: every skill in play): {tg}."
    if sm.get("subset"):
        line += f" Subset reported next to it: {', '.join(sm['subset'])} ({sm.get('subset_reason', '')})."
    return line


def missing_runs(result: BenchResult) -> list[tuple[str, int, int]]:
    """The (strategy, warm start, seed) runs of the benchmark that the result does not hold yet (a
    bench that was interrupted or crashed; `teachloop bench --resume` runs them)."""
    if result.config.legacy:  # recorded whole, under strategy names of their own time
        return []
    have = {(r.strategy, r.warm_start, r.seed) for r in result.runs}
    return [job for job in result.config.all_runs() if job not in have]


def partial_line(result: BenchResult, path: Path | None = None) -> str:
    """'' for a complete result, else what is missing and how to complete it."""
    missing = missing_runs(result)
    if not missing:
        return ""
    total = len(result.config.all_runs())
    several = result.config.warm_starts > 1
    shown = ", ".join(f"{n}{f' warm start {w}' if several else ''} seed {s}" for n, w, s in missing[:12]) + (
        f", … ({len(missing) - 12} more)" if len(missing) > 12 else ""
    )
    how = f"`teachloop bench --resume {q(path)}`" if path is not None else "`teachloop bench --resume RESULT.json`"
    return f"**Partial result: {total - len(missing)} of {total} runs finished.** Missing: {shown}. Complete it with {how}."


def markdown(result: BenchResult, path: Path | None = None) -> str:
    cfg, sm, meta = result.config, result.summary, result.meta
    if cfg.legacy:
        from teachloop.bench.legacy import legacy_markdown

        return legacy_markdown(result)
    seeds = f"{cfg.seed0}..{cfg.seed0 + cfg.warm_starts * cfg.seeds - 1}"
    if cfg.warm_starts > 1:
        sft = cfg.sft_seeds()
        seeds_text = (
            f"{cfg.warm_starts} warm starts (SFT seeds {sft[0]}..{sft[-1]}) × {cfg.seeds} GRPO seed{'s' if cfg.seeds != 1 else ''} "
            f"each ({seeds})"
        )
    else:
        seeds_text = f"{cfg.seeds} seed{'s' if cfg.seeds != 1 else ''} ({seeds})" + (
            f", warm start of SFT seed {cfg.sft_seed0}" if cfg.sft_seed0 is not None and cfg.student == "tiny" else ""
        )
    subset = bool(sm.get("subset"))
    partial = partial_line(result, path)
    lines = [
        f"# Curriculum benchmark: {cfg.env}, student `{cfg.student}`" + (" (partial)" if partial else ""),
        "",
        *([partial, ""] if partial else []),
        f"{meta.get('date', '')} · split **{sm.get('split', cfg.split)}** · {seeds_text} · budget {cfg.budget} student generations per run (GRPO rollouts of "
        f"{cfg.grpo.prompts_per_step} prompts × {cfg.grpo.num_generations} completions per step, lr "
        f"{cfg.grpo.resolved_learning_rate():g}, T {cfg.grpo.temperature:g}, "
        f"{'AdamW state kept across rounds' if cfg.grpo.keep_optimizer_state else 'a fresh AdamW every round'}, plus the probe generations a strategy reads; "
        f"probe for: {sm.get('probe_for', cfg.probe_for)}) · a curriculum decision every {cfg.steps_per_round} steps{_step_note(cfg)} · eval: "
        f"{cfg.heldout_per_skill} held-out + {cfg.ood_per_skill} OOD problems per skill",
        "",
        _setup_line(cfg, meta) + _teacher_plan_text(cfg),
        "",
        _headline_line(cfg, sm),
        "",
        f"Start: held-out {_pct(sm['start_heldout'])} %, OOD {_pct(sm['start_ood'])} %"
        + (" (mean over the warm starts; each run's gain is from its own)" if cfg.warm_starts > 1 else "")
        + f". Accuracy in %, mean ± 95 % CI; {sm.get('ci_model', CI_SEEDS)}. Δ paired against random (same warm start, "
        f"same GRPO seed). Target: random's final accuracy, mean over seeds of each seed's last 3 "
        f"curve points ({_pct(sm.get('reach_target', float('nan')))} %); a run that never reaches it counts at the "
        "budget (censored).",
        "",
        "| strategy | held-out | Δ vs random | OOD | Δ OOD vs random |"
        + (" subset held-out | Δ subset |" if subset else "")
        + " generations to target (× random's) | reached | training rollouts | student generations |"
        " wall s/run: train / curriculum / diagnostic eval |",
        "|---|---|---|---|---|" + ("---|---|" if subset else "") + "---|---|---|---|---|",
    ]
    nan = (float("nan"), float("nan"))
    for name, row in sm["strategies"].items():
        w = row["wall"]
        cells = [
            name,
            _pm(row["heldout"]),
            _pm(row.get("delta_heldout", nan), True),
            _pm(row["ood"]),
            _pm(row.get("delta_ood", nan), True),
        ]
        if subset:
            cells += [_pm(row.get("subset_heldout", nan)), _pm(row.get("delta_subset", nan), True)]
        cells += [
            _reach(row),
            f"{row['reached'][0]}/{row['reached'][1]}",
            f"{row.get('rollouts', float('nan')):.0f}",
            f"{row.get('generations', float('nan')):.0f}",
            f"{w.get('train', 0):.0f} / {w.get('curriculum', 0):.1f} / {w.get('diagnostic_eval', 0):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    rnd = sm["strategies"].get("random")
    if rnd:
        lines += [
            "",
            f"**random's gain on the headline skills**: held-out {_pm(rnd['gain'], True)} points, "
            f"OOD {_pm(rnd['ood_gain'], True)} points (final − start).",
        ]
    for name, vs in sm.get("teacher_vs", {}).items():
        lines += [
            "",
            f"**{name} against each baseline** (paired on the same warm start and GRPO seed; headline; same interval model):",
            "",
            "| baseline | Δ held-out | Δ OOD | pairs |",
            "|---|---|---|---|",
        ]
        for other, row in vs["against"].items():
            mark = " (best baseline: highest mean held-out)" if other == vs["best"] else ""
            lines.append(f"| {other}{mark} | {_pm(row['delta_heldout'], True)} | {_pm(row['delta_ood'], True)} | {row['pairs']} |")
    return "\n".join(lines + tables_and_setup(result, cfg.model_dump(mode="json")))


def tables_and_setup(result: BenchResult, config: dict[str, Any]) -> list[str]:
    """The Markdown's end: per-skill accuracies, where each strategy's training problems went, and
    the setup (`config` as the result file records it, with its meta)."""
    cfg, sm = result.config, result.summary
    names = list(sm["strategies"])
    lines = ["", "## Per skill (final held-out / OOD, mean over seeds, %)", ""]
    lines.append("| skill | start | " + " | ".join(names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for s in cfg.skills:
        cells = [f"{_pct(sm['strategies'][n]['per_skill_heldout'][s])} / {_pct(sm['strategies'][n]['per_skill_ood'][s])}" for n in names]
        st = f"{_pct(result.start.get('heldout', {}).get(s, float('nan')))} / {_pct(result.start.get('ood', {}).get(s, float('nan')))}"
        lines.append(f"| {s}{' *' if s in sm['targeted'] else ''} | {st} | " + " | ".join(cells) + " |")
    lines += ["", "## Where the rollouts went (share of training problems per skill, %)", ""]
    lines.append("| strategy | " + " | ".join(cfg.skills) + " | zero-variance groups | train pass rate |")
    lines.append("|---|" + "---|" * (len(cfg.skills) + 2))
    for n in names:
        row = sm["strategies"][n]
        lines.append(
            f"| {n} | "
            + " | ".join(_pct(row["share_per_skill"][s]) for s in cfg.skills)
            + f" | {_pct(row['zero_variance_groups'])} | {_pct(row['train_pass_rate'])} |"
        )
    setup = json.dumps({"config": config, "meta": result.meta}, indent=1, default=str)[:6000]
    return [*lines, "", "## Setup", "", "```json", setup, "```", ""]


def _reach(row: dict[str, Any]) -> str:
    m, h = row.get("reach", (float("nan"), float("nan")))
    if m is None or math.isnan(m):
        return "–"
    ratio = row.get("reach_ratio", float("nan"))
    return f"{m:.0f}" + ("" if math.isnan(h) else f" ± {h:.0f}") + ("" if math.isnan(ratio) else f" ({ratio:.2f})")


def plot(result: BenchResult, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for name, row in result.summary["strategies"].items():
        pts = row["curve"]
        xs = [p[0] for p in pts]
        ys = [100 * p[1] for p in pts]
        line = ax.plot(xs, ys, marker="o", ms=3, label=name, lw=2.2 if name.startswith("teacher") else 1.4)[0]
        hs = [p[2] for p in pts]
        if all(not math.isnan(h) for h in hs[1:]):
            ax.fill_between(
                xs,
                [y - 100 * h if not math.isnan(h) else y for y, h in zip(ys, hs)],
                [y + 100 * h if not math.isnan(h) else y for y, h in zip(ys, hs)],
                color=line.get_color(),
                alpha=0.12,
            )
    cfg = result.config
    ax.set_xlabel("student generations (rollouts + charged probe)")
    ax.set_ylabel(f"held-out curve set accuracy, headline skills (%)\n(first {curve_set_size(cfg)} problems per skill)", fontsize=9)
    missing = missing_runs(result)
    done = (
        f"partial: {len(cfg.all_runs()) - len(missing)}/{len(cfg.all_runs())} runs"
        if missing
        else (f"{cfg.warm_starts} warm starts × " if cfg.warm_starts > 1 else "") + f"{cfg.seeds} seed{'' if cfg.seeds == 1 else 's'}"
    )
    ax.set_title(
        f"{cfg.env}: student {cfg.student}, {done} (mean, 95% CI)\non the curve set; the table's final numbers use all "
        f"{cfg.heldout_per_skill} held-out problems per skill",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    if result.summary["strategies"]:  # (a partial result may hold no run yet)
        ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    tmp.replace(path)
    plt.close(fig)
    return path


def curve_set_size(cfg: BenchConfig) -> int:
    """Problems per skill at each curve point: a prefix of the held-out set, at most all of it."""
    return min(cfg.curve_per_skill, cfg.heldout_per_skill)


def result_paths(out_dir: Path, name: str) -> dict[str, Path]:
    return {"json": out_dir / f"{name}.json", "md": out_dir / f"{name}.md", "png": out_dir / f"{name}.png"}


def default_name(cfg: BenchConfig) -> str:
    """bench-ENV-STUDENT-DATE-TIME, to the second."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"bench-{cfg.env}-{cfg.student.replace(':', '-').replace('/', '_')}-{stamp}"


def choose_name(out_dir: Path, name: str | None, cfg: BenchConfig) -> tuple[str, str | None]:
    """(the base name the result files get, a note when a default name was taken and another was
    chosen). An existing result is never overwritten: a --name that is taken is refused."""
    from teachloop.config import ConfigError

    def taken(n: str) -> Path | None:
        return next((p for p in result_paths(out_dir, n).values() if p.exists() or p.is_symlink()), None)

    if name is not None:
        if not name.strip() or "/" in name or name in (".", ".."):
            raise ConfigError(f"--name: {name!r} is not a file name (give a base name; the directory is --out)")
        hit = taken(name)
        if hit is not None:
            raise ConfigError(f"--name: {q(hit)} exists; pick another --name (or complete a partial result with --resume)")
        return name, None
    base = default_name(cfg)
    if taken(base) is None:
        return base, None
    k = 2
    while taken(f"{base}-{k}") is not None:
        k += 1
    return f"{base}-{k}", f"{base}.* exists in {q(out_dir)}; writing {base}-{k}.* instead"


def write_json(result: BenchResult, path: Path) -> None:
    """The results JSON, replaced atomically (a crash leaves the previous version, never a torn one)."""
    write_atomic(path, json.dumps(result.model_dump(mode="json"), indent=1, default=str))


def write_results(result: BenchResult, out_dir: Path, name: str | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or default_name(result.config)
    paths = result_paths(out_dir, name)
    write_json(result, paths["json"])
    png = plot(result, paths["png"])
    md = markdown(result, paths["json"])
    if png is not None:
        md = md.replace("## Per skill", f"![accuracy vs rollouts]({png.name})\n\n## Per skill", 1)
        if not result.config.legacy:
            md = md.replace(
                f"![accuracy vs rollouts]({png.name})",
                f"![accuracy vs rollouts]({png.name})\n\nThe plot's points are accuracies on the curve set (the first "
                f"{curve_set_size(result.config)} held-out problems per skill; the start there: "
                f"{_pct(_curve_start(result))} %); the table's final numbers use the full held-out set "
                f"({result.config.heldout_per_skill} per skill).",
                1,
            )
    else:
        paths.pop("png")
    write_atomic(paths["md"], md)
    return paths


def _curve_start(result: BenchResult) -> float:
    tg = [s for s in (result.config.headline or result.config.skills) if s in result.config.skills]
    vals = [result.start_curve.get(s, 0.0) for s in tg]
    return sum(vals) / len(vals) if vals else float("nan")


def load_result(path: Path) -> BenchResult:
    """A results JSON, read the way it was written."""
    from teachloop.config import ConfigError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not a readable results JSON ({e})") from None
    # Results written before these settings existed ran without them; the defaults would misreport them.
    config = data.get("config", {})
    config.setdefault("partial_credit", 0.0)
    config.setdefault("teacher_plan", {})  # the plan defaults of their time
    config.get("tiny", {}).setdefault("stop_accuracy", None)
    if "headline" not in config:  # before the pre-registered headline: its own (post-hoc) targeted skills, dev split
        config.setdefault("targeted", list(TINY_TARGETED))
        config.setdefault("split", "dev")
        config.setdefault("probe_for", "own")
    return BenchResult.model_validate(data)


def rerender(path: Path) -> dict[str, Path]:
    """Recompute the summary of a results JSON and write its Markdown, JSON and plot again."""
    result = load_result(path)
    result.summary = summarize(result)
    return write_results(result, Path(path).parent, Path(path).stem)


# Config fields that may differ between result files of one benchmark.
_MERGE_FREE = {"seeds", "seed0", "jobs", "threads", "cache_dir"}
# ... and between result files over the same seeds that ran different strategies.
_MERGE_FREE_STRATEGIES = {"strategies", "jobs", "threads", "cache_dir"}
# ... and between result files of the same strategies over other warm starts (their GRPO seeds nest in them).
_MERGE_FREE_WARM = {"warm_starts", "sft_seed0", "seed0", "jobs", "threads", "cache_dir"}


def merge_results(paths: Sequence[Path]) -> BenchResult:
    """One result from runs of the same benchmark run apart: over disjoint seeds (e.g. seeds 0-3
    and 4-7), over the same seeds and warm starts with other strategies (e.g. two baselines added to
    a recorded comparison), or over further warm starts (e.g. SFT seeds 3-4 added to 0-2, each with
    its nested GRPO seeds). The settings, the start (of each warm start) and the library versions
    must be the same, or the paired comparison would mix two experiments. A strategy that several
    files ran over the same seeds keeps the first file's runs, and the result records how far the
    others' final accuracies were from them (a reproducibility check)."""
    from teachloop.config import ConfigError

    if len(paths) < 2:
        raise ConfigError("--merge: give at least two results JSONs, comma-separated")
    results = [load_result(p) for p in paths]
    for path, res in zip(paths, results, strict=True):
        missing = missing_runs(res)
        if missing:
            raise ConfigError(
                f"--merge: {q(path)} is partial ({len(missing)} of {len(res.config.all_runs())} runs missing); "
                f"complete it first with `teachloop bench --resume {q(path)}`"
            )
    first = results[0]
    same_seeds = all(
        (r.config.seed0, r.config.seeds, r.config.warm_starts) == (first.config.seed0, first.config.seeds, first.config.warm_starts)
        for r in results
    )
    by_strategy = same_seeds and any(r.config.strategies != first.config.strategies for r in results)
    by_warm = not by_strategy and all(r.config.sft_seed0 is not None for r in results) and len({r.config.sft_seed0 for r in results}) > 1
    free = _MERGE_FREE_STRATEGIES if by_strategy else _MERGE_FREE_WARM if by_warm else _MERGE_FREE
    base = first.config.model_dump(mode="json", exclude=free)
    if by_strategy:  # the teacher's plan matters only where a teacher ran: compared among those files
        taught = [r for r in results if _has_teacher(r.config)]
        base["teacher_plan"] = (taught[0] if taught else first).config.teacher_plan.model_dump(mode="json")
    for path, res in zip(paths, results, strict=True):
        if not by_strategy and not by_warm and res.config.warm_starts > 1:
            raise ConfigError(
                f"--merge: {q(path)} has {res.config.warm_starts} warm starts; merging those over other seeds is not supported yet "
                "(results over the same seeds and warm starts with other strategies do merge)"
            )
        cfg = res.config.model_dump(mode="json", exclude=free)
        if by_strategy and not _has_teacher(res.config):
            cfg["teacher_plan"] = base["teacher_plan"]
        diff = sorted(k for k in base if cfg.get(k) != base[k])
        if diff:
            raise ConfigError(f"--merge: {path} was run with other settings ({', '.join(diff)})")
        if by_warm and len(res.warm) != res.config.warm_starts:
            raise ConfigError(f"--merge: {path} does not record its warm starts' students; it cannot join other warm starts")
        if not by_warm and res.start != first.start:
            raise ConfigError(f"--merge: {path} starts from another student (start accuracy differs)")
        if res.meta.get("versions") != first.meta.get("versions"):
            raise ConfigError(f"--merge: {path} was run with other library versions")
    start, start_curve, warm = first.start, first.start_curve, first.warm
    if by_strategy:
        config, runs, reproduced = _merge_strategies(results)
    elif by_warm:
        config, runs, warm = _merge_warm_starts(paths, results)
        reproduced = {}
        from teachloop.bench.run import _mean_acc, _mean_start

        start, start_curve = _mean_start([w.start for w in warm]), _mean_acc([w.start_curve for w in warm])
    else:
        config, runs, reproduced = _merge_seeds(paths, results), [run for r in results for run in r.runs], {}
    meta = dict(first.meta)
    meta["date"] = ", ".join(dict.fromkeys(str(r.meta.get("date", "")) for r in results))
    meta["seconds"] = round(sum(float(r.meta.get("seconds", 0.0)) for r in results), 1)
    meta["merged_from"] = [
        {
            "file": Path(p).name,
            "date": r.meta.get("date"),
            "seeds": sorted({run.seed for run in r.runs}),
            "sft_seeds": r.config.sft_seeds(),
            "strategies": list(r.config.strategies),
            "machine": r.meta.get("machine"),
            "git_commit": r.meta.get("git_commit"),
            "command": r.meta.get("command"),
        }
        for p, r in zip(paths, results, strict=True)
    ]
    if reproduced:
        meta["reproduced"] = reproduced
    if by_warm:  # what each warm start's SFT did, as one run of them all records it
        meta["warm_start"], meta["warm_starts"] = warm[0].record, [w.record for w in warm]
    order = {name: i for i, name in enumerate(config.strategy_names())}
    runs.sort(key=lambda r: (r.warm_start, r.seed, order.get(r.strategy, len(order))))
    merged = BenchResult(config=config, meta=meta, start=start, start_curve=start_curve, warm=warm, runs=runs)
    merged.summary = summarize(merged)
    return merged


def _merge_seeds(paths: Sequence[Path], results: list[BenchResult]) -> BenchConfig:
    from teachloop.config import ConfigError

    seeds: list[int] = []
    for path, res in zip(paths, results, strict=True):
        own = sorted({r.seed for r in res.runs})
        if set(own) & set(seeds):
            raise ConfigError(f"--merge: {path} repeats seed(s) {', '.join(map(str, sorted(set(own) & set(seeds))))}")
        seeds += own
    seeds.sort()
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ConfigError(f"--merge: the seeds {seeds} leave a gap")
    return results[0].config.model_copy(update={"seeds": len(seeds), "seed0": seeds[0]})


def _merge_warm_starts(paths: Sequence[Path], results: list[BenchResult]) -> tuple[BenchConfig, list[RunResult], list[WarmStart]]:
    """Files over consecutive warm starts, in SFT-seed order: their runs re-indexed by warm start
    and their warm starts' students joined. Each file's GRPO seeds must be the ones the merged
    bench nests in its warm starts (`BenchConfig.grpo_seeds`), so that the result is what one run
    of all the warm starts would have recorded."""
    from teachloop.config import ConfigError

    pairs = sorted(zip(paths, results, strict=True), key=lambda pr: pr[1].config.sft_seed0)
    first = pairs[0][1].config
    runs: list[RunResult] = []
    warm: list[WarmStart] = []
    for path, res in pairs:
        cfg = res.config
        offset = cfg.sft_seed0 - first.sft_seed0
        if offset < len(warm):
            raise ConfigError(f"--merge: {path} repeats the warm start of SFT seed {cfg.sft_seed0}")
        if offset > len(warm):
            raise ConfigError(f"--merge: no file has the warm start of SFT seed {first.sft_seed0 + len(warm)} (warm starts leave no gap)")
        want = first.seed0 + offset * first.seeds
        if cfg.seed0 != want:
            raise ConfigError(
                f"--merge: {path}'s GRPO seeds start at {cfg.seed0}; its warm starts nest seeds from {want} (run it with --seed0 {want})"
            )
        runs += [r.model_copy(update={"warm_start": r.warm_start + offset}) for r in res.runs]
        warm += res.warm
    config = first.model_copy(update={"warm_starts": len(warm)})
    return config, runs, warm


def _merge_strategies(results: list[BenchResult]) -> tuple[BenchConfig, list[RunResult], dict[str, float]]:
    """The union of the files' strategies over their common seeds, in the bench's default order.
    `reproduced`: per strategy run in several files, the largest difference (points) of a run's
    final held-out or OOD accuracy on a skill from the first file's run of the same seed."""
    from teachloop.agents.strategies import STRATEGIES

    canonical = list(STRATEGIES)
    names = list(dict.fromkeys(n for r in results for n in r.config.strategies))
    names.sort(key=lambda n: canonical.index(n) if n in canonical else len(canonical))
    kept: dict[tuple[str, int], RunResult] = {}
    reproduced: dict[str, float] = {}
    for res in results:
        for run in res.runs:
            key = (run.strategy, run.seed)
            if key not in kept:
                kept[key] = run
                continue
            ref = kept[key]
            gap = max(
                [abs(ref.heldout.get(s, 0.0) - v) for s, v in run.heldout.items()]
                + [abs(ref.ood.get(s, 0.0) - v) for s, v in run.ood.items()],
                default=0.0,
            )
            reproduced[run.strategy] = round(max(reproduced.get(run.strategy, 0.0), 100 * gap), 3)
    taught = [r for r in results if _has_teacher(r.config)]
    plan = (taught[0] if taught else results[0]).config.teacher_plan
    return results[0].config.model_copy(update={"strategies": names, "teacher_plan": plan}), list(kept.values()), reproduced


def _has_teacher(cfg: BenchConfig) -> bool:
    return "teacher" in cfg.strategies  # base names; `strategy_names()` expands one per teacher model


def _step_note(cfg: BenchConfig) -> str:
    """SEC, DUMP and threshold decide on their own period (their papers: every step)."""
    k = cfg.step_strategy_steps
    if k == cfg.steps_per_round or not any(cfg.decision_steps(n) == k for n in cfg.strategy_names()):
        return ""
    return f" (SEC, DUMP, threshold: every {k} step{'s' if k != 1 else ''}, as their papers{'' if k == 1 else ' do not'})"
