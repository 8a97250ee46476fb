"""The student's half of a round's commit: round K's student becomes current only together with
round K's line in rounds.jsonl, whatever byte a crash lands on.

A round is committed by three steps (the episode runs them):
1. `stage(student, path, K)`: save into `.student.staged-K/` beside `path`, then write a marker
   holding K and the sha256 of every other file in it.
2. Append round K's line to rounds.jsonl (the commit point; the episode does this).
3. `promote(path, K)`: `student/` (round K-1) becomes `.student.prev-(K-1)/`, the staged dir
   becomes `student/`, an older `prev` is deleted.

On resume, `recover(path, last)` finds the student of the last committed round among `student/`,
the staged dir and the previous one, by marker and hash, and puts it at `student/`; everything
else beside it is deleted. A crash before step 2 leaves `student/` at round K-1, which is what the
repaired rounds.jsonl says; after step 2, the staged dir (or `student/`) holds round K. The
previous round's student is kept so that a rounds.jsonl whose last line was cut (by a crash or by
hand) resumes from the student that line's round started from. A `student/` whose files do not
hash to its marker, or that has none, was changed outside teachloop: recovery refuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from teachloop.training.student import StudentError, save_student

MARKER = "teachloop-round.json"


def content_hash(directory: Path) -> str:
    """sha256 over the relative paths and bytes of every file in `directory` but the marker."""
    h = hashlib.sha256()
    for p in sorted(x for x in Path(directory).rglob("*") if x.is_file() and x.name != MARKER):
        h.update(str(p.relative_to(directory)).encode() + b"\0")
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def _marker(directory: Path) -> dict | None:
    try:
        data = json.loads((directory / MARKER).read_text())
        return data if isinstance(data, dict) and isinstance(data.get("round"), int) else None
    except (OSError, ValueError):
        return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def staged_path(path: Path, round: int) -> Path:
    return path.with_name(f".{path.name}.staged-{round}")


def prev_path(path: Path, round: int) -> Path:
    return path.with_name(f".{path.name}.prev-{round}")


def stage(student: Any, path: Path, round: int) -> Path:
    """Step 1: round `round`'s student, saved beside `path` with its marker (not yet current)."""
    from teachloop.skills.files import write_atomic

    path = Path(path)
    staged = save_student(student, staged_path(path, round))
    write_atomic(staged / MARKER, json.dumps({"round": round, "sha256": content_hash(staged)}))
    _fsync_dir(path.parent)
    return staged


def promote(path: Path, round: int) -> None:
    """Step 3, after round `round`'s line is in rounds.jsonl: its staged student becomes `path`."""
    path = Path(path)
    staged = staged_path(path, round)
    old = _marker(path) if path.is_dir() else None
    for p in path.parent.glob(f".{path.name}.prev-*"):
        shutil.rmtree(p, ignore_errors=True)
    if path.exists():
        os.replace(path, prev_path(path, old["round"] if old else round - 1))
    os.replace(staged, path)
    _fsync_dir(path.parent)


def _candidates(path: Path) -> list[Path]:
    """`path` first, then everything a save or a commit leaves beside it."""
    return [path, *sorted(p for p in path.parent.glob(f".{path.name}.*") if p.is_dir())]


def find_committed(path: Path, round: int) -> Path:
    """The intact copy of round `round`'s student (`path` or one beside it), changing nothing."""
    path = Path(path)
    for c in _candidates(path):
        m = _marker(c)
        if m is not None and m["round"] == round and m.get("sha256") == content_hash(c):
            return c
    raise StudentError(_why_not(path, round))


def recover(path: Path, round: int) -> Path:
    """Put the student committed by round `round` (≥ 1) at `path` and delete every other copy.

    StudentError (one line) if no copy of it is intact: `path` missing, or changed since."""
    path = Path(path)
    good = find_committed(path, round)
    if good != path:
        if path.exists():
            aside = path.with_name(f".{path.name}.stale")
            shutil.rmtree(aside, ignore_errors=True)
            os.replace(path, aside)
        os.replace(good, path)
        _fsync_dir(path.parent)
    keep = {path, prev_path(path, round - 1)}
    for c in _candidates(path):
        if c not in keep:
            shutil.rmtree(c, ignore_errors=True)
    return path


def discard(path: Path) -> None:
    """Round 0 is the configured student: nothing saved beside `path` belongs to the run."""
    for c in _candidates(Path(path)):
        if c.exists():
            shutil.rmtree(c, ignore_errors=True)


def _why_not(path: Path, round: int) -> str:
    hint = "restore it, or pass --restart-student to continue from the configured student"
    if not path.exists():
        return f"{path} is missing: the student trained up to round {round} is gone; {hint}"
    m = _marker(path)
    if m is None:
        return f"{path} is not the student round {round} committed (no {MARKER} in it); {hint}"
    if m["round"] != round:
        return f"{path} holds the student of round {m['round']}, but round {round} is the last committed; {hint}"
    return f"{path} was changed since round {round} committed it (its files do not match the recorded sha256); {hint}"
