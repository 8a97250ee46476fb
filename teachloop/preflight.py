"""Checks before anything is written: a run or a report fails on a bad path, student or teacher
in the first second, with one line naming it, instead of after minutes of work (or after a run
directory was made that would then block the corrected retry)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from teachloop.errors import UserError, q

MIN_FREE_BYTES = 1 << 20  # less than this on the filesystem: "full" (a run writes far more)


def _existing_ancestor(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_writable(path: Path, what: str, *, is_dir: bool) -> None:
    """`path` (a file or directory to create or replace) can be written: it is of the right kind,
    no part of it is a file, and the place it lands in accepts a file and has free space."""
    path = Path(path)
    if path.exists():
        if is_dir and not path.is_dir():
            raise UserError(f"{what} {q(path)} is a file, not a directory")
        if not is_dir and path.is_dir():
            raise UserError(f"{what} {q(path)} is a directory; name a file to write")
    base = _existing_ancestor(path if is_dir else path.parent)
    if not base.is_dir():
        raise UserError(f"{what} {q(path)} lies under {q(base)}, which is a file")
    try:
        fd, probe = tempfile.mkstemp(dir=base, prefix=".teachloop-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        why = "read-only filesystem" if e.errno == errno.EROFS else (e.strerror or str(e)).lower()
        raise UserError(f"{what} {q(path)} cannot be written ({q(base)}: {why})") from None
    free = shutil.disk_usage(base).free
    if free < MIN_FREE_BYTES:
        raise UserError(f"{what} {q(path)} is on a full filesystem ({free} bytes free in {q(base)})")


def check_teacher(teacher_settings: Any, env: Any) -> Any:
    """Build the teacher model the config names, or fail with one line; the fallback (if set)
    replaces a teacher that cannot even be built. Returns the note to print (or None).

    `env` may be a function that makes the environment: the preflight of an LLM teacher needs
    none, and building one (importing reasoning-gym) is most of the time a refused teacher
    would otherwise take to say so.

    Seam: the LLM-teacher preflight (a real request to the backend) plugs in here as
    `teachloop.teachers.preflight_teacher(settings)` when it exists."""
    from teachloop import teachers

    check = getattr(teachers, "preflight_teacher", None)
    try:
        if check is not None:
            check(teacher_settings)
        else:
            teachers.make_teacher(teacher_settings, env() if callable(env) else env)
    except (UserError, ValueError, RuntimeError, ImportError, OSError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if teacher_settings.fallback == "procedural":
            return f"teacher {teacher_settings.model} cannot start ({first}); teacher.fallback: procedural writes every round"
        raise UserError(
            f"teacher {teacher_settings.model} cannot start: {first} (fix --teacher, or set teacher.fallback: procedural)"
        ) from None
    return None


def check_student(spec: str, cache_dir: Path | None) -> None:
    from teachloop.training.student import check_student_spec

    check_student_spec(spec, cache_dir)


SQLITE_MAGIC = b"SQLite format 3\x00"


def check_resumable(rd: Any, check_student: bool = True) -> None:
    """A run dir's records are readable and agree with each other before a resume touches them:
    rounds.jsonl parses (a torn last line is repaired later, a corrupt middle line is named), the
    last committed round has its skill-graph snapshot, state.sqlite is an SQLite file, and a run
    with committed rounds still has its student."""
    from pydantic import ValidationError

    from teachloop.rundir import RunDirError, iter_jsonl
    from teachloop.skills.records import RoundResult
    from teachloop.skills.snapshot import SkillGraphSnapshot

    last = -1
    for i, row in enumerate(iter_jsonl(rd.rounds), 1):
        try:
            last = RoundResult.model_validate(row).round
        except ValidationError as e:
            raise RunDirError(f"{q(rd.rounds)}:{i}: not a round record ({_first_error(e)})") from None
    if last < 0 and rd.skill_graph(0).exists():
        last = 0
    if last >= 0:
        snap = rd.skill_graph(last)
        if not snap.is_file():
            raise RunDirError(f"{q(snap)} is missing: the skill graph of committed round {last} is needed to resume")
        try:
            SkillGraphSnapshot.load(snap)
        except (ValidationError, ValueError, OSError) as e:
            why = _first_error(e) if isinstance(e, ValidationError) else " ".join(str(e).split())[:200]
            raise RunDirError(f"{q(snap)}: not a valid skill graph snapshot ({why})") from None
    if rd.state_db.exists() and rd.state_db.stat().st_size > 0:
        with open(rd.state_db, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise RunDirError(
                f"{q(rd.state_db)} is not an SQLite database; delete it to redo the teaching of the round in flight from its start"
            )
    if last >= 1 and check_student:
        from teachloop.training.checkpoint import find_committed

        find_committed(rd.student_dir, last)  # StudentError: missing, or changed since its commit


def _first_error(e: Any) -> str:
    try:
        x = e.errors()[0]
        loc = ".".join(str(p) for p in x["loc"]) or "record"
        return f"{loc}: {x['msg']}"
    except Exception:  # noqa: BLE001
        return " ".join(str(e).split())[:200]
