"""A teaching episode: evaluate → skill graph → weakness report → curriculum → batch → GRPO →
evaluate, round after round. The one loop that drives every curriculum strategy (the teacher
agent is one of them), for `teachloop run` and for each run of `teachloop bench`, and the one
place where `agents` and `training` meet.

The episode owns the evidence: it feeds the one mastery tracker (diagnostic evaluations and
training rollouts), builds the weakness report, and hands both, with the last round's answers and
rollouts, to the strategy in a `StrategyContext`. The bench's differences are `EpisodeOptions`:
how problems are shown to the student and scored (the tiny student's view), which problems the
diagnostic evaluation uses (a probe set instead of the eval sets), the (steps, problems) schedule,
and a hook after each round (its curve points).

Work split for several processes: `_decide` (the strategy), `_write_batch` and `_commit` (run-dir
writes, checkpoints) are rank-0 work; `_train` and `_diagnose` are what every rank does.

Durability: a round's records are appended (problems, rejects, attempts), then its skill-graph
snapshot and strategy state are written and its student staged, and only then its line in
rounds.jsonl — the commit point — after which the staged student becomes student/
(training/checkpoint.py). On resume, a torn commit line is cut, anything a crashed round left past
the last committed round is dropped, student/ is recovered to the last committed round's student
(or the resume refuses), the strategy and its rng are restored from the last committed round, and
the teacher's own LangGraph checkpoint resumes that round's teaching where it stopped.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from teachloop import distributed
from teachloop.agents.strategies import CurriculumStrategy, Proposal, StrategyContext, make_strategy
from teachloop.agents.teacher import normalise_text
from teachloop.config import RunConfig, answer_lengths, dump_config
from teachloop.environments import get_environment
from teachloop.episode_options import EpisodeOptions, PlainView, RoundOutcome, StudentView
from teachloop.interrupt import check as check_interrupt
from teachloop.round_table import round_result, round_table
from teachloop.rundir import RunDir, RunDirError, append_jsonl, iter_jsonl, read_jsonl, repair_jsonl, write_atomic
from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import Attempt, Problem, RoundResult, SkillEval, is_correct
from teachloop.skills.report import build_weakness_report
from teachloop.skills.snapshot import SkillGraphSnapshot
from teachloop.training import checkpoint
from teachloop.training.evaluate import evaluate as evaluate_student
from teachloop.training.grpo import TrainOutcome, train_round
from teachloop.training.student import load_optimizer_state, load_student


def strategy_state_path(rd: RunDir, round: int) -> Path:
    return rd.root / "strategy" / f"round_{round}.json"


class Episode:
    def __init__(self, cfg: RunConfig, run_dir: RunDir, console: Console | None = None, options: EpisodeOptions | None = None):
        self.cfg = cfg
        self.rd = run_dir
        self.writer = distributed.is_writer()  # rank 0 (or the only process) decides and writes the run dir
        self.console = (console or Console()) if self.writer else Console(quiet=True)
        self.opt = options or EpisodeOptions()
        self.env = self.opt.env if self.opt.env is not None else get_environment(cfg.env)
        self.view: StudentView = self.opt.view or PlainView(self.env)
        self.restart_student = False  # resume --restart-student: continue from the configured student
        self.schedule = self.opt.schedule or [(cfg.grpo.steps, cfg.teacher.plan.problems_per_round)] * cfg.rounds

    # ---- helpers -----------------------------------------------------------------------
    def _progress(self) -> Progress:
        cols = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        return Progress(*cols, console=self.console, transient=True)

    def evaluate(self, round: int, splits: dict[str, list[Problem]]) -> tuple[list[SkillEval], list[Attempt], float]:
        """Greedy eval of each split through the view; attempts carry the original problem ids."""
        evals, attempts, tok_s = [], [], 0.0
        with self._progress() as prog:
            for split, probs in splits.items():
                if not probs:
                    continue
                task = prog.add_task(f"round {round}: evaluate {split}", total=len(probs))
                shown, back = self._shown(probs)
                out = evaluate_student(
                    self.student,
                    shown,
                    self.view.reward(),
                    round=round,
                    split=split,
                    batch_size=self.cfg.eval.batch_size,
                    max_new_tokens=self.eval_tokens,
                    on_progress=_safe_point(prog, task),
                )
                evals += out.per_skill
                attempts += _back(out.attempts, back)
                tok_s = out.tokens_per_s if split == "heldout" else tok_s
        return evals, attempts, tok_s

    def _shown(self, problems: list[Problem]) -> tuple[list[Problem], dict[str, str]]:
        shown = [self.view.to_student(p) for p in problems]
        return shown, {s.id: p.id for s, p in zip(shown, problems, strict=True) if s.id != p.id}

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
                    c[1] += int(is_correct(a.pass_rate))
        return [SkillEval(skill_id=s, split=sp, n=n, correct=k) for (s, sp), (n, k) in counts.items()]

    # ---- setup / resume ----------------------------------------------------------------
    def _recover_student(self, last: int) -> None:
        """student/ holds the last committed round's student (see training/checkpoint.py), or the
        resume stops with one line; round 0's student is the configured one."""
        if last >= 1 and not self.restart_student:
            checkpoint.recover(self.rd.student_dir, last)
        else:
            checkpoint.discard(self.rd.student_dir)

    def finished_rounds(self) -> list[RoundResult]:
        return read_jsonl(self.rd.rounds, RoundResult)

    def _prepare(self) -> int:
        """Create or reopen the run dir; return the last committed round (-1: nothing yet).
        Rank 0 repairs the run dir; the other ranks read it once rank 0 says which round is last."""
        last = None
        if self.writer:
            self.rd.create()
            if not self.rd.config.exists():
                write_atomic(self.rd.config, dump_config(self.cfg))
            repair_jsonl(self.rd.rounds)  # a torn commit line is no commit: later appends start a fresh line
            done = self.finished_rounds()
            last = done[-1].round if done else (0 if self.rd.skill_graph(0).exists() else -1)
            self._drop_uncommitted(last)
        last = distributed.broadcast(last)
        if last >= 0:
            snap = SkillGraphSnapshot.load(self.rd.skill_graph(last))
            self.graph = snap.graph()
            self.tracker = snap.mastery()
            for s in self.graph.skills.values():
                if s.provenance == "discovered":
                    self.env.add_skill(s)
            self.report = snap.report
        else:
            self.graph = SkillGraph(list(self.opt.graph.skills.values()) if self.opt.graph is not None else self.env.skill_graph())
            self.tracker = MasteryTracker(self.cfg.mastery)
            self.report = None
        source = str(self.rd.student_dir) if last >= 1 and not self.restart_student else self.cfg.student
        with self.console.status(f"loading student {source} …"):
            if self.opt.load_student is not None:
                self.student = self.opt.load_student(source)
            else:
                self.student = load_student(source, cache_dir=self.cfg.cache_dir, seed=self.cfg.seed)
            if source == str(self.rd.student_dir) and self.cfg.grpo.keep_optimizer_state:
                self.student.optimizer_state = load_optimizer_state(self.rd.student_dir)
        self._restore(last)
        return last

    def _drop_uncommitted(self, last: int) -> None:
        """Records a crashed round left behind are not part of the run: cut them."""
        for path in (self.rd.problems, self.rd.rejected, self.rd.attempts):
            if not path.exists():
                continue
            rows = list(iter_jsonl(path))
            keep = [r for r in rows if r.get("round", 0) <= last]
            if len(keep) != len(rows) or not path.read_bytes().endswith(b"\n"):
                write_atomic(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))
        for r in self.rd.graph_rounds():
            if r > max(last, 0):
                self.rd.skill_graph(r).unlink()
        for path in (self.rd.root / "strategy").glob("round_*.json"):
            if int(path.stem.split("_", 1)[1]) > max(last, 0):
                path.unlink()
        self._recover_student(last)

    def _make_strategy(self) -> CurriculumStrategy:
        name = self.cfg.curriculum
        if name != "teacher":
            return make_strategy(name)
        from teachloop.teachers import make_teacher

        return make_strategy(
            "teacher",
            model=make_teacher(self.cfg.teacher, self.env),
            config=self.cfg.teacher,
            checkpoint_path=self.rd.state_db if self.opt.teacher_checkpoints else None,
            exact=self.opt.exact_batches,
            fallback=self.cfg.teacher.fallback,
        )

    def _restore(self, last: int) -> None:
        """The strategy, its rng and the last round's evidence, as the last committed round left them.
        Only rank 0 has a strategy: an LLM teacher is asked once, not once per process."""
        if not self.writer:
            self.strategy = None
            return
        self.strategy = self._make_strategy()
        self.rng = random.Random(self.opt.rng_seed or f"{self.cfg.curriculum}/{self.cfg.seed}")
        path = strategy_state_path(self.rd, last)
        if last >= 0 and path.exists():
            saved = json.loads(path.read_text())
            self.strategy.load_state_dict(saved["state"])
            self.rng.setstate((saved["rng"][0], tuple(saved["rng"][1]), saved["rng"][2]))
        elif last >= 1 and self.cfg.curriculum != "teacher":  # the teacher's state is its cost tally
            raise RunDirError(f"{path} is missing: the {self.cfg.curriculum} strategy cannot resume where it was")
        self.used_texts: set[str] = set()
        self.last_problems: list[Problem] = []
        for row in iter_jsonl(self.rd.problems):
            p = Problem.model_validate(row)
            self.used_texts.add(normalise_text(p.prompt))
            if p.round == last:
                self.last_problems.append(p)
        attempts = [Attempt.model_validate(a) for a in iter_jsonl(self.rd.attempts) if a.get("round") == last]
        self.last_eval = [a for a in attempts if a.phase == "eval"]
        self.last_train = [a for a in attempts if a.phase == "train"]

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> list[RoundResult]:
        cfg = self.cfg
        distributed.init()
        last = self._prepare()
        self._answer_lengths()
        if self.opt.diagnostic is None:
            heldout = self.env.eval_set("heldout", cfg.eval.heldout_per_skill)
            ood = self.env.eval_set("ood", cfg.eval.ood_per_skill) if cfg.eval.ood_per_skill else []
            self.diagnostic = {"heldout": heldout, "ood": ood}
        else:
            self.diagnostic = dict(self.opt.diagnostic)
        self.diag_by_id = {p.id: p for ps in self.diagnostic.values() for p in ps}
        protected = self.opt.protected if self.opt.protected is not None else list(self.diag_by_id.values())
        self.eval_texts = {normalise_text(p.prompt) for p in protected}
        self.eval_keys = self.env.eval_keys()
        self.skills = list(self.opt.skills) if self.opt.skills is not None else self.graph.trainable_ids()

        if last < 0:
            t0 = time.perf_counter()
            evals, self.last_eval, _ = self._diagnose(0)
            if self.writer:
                self._commit_start()
            last = 0
            self.console.print(f"[dim]initial evaluation: {time.perf_counter() - t0:.1f}s[/dim]")
        distributed.barrier()  # rank 0's round-0 records are on disk before the other ranks read them
        results: list[RoundResult] = self.finished_rounds()
        last_evals = results[-1].eval_after if results else _evals_of_round(self.rd, 0)
        steps_done = sum(k for k, _ in self.schedule[:last])

        for r in range(last + 1, len(self.schedule) + 1):
            check_interrupt()
            steps, n = self.schedule[r - 1]
            walls: dict[str, float] = {}
            t0 = time.perf_counter()
            if self.writer:  # rank 0 decides and writes the batch, then every rank gets it
                proposal = self._decide(r, n, steps_done)
                batch = [p if p.round == r else p.model_copy(update={"round": r}) for p in proposal.problems]
                self._write_batch(r, batch, proposal)
            batch, proposal = distributed.broadcast((batch, proposal) if self.writer else None)
            if not self.writer:
                self._add_skills(proposal.new_skills)
            walls["teach"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            train = self._train(r, batch, steps)
            walls["train"] = time.perf_counter() - t0
            distributed.trace(r, [p.id for p in batch], self.student.model, train.stats.get("steps", 0.0))
            self.tracker.observe_training(train.attempts)
            t0 = time.perf_counter()
            if self.writer:
                append_jsonl(self.rd.attempts, train.attempts)
                self.strategy.observe(train.attempts)
            walls["teach"] += time.perf_counter() - t0

            t0 = time.perf_counter()
            evals, eval_attempts, tok_s = self._diagnose(r, [s.id for s in proposal.new_skills])
            walls["evaluate"] = time.perf_counter() - t0
            steps_done += steps
            result = round_result(r, last_evals, evals, batch, proposal, train, tok_s, walls)
            if self.writer:
                self._commit(r, result)
            results.append(result)
            self.last_train, self.last_eval, self.last_problems = train.attempts, eval_attempts, _unique(batch)
            self.console.print(round_table(result, self.graph, cfg.curriculum))
            last_evals = evals
            if self.opt.on_round is not None:
                last_round = r == len(self.schedule)
                self.opt.on_round(self, RoundOutcome(r, steps_done, last_round, batch, train, result))
        return results

    def _answer_lengths(self) -> None:
        """Eval and GRPO completion lengths: what the user set, else room for the environment's
        longest answer in this student's tokens (see `config.answer_lengths`)."""
        tok = self.student.tokenizer
        hint = self.env.answer_tokens(lambda text: len(tok(text, add_special_tokens=False)["input_ids"]))
        self.eval_tokens, grpo_tokens, notes = answer_lengths(self.cfg, self.env.name, hint)
        self.grpo = self.cfg.grpo.model_copy(update={"max_completion_length": grpo_tokens})
        for note in notes:
            self.console.print(f"[yellow]note:[/yellow] {note}")
        self.console.print(
            f"[dim]answer length: eval {self.eval_tokens}, GRPO {grpo_tokens} tokens ({self.env.name}'s answers need up to {hint})[/dim]"
        )

    # ---- the phases of a round ---------------------------------------------------------
    def _decide(self, r: int, n: int, steps_done: int) -> Proposal:
        """Rank 0: the strategy's batch for round `r`, from the episode's evidence."""
        total = sum(k for k, _ in self.schedule)
        ctx = StrategyContext(
            env=self.env,
            graph=self.graph,
            skills=self.skills,
            round=r,
            progress=steps_done / total if total else 0.0,
            problems=self.diag_by_id | {p.id: p for p in self.last_problems},
            eval_keys=self.eval_keys,
            eval_texts=self.eval_texts,
            used_texts=self.used_texts,
            report=self.report,
            eval_attempts=self.last_eval,
            last_train=self.last_train,
        )
        with self._progress() as prog:
            ctx.on_progress = _safe_point(prog, prog.add_task(f"round {r}: teach ({self._describe()})", total=None))
            proposal = self.strategy.propose(ctx, n, self.rng)
        if not proposal.problems:
            raise RuntimeError(f"round {r}: strategy {self.cfg.curriculum} returned no problems")
        return proposal

    def _add_skills(self, skills: list) -> None:
        """Another rank: the sub-skills rank 0's strategy discovered this round, so that every rank
        scores them the same way."""
        for s in skills:
            if s.id not in self.graph.skills:
                self.env.add_skill(s)
                self.graph.add_skill(s)

    def _describe(self) -> str:
        model = getattr(self.strategy, "model_name", None)
        return model if self.cfg.curriculum == "teacher" and model else self.cfg.curriculum

    def _write_batch(self, r: int, batch: list[Problem], proposal: Proposal) -> None:
        """Rank 0: the round's problems (each once) and the teacher's rejects."""
        unique = _unique(batch)
        append_jsonl(self.rd.problems, unique)
        append_jsonl(self.rd.rejected, [x.model_dump() | {"round": r} for x in proposal.rejected])
        self.used_texts.update(normalise_text(p.prompt) for p in unique)

    def _train(self, r: int, batch: list[Problem], steps: int) -> TrainOutcome:
        """Every rank: GRPO on the batch as the student sees it; attempts keep the original ids."""
        settings = self.grpo if steps == self.grpo.steps else self.grpo.model_copy(update={"steps": steps})
        shown, back = self._shown(batch)
        with self._progress() as prog:
            task = prog.add_task(f"round {r}: GRPO steps", total=steps)
            out = train_round(
                self.student,
                shown,
                self.view.reward(train=True),
                settings,
                round=r,
                output_dir=self.rd.root / "trainer",
                on_progress=_safe_point(prog, task),
            )
        return out.model_copy(update={"attempts": _back(out.attempts, back)}) if back else out

    def _diagnose(self, r: int, new_skills: list[str] | None = None) -> tuple[list[SkillEval], list[Attempt], float]:
        """The diagnostic evaluation after round `r` (0: the start): recorded, tracked, reported."""
        evals, attempts, tok_s = self.evaluate(r, self.diagnostic)
        if self.opt.diagnostic is None:
            evals += self._subskill_evals(attempts, [p for ps in self.diagnostic.values() for p in ps])
        self.tracker.record_eval(r, evals)
        self.tracker.end_round(r)
        if self.writer:
            append_jsonl(self.rd.attempts, attempts)
            self.strategy.observe_eval(r, evals, attempts)
        kw = {"new_skills": new_skills} if new_skills is not None else {}
        self.report = build_weakness_report(self.graph, self.tracker, round=r, attempts=attempts, problems=self.diag_by_id, **kw)
        return evals, attempts, tok_s

    def _commit_start(self) -> None:
        """Rank 0: round 0 (the start's evaluation) is kept as a snapshot and a strategy state."""
        self._snapshot(0)
        self._save_strategy(0)

    def _commit(self, r: int, result: RoundResult) -> None:
        """Rank 0: snapshot, strategy state and the staged student, then the round's line in
        rounds.jsonl (the commit point), then the staged student becomes student/."""
        self._snapshot(r)
        self._save_strategy(r)
        t0 = time.perf_counter()
        checkpoint.stage(self.student, self.rd.student_dir, r)  # not current until the commit line is
        result.wall_time["checkpoint"] = time.perf_counter() - t0
        append_jsonl(self.rd.rounds, [result])  # the round's commit point
        checkpoint.promote(self.rd.student_dir, r)

    def _snapshot(self, r: int) -> None:
        skills = list(self.graph.skills.values())
        SkillGraphSnapshot(round=r, skills=skills, tracker=self.tracker.state_dict(), report=self.report).save(self.rd.skill_graph(r))

    def _save_strategy(self, r: int) -> None:
        version, internal, gauss = self.rng.getstate()
        state = {"name": self.cfg.curriculum, "state": self.strategy.state_dict(), "rng": [version, list(internal), gauss]}
        path = strategy_state_path(self.rd, r)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(state))


def _unique(problems: list[Problem]) -> list[Problem]:
    return list({p.id: p for p in problems}.values())


def _back(attempts: list[Attempt], back: dict[str, str]) -> list[Attempt]:
    if not back:
        return attempts
    return [a.model_copy(update={"problem_id": back.get(a.problem_id, a.problem_id)}) for a in attempts]


def _safe_point(prog: Progress, task) -> Callable[[int, int], None]:  # noqa: ANN001
    """A progress callback that is also a place where Ctrl-C may stop the round (nothing of the
    round is committed yet, so resume redoes it)."""

    def update(done: int, total: int) -> None:
        check_interrupt()
        prog.update(task, completed=done, total=total)

    return update


def _evals_of_round(rd: RunDir, round: int) -> list[SkillEval]:
    """Per-skill held-out/OOD accuracy of a round, from its eval attempts (for round 0)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in iter_jsonl(rd.attempts):
        if a.get("round") == round and a.get("phase") == "eval":
            c = counts[(a["skill_id"], a.get("split") or "heldout")]
            c[0] += 1
            c[1] += int(is_correct(a.get("pass_rate", 0)))
    return [SkillEval(skill_id=s, split=sp, n=n, correct=k) for (s, sp), (n, k) in counts.items()]
