"""The weakness report: the one summary of what the student knows that every teacher model reads.

It is built from the graph (what depends on what) and the mastery tracker (what is known), plus
this round's failed eval attempts as concrete exemplars. It is a pydantic record, so it travels as
JSON (snapshots, `teachloop inspect --json`), and renders to compact text for LLM prompts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import ConfigDict, Field

from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryTracker
from teachloop.skills.records import Attempt, Problem, Record
from teachloop.skills.skill_state import SkillState

ANSWER_CHARS = 200


@dataclass(slots=True, kw_only=True)
class FailureExemplar:
    """One problem the student got wrong: what it was asked, what it said, what was right. A plain
    dataclass like SkillState (a report holds thousands); validated wherever a report is."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    problem_id: str
    prompt: Annotated[str | None, Field(description="The problem text; None when the problem is not known.")] = None
    student_answer: Annotated[str, Field(description=f"The failing completion, whitespace collapsed, at most {ANSWER_CHARS} characters.")]
    expected: Annotated[str | None, Field(description="The ground-truth answer; None when the problem is not known.")] = None
    split: Annotated[str | None, Field(description="Eval split the problem came from.")] = None

    def for_prompt(self) -> dict[str, str | None]:
        """What a teacher model is shown: the problem, the student's answer, the right one."""
        return {"prompt": self.prompt, "student_answer": self.student_answer, "expected": self.expected}


class WeaknessReport(Record):
    """Per-skill mastery plus what to teach next. Skill lists follow prerequisite order, except
    `weak`, which is weakest first."""

    round: int
    states: dict[str, SkillState] = Field(default_factory=dict, description="Mastery of every trainable skill.")
    frontier: list[str] = Field(default_factory=list, description="Not mastered, all prerequisites mastered: teach these.")
    blocked: dict[str, list[str]] = Field(
        default_factory=dict, description="Not mastered skill -> its unmastered prerequisites (trainable skills)."
    )
    mastered: list[str] = Field(default_factory=list)
    regressions: list[str] = Field(default_factory=list, description="Skills that were mastered and whose held-out accuracy dropped.")
    weak: list[str] = Field(
        default_factory=list, description="Not mastered skills, lowest posterior mean first (ties in prerequisite order)."
    )
    exemplars: dict[str, list[FailureExemplar]] = Field(default_factory=dict, description="Failures of this round's eval per weak skill.")
    new_skills: list[str] = Field(default_factory=list, description="Skills added to the graph in this round.")

    def status_map(self) -> dict[str, str]:
        """One word per skill for views: 'regressed' (which wins, a regressed skill may still be
        mastered), else 'mastered', 'blocked' or 'frontier'."""
        out = dict.fromkeys(self.frontier, "frontier")
        out.update(dict.fromkeys(self.blocked, "blocked"))
        out.update(dict.fromkeys(self.mastered, "mastered"))
        out.update(dict.fromkeys(self.regressions, "regressed"))
        return out

    def to_prompt_text(self, max_exemplars: int = 2, max_skills: int = 30) -> str:
        """Compact text for a teacher prompt: counts, the frontier, regressions, blocked skills and
        failure exemplars (frontier skills' first: those are the ones to teach). Each list is cut
        at `max_skills` entries, the weakest kept, so a large graph still fits a prompt; a cut is
        stated, never silent."""
        st = self.states
        weak_rank = {s: i for i, s in enumerate(self.weak)}

        def cut(ids: list[str]) -> tuple[list[str], list[str]]:
            if len(ids) <= max_skills:
                return ids, []
            keep = set(sorted(ids, key=lambda s: weak_rank.get(s, len(weak_rank)))[:max_skills])
            return [s for s in ids if s in keep], [f"- … and {len(ids) - max_skills} more"]

        def line(sid: str) -> str:
            s = st[sid]
            last = next((h for h in reversed(s.history) if h is not None), None)
            acc = f", held-out acc {last:.2f}" if last is not None else ""
            return f"- {sid}: mastery {s.mean:.2f} [{s.ci_low:.2f}, {s.ci_high:.2f}], evidence {s.evidence:.1f}, trend {s.trend:+.2f}{acc}"

        out = [
            f"Student skill report, round {self.round}: {len(st)} skills — {len(self.mastered)} mastered, "
            f"{len(self.frontier)} on the frontier, {len(self.blocked)} blocked, {len(self.regressions)} regressed"
            + (f", {len(self.new_skills)} new" if self.new_skills else "")
            + ".",
            "mastery = posterior mean of success [95% interval]; trend = change in held-out accuracy.",
        ]
        for title, ids in (
            ("Frontier (prerequisites mastered, not yet mastered: teach these):", self.frontier),
            ("Regressed (was mastered, held-out accuracy dropped: review these):", self.regressions),
        ):
            if ids:
                shown, more = cut(ids)
                out += [title, *map(line, shown), *more]
        if self.blocked:
            shown, more = cut(list(self.blocked))
            out += ["Blocked (teach the prerequisites first):", *(f"- {s} needs {', '.join(self.blocked[s])}" for s in shown), *more]
        if self.mastered:
            shown, more = cut(self.mastered)
            out.append("Mastered: " + ", ".join(shown) + (f" … and {len(self.mastered) - len(shown)} more" if more else ""))
        if self.new_skills:
            out.append("New this round: " + ", ".join(self.new_skills))
        order = list(dict.fromkeys([*self.frontier, *self.regressions, *self.weak]))
        ex_ids = [s for s in order if self.exemplars.get(s)][:max_skills]
        if ex_ids and max_exemplars > 0:
            out.append("Failures (problem | student answer | expected):")
            for sid in ex_ids:
                out.append(f"[{sid}]")
                for e in self.exemplars[sid][:max_exemplars]:
                    prompt = _clip(e.prompt, ANSWER_CHARS) if e.prompt is not None else f"problem {e.problem_id}"
                    out.append(f"- {prompt} | {e.student_answer!r} | {e.expected if e.expected is not None else '?'}")
        return "\n".join(out)


def _clip(text: str, n: int) -> str:
    """Collapse whitespace and cut to at most n characters (an ellipsis marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_weakness_report(
    graph: SkillGraph,
    tracker: MasteryTracker,
    *,
    round: int,
    attempts: Iterable[Attempt] = (),
    problems: dict[str, Problem] | None = None,
    k: int = 3,
    new_skills: Iterable[str] = (),
) -> WeaknessReport:
    """The report for `round`. Mastery comes from the tracker, already aggregated per skill, so the
    cost is one vector pass over skills; `attempts` are only scanned once for exemplars: eval
    attempts of this round with a reward below 1, up to `k` distinct problems per weak skill,
    held-out ones before other splits. `new_skills` defaults to the skills the graph says were
    discovered in this round."""
    with _cycle_collector_paused():
        return _build(graph, tracker, round, attempts, problems or {}, k, list(new_skills))


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """The build makes tens of thousands of records (10,000 skills: ~60,000 containers), all
    acyclic and all kept in the report, so cycle collections during it rescan them and free
    nothing but time (benchmarks/results/weakness_report.md). Pause the collector for the build
    and leave the caller's setting as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(
    graph: SkillGraph,
    tracker: MasteryTracker,
    round: int,
    attempts: Iterable[Attempt],
    problems: dict[str, Problem],
    k: int,
    new_skills: list[str],
) -> WeaknessReport:
    ids = graph.trainable_ids()
    table = tracker.table(ids)
    states = table.states()
    pick = np.asarray(ids, dtype=object)
    done = table.mastered
    owner, req = graph.requirement_pairs()
    open_pairs = ~done[owner] & ~done[req]  # an unmastered skill waiting on an unmastered requirement
    o, r = owner[open_pairs], req[open_pairs]
    cuts = np.flatnonzero(np.diff(o)) + 1
    blocked = dict(zip(pick[o[np.r_[0, cuts]]].tolist() if o.size else [], (grp.tolist() for grp in np.split(pick[r], cuts))))
    is_blocked = np.zeros(len(ids), dtype=bool)
    is_blocked[o] = True
    frontier = pick[~done & ~is_blocked].tolist()
    mastered = pick[done].tolist()
    regressions = pick[table.regressed].tolist()
    open_ = np.flatnonzero(~done)
    weak = pick[open_[np.argsort(table.mean[open_], kind="stable")]].tolist()  # ties: prerequisite order

    exemplars = _exemplars(attempts, set(weak), round, problems, k, tracker.config.eval_split)
    return WeaknessReport(
        round=round,
        states=states,
        frontier=frontier,
        blocked=blocked,
        mastered=mastered,
        regressions=regressions,
        weak=weak,
        exemplars={s: exemplars[s] for s in weak if s in exemplars},
        new_skills=[str(s) for s in new_skills] or graph.added_in(round),
    )


def _exemplars(
    attempts: Iterable[Attempt], weak: set[str], round: int, problems: dict[str, Problem], k: int, first_split: str
) -> dict[str, list[FailureExemplar]]:
    """One pass: held-out failures become exemplars as they come, failures of other splits wait
    until the pass is over and fill the places left."""
    out: dict[str, list[FailureExemplar]] = {}
    if k <= 0:
        return out
    seen: set[str] = set()
    later: list[Attempt] = []

    def take(a: Attempt) -> None:
        got = out.get(a.skill_id)
        if got is None:
            got = out[a.skill_id] = []
        elif len(got) >= k:
            return
        pid = a.problem_id
        if pid in seen:
            return
        seen.add(pid)
        rewards = a.rewards
        i = 0
        while rewards[i] >= 1.0:  # the caller checked that one is below 1
            i += 1
        p = problems.get(pid)
        got.append(
            FailureExemplar(
                problem_id=pid,
                prompt=p.prompt if p else None,
                student_answer=_clip(a.completions[i] if i < len(a.completions) else "", ANSWER_CHARS),
                expected=p.answer if p else None,
                split=a.split,
            )
        )

    for a in attempts:
        if a.skill_id in weak and a.round == round and a.phase == "eval" and a.rewards and min(a.rewards) < 1.0:
            if a.split == first_split:
                take(a)
            else:
                later.append(a)
    for a in later:
        take(a)
    return out
