"""`teachloop inspect RUN_DIR`: the skill tree of one round, with what the student knows of each skill.

Reads only `skill_graph/round_K.json` snapshots: round K for the tree, and the round before it for
the change (Δ). Each trainable skill shows a mastery bar (posterior mean), its 95 % credible
interval, Δ vs the previous snapshot, and marks for frontier / blocked / regressed / new.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from teachloop.rundir import RunDir, RunDirError, read_jsonl
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import RoundResult
from teachloop.skills.report import WeaknessReport
from teachloop.skills.skill_state import SkillState
from teachloop.skills.snapshot import SkillGraphSnapshot

BAR = 20
GUIDE = 4  # columns rich.Tree indents each level by

STATUS_STYLE = {"mastered": "green", "frontier": "yellow", "blocked": "red", "regressed": "magenta"}
MARK_MASTERED = "✓ mastered"
MARK_FRONTIER = "★ frontier"
MARK_BLOCKED = "⛔ blocked by"
MARK_REGRESSED = "↓ regressed"
MARK_NEW = "✚ new"


def load_snapshot(run_dir: Path | str, round: int | None = None) -> SkillGraphSnapshot:
    """The snapshot of `round` (default: the latest); RunDirError with one line if there is none."""
    rd = RunDir(run_dir)
    rd.require()
    rounds = rd.graph_rounds()
    if not rounds:
        raise RunDirError(f"{rd.root} has no skill graph snapshots yet (skill_graph/round_K.json)")
    if round is None:  # the last finished round, not a snapshot a round in flight left
        round = max((r for r in rounds if r <= rd.finished_round()), default=rounds[-1])
    elif round not in rounds:
        raise RunDirError(f"round {round} not found in {rd.root}: snapshots exist for rounds {_ranges(rounds)}")
    path = rd.skill_graph(round)
    try:
        return SkillGraphSnapshot.load(path)
    except (ValidationError, ValueError) as e:
        first = str(e).splitlines()[0]
        raise RunDirError(f"{path}: not a valid skill graph snapshot ({first})") from e


def previous_snapshot(run_dir: Path | str, round: int) -> SkillGraphSnapshot | None:
    earlier = [r for r in RunDir(run_dir).graph_rounds() if r < round]
    return load_snapshot(run_dir, earlier[-1]) if earlier else None


def inspect_json(run_dir: Path | str, round: int | None = None) -> str:
    """The WeaknessReport of a round (default: the latest) as JSON."""
    return load_snapshot(run_dir, round).report.model_dump_json(indent=2)


def render_inspect(run_dir: Path | str, round: int | None = None) -> RenderableType:
    """A rich renderable: header, skill tree, legend."""
    snap = load_snapshot(run_dir, round)
    prev = previous_snapshot(run_dir, snap.round)
    graph = snap.graph()
    rep = snap.report
    view = _View(
        graph=graph,
        rep=rep,
        status=rep.status_map(),
        new=set(rep.new_skills),
        prev_means={sid: st.mean for sid, st in prev.report.states.items()} if prev else None,
    )
    order = graph.tree_order()
    width = max((len(sid) + GUIDE * level for sid, level in order), default=0) + 1

    header = Text.assemble(
        ("Skill graph", "bold"),
        f" of {Path(run_dir).name}, round {snap.round}" + (f" (Δ vs round {prev.round})" if prev else "") + ": ",
        (f"{len(rep.mastered)} mastered", "green"),
        ", ",
        (f"{len(rep.frontier)} frontier", "cyan"),
        ", ",
        (f"{len(rep.blocked)} blocked", "red"),
        ", ",
        (f"{len(rep.regressions)} regressed", "magenta"),
        f", {len(view.new)} new" if view.new else "",
        f" — {len(rep.states)} trainable skills",
    )
    tree = Tree(Text(f"round {snap.round}", style="bold"), guide_style="dim")
    at_level = [tree]  # tree_order is pre-order: a node's parent is the last node one level up
    for sid, level in order:
        del at_level[level + 1 :]
        pad = width - GUIDE * level
        label = view.skill_label(sid, pad) if graph.skills[sid].kind == "skill" else view.group_label(sid, pad)
        at_level.append(at_level[level].add(label))
    legend = Text.assemble(
        ("█", "green"),
        " posterior mean of success   [lo, hi] 95 % credible interval   Δ change since the previous round   n effective evidence\n",
        (MARK_MASTERED, "green"),
        "   ",
        (MARK_FRONTIER, "cyan"),
        " prerequisites mastered, teach next   ",
        (MARK_BLOCKED.split(" ")[0] + " blocked", "red"),
        " an unmastered prerequisite, named   ",
        (MARK_REGRESSED, "magenta"),
        " was mastered, dropped   ",
        (MARK_NEW, "bright_green"),
        " added by the teacher this round",
        style="dim",
    )
    teacher = _teacher_line(RunDir(run_dir), snap.round)
    return Group(header, *([teacher] if teacher else []), tree, legend)


def _teacher_line(rd: RunDir, round: int) -> Text | None:
    """What the teacher did in `round` and what it cost, from rounds.jsonl (None for round 0)."""
    result = next((r for r in read_jsonl(rd.rounds, RoundResult) if r.round == round), None)
    if result is None:
        return None
    acts = result.accepted_text() or "nothing accepted"
    return Text.assemble(
        ("Teacher", "bold"), f" in round {round}: accepted {acts}; rejected {result.rejected_total}; cost: {result.cost_text()}"
    )


def _bar(mean: float, style: str) -> Text:
    filled = min(BAR, max(0, round(mean * BAR)))
    return Text.assemble(("█" * filled, style), ("░" * (BAR - filled), "dim"))


@dataclass
class _View:
    graph: SkillGraph
    rep: WeaknessReport
    status: dict[str, str]
    new: set[str]
    prev_means: dict[str, float] | None  # None: no earlier snapshot

    def skill_label(self, sid: str, pad: int) -> Text:
        st: SkillState | None = self.rep.states.get(sid)
        skill = self.graph.skills[sid]
        if st is None:
            return Text.assemble((sid.ljust(pad), "bold"), ("no mastery data", "dim"))
        status = self.status[sid]
        if self.prev_means is not None and sid in self.prev_means:
            d = st.mean - self.prev_means[sid]
            delta = Text(f"Δ{d:+.2f}", style="green" if d > 0.005 else "red" if d < -0.005 else "dim")
        else:
            delta = Text("Δ  new" if self.prev_means is not None else "Δ   – ", style="dim")
        parts: list[Text | tuple[str, str] | str] = [
            (sid.ljust(pad), "bold"),
            _bar(st.mean, STATUS_STYLE[status]),
            f" {st.mean:.2f} [{st.ci_low:.2f}, {st.ci_high:.2f}] ",
            delta,
            (f"  n={st.evidence:.1f}", "dim"),
        ]
        if st.mastered:
            parts.append(("  " + MARK_MASTERED, "green"))
        if status == "frontier":
            parts.append(("  " + MARK_FRONTIER, "cyan"))
        if status == "blocked":
            parts.append(("  " + MARK_BLOCKED + " " + ", ".join(self.rep.blocked[sid]), "red"))
        if st.regressed:
            parts.append(("  " + MARK_REGRESSED, "magenta"))
        if sid in self.new:
            parts.append(("  " + MARK_NEW, "bright_green"))
        if skill.prerequisites:
            parts.append((f"  ← {', '.join(skill.prerequisites)}", "dim"))
        if skill.name and skill.name != sid:
            parts.append((f"  {skill.name}", "dim italic"))
        return Text.assemble(*parts)

    def group_label(self, sid: str, pad: int) -> Text:
        """A domain/topic: the mean mastery of its skills and how many are mastered."""
        states = self.rep.states
        leaves = [s for s in self.graph.trainable_under(sid) if s in states]  # the population "N trainable skills" counts
        skill = self.graph.skills[sid]
        head = Text(sid.ljust(pad), style="bold underline" if skill.kind == "domain" else "bold")
        if not leaves:
            return Text.assemble(head, (f"{skill.kind}, no skills yet", "dim"))
        mean = sum(states[s].mean for s in leaves) / len(leaves)
        done = sum(states[s].mastered for s in leaves)
        parts: list[Text | tuple[str, str] | str] = [
            head,
            _bar(mean, "blue"),
            f" {mean:.2f}",
            (f"  {done}/{len(leaves)} mastered ({skill.kind})", "dim"),
        ]
        if skill.prerequisites:
            parts.append((f"  ← {', '.join(skill.prerequisites)}", "dim"))
        return Text.assemble(*parts)


def _ranges(rounds: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out: list[str] = []
    start = prev = rounds[0]
    for r in rounds[1:] + [None]:  # type: ignore[list-item]
        if r is not None and r == prev + 1:
            prev = r
            continue
        out.append(f"{start}-{prev}" if prev > start else str(start))
        if r is not None:
            start = prev = r
    return ", ".join(out)
