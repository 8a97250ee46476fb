"""Ctrl-C that stops an episode at the next safe point instead of wherever Python happens to be.

A KeyboardInterrupt raised at a random moment can land inside a library (an import, a thread
pool, a trainer), where it may turn into a traceback or kill the process by signal. Instead, the
first SIGINT only sets a flag; the episode calls `check()` at safe points (every progress update
of evaluation, teaching and GRPO, and between phases), which raises `Interrupted` in the main
thread. Nothing uncommitted is kept, so stopping there loses at most the round in flight, which
`teachloop resume` redoes. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupted(Exception):
    """The user asked to stop (Ctrl-C) and a safe point was reached."""


_requested = False


def check() -> None:
    """Raise `Interrupted` if Ctrl-C was pressed since the handler was installed."""
    if _requested:
        raise Interrupted()


@contextmanager
def graceful_sigint() -> Iterator[None]:
    """Within the block, the first Ctrl-C asks for a stop at the next `check()`; the second one
    raises KeyboardInterrupt at once. The previous handler is restored afterwards."""
    global _requested

    def handler(signum, frame):  # noqa: ANN001
        global _requested
        if _requested:
            raise KeyboardInterrupt
        _requested = True
        print("\nstopping at the next safe point (Ctrl-C again to stop now) …", file=sys.stderr, flush=True)

    _requested = False
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested = False
