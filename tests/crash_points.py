"""Crash a real episode at a chosen point of a chosen round, for the commit-protocol tests.

`install(point, round, action)` patches the episode's collaborators so that, in round `round`,
the process either raises `Crash` (a BaseException, like a kill it runs no `except Exception`) or
kills itself with SIGKILL at that point. A marker file records that the crash landed there.

Points: after_snapshot, mid_grpo (after the first GRPO step), after_stage (student saved, no
commit line yet), after_commit_line (line written, student not yet current), between_renames
(student/ moved aside, the staged one not yet in place).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

POINTS = ("after_snapshot", "mid_grpo", "after_stage", "after_commit_line", "between_renames")


class Crash(BaseException):
    """An injected crash."""


def install(point: str, round: int, action: str = "raise", landed: Path | None = None) -> list[tuple[object, str, object]]:
    """Patch; returns (owner, name, original) triples so an in-process caller can undo it."""
    import teachloop.episode as episode
    from teachloop.training import checkpoint

    assert point in POINTS, point
    undo: list[tuple[object, str, object]] = []

    def fire() -> None:
        if landed is not None:
            landed.write_text(point)
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise Crash(point)

    def patch(owner: object, name: str, new: object) -> None:
        undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    if point == "after_snapshot":
        real_snapshot = episode.Episode._snapshot

        def _snapshot(self, r, *a, **k):  # noqa: ANN001
            real_snapshot(self, r, *a, **k)
            if r == round:
                fire()

        patch(episode.Episode, "_snapshot", _snapshot)
    elif point == "mid_grpo":
        real_train = episode.train_round

        def train_round(*a, **k):  # noqa: ANN001
            if k.get("round") == round:
                inner = k["on_progress"]

                def on_progress(done: int, total: int) -> None:
                    inner(done, total)
                    if done >= 1:
                        fire()

                k["on_progress"] = on_progress
            return real_train(*a, **k)

        patch(episode, "train_round", train_round)
    elif point == "after_stage":
        real_stage = checkpoint.stage

        def stage(student, path, r):  # noqa: ANN001
            out = real_stage(student, path, r)
            if r == round:
                fire()
            return out

        patch(checkpoint, "stage", stage)
    else:
        real_promote = checkpoint.promote

        def promote(path, r):  # noqa: ANN001
            if r != round:
                return real_promote(path, r)
            if point == "after_commit_line":
                fire()
            real_replace = os.replace
            calls: list[int] = []

            def replace(a, b):  # noqa: ANN001
                if calls:
                    fire()
                calls.append(1)
                real_replace(a, b)

            os.replace = replace
            try:
                return real_promote(path, r)
            finally:
                os.replace = real_replace

        patch(checkpoint, "promote", promote)
    return undo


def uninstall(undo: list[tuple[object, str, object]]) -> None:
    for owner, name, original in reversed(undo):
        setattr(owner, name, original)
