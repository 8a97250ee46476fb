"""`teachloop bench`: curriculum strategies side by side, on equal budgets of student generations.

Every (strategy, seed) run is one teaching episode — the loop `teachloop run` uses — started from
the same student, given the same budget of student generations (GRPO rollouts plus the greedy
probe generations a strategy reads before its decisions) and scored on the same fixed eval sets
of one split (dev: tuned on; test: a seed namespace of its own, never tuned on):

    for each round (K GRPO steps; SEC, DUMP, threshold: K = 1, as their papers):   (Episode.run)
        batch   = strategy.propose(context, K × prompts_per_step, rng)   # curriculum
        outcome = train_round(student, batch, reward, grpo)              # student (TRL GRPO)
        strategy.observe(outcome.attempts)                               # rollout statistics
        [strategies that read a diagnosis (teacher): eval on a separate probe set → report]
        every `curve_steps` GRPO steps: greedy eval on the curve subset  (RunStats, the hook)
    final: greedy eval on the full held-out set and the OOD level

Held-out and OOD problems are never trained on (the environment's `generate` excludes them) and
no strategy sees them: the teacher's weakness report reads its own probe set, drawn fresh from
the generators, charged to its budget (`probe_for='all'` gives every strategy the same probe).

Statistics: on the pre-registered headline (every skill in play), per run the strategy's score
minus random's (paired: same warm start, same GRPO sampling seed), mean ± t-based 95 % interval;
with W > 1 warm starts (SFT seeds, `warm_starts`) the interval is over the W warm-start means of
the paired differences, GRPO seeds averaged within each (`stats.clustered_ci`), so it includes
warm-start variance; with one warm start it is over the seeds. "Generations to target": the first point (linear interpolation on the
accuracy-vs-generations curve) at which a run reaches random's final accuracy, averaged over
seeds and smoothed over each seed's last 3 curve points; a run that never does counts at the
budget (censored) and the table says "reached k/n". Results recorded before these rules render
as recorded (`legacy`).

The default benchmark uses the tiny char-level student (`teachloop.training.tiny_bench`), shown
each expression least-significant digit first, warmed up by SFT to a measured calibration
accuracy, and trained with a partial-credit reward (evaluation is always exact match). Why these
settings, and what they were measured to do: benchmarks/results/bench-design.md.

Modules: `config` (BenchConfig and the result records), `parts` (environment, graph, eval and
probe sets, student), `run` (one episode per run, the hook, the whole bench), `stats`, `render`
(Markdown, plot, JSON, merge), `cli`.
"""

from teachloop.bench.config import (
    TINY_SKILLS,
    TINY_TARGETED,
    BenchConfig,
    BenchResult,
    CurvePoint,
    RunResult,
    split_strategy,
)
from teachloop.bench.render import load_result, markdown, merge_results, plot, rerender, write_results
from teachloop.bench.stats import mean_ci, rollouts_to_reach, summarize, t_critical

__all__ = [
    "TINY_SKILLS",
    "TINY_TARGETED",
    "BenchConfig",
    "BenchResult",
    "CurvePoint",
    "RunResult",
    "load_result",
    "markdown",
    "mean_ci",
    "merge_results",
    "plot",
    "rerender",
    "rollouts_to_reach",
    "split_strategy",
    "summarize",
    "t_critical",
    "write_results",
]
