"""`teachloop report RUN_DIR`: one self-contained HTML file about a whole run.

Everything is inline (CSS in a <style>, figures as base64 PNG data URIs, no scripts), so the file
opens anywhere, offline, and can be mailed or attached to an issue. Sections: final skill table,
mastery per skill over rounds, skill × round held-out accuracy heatmap, the skill graph coloured
by mastery, the teacher's actions and cost per round, and sample accepted / rejected problems.
The figures are drawn in teachloop/report_figures.py.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from typing import Any

from teachloop.inspect import load_snapshot
from teachloop.report_figures import STATUS_COLOR, actions_figure, figure_html, graph_figure, heatmap_figure, mastery_figure
from teachloop.rundir import RunDir, RunDirError, iter_jsonl, read_jsonl, write_atomic
from teachloop.skills.graph import SkillGraph
from teachloop.skills.records import Problem, RoundResult
from teachloop.skills.snapshot import SkillGraphSnapshot

SAMPLES_PER_ACTION = 3
REJECTS_PER_ROUND = 6
TEXT_CHARS = 300


def write_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Write the report (default RUN/report.html) and return its path."""
    rd = RunDir(run_dir)
    rd.require()
    finished = rd.finished_round()  # a round in flight (interrupted) is not reported
    rounds = [r for r in rd.graph_rounds() if r <= finished]
    if not rounds:
        raise RunDirError(f"{rd.root} has no skill graph snapshots yet (skill_graph/round_K.json); nothing to report")
    snaps = {r: load_snapshot(rd.root, r) for r in rounds}
    last = snaps[rounds[-1]]
    results = read_jsonl(rd.rounds, RoundResult)
    problems = [p for p in read_jsonl(rd.problems, Problem) if p.round <= finished]
    rejected = [x for x in iter_jsonl(rd.rejected) if x.get("round", 0) <= finished]
    config = rd.config.read_text(encoding="utf-8") if rd.config.exists() else ""

    graph = last.graph()
    body = [
        _summary(rd, last, results, config),
        _section("Skills", _skill_table(graph, last), "Every node of the final graph, as a tree (domain → topic → skill)."),
        _section(
            "Mastery over rounds",
            figure_html(mastery_figure(graph, snaps)),
            "Posterior mean of success (line) with its 95 % credible interval (band) and the held-out "
            "accuracy of each round (dots); dashed: the mastery threshold.",
        ),
        _section(
            "Held-out accuracy, skill × round",
            figure_html(heatmap_figure(graph, last)),
            "Grey: not evaluated in that round (e.g. before the skill was added).",
        ),
        _section(
            "Skill graph",
            figure_html(graph_figure(graph, last)),
            "Layers by prerequisite depth; arrows point from a prerequisite to the skills that need it "
            "(redundant arrows implied by others are left out). Fill: posterior mean; border: status.",
        ),
        _section("Teacher actions per round", _teacher(results), ""),
        _section("Sample problems", _samples(problems, rejected), ""),
    ]
    doc = _PAGE.format(title=html.escape(f"teachloop report: {rd.root.name}"), css=_CSS, body="\n".join(body))
    dest = Path(out) if out is not None else rd.root / "report.html"
    write_atomic(dest, doc)
    return dest


# ---------------------------------------------------------------------- helpers
def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _clip(text: str, n: int = TEXT_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _section(title: str, inner: str, note: str) -> str:
    anchor = title.lower().replace(" ", "-").replace(",", "").replace("×", "x")
    note_html = f'<p class="note">{_e(note)}</p>' if note else ""
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{note_html}{inner}</section>'


# ---------------------------------------------------------------------- sections
def _summary(rd: RunDir, last: SkillGraphSnapshot, results: list[RoundResult], config: str) -> str:
    rep = last.report
    n_acc = sum(r.accepted_problems for r in results)
    n_rej = sum(r.rejected_total for r in results)
    tokens = sum(r.teacher_cost.prompt_tokens + r.teacher_cost.completion_tokens for r in results)
    secs = sum(r.teacher_cost.seconds for r in results)
    items = [
        f"<b>{len(results)}</b> finished round{'' if len(results) == 1 else 's'}; skill graph snapshots up to round <b>{last.round}</b>",
        f"<b>{len(rep.states)}</b> trainable skills{_discovered_note(last)}: "
        f"<b>{len(rep.mastered)}</b> mastered, <b>{len(rep.frontier)}</b> on the frontier, "
        f"<b>{len(rep.blocked)}</b> blocked, <b>{len(rep.regressions)}</b> regressed",
        f"<b>{n_acc}</b> problems accepted, <b>{n_rej}</b> rejected; teacher cost {tokens:,} tokens, {secs:.1f} s",
    ]
    cfg = f"<details><summary>config.yaml</summary><pre>{_e(config)}</pre></details>" if config else ""
    lis = "".join(f"<li>{i}</li>" for i in items)
    return f"<header><h1>teachloop report: {_e(rd.root.name)}</h1><ul>{lis}</ul>{cfg}</header>"


def _discovered_note(snap: SkillGraphSnapshot) -> str:
    """The "(incl. N discovered sub-skills)" after the count of trainable skills, so it reads against the seed graph."""
    graph = snap.graph()
    n = sum(graph.skills[s].provenance == "discovered" for s in snap.report.states if s in graph.skills)
    return f" (incl. {n} discovered sub-skill{'' if n == 1 else 's'})" if n else ""


def _skill_table(graph: SkillGraph, last: SkillGraphSnapshot) -> str:
    rep = last.report
    status_of = rep.status_map()
    new_skills = set(rep.new_skills)
    rows = []
    for sid, level in graph.tree_order():
        s = graph.skills[sid]
        st = rep.states.get(sid)
        if st is not None:
            status = status_of[sid]
            detail = ", ".join(rep.blocked[sid]) if sid in rep.blocked else ""
            mastery = (
                f'<td class="num">{st.mean:.2f}</td><td class="num">[{st.ci_low:.2f}, {st.ci_high:.2f}]</td>'
                f'<td class="num">{st.evidence:.1f}</td><td class="num">{st.trend:+.2f}</td>'
            )
            status_html = f'<span class="tag" style="background:{STATUS_COLOR[status]}">{status}</span> {_e(detail)}'
        else:
            under = [x for x in graph.trainable_under(sid) if x in rep.states]
            done = sum(rep.states[x].mastered for x in under)
            mastery = (
                '<td colspan="4" class="dim">' + (f"{done}/{len(under)} trainable skills mastered" if under else "no skills") + "</td>"
            )
            status_html = ""
        new = ' <span class="tag" style="background:#2da44e">new</span>' if sid in new_skills else ""
        origin = "seed" if s.provenance == "seed" else f"discovered in round {s.added_round}"
        rows.append(
            f"<tr class='{s.kind}'><td style='padding-left:{6 + 16 * level}px'><code>{_e(sid)}</code>{new}</td><td>{_e(s.name)}</td><td>{s.kind}</td>"
            f"<td>{_e(s.parent or '')}</td><td>{_e(', '.join(s.prerequisites))}</td>{mastery}"
            f"<td>{status_html}</td><td>{_e(origin)}</td></tr>"
        )
    head = (
        "<tr><th>id</th><th>name</th><th>kind</th><th>parent</th><th>prerequisites</th><th>mastery</th>"
        "<th>95 % interval</th><th>evidence</th><th>trend</th><th>status</th><th>origin</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _teacher(results: list[RoundResult]) -> str:
    if not results:
        return '<p class="dim">No finished rounds yet.</p>'
    actions = sorted({a for r in results for a in r.problems_per_action()} | {a for r in results for a in r.rejected_per_action})
    fig_html = figure_html(actions_figure(results, actions)) if actions else ""
    rows = []
    for r in results:
        plan = (
            "<br>".join(
                f"<code>{_e(i.skill_id)}</code> {_e(i.action)} ×{i.budget}"
                + (f" <span class='dim'>{_e(_clip(i.rationale, 120))}</span>" if i.rationale else "")
                for i in r.plan.items
            )
            or '<span class="dim">none</span>'
        )
        acc = _e(r.accepted_text())
        rej = (
            "<br>".join(
                f"{_e(a)}: " + ", ".join(f"{_e(k)} {n}" for k, n in sorted(v.items())) for a, v in sorted(r.rejected_per_action.items())
            )
            or "0"
        )
        wall = ", ".join(f"{_e(k)} {v:.1f} s" for k, v in r.wall_time.items())
        before = _mean_acc(r.eval_before)
        after = _mean_acc(r.eval_after)
        evals = f"{before} → {after}"
        new = ", ".join(f"<code>{_e(s)}</code>" for s in r.new_skills)
        rows.append(
            f"<tr><td class='num'>{r.round}</td><td>{_e(r.plan.policy)}<br>{plan}</td><td>{acc}</td><td>{rej}</td>"
            f"<td>{_e(r.cost_text())}</td><td>{wall}</td><td>{evals}</td><td>{new}</td></tr>"
        )
    head = (
        "<tr><th>round</th><th>plan (policy; skill, action × budget)</th><th>accepted per action</th>"
        "<th>rejected per action and reason</th><th>teacher cost</th><th>wall time</th>"
        "<th>held-out accuracy before → after</th><th>new skills</th></tr>"
    )
    return fig_html + f"<table>{head}{''.join(rows)}</table>"


def _mean_acc(evals: list) -> str:
    held = [e for e in evals if e.split == "heldout" and e.n]
    if not held:
        return "–"
    return f"{sum(e.correct for e in held) / sum(e.n for e in held):.2f}"


def _samples(problems: list[Problem], rejected: list[dict]) -> str:
    by_round: dict[int, dict[str, list[Problem]]] = defaultdict(lambda: defaultdict(list))
    for p in problems:
        by_round[p.round][p.action or p.provenance].append(p)
    rej_round: dict[int, list[dict]] = defaultdict(list)
    for r in rejected:
        rej_round[int(r.get("round", 0))].append(r)
    rounds = sorted(set(by_round) | set(rej_round))
    if not rounds:
        return '<p class="dim">No problems recorded.</p>'
    out = []
    for rnd in rounds:
        acc_rows = []
        for action, ps in sorted(by_round[rnd].items()):
            for p in _spread(ps, SAMPLES_PER_ACTION):
                origin = (
                    f"{p.provenance}"
                    + (f" of <code>{_e(p.parent_id)}</code>" if p.parent_id else "")
                    + (f" by {_e(p.teacher)}" if p.teacher else "")
                )
                acc_rows.append(
                    f"<tr><td>{_e(action)}</td><td><code>{_e(p.skill_id)}</code> L{p.difficulty}</td>"
                    f"<td><pre>{_e(_clip(p.prompt))}</pre></td><td><code>{_e(_clip(p.answer, 80))}</code></td><td>{origin}</td></tr>"
                )
        rej_rows = []
        for r in rej_round[rnd][:REJECTS_PER_ROUND]:
            draft = r.get("draft") or {}
            text = draft.get("prompt") or draft.get("question") or str(draft)
            answer = draft.get("answer", "")
            rej_rows.append(
                f"<tr><td>{_e(r.get('action', ''))}</td><td><code>{_e(r.get('skill_id', ''))}</code></td>"
                f"<td><pre>{_e(_clip(str(text)))}</pre></td><td><code>{_e(_clip(str(answer), 80))}</code></td>"
                f"<td><span class='tag' style='background:#cf222e'>{_e(r.get('reason', ''))}</span> {_e(_clip(str(r.get('detail', '')), 200))}</td></tr>"
            )
        n_acc = sum(len(v) for v in by_round[rnd].values())
        block = [f"<h3>Round {rnd}: {n_acc} accepted, {len(rej_round[rnd])} rejected</h3>"]
        if acc_rows:
            block.append(
                "<table><tr><th>action</th><th>skill</th><th>accepted problem</th><th>answer</th><th>origin</th></tr>"
                + "".join(acc_rows)
                + "</table>"
            )
        if rej_rows:
            block.append(
                "<table><tr><th>action</th><th>skill</th><th>rejected draft</th><th>answer</th><th>reason</th></tr>"
                + "".join(rej_rows)
                + "</table>"
            )
        out.append("".join(block))
    return "".join(out)


def _spread(problems: list[Problem], n: int) -> list[Problem]:
    """Up to n problems, one skill after another (round robin), so a sample shows several skills."""
    by_skill: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        by_skill[p.skill_id].append(p)
    out: list[Problem] = []
    for i in range(n):
        for ps in by_skill.values():
            if i < len(ps) and len(out) < n:
                out.append(ps[i])
    return out


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1320px;color:#1f2328;padding:0 16px}
h1{font-size:1.6em;margin-bottom:.3em} h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;font-size:13px;margin:.5em 0;width:100%}
th,td{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.domain td{background:#eef1f4;font-weight:600} tr.topic td{background:#f6f8fa}
pre{margin:0;white-space:pre-wrap;font-size:12px} code{font-size:12px}
img{max-width:100%;height:auto;display:block;margin:.4em 0}
.tag{color:#fff;border-radius:8px;padding:0 7px;font-size:11px;white-space:nowrap}
.dim,.note{color:#656d76} .note{font-size:13px;margin:.2em 0 .6em}
details{margin:.5em 0} summary{cursor:pointer;color:#0969da}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{css}</style></head>
<body>
{body}
</body></html>
"""
