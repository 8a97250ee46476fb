"""A teaching episode: evaluate → skill graph → weakness report → teacher → verified batch →
GRPO → evaluate, round after round. The one place where `agents` and `training` meet.

Durability: a round's records are appended (problems, rejects, attempts), then its skill-graph
snapshot is written and its student staged, and only then its line in rounds.jsonl — the commit
point — after which the staged student becomes student/ (training/checkpoint.py). On resume, a
torn commit line is cut, anything a crashed round left past the last committed round is dropped,
student/ is recovered to the last committed round's student (or the resume refuses), and the
teacher's own LangGraph checkpoint resumes that round's teaching where it stopped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from teachloop.agents.backends import parse_teacher_spec
from teachloop.agents.teacher import TeacherAgent, TeachingContext, TeachingFailed, normalise_text
from teachloop.agents.teacher_models import ProceduralTeacher
from teachloop.config import RunConfig, dump_config
from teachloop.environments import get_environment
from teachloop.interrupt import check as check_interrupt
from teachloop.rundir import RunDir, append_jsonl, iter_jsonl, read_jsonl, repair_jsonl, write_atomic
from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import Attempt, Problem, RoundResult, SkillEval
from teachloop.skills.report import build_weakness_report
from teachloop.skills.snapshot import SkillGraphSnapshot
from teachloop.teachers import make_teacher
from teachloop.training import checkpoint
from teachloop.training.evaluate import evaluate
from teachloop.training.grpo import train_round
from teachloop.training.student import load_student


class Episode:
    def __init__(self, cfg: RunConfig, run_dir: RunDir, console: Console | None = None):
        self.cfg = cfg
        self.rd = run_dir
        self.console = console or Console()
        self.env = get_environment(cfg.env)
        self.teacher_spec = parse_teacher_spec(cfg.teacher.model)
        self.restart_student = False  # resume --restart-student: continue from the configured student

    # ---- helpers -----------------------------------------------------------------------
    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )

    def _evaluate(self, round: int, heldout: list[Problem], ood: list[Problem]) -> tuple[list[SkillEval], list[Attempt], float]:
        evals, attempts, tok_s = [], [], 0.0
        with self._progress() as prog:
            for split, probs in (("heldout", heldout), ("ood", ood)):
                if not probs:
                    continue
                task = prog.add_task(f"round {round}: evaluate {split}", total=len(probs))
                out = evaluate(
                    self.student,
                    probs,
                    self.env.reward,
                    round=round,
                    split=split,
                    batch_size=self.cfg.eval.batch_size,
                    max_new_tokens=self.cfg.eval.max_new_tokens,
                    on_progress=_safe_point(prog, task),
                )
                evals += out.per_skill
                attempts += out.attempts
                tok_s = out.tokens_per_s if split == "heldout" else tok_s
        evals += self._subskill_evals(attempts, heldout + ood)
        return evals, attempts, tok_s

    def _subskill_evals(self, attempts: list[Attempt], problems: list[Problem]) -> list[SkillEval]:
        """Discovered sub-skills have no eval set of their own: score them on the parent's
        held-out problems that the classifier puts into the sub-skill."""
        discovered = {s.id for s in self.graph.skills.values() if s.provenance == "discovered"}
        if not discovered:
            return []
        by_id = {p.id: p for p in problems}
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for a in attempts:
            p = by_id.get(a.problem_id)
            if p is None:
                continue
            for sid in self.env.classify(p.spec).skill_ids:
                if sid in discovered:
                    c = counts[(sid, a.split or "heldout")]
                    c[0] += 1
                    c[1] += int(a.pass_rate >= 1.0)
        return [SkillEval(skill_id=s, split=sp, n=n, correct=k) for (s, sp), (n, k) in counts.items()]

    def _snapshot(self, round: int, report) -> None:
        SkillGraphSnapshot(round=round, skills=list(self.graph.skills.values()), tracker=self.tracker.state_dict(), report=report).save(
            self.rd.skill_graph(round)
        )

    def _recover_student(self, last: int) -> None:
        """student/ holds the last committed round's student (see training/checkpoint.py), or the
        resume stops with one line; round 0's student is the configured one."""
        if last >= 1 and not self.restart_student:
            checkpoint.recover(self.rd.student_dir, last)
        else:
            checkpoint.discard(self.rd.student_dir)

    # ---- setup / resume ----------------------------------------------------------------
    def finished_rounds(self) -> list[RoundResult]:
        return read_jsonl(self.rd.rounds, RoundResult)

    def _prepare(self) -> int:
        """Create or reopen the run dir; return the last committed round (-1: nothing yet)."""
        self.rd.create()
        if not self.rd.config.exists():
            write_atomic(self.rd.config, dump_config(self.cfg))
        repair_jsonl(self.rd.rounds)  # a torn commit line is no commit: later appends start a fresh line
        done = self.finished_rounds()
        last = done[-1].round if done else (0 if self.rd.skill_graph(0).exists() else -1)
        self._drop_uncommitted(last)
        if last >= 0:
            snap = SkillGraphSnapshot.load(self.rd.skill_graph(last))
            self.graph = snap.graph()
            self.tracker = snap.mastery()
            for s in self.graph.skills.values():
                if s.provenance == "discovered":
                    self.env.add_skill(s)
            self.report = snap.report
        else:
            self.graph = SkillGraph(self.env.skill_graph())
            self.tracker = MasteryTracker(self.cfg.mastery)
            self.report = None
        source = str(self.rd.student_dir) if last >= 1 and not self.restart_student else self.cfg.student
        with self.console.status(f"loading student {source} …"):
            self.student = load_student(source, cache_dir=self.cfg.cache_dir, seed=self.cfg.seed)
        return last

    def _drop_uncommitted(self, last: int) -> None:
        """Records a crashed round left behind are not part of the run: cut them."""
        for path in (self.rd.problems, self.rd.rejected, self.rd.attempts):
            if not path.exists():
                continue
            rows = list(iter_jsonl(path))
            keep = [r for r in rows if r.get("round", 0) <= last]
            if len(keep) != len(rows) or not path.read_bytes().endswith(b"\n"):
                write_atomic(path, "".join(_json_line(r) for r in keep))
        for r in self.rd.graph_rounds():
            if r > max(last, 0):
                self.rd.skill_graph(r).unlink()
        self._recover_student(last)

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> list[RoundResult]:
        cfg = self.cfg
        last = self._prepare()
        heldout = self.env.eval_set("heldout", cfg.eval.heldout_per_skill)
        ood = self.env.eval_set("ood", cfg.eval.ood_per_skill) if cfg.eval.ood_per_skill else []
        eval_by_id = {p.id: p for p in heldout + ood}
        teacher_model = make_teacher(cfg.teacher, self.env)
        agent = TeacherAgent(cfg.teacher, checkpoint_path=self.rd.state_db)

        if last < 0:
            t0 = time.perf_counter()
            evals, eval_attempts, _ = self._evaluate(0, heldout, ood)
            append_jsonl(self.rd.attempts, eval_attempts)
            self.tracker.record_eval(0, evals)
            self.report = build_weakness_report(self.graph, self.tracker, round=0, attempts=eval_attempts, problems=eval_by_id)
            self._snapshot(0, self.report)
            last = 0
            self.console.print(f"[dim]initial evaluation: {time.perf_counter() - t0:.1f}s[/dim]")
        prior = self.finished_rounds()
        results: list[RoundResult] = list(prior)
        last_evals = prior[-1].eval_after if prior else [SkillEval.model_validate(x) for x in _evals_of_round(self.rd, 0)]

        for r in range(last + 1, cfg.rounds + 1):
            check_interrupt()
            walls: dict[str, float] = {}
            round_attempts = [Attempt.model_validate(a) for a in iter_jsonl(self.rd.attempts) if a.get("round") == r - 1]
            last_eval_attempts = [a for a in round_attempts if a.phase == "eval"]
            last_train = [a for a in round_attempts if a.phase == "train"]
            problems: dict[str, Problem] = dict(eval_by_id)
            used_texts: set[str] = set()
            for row in iter_jsonl(self.rd.problems):
                p = Problem.model_validate({k: v for k, v in row.items()})
                used_texts.add(normalise_text(p.prompt))
                if p.round == r - 1:
                    problems[p.id] = p

            # ---- teach
            t0 = time.perf_counter()
            ctx = TeachingContext(
                env=self.env,
                graph=self.graph,
                report=self.report,
                model=teacher_model,
                round=r,
                last_train=last_train,
                eval_attempts=last_eval_attempts,
                problems=problems,
                used_texts=used_texts,
                eval_keys=self.env.eval_keys(),
                eval_texts={normalise_text(p.prompt) for p in eval_by_id.values()},
            )
            with self._progress() as prog:
                task = prog.add_task(f"round {r}: teach ({teacher_model.name})", total=None)
                batch, cost, new_skills = agent.teach(ctx, on_item=_safe_point(prog, task))
                if not batch.problems and cfg.teacher.fallback == "procedural" and teacher_model.name != "procedural":
                    # Nothing verified (a weak LLM teacher): the procedural teacher writes the round.
                    ctx.model = ProceduralTeacher(self.env)
                    fb, fb_cost, fb_new = TeacherAgent(cfg.teacher, self.rd.state_db, thread_suffix="fallback").teach(ctx)
                    batch = fb.model_copy(update={"rejected": batch.rejected + fb.rejected})
                    new_skills += fb_new
                    cost.fallback = f"procedural: {teacher_model.name} authored no verified problem"
            walls["teach"] = time.perf_counter() - t0
            if not batch.problems:
                raise TeachingFailed(
                    f"round {r}: the teacher produced no verified problems ({len(batch.rejected)} rejected: "
                    + ", ".join(f"{k} {v}" for k, v in Counter(x.reason for x in batch.rejected).most_common())
                    + ")"
                )
            append_jsonl(self.rd.problems, batch.problems)
            append_jsonl(self.rd.rejected, [x.model_dump() | {"round": r} for x in batch.rejected])

            # ---- train
            t0 = time.perf_counter()
            with self._progress() as prog:
                task = prog.add_task(f"round {r}: GRPO steps", total=cfg.grpo.steps)
                train = train_round(
                    self.student,
                    batch.problems,
                    self.env.reward,
                    cfg.grpo,
                    round=r,
                    output_dir=self.rd.root / "trainer",
                    on_progress=_safe_point(prog, task),
                )
            walls["train"] = time.perf_counter() - t0
            append_jsonl(self.rd.attempts, train.attempts)
            per_skill_train: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
            for a in train.attempts:
                per_skill_train[a.skill_id][0] += a.pass_rate * len(a.rewards)
                per_skill_train[a.skill_id][1] += len(a.rewards)
            for sid, (k, n) in per_skill_train.items():
                self.tracker.observe(sid, k, n, round=r, phase="train")

            # ---- evaluate
            t0 = time.perf_counter()
            evals, eval_attempts, tok_s = self._evaluate(r, heldout, ood)
            walls["evaluate"] = time.perf_counter() - t0
            append_jsonl(self.rd.attempts, eval_attempts)
            self.tracker.record_eval(r, evals)
            self.tracker.end_round(r)
            self.report = build_weakness_report(
                self.graph,
                self.tracker,
                round=r,
                attempts=eval_attempts,
                problems=eval_by_id,
                new_skills=[s.id for s in new_skills],
            )
            self._snapshot(r, self.report)
            t0 = time.perf_counter()
            checkpoint.stage(self.student, self.rd.student_dir, r)  # not current until the commit line is
            walls["checkpoint"] = time.perf_counter() - t0

            accepted: dict[str, int] = defaultdict(int)
            for p in batch.problems:
                accepted[p.action or "create"] += 1
            rejected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for x in batch.rejected:
                rejected[x.action][x.reason] += 1
            for _s in new_skills:
                accepted["discover"] += 1
            result = RoundResult(
                round=r,
                eval_before=last_evals,
                eval_after=evals,
                problems_per_skill=batch.per_skill(),
                plan=batch.plan,
                accepted_per_action=dict(accepted),
                rejected_per_action={k: dict(v) for k, v in rejected.items()},
                train_stats=train.stats | {"eval_tokens_per_s": tok_s},
                teacher_cost=cost,
                wall_time=walls,
                new_skills=[s.id for s in new_skills],
            )
            append_jsonl(self.rd.rounds, [result])  # the round's commit point
            checkpoint.promote(self.rd.student_dir, r)
            results.append(result)
            self.console.print(round_table(result, self.graph))
            last_evals = evals
        return results


def _safe_point(prog: Progress, task) -> Callable[[int, int], None]:  # noqa: ANN001
    """A progress callback that is also a place where Ctrl-C may stop the round (nothing of the
    round is committed yet, so resume redoes it)."""

    def update(done: int, total: int) -> None:
        check_interrupt()
        prog.update(task, completed=done, total=total)

    return update


def _json_line(row: dict) -> str:
    import json

    return json.dumps(row, sort_keys=True) + "\n"


def _evals_of_round(rd: RunDir, round: int) -> list[dict]:
    """Per-skill held-out/OOD accuracy of a round, from its eval attempts (for round 0)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in iter_jsonl(rd.attempts):
        if a.get("round") == round and a.get("phase") == "eval":
            c = counts[(a["skill_id"], a.get("split") or "heldout")]
            c[0] += 1
            c[1] += int(a.get("pass_rate", 0) >= 1.0)
    return [{"skill_id": s, "split": sp, "n": n, "correct": k} for (s, sp), (n, k) in counts.items()]


def round_table(result: RoundResult, graph: SkillGraph) -> Table:
    """Per skill: held-out accuracy before → after, OOD after, problems the teacher gave it."""

    def acc(evals: list[SkillEval], split: str) -> dict[str, SkillEval]:
        return {e.skill_id: e for e in evals if e.split == split}

    before, after, ood = acc(result.eval_before, "heldout"), acc(result.eval_after, "heldout"), acc(result.eval_after, "ood")
    w = result.wall_time
    total = sum(w.values()) or 1.0
    split = " / ".join(f"{k} {v:.0f}s ({100 * v / total:.0f}%)" for k, v in w.items())
    t = Table(title=f"Round {result.round}", caption=f"wall time: {split}", caption_justify="left")
    t.add_column("skill")
    t.add_column("held-out before → after", justify="right")
    t.add_column("Δ", justify="right")
    t.add_column("OOD", justify="right")
    t.add_column("problems", justify="right")
    for s in graph.trainable():
        b, a = before.get(s.id), after.get(s.id)
        if a is None and b is None and not result.problems_per_skill.get(s.id):
            continue
        fb = f"{b.accuracy:.0%}" if b else "–"
        fa = f"{a.accuracy:.0%}" if a else "–"
        d = (a.accuracy - b.accuracy) if (a and b) else None
        ds = "" if d is None else (f"[green]+{d:.0%}[/green]" if d > 0 else (f"[red]{d:.0%}[/red]" if d < 0 else "0%"))
        o = ood.get(s.id)
        t.add_row(
            s.id + (" [cyan](new)[/cyan]" if s.id in result.new_skills else ""),
            f"{fb} → {fa}",
            ds,
            f"{o.accuracy:.0%}" if o else "–",
            str(result.problems_per_skill.get(s.id, 0)),
        )
    t.add_section()
    t.add_row("[bold]teacher[/bold]", f"accepted: {result.accepted_text()}", "", "", f"rejected {result.rejected_total}")
    t.add_row("[bold]teacher cost[/bold]", escape(result.cost_text()), "", "", "")
    return t
