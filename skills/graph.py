"""The skill graph: a hierarchy (domain → topic → skill → sub-skill) plus prerequisite edges.

Two graphs are kept. `g` is what was declared: parent edges (parent → child) and prerequisite
edges (prerequisite → dependent), told apart by the edge attribute ``kind``. `deps` is what the
declarations mean for learning, over trainable skills only: a prerequisite naming a domain or topic
stands for the skills under it, and a prerequisite declared on any node is inherited by every skill
under it. Sub-skills (a skill's children, e.g. the teacher's discoveries) refine their parent: a
prerequisite naming the parent or its topic means the parent, not its refinements. A cycle in
`deps` means no skill of the cycle could ever leave the blocked state, so it is rejected, named
hop by hop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import networkx as nx
import numpy as np

from teachloop.skills.records import Skill

PARENT = "parent"
PREREQ = "prereq"


class SkillGraphError(ValueError):
    """An invalid skill graph; the message is one line naming the offending skills."""


class SkillGraph:
    """A validated skill graph that may grow during an episode (see `add_skill`)."""

    def __init__(self, skills: Iterable[Skill] = ()):
        self.skills: dict[str, Skill] = {}
        for s in skills:
            if s.id in self.skills:
                raise SkillGraphError(f"duplicate skill id {s.id!r}")
            self.skills[s.id] = s
        self._check_references(self.skills.values())
        self._rebuild()

    # ------------------------------------------------------------------ building and validation
    def _check_references(self, skills: Iterable[Skill]) -> None:
        for s in skills:
            if s.parent is not None:
                if s.parent not in self.skills:
                    raise SkillGraphError(f"unknown skill {s.parent!r} (parent of {s.id!r})")
                if self.skills[s.parent].kind == "skill" and s.kind != "skill":
                    raise SkillGraphError(f"{s.kind} {s.id!r} cannot be under skill {s.parent!r} (a skill's children are sub-skills)")
            for p in s.prerequisites:
                if p not in self.skills:
                    raise SkillGraphError(f"unknown skill {p!r} (prerequisite of {s.id!r})")

    def _rebuild(self) -> None:
        """Build `g`, `deps` and the cached orders from `skills`; raise on any cycle."""
        g = nx.DiGraph()
        for sid, s in self.skills.items():
            g.add_node(sid, skill=s)
        for sid, s in self.skills.items():
            if s.parent is not None:
                g.add_edge(s.parent, sid, kind=PARENT)
        tree = nx.DiGraph((u, v) for u, v, k in g.edges(data="kind") if k == PARENT)
        if not nx.is_directed_acyclic_graph(tree):
            cyc = [u for u, _ in nx.find_cycle(tree)]
            raise SkillGraphError("parent cycle: " + " -> ".join(cyc + [cyc[0]]))
        for sid, s in self.skills.items():
            for p in s.prerequisites:
                if p == s.parent:  # one edge per pair in a DiGraph, and for a topic it is a deadlock
                    if self.skills[p].kind == "skill":
                        raise SkillGraphError(f"sub-skill {sid} cannot require its parent skill {p} (it refines it)")
                    raise SkillGraphError(f"prerequisite cycle: {sid} requires its own parent {p}")
                g.add_edge(p, sid, kind=PREREQ)

        # What a prerequisite naming each node stands for, in declaration order: a trainable skill
        # only itself (not its sub-skills, which refine it), a domain/topic the skills under it.
        order = {sid: i for i, sid in enumerate(self.skills)}
        leaves: dict[str, list[str]] = {}
        for sid in reversed([n for n in self.skills if n not in tree] + list(nx.topological_sort(tree))):
            if self.skills[sid].kind == "skill":
                leaves[sid] = [sid]
            else:  # children come before parents in this reversed order
                under = {x for c in tree.successors(sid) for x in leaves[c]} if sid in tree else set()
                leaves[sid] = sorted(under, key=order.__getitem__)

        deps = nx.DiGraph()
        deps.add_nodes_from(sid for sid, s in self.skills.items() if s.kind == "skill")
        for sid in deps:
            for holder in self._ancestors_and_self(sid):
                for p in self.skills[holder].prerequisites:
                    for leaf in leaves[p]:
                        if not deps.has_edge(leaf, sid):
                            deps.add_edge(leaf, sid, via=p, holder=holder)
        if not nx.is_directed_acyclic_graph(deps):
            raise SkillGraphError(_cycle_message(deps))

        # Mastery order: a node after everything it requires; a domain/topic after its skills.
        # (Only non-trainable nodes have outgoing hierarchy edges here and none has a requirement
        # edge, so this graph is acyclic whenever `deps` is.)
        mo = nx.DiGraph()
        mo.add_nodes_from(self.skills)
        mo.add_edges_from(deps.edges)
        mo.add_edges_from((v, u) for u, v in tree.edges if self.skills[u].kind != "skill")
        self.g = g
        self.deps = deps
        self._leaves = leaves
        self._topo = list(nx.lexicographical_topological_sort(mo, key=order.__getitem__))
        rank = {sid: i for i, sid in enumerate(self._topo)}
        self._requirements = {sid: tuple(sorted(deps.predecessors(sid), key=rank.__getitem__)) for sid in deps}
        self._trainable = [sid for sid in self._topo if self.skills[sid].kind == "skill"]
        self._pairs: tuple[np.ndarray, np.ndarray] | None = None
        self._discovered = [sid for sid, s in self.skills.items() if s.provenance == "discovered"]

    def _ancestors_and_self(self, sid: str) -> Iterator[str]:
        cur: str | None = sid
        while cur is not None:
            yield cur
            cur = self.skills[cur].parent

    def add_skill(self, skill: Skill) -> None:
        """Add a skill (e.g. one the teacher discovered); on any error the graph is left unchanged.

        The skill keeps its own `provenance` and `added_round`, so reports can mark it as new. The
        derived graphs are rebuilt and revalidated (a topic prerequisite can close a cycle through
        the new skill): ~1 s at 10,000 skills, nothing at the dozens an episode adds."""
        if skill.id in self.skills:
            raise SkillGraphError(f"duplicate skill id {skill.id!r}")
        self.skills[skill.id] = skill
        try:
            self._check_references([skill])
            self._rebuild()
        except SkillGraphError:
            del self.skills[skill.id]  # _rebuild assigns nothing before all its checks pass
            raise

    # ------------------------------------------------------------------ queries
    def skill(self, skill_id: str) -> Skill:
        try:
            return self.skills[skill_id]
        except KeyError:
            raise SkillGraphError(f"unknown skill {skill_id!r}") from None

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self.skills

    def __len__(self) -> int:
        return len(self.skills)

    def __iter__(self) -> Iterator[str]:
        return iter(self.skills)

    def topo_order(self) -> list[str]:
        """All node ids in mastery order: each after what it requires, a domain/topic after its skills.

        Ties keep declaration order, so the order is stable across save/load."""
        return list(self._topo)

    def trainable(self) -> list[Skill]:
        """Trainable skills (kind 'skill'), prerequisites first."""
        return [self.skills[s] for s in self._trainable]

    def trainable_ids(self) -> list[str]:
        return list(self._trainable)

    def requirement_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """All (skill, requirement) pairs as two index arrays into `trainable_ids()`, grouped by
        skill and in prerequisite order within a group: the frontier of a 10,000-skill graph is
        then a few vector operations. Computed once per graph version."""
        if self._pairs is None:
            pos = {sid: i for i, sid in enumerate(self._trainable)}
            owner = [pos[sid] for sid in self._trainable for _ in self._requirements[sid]]
            req = [pos[r] for sid in self._trainable for r in self._requirements[sid]]
            self._pairs = (np.asarray(owner, dtype=np.int64), np.asarray(req, dtype=np.int64))
        return self._pairs

    def prerequisites(self, skill_id: str) -> list[str]:
        """The prerequisites declared on this node (not inherited, not expanded)."""
        return list(self.skill(skill_id).prerequisites)

    def requirements(self, skill_id: str) -> tuple[str, ...]:
        """The trainable skills that must be mastered before this trainable skill: its own and its
        ancestors' prerequisites, with a domain/topic expanded to the skills under it; prerequisites
        first."""
        self.skill(skill_id)
        return self._requirements.get(skill_id, ())

    def children(self, skill_id: str) -> list[str]:
        """Direct children in the hierarchy, in declaration order."""
        self.skill(skill_id)
        return [c for c in self.g.successors(skill_id) if self.g.edges[skill_id, c]["kind"] == PARENT]

    def tree_order(self) -> list[tuple[str, int]]:
        """(id, level) of every node in hierarchy pre-order (a parent, then its children, in
        declaration order): the reading order of a tree view or a table."""
        out: list[tuple[str, int]] = []
        stack = [(r, 0) for r in reversed(self.roots())]
        while stack:
            sid, level = stack.pop()
            out.append((sid, level))
            stack.extend((c, level + 1) for c in reversed(self.children(sid)))
        return out

    def roots(self) -> list[str]:
        return [sid for sid, s in self.skills.items() if s.parent is None]

    def leaves(self, skill_id: str) -> list[str]:
        """What a prerequisite naming this node requires: a trainable skill itself, a domain/topic
        the skills under it (not their sub-skills)."""
        self.skill(skill_id)
        return list(self._leaves[skill_id])

    def trainable_under(self, node_id: str) -> list[str]:
        """Every trainable skill in a node's subtree, discovered sub-skills included, in
        prerequisite order: the population "N trainable skills" counts everywhere (the report's
        summary, a domain's or topic's "k/N mastered"), so the counts never contradict each other."""
        self.skill(node_id)
        stack, under = [node_id], set()
        while stack:
            cur = stack.pop()
            under.add(cur)
            stack.extend(self.children(cur))
        return [sid for sid in self._trainable if sid in under]

    def depth(self) -> dict[str, int]:
        """Prerequisite depth of each trainable skill: 0 without requirements, else 1 + the deepest one."""
        out: dict[str, int] = {}
        for sid in self._trainable:
            out[sid] = 1 + max((out[r] for r in self._requirements[sid]), default=-1)
        return out

    def added_in(self, round: int) -> list[str]:
        """Skills the teacher discovered in `round` (seed skills are never 'new')."""
        return [sid for sid in self._discovered if self.skills[sid].added_round == round]

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return {"skills": [s.model_dump(mode="json") for s in self.skills.values()]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SkillGraph:
        return cls(Skill.model_validate(s) for s in d["skills"])


def _cycle_message(deps: nx.DiGraph) -> str:
    """'prerequisite cycle: a -> b -> a'. A hop that comes from a domain/topic says so: 'via T'
    when the prerequisite named T (a stands for T's skills), 'inherited from T' when T declared it
    for the skills under it, so the user knows which declaration to fix."""
    cyc = nx.find_cycle(deps)
    hops = [cyc[0][0]]
    for u, v in cyc:
        via, holder = deps.edges[u, v]["via"], deps.edges[u, v]["holder"]
        notes = []
        if via != u:
            notes.append(f"via {via!r}")
        if holder != v:
            notes.append(f"inherited from {holder!r}")
        hops.append(v + (f" ({', '.join(notes)})" if notes else ""))
    return "prerequisite cycle: " + " -> ".join(hops)
