"""Benchmark: the WeaknessReport for a synthetic 10,000-skill graph with 1,000,000 recorded attempts.

Goal: building the report takes under 100 ms on the 2-core CPU machine. Not a test: it prints its
figures and appends them as a new record to benchmarks/results/weakness_report.md (earlier records
stay).

What is timed, each as the median of --repeats runs on a fresh tracker:
  ingest  the 1,000,000 attempts (10 rounds × 40,000 eval + 60,000 training attempts), held as
          columns (skill index, phase, completions, successes) the way an episode has them after
          a round, aggregated per skill with numpy and fed to the tracker (record_eval_counts,
          observe_many, end_round);
  report  build_weakness_report for the last round: every skill's Beta posterior and credible
          interval, frontier/blocked/mastered/regressed over the graph, and up to 3 failure
          exemplars per weak skill from that round's 40,000 eval attempts (Attempt records).
Not timed: generating the synthetic data, building the graph (once per episode, not per round).
Before each run a full garbage collection clears what the setup left owed; the collector stays on
while timing.

Run: .venv/bin/python benchmarks/weakness_report.py [--repeats 7] [--seed 0] [--note TEXT] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from teachloop.skills.graph import SkillGraph  # noqa: E402
from teachloop.skills.mastery import MasteryTracker  # noqa: E402
from teachloop.skills.records import Attempt, Problem, Skill  # noqa: E402
from teachloop.skills.report import build_weakness_report  # noqa: E402
from teachloop.skills.skill_state import beta_interval  # noqa: E402

N_DOMAINS, TOPICS_PER_DOMAIN, SKILLS_PER_TOPIC = 10, 10, 100  # 10,000 trainable skills
ROUNDS = 10
EVAL_PER_SKILL = 4  # held-out problems per skill per round, one greedy completion each
TRAIN_PER_ROUND = 60_000  # training attempts per round, 8 rollouts each
ROLLOUTS = 8


def make_graph(rng: np.random.Generator) -> SkillGraph:
    """Domains → topics → skills; each skill needs 0-3 earlier skills of its topic, and a few
    topics need the previous topic of their domain (expanded to its 100 skills)."""
    skills: list[Skill] = []
    for d in range(N_DOMAINS):
        did = f"d{d}"
        skills.append(Skill(id=did, name=f"domain {d}", kind="domain"))
        for t in range(TOPICS_PER_DOMAIN):
            tid = f"{did}.t{t}"
            pre = [f"{did}.t{t - 1}"] if t > 0 and rng.random() < 0.1 else []
            skills.append(Skill(id=tid, name=f"topic {d}.{t}", kind="topic", parent=did, prerequisites=pre))
            for s in range(SKILLS_PER_TOPIC):
                k = int(rng.integers(0, 4)) if s else 0
                pre = sorted({f"{tid}.s{int(j)}" for j in rng.integers(0, s, size=k)}) if s else []
                skills.append(Skill(id=f"{tid}.s{s}", name=f"skill {d}.{t}.{s}", parent=tid, prerequisites=pre))
    return SkillGraph(skills)


def make_attempts(rng: np.random.Generator, n_skills: int) -> list[dict[str, np.ndarray]]:
    """Per round, columns of eval and train attempts; the student's ability rises over rounds,
    and 5 % of skills are forgotten halfway (regressions)."""
    base = rng.beta(2, 2, n_skills)
    gain = rng.uniform(0, 0.08, n_skills)
    forget = rng.random(n_skills) < 0.05
    rounds = []
    for r in range(ROUNDS):
        p = np.clip(base + gain * r - np.where(forget & (r >= ROUNDS // 2), 0.4, 0.0), 0.01, 0.99)
        ev_skill = np.repeat(np.arange(n_skills), EVAL_PER_SKILL)
        ev_succ = (rng.random(ev_skill.size) < p[ev_skill]).astype(float)
        tr_skill = rng.integers(0, n_skills, TRAIN_PER_ROUND)
        tr_succ = rng.binomial(ROLLOUTS, p[tr_skill]).astype(float)
        rounds.append({"ev_skill": ev_skill, "ev_succ": ev_succ, "tr_skill": tr_skill, "tr_succ": tr_succ})
    return rounds


def ingest(ids: list[str], rounds: list[dict[str, np.ndarray]]) -> MasteryTracker:
    tracker = MasteryTracker()
    m = len(ids)
    for r, cols in enumerate(rounds):
        correct = np.bincount(cols["ev_skill"], weights=cols["ev_succ"], minlength=m)
        n = np.bincount(cols["ev_skill"], minlength=m).astype(float)
        tracker.record_eval_counts(r, ids, correct, n)
        t_s = np.bincount(cols["tr_skill"], weights=cols["tr_succ"], minlength=m)
        t_n = np.bincount(cols["tr_skill"], minlength=m).astype(float) * ROLLOUTS
        seen = t_n > 0
        tracker.observe_many([ids[i] for i in np.flatnonzero(seen)], t_s[seen], t_n[seen], round=r, phase="train")
        if r < len(rounds) - 1:
            tracker.end_round(r)
    return tracker


def last_round_records(ids: list[str], cols: dict[str, np.ndarray], round: int) -> tuple[list[Attempt], dict[str, Problem]]:
    attempts, problems = [], {}
    for j, (si, ok) in enumerate(zip(cols["ev_skill"].tolist(), cols["ev_succ"].tolist())):
        p = Problem(
            skill_id=ids[si], difficulty=1, prompt=f"Problem {j} of {ids[si]}: what is {si} + {j}?", answer=str(si + j), env="synthetic"
        )
        problems[p.id] = p
        attempts.append(
            Attempt(
                problem_id=p.id,
                skill_id=ids[si],
                round=round,
                phase="eval",
                split="heldout",
                completions=[str(si + j) if ok else f"I think it is {si + j + 1}"],
                rewards=[ok],
            )
        )
    return attempts, problems


def breakdown(
    graph: SkillGraph, tracker: MasteryTracker, ids: list[str], last: int, attempts: list[Attempt], problems: dict[str, Problem]
) -> dict[str, float]:
    """Where the report's time goes, each part timed on its own, back to back (collector paused,
    as in the build); exemplars = the report with the round's attempts minus the report without."""
    gc.disable()
    try:
        t0 = time.perf_counter()
        table = tracker.table(ids)
        t1 = time.perf_counter()
        beta_interval(table.alpha, table.beta)
        t2 = time.perf_counter()
        table.states()
        t3 = time.perf_counter()
        build_weakness_report(graph, tracker, round=last)
        t4 = time.perf_counter()
        build_weakness_report(graph, tracker, round=last, attempts=attempts, problems=problems)
        t5 = time.perf_counter()
    finally:
        gc.enable()
    return {"table": t1 - t0, "ci": t2 - t1, "states": t3 - t2, "exemplars": (t5 - t4) - (t4 - t3)}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--note", default="", help="a remark recorded with the result (e.g. what else ran on the machine)")
    ap.add_argument("--no-write", action="store_true", help="print only; don't append to the results file")
    args = ap.parse_args()

    load_start = _load()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    graph = make_graph(rng)
    t_graph = time.perf_counter() - t0
    ids = graph.trainable_ids()
    rounds = make_attempts(rng, len(ids))
    n_attempts = sum(c["ev_skill"].size + c["tr_skill"].size for c in rounds)
    last = ROUNDS - 1
    attempts, problems = last_round_records(ids, rounds[last], last)

    t_ingest, t_report, c_report = [], [], []
    parts: list[dict[str, float]] = []
    report = None
    for _ in range(args.repeats):
        # Free the previous run's report outside the timing, and start with no collection owed
        # by the setup or the previous run (timeit goes further and disables the collector while
        # timing; here it stays on).
        report = tracker = None
        gc.collect()
        t0 = time.perf_counter()
        tracker = ingest(ids, rounds)
        t1, c1 = time.perf_counter(), time.process_time()
        report = build_weakness_report(graph, tracker, round=last, attempts=attempts, problems=problems, k=3)
        t2, c2 = time.perf_counter(), time.process_time()
        t_ingest.append(t1 - t0)
        t_report.append(t2 - t1)
        c_report.append(c2 - c1)
        parts.append(breakdown(graph, tracker, ids, last, attempts, problems))
    t0 = time.perf_counter()
    text = report.to_prompt_text()
    t_text = time.perf_counter() - t0
    t0 = time.perf_counter()
    js = report.model_dump_json()
    t_json = time.perf_counter() - t0

    med_i, med_r = statistics.median(t_ingest) * 1e3, statistics.median(t_report) * 1e3

    def med(key: str) -> float:
        return statistics.median(p[key] for p in parts) * 1e3

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = f' --note "{args.note}"' if args.note else ""
    lines = [
        f"## {when}",
        "",
        f"- command: `.venv/bin/python benchmarks/weakness_report.py --repeats {args.repeats} --seed {args.seed}{note}`",
        f"- date: {when}; machine: {machine()}; load average (1, 5, 15 min) {load_start} at the start, {_load()} at the end",
        f"- graph: {len(ids):,} trainable skills ({len(graph):,} nodes, {graph.deps.number_of_edges():,} expanded prerequisite edges), built in {t_graph:.1f} s (not timed below)",
        f"- attempts: {n_attempts:,} over {ROUNDS} rounds ({EVAL_PER_SKILL * len(ids):,} eval + {TRAIN_PER_ROUND:,} train per round); "
        f"report round {last}: {len(report.mastered):,} mastered, {len(report.frontier):,} frontier, {len(report.blocked):,} blocked, "
        f"{len(report.regressions):,} regressed, exemplars for {len(report.exemplars):,} weak skills",
        "",
        "| step | median (ms) | min (ms) | max (ms) |",
        "|---|---|---|---|",
        f"| **build_weakness_report** (goal < 100 ms) | **{med_r:.1f}** | {min(t_report) * 1e3:.1f} | {max(t_report) * 1e3:.1f} |",
        f"| build_weakness_report, CPU time of this process | {statistics.median(c_report) * 1e3:.1f} | {min(c_report) * 1e3:.1f} | {max(c_report) * 1e3:.1f} |",
        f"| ingest 1,000,000 attempts into the tracker | {med_i:.1f} | {min(t_ingest) * 1e3:.1f} | {max(t_ingest) * 1e3:.1f} |",
        f"| ingest + report | {statistics.median([a + b for a, b in zip(t_ingest, t_report)]) * 1e3:.1f} | | |",
        f"| to_prompt_text (once, {len(text):,} chars) | {t_text * 1e3:.1f} | | |",
        f"| model_dump_json (once, {len(js) / 1e6:.1f} MB) | {t_json * 1e3:.1f} | | |",
        "| *breakdown, each part timed on its own right after the run:* | | | |",
        f"| mastery columns for 10,000 skills (`tracker.table`) | {med('table'):.1f} | | |",
        f"| &nbsp;&nbsp;of which: the 20,000 Beta quantiles of the credible intervals | {med('ci'):.1f} | | |",
        f"| 10,000 SkillState records (`table.states()`) | {med('states'):.1f} | | |",
        f"| failure exemplars from the round's {len(attempts):,} eval attempts | {med('exemplars'):.1f} | | |",
        "",
        f"Goal {'met' if med_r < 100 else 'MISSED'}: report median {med_r:.1f} ms over {args.repeats} runs (seed {args.seed}).",
    ]
    if args.note:
        lines += ["", f"Note: {args.note}"]
    out = "\n".join(lines) + "\n"
    print(out)
    if not args.no_write:
        dest = Path(__file__).parent / "results" / "weakness_report.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        old = dest.read_text() if dest.exists() else "# WeaknessReport benchmark\n\nRecords, oldest first.\n"
        dest.write_text(old.rstrip("\n") + "\n\n" + out)
        print(f"appended to {dest}")


if __name__ == "__main__":
    main()
