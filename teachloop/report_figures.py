"""The figures of `teachloop report`: matplotlib on its Agg canvas (no pyplot, no global backend
switch), each returned as a Figure and embedded by `figure_html` as a base64 PNG data URI."""

from __future__ import annotations

import base64
import io
import math
from collections import defaultdict

import networkx as nx
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from teachloop.skills.graph import SkillGraph
from teachloop.skills.mastery import MasteryConfig
from teachloop.skills.records import RoundResult
from teachloop.skills.snapshot import SkillGraphSnapshot

CMAP = colormaps["RdYlGn"]
STATUS_COLOR = {"mastered": "#1a7f37", "frontier": "#0969da", "blocked": "#8c959f", "regressed": "#bf3989"}
NO_DATA = "#d0d7de"


def figure_html(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def mastery_figure(graph: SkillGraph, snaps: dict[int, SkillGraphSnapshot]) -> Figure:
    """Small multiples, one panel per skill: 40 lines on one axis cannot be told apart."""
    ids = graph.trainable_ids()
    rounds = sorted(snaps)
    last = snaps[rounds[-1]]
    threshold = MasteryConfig.model_validate(last.tracker["config"]).threshold
    status_of = last.report.status_map()
    ncols = min(5, max(1, len(ids)))
    nrows = max(1, math.ceil(len(ids) / ncols))
    fig = Figure(figsize=(3.0 * ncols, 2.1 * nrows + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, sid in zip(axes, ids):
        xs, mean, lo, hi = [], [], [], []
        for r in rounds:
            st = snaps[r].report.states.get(sid)
            if st is not None:
                xs.append(r)
                mean.append(st.mean)
                lo.append(st.ci_low)
                hi.append(st.ci_high)
        color = STATUS_COLOR.get(status_of.get(sid, ""), NO_DATA)
        if xs:
            ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
            ax.plot(xs, mean, color=color, marker="o", markersize=3, linewidth=1.6)
        st = last.report.states.get(sid)
        if st is not None:
            hx = [r for r, v in enumerate(st.history) if v is not None]
            ax.scatter(hx, [st.history[r] for r in hx], s=12, color="black", zorder=3)
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(sid, fontsize=9, color=color)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    for ax in axes[len(ids) :]:
        ax.set_visible(False)
    for ax in axes[: len(ids)]:
        ax.tick_params(labelsize=7, labelbottom=True)
        ax.set_xticks(rounds)
    fig.supxlabel("round", fontsize=9)
    fig.supylabel("P(success)", fontsize=9)
    fig.legend(
        handles=[Patch(color=c, label=k) for k, c in STATUS_COLOR.items()]
        + [Line2D([], [], color="black", marker="o", linestyle="", markersize=4, label="held-out accuracy")],
        loc="outside upper center",
        ncol=6,
        fontsize=8,
        frameon=False,
    )
    return fig


def heatmap_figure(graph: SkillGraph, last: SkillGraphSnapshot) -> Figure:
    ids = graph.trainable_ids()
    hist = [last.report.states[s].history if s in last.report.states else [] for s in ids]
    n_rounds = max((len(h) for h in hist), default=0) or 1
    grid = np.full((len(ids), n_rounds), np.nan)
    for i, h in enumerate(hist):
        for r, v in enumerate(h):
            if v is not None:
                grid[i, r] = v
    fig = Figure(figsize=(max(4.0, 1.0 + 0.6 * n_rounds + 2.5), max(2.0, 0.32 * len(ids) + 1.0)))
    ax = fig.subplots()
    cmap = CMAP.with_extremes(bad="#d0d7de")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(ids)), ids, fontsize=8)
    ax.set_xticks(range(n_rounds), [str(r) for r in range(n_rounds)], fontsize=8)
    ax.set_xlabel("round")
    if grid.size <= 800:
        for (i, r), v in np.ndenumerate(grid):
            if not np.isnan(v):
                ax.text(r, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="black")
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="held-out accuracy")
    fig.tight_layout()
    return fig


def layered_positions(graph: SkillGraph, edges: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """x = prerequisite depth; within a column, skills ordered by the barycentre heuristic (mean
    height of their neighbours in the previous column, sweeping right, left, right: fewer
    crossings), starting from topic siblings together. networkx's multipartite_layout scales both
    axes by one factor, which squeezes the columns flat as soon as one column is tall, hence this
    small layout of our own."""
    depth = graph.depth()
    order = {sid: i for i, sid in enumerate(graph.skills)}
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for u, v in edges:
        preds[v].append(u)
        succs[u].append(v)
    columns: dict[int, list[str]] = defaultdict(list)
    for sid in sorted(depth, key=lambda s: (order.get(graph.skills[s].parent or "", -1), order[s])):
        columns[depth[sid]].append(sid)
    y: dict[str, float] = {}

    def place(col: list[str]) -> None:
        for i, sid in enumerate(col):
            y[sid] = (len(col) - 1) / 2 - i

    for col in columns.values():
        place(col)
    ks = sorted(columns)
    for sweep, nbrs in ((ks[1:], preds), (ks[-2::-1], succs), (ks[1:], preds)):
        for k in sweep:
            col = columns[k]
            col.sort(key=lambda s: -(sum(y[n] for n in nbrs[s]) / len(nbrs[s])) if nbrs[s] else -y[s])
            place(col)
    return {sid: (float(depth[sid]), y[sid]) for sid in depth}


def graph_figure(graph: SkillGraph, last: SkillGraphSnapshot) -> Figure:
    """The trainable skills in prerequisite layers, boxes filled by mastery and outlined by status,
    arrows along the transitive reduction of the requirements (an arrow implied by a longer path
    is left out; a topic prerequisite shows as arrows from its skills)."""
    rep = last.report
    deps = graph.deps
    edges = list(nx.transitive_reduction(deps).edges) if deps.number_of_edges() else []
    pos = layered_positions(graph, edges)
    layers = int(max((x for x, _ in pos.values()), default=0)) + 1
    tallest = max((sum(1 for x, _ in pos.values() if x == k) for k in range(layers)), default=1)
    fig = Figure(figsize=(max(6.0, 2.5 * layers + 1.5), max(2.5, 0.5 * tallest + 1.2)), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    if not pos:
        ax.text(0.5, 0.5, "no trainable skills", ha="center")
        return fig
    ax.set_xlim(-0.6, layers - 0.4)
    ax.set_ylim(-tallest / 2 - 0.2, tallest / 2 + 0.2)
    norm = Normalize(0, 1)
    status_of = rep.status_map()
    new_skills = set(rep.new_skills)
    boxes = {}
    for sid, (x, y) in pos.items():
        st = rep.states.get(sid)
        mean = st.mean if st is not None else 0.0
        status = status_of.get(sid, "")
        label = sid + (" (new)" if sid in new_skills else "") + (f"\n{mean:.2f}" if st is not None else "")
        boxes[sid] = ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox=dict(
                boxstyle="round,pad=0.35",
                fc=CMAP(norm(mean)) if st is not None else NO_DATA,
                ec=STATUS_COLOR.get(status, NO_DATA),
                lw=2.6 if status in ("frontier", "regressed") else 1.4,
                ls="--" if status == "blocked" else "-",
            ),
        )
    for u, v in edges:
        ax.annotate(
            "",
            xy=(0, 0.5),
            xycoords=boxes[v],
            xytext=(1, 0.5),
            textcoords=boxes[u],
            zorder=2,
            arrowprops=dict(arrowstyle="-|>", color="#57606a", lw=0.9, shrinkA=2, shrinkB=2, connectionstyle="arc3,rad=0.05"),
        )
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=CMAP),
        ax=ax,
        fraction=0.025,
        pad=0.01,
        label="posterior mean of success",
    )
    fig.legend(
        handles=[Patch(fc="white", ec=c, lw=2, ls="--" if k == "blocked" else "-", label=k) for k, c in STATUS_COLOR.items()],
        loc="outside lower center",
        fontsize=8,
        frameon=False,
        ncol=5,
    )
    return fig


def actions_figure(results: list[RoundResult], actions: list[str]) -> Figure:
    fig = Figure(figsize=(max(5.0, 0.7 * len(results) + 3), 2.8))
    ax = fig.subplots()
    xs = np.array([r.round for r in results], dtype=float)
    bottom = np.zeros(len(results))
    palette = colormaps["tab10"]
    for i, a in enumerate(actions):
        vals = np.array([r.problems_per_action().get(a, 0) for r in results], dtype=float)
        ax.bar(xs - 0.2, vals, 0.4, bottom=bottom, color=palette(i), label=f"{a} accepted")
        bottom += vals
    rej = np.array([r.rejected_total for r in results], dtype=float)
    ax.bar(xs + 0.2, rej, 0.4, color="#d0d7de", hatch="//", edgecolor="#8c959f", label="rejected (all actions)")
    ax.set_xticks(xs, [str(int(x)) for x in xs])
    ax.set_xlabel("round")
    ax.set_ylabel("problems")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
