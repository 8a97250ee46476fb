"""The student's commit protocol (training/checkpoint.py) at every crash point, on the tiny
student: recovery always yields the student of the last committed round, bit for bit, and
refuses a student/ that is missing or was changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from teachloop.training import checkpoint
from teachloop.training.student import StudentError, load_student, remove_partial_saves, save_student


def _student(k: int):
    s = load_student("tiny", seed=0)
    with torch.no_grad():
        next(s.model.parameters()).add_(float(k))  # round k's weights differ from every other round's
    return s


def _round_of(path: Path) -> int:
    w = next(load_student(str(path)).model.parameters())
    base = next(load_student("tiny", seed=0).model.parameters())
    return round(float((w - base).detach().mean()))


@pytest.fixture(scope="module")
def students():
    return {k: _student(k) for k in (1, 2)}


def _commit(students, path: Path, k: int) -> None:
    checkpoint.stage(students[k], path, k)
    checkpoint.promote(path, k)


def test_commit_then_recover_is_the_committed_student(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    _commit(students, path, 1)
    _commit(students, path, 2)
    assert checkpoint.recover(path, 2) == path and _round_of(path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".student.prev-1", "student"]


def test_crash_after_staging_before_the_commit_line(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    _commit(students, path, 1)
    checkpoint.stage(students[2], path, 2)  # crash: round 2's line never written
    checkpoint.recover(path, 1)
    assert _round_of(path) == 1 and not checkpoint.staged_path(path, 2).exists()


def test_crash_after_the_commit_line_before_the_swap(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    _commit(students, path, 1)
    checkpoint.stage(students[2], path, 2)  # round 2's line is written, then the crash
    checkpoint.recover(path, 2)
    assert _round_of(path) == 2


def test_crash_between_the_two_renames_of_the_swap(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    _commit(students, path, 1)
    checkpoint.stage(students[2], path, 2)
    os.replace(path, checkpoint.prev_path(path, 1))  # first rename done, crash before the second
    assert not path.exists()
    checkpoint.recover(path, 2)
    assert _round_of(path) == 2


def test_a_cut_commit_line_resumes_from_the_previous_student(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    _commit(students, path, 1)
    _commit(students, path, 2)  # then round 2's line is cut away: round 1 is the last committed
    checkpoint.recover(path, 1)
    assert _round_of(path) == 1


def test_missing_or_changed_student_is_refused(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    _commit(students, path, 1)
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(StudentError, match="was changed since round 1"):
        checkpoint.recover(path, 1)
    shutil.rmtree(path)
    with pytest.raises(StudentError, match="is missing"):
        checkpoint.recover(path, 1)
    save_student(students[1], path)  # a student put there by hand, with no marker
    with pytest.raises(StudentError, match="not the student round 1 committed"):
        checkpoint.recover(path, 1)


def test_a_crash_between_the_renames_of_save_student_keeps_the_old_save(tmp_path: Path, students) -> None:
    path = tmp_path / "student"
    save_student(students[1], path)
    os.replace(path, tmp_path / ".student.old-123-456")  # save_student's first rename, then the crash
    (tmp_path / ".student.abc").mkdir()  # its half-written temp dir
    remove_partial_saves(path)
    assert _round_of(path) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["student"]
