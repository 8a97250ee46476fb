"""The run directory: everything a user or a resume needs, written so a crash loses at most
the step in flight (JSONL appends are single fsynced writes; JSON files are replaced atomically)."""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from teachloop.skills.files import write_atomic

M = TypeVar("M", bound=BaseModel)

MARKER = ".teachloop"
LOCK = ".lock"


class RunDirError(ValueError):
    """A run directory that can't be used; the message is one line for the user."""


def append_jsonl(path: Path, records: list[BaseModel] | list[dict]) -> None:
    """Append records as one write + fsync, so a crash leaves whole lines or one torn tail."""
    if not records:
        return
    lines = []
    for r in records:
        lines.append(r.model_dump_json() if isinstance(r, BaseModel) else json.dumps(r, sort_keys=True))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def iter_jsonl(path: Path) -> Iterator[dict]:
    """Yield the JSON objects of a JSONL file; a torn last line (a crash mid-write) is dropped
    with a warning, a corrupt line elsewhere is an error naming the file and line."""
    if not path.exists():
        return
    raw = path.read_bytes().decode("utf-8", errors="replace")
    lines = raw.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as e:
            is_tail = i == len(lines) - 1 or all(not rest.strip() for rest in lines[i + 1 :])
            if is_tail:
                warnings.warn(f"{path}: dropped a torn last line ({len(line)} bytes) left by a crash", stacklevel=2)
                return
            raise RunDirError(f"{path}:{i + 1}: not valid JSON ({e.msg})") from e


def read_jsonl(path: Path, model: type[M]) -> list[M]:
    return [model.model_validate(obj) for obj in iter_jsonl(path)]


def repair_jsonl(path: Path) -> bool:
    """Cut a torn last line (a crash mid-append) so the next append starts on a fresh line;
    True if it cut anything. The episode calls it on rounds.jsonl, the commit record, on resume."""
    if not path.exists():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    cut = data.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())
    warnings.warn(f"{path}: cut a torn last line ({len(data) - cut} bytes) left by a crash", stacklevel=2)
    return True


class RunDir:
    """Paths and record I/O of one run: `runs/<name>/`."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    config = property(lambda self: self.root / "config.yaml")
    problems = property(lambda self: self.root / "problems.jsonl")
    rejected = property(lambda self: self.root / "rejected.jsonl")
    attempts = property(lambda self: self.root / "attempts.jsonl")
    rounds = property(lambda self: self.root / "rounds.jsonl")
    skill_graph_dir = property(lambda self: self.root / "skill_graph")
    student_dir = property(lambda self: self.root / "student")
    state_db = property(lambda self: self.root / "state.sqlite")
    marker = property(lambda self: self.root / MARKER)
    lock_file = property(lambda self: self.root / LOCK)

    def skill_graph(self, round: int) -> Path:
        return self.skill_graph_dir / f"round_{round}.json"

    def graph_rounds(self) -> list[int]:
        """Rounds that have a saved skill graph, ascending."""
        if not self.skill_graph_dir.exists():
            return []
        out = []
        for p in self.skill_graph_dir.glob("round_*.json"):
            try:
                out.append(int(p.stem.split("_", 1)[1]))
            except ValueError:
                continue
        return sorted(out)

    def finished_round(self) -> int:
        """The last finished round: the one whose line ends rounds.jsonl (its commit); 0 when only
        the start's evaluation is saved, -1 before that. The one definition inspect, the report
        and resume use; a snapshot or problems of a later round belong to a round in flight."""
        last = -1
        for row in iter_jsonl(self.rounds):
            last = row.get("round", last) if isinstance(row.get("round"), int) else last
        if last < 0 and self.skill_graph(0).exists():
            last = 0
        return last

    def is_run(self) -> bool:
        return self.marker.exists()

    def create(self) -> None:
        """Make the directory a teachloop run; refuse a non-empty directory that isn't one."""
        if self.root.exists() and any(self.root.iterdir()) and not self.is_run():
            raise RunDirError(f"run dir {self.root} exists and is not a teachloop run (no {MARKER}); pick another --run-dir")
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.is_run():
            write_atomic(self.marker, "teachloop run directory\n")
        for f in (self.problems, self.rejected, self.attempts, self.rounds):
            f.touch(exist_ok=True)  # every record file exists from the start, empty or not

    def require(self) -> None:
        if not self.root.is_dir():
            raise RunDirError(f"run dir {self.root} does not exist")
        if not self.is_run():
            raise RunDirError(f"{self.root} is not a teachloop run dir (no {MARKER})")

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the run dir's one-writer lock while the block runs (see `hold_lock`)."""
        with hold_lock(self.lock_file, what=f"run dir {self.root}"):
            yield


@contextmanager
def hold_lock(path: Path, *, what: str) -> Iterator[None]:
    """An exclusive `flock` on `path` for the block; a second holder fails at once with a
    `RunDirError` naming the pid that holds it. The lock is the kernel's, not the file: it dies
    with its process, so a run killed with -9 never blocks the next one. The pid written into the
    file is only for that message. Under multi-process launch only rank 0 takes it (other ranks
    never write the run dir)."""
    from teachloop.distributed import is_writer

    if not is_writer():
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", errors="replace").strip() or "unknown"
            raise RunDirError(f"{what} is in use by another teachloop process (pid {holder}); wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the flock
