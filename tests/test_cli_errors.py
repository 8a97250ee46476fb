"""Bad input a user can cause — flags, config files, paths, run-dir contents, filesystems — gives
one line naming the flag, file or path, exit code 2 and no traceback. Most cases run in this
process through the real boundary (`teachloop.cli.main`), a few as real processes."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_teachloop

TEACHLOOP = [sys.executable, "-m", "teachloop.cli"]
SMOKE = ["--student", "tiny", "--profile", "smoke"]


def assert_user_error(code: int, out: str, err: str, needles: list[str]) -> None:
    assert code == 2, (code, out[-2000:], err[-2000:])
    assert "Traceback" not in out + err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 2, err
    assert lines[0].startswith("error:"), lines
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _file(t: Path, name: str, data: str | bytes) -> str:
    p = t / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(p)


def _cfg(text: str | bytes, *needles: str) -> Callable:
    def make(t: Path, run: Path):
        f = _file(t, "my config.yaml", text)
        return ["run", "--config", f, "--run-dir", str(t / "r")], ["my config.yaml", *needles]

    return make


def _flags(*args: str, needles: tuple[str, ...] = ()) -> Callable:
    def make(t: Path, run: Path):
        return ["run", *args, "--run-dir", str(t / "r")], list(needles)

    return make


def _bench(*args: str, needles: tuple[str, ...] = ()) -> Callable:
    def make(t: Path, run: Path):
        return ["bench", *args, "--out", str(t / "results")], list(needles)

    return make


def _with_run(edit: Callable[[Path], object], *args: str, cmd: str = "resume", needles: tuple[str, ...] = ()) -> Callable:
    """A real run dir, changed by `edit`, then `teachloop CMD RUN ARGS`."""

    def make(t: Path, run: Path):
        edit(run)
        return [cmd, str(run), *args], [n.replace("RUN", str(run)) for n in needles]

    make.needs_run = True  # type: ignore[attr-defined]
    return make


def _rm(rel: str) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        p = run / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    return edit


def _put(rel: str, data: bytes) -> Callable[[Path], None]:
    return lambda run: (run / rel).write_bytes(data)


def _cut_middle(run: Path) -> None:
    lines = (run / "rounds.jsonl").read_bytes().splitlines(keepends=True)
    (run / "rounds.jsonl").write_bytes(lines[0][:40] + b"\n" + b"".join(lines[1:]))


CASES: dict[str, Callable] = {
    # --- flags
    "rounds-not-int": _flags("--rounds", "abc", needles=("--rounds",)),
    "rounds-zero": _flags("--rounds", "0", *SMOKE, needles=("--rounds",)),
    "rounds-negative": _flags("--rounds", "-3", *SMOKE, needles=("--rounds",)),
    "seed-negative": _flags("--seed", "-1", *SMOKE, needles=("--seed",)),
    "seed-too-big": _flags("--seed", str(2**32), *SMOKE, needles=("--seed",)),
    "unknown-flag": _flags("--bogus", needles=("--bogus",)),
    "unknown-env": _flags("--env", "nosuchenv", needles=("nosuchenv", "arithmetic")),
    "unknown-teacher": _flags("--teacher", "bogus:x", needles=("bogus:x",)),
    "empty-teacher": _flags("--teacher", "", *SMOKE, needles=("--teacher",)),
    "teacher-model-without-url": _flags("--teacher-model", "m", *SMOKE, needles=("--teacher-model",)),
    "teacher-model-twice": _flags("--teacher", "http://127.0.0.1:9/v1#a", "--teacher-model", "b", *SMOKE, needles=("--teacher-model",)),
    "unknown-profile": _flags("--profile", "huge", needles=("--profile", "huge", "smoke")),
    "student-bad-seed": _flags("--student", "tiny:x", "--profile", "smoke", needles=("tiny:x",)),
    "student-no-dir": lambda t, run: (["run", "--student", str(t / "nomodel"), "--run-dir", str(t / "r")], [str(t / "nomodel")]),
    "student-not-model": lambda t, run: (["run", "--student", str(t), "--run-dir", str(t / "r")], [str(t), "config.json"]),
    "student-garbage-config": lambda t, run: (
        ["run", "--student", str(Path(_file(t, "config.json", b"\x00garbage")).parent), "--run-dir", str(t / "r")],
        ["is not a model"],
    ),
    "openai-without-key": _flags("--teacher", "openai:gpt-x", *SMOKE, needles=("openai:gpt-x", "OPENAI_API_KEY")),
    "hf-teacher-not-a-model": lambda t, run: (
        ["run", *SMOKE, "--teacher", f"hf:{t}", "--run-dir", str(t / "r")],
        [f"hf:{t}", "fallback"],
    ),
    "inspect-missing-run": lambda t, run: (["inspect", str(t / "none")], [str(t / "none")]),
    "resume-missing-run": lambda t, run: (["resume", str(t / "none")], [str(t / "none")]),
    "report-missing-run": lambda t, run: (["report", str(t / "none")], [str(t / "none")]),
    "resume-no-argument": lambda t, run: (["resume"], ["run_dir"]),
    # --- config files
    "config-binary": _cfg(bytes(range(256)), "not a text file"),
    "config-yaml-error": _cfg("rounds: 2\nteacher: [1\n", "line 3, column 1", "YAML"),
    "config-yaml-tab": _cfg("teacher:\n\tmodel: x\n", "line 2, column 1", "YAML"),
    "config-list": _cfg("- just\n- a list\n", "mapping"),
    "config-scalar": _cfg("5\n", "mapping"),
    "config-unknown-field": _cfg("roundz: 3\n", "roundz"),
    "config-nested-unknown": _cfg("teacher:\n  polciy: skill-tree\n", "teacher.polciy"),
    "config-mastery-unknown": _cfg("mastery:\n  thresold: 0.8\n", "mastery.thresold"),
    "config-rounds-string": _cfg('rounds: "3"\n', "rounds", "integer"),
    "config-rounds-bool": _cfg("rounds: true\n", "rounds", "integer"),
    "config-rounds-float": _cfg("rounds: 2.5\n", "rounds", "integer"),
    "config-teacher-scalar": _cfg("teacher: 3\n", "teacher"),
    "config-steps-negative": _cfg("grpo:\n  steps: -1\n", "grpo.steps"),
    "config-profile-list": _cfg("profile: [x]\n", "profile"),
    "config-int-key": _cfg("1: 2\n", "field names"),
    "config-plan-float": _cfg("teacher:\n  plan:\n    problems_per_round: 2.5\n", "teacher.plan.problems_per_round"),
    "config-cache-dir-int": _cfg("cache_dir: 5\n", "cache_dir"),
    "config-is-dir": lambda t, run: (["run", "--config", str(t), "--run-dir", str(t / "r")], [str(t)]),
    "config-missing": lambda t, run: (["run", "--config", str(t / "nope.yaml")], ["nope.yaml"]),
    # --- paths
    "run-dir-is-file": lambda t, run: (["run", *SMOKE, "--run-dir", _file(t, "f", "x")], ["--run-dir", "is a file"]),
    "run-dir-under-file": lambda t, run: (["run", *SMOKE, "--run-dir", _file(t, "f", "x") + "/sub"], ["--run-dir", "is a file"]),
    "run-dir-not-a-run": lambda t, run: (
        ["run", *SMOKE, "--run-dir", str(Path(_file(t, "notes.txt", "mine")).parent)],
        ["not a teachloop run"],
    ),
    "run-dir-holds-a-run": lambda t, run: (["run", *SMOKE, "--run-dir", str(run)], ["already holds a run", "resume"]),
    "report-out-is-dir": _with_run(lambda run: None, "--out", "/", cmd="report", needles=("--out", "is a directory")),
    "report-out-under-file": _with_run(lambda run: None, "--out", "/etc/hostname/x.html", cmd="report", needles=("--out", "/etc/hostname")),
    "report-no-snapshots": _with_run(_rm("skill_graph"), cmd="report", needles=("skill graph",)),
    "inspect-bad-round": _with_run(lambda run: None, "--round", "99", cmd="inspect", needles=("round 99",)),
    "inspect-corrupt-snapshot": _with_run(_put("skill_graph/round_2.json", b'{"round": 2'), cmd="inspect", needles=("round_2.json",)),
    # --- run-dir contents, on resume
    "resume-garbage-sqlite": _with_run(_put("state.sqlite", os.urandom(4096)), needles=("state.sqlite", "SQLite")),
    "resume-no-skill-graph": _with_run(_rm("skill_graph"), needles=("round_2.json", "missing")),
    "resume-torn-snapshot": _with_run(_put("skill_graph/round_2.json", b'{"round": 2, "sk'), needles=("round_2.json",)),
    "resume-wrong-snapshot": _with_run(_put("skill_graph/round_2.json", b'{"round": "two"}'), needles=("round_2.json",)),
    "resume-binary-config": _with_run(_put("config.yaml", b"\xff\xfe\x00"), "--rounds", "3", needles=("config.yaml",)),
    "resume-no-config": _with_run(_rm("config.yaml"), needles=("config.yaml",)),
    "resume-corrupt-rounds": _with_run(_cut_middle, "--rounds", "3", needles=("rounds.jsonl:1",)),
    "resume-not-a-round": _with_run(_put("rounds.jsonl", b'{"round": "one"}\n'), "--rounds", "3", needles=("rounds.jsonl:1",)),
    "resume-no-student": _with_run(_rm("student"), "--rounds", "3", needles=("student",)),
    "resume-not-a-run": _with_run(_rm(".teachloop"), needles=("not a teachloop run",)),
    "resume-rounds-zero": _with_run(lambda run: None, "--rounds", "0", needles=("--rounds 0", "shrink")),
    "resume-rounds-shrink": _with_run(lambda run: None, "--rounds", "1", "--force", needles=("--rounds 1", "shrink")),
    # --- bench flags
    "bench-strategies": _bench("--strategies", "random,bogus", needles=("--strategies", "bogus", "dump")),
    "bench-budget": _bench("--budget", "0", needles=("--budget",)),
    "bench-seeds": _bench("--seeds", "-1", needles=("--seeds",)),
    "bench-warm-starts": _bench("--warm-starts", "0", needles=("--warm-starts",)),
    "bench-sft-seed0": _bench("--warm-starts", "2", "--sft-seed0", "5", needles=("--sft-seed0", "100000")),
    "bench-env": _bench("--env", "nosuchenv", needles=("--env", "nosuchenv")),
    "bench-skills": _bench("--skills", "add.1digit,bogus", needles=("--skills", "bogus")),
    "bench-merge-one": _bench("--merge", "a.json", needles=("--merge", "at least two")),
    "bench-merge-missing": _bench("--merge", "nosuch1.json,nosuch2.json", needles=("nosuch1.json",)),
    "bench-sft-stop": _bench("--sft-stop-accuracy", "1.5", needles=("--sft-stop-accuracy",)),
    "bench-partial-credit": _bench("--partial-credit", "1", needles=("--partial-credit",)),
    "bench-split": _bench("--split", "train", needles=("--split",)),
    "bench-probe-for": _bench("--probe-for", "some", needles=("--probe-for",)),
    "bench-test-seeds": _bench("--split", "test", "--seed0", "0", needles=("--seed0", "100000")),
    "bench-dev-seeds": _bench("--split", "dev", "--seed0", "99999", "--seeds", "2", needles=("--seed0", "below 100000")),
    "bench-subset-reason": _bench("--subset", "add.1digit", needles=("--subset-reason", "why")),
    "resume-config-changed": _with_run(
        lambda run: (run / "c.yaml").write_text("teacher:\n  max_retries: 5\n"),
        "--config",
        "RUN/c.yaml",
        # only the file's field differs: the file is layered on the run's stored config (student tiny,
        # profile smoke, ...), not on the defaults, which would list those fields too
        needles=("changed since the run started (teacher.max_retries)", "--force"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path, tiny_run: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    make = CASES[case]
    run = tmp_path / "run"
    if getattr(make, "needs_run", False) or case == "run-dir-holds-a-run":
        shutil.copytree(tiny_run, run)
    t = tmp_path / "w"
    t.mkdir()
    args, needles = make(t, run)
    args = [a.replace("RUN", str(run)) if a.startswith("RUN") else a for a in args]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    stored = (run / "config.yaml").read_bytes() if (run / "config.yaml").exists() else None
    code = run_teachloop(*args)
    out, err = capsys.readouterr()
    assert_user_error(code, out, err, needles)
    if args[0] == "run" and case != "run-dir-holds-a-run":  # a refused start writes nothing
        assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if getattr(make, "needs_run", False):  # a refused resume changed nothing
        assert (run / "rounds.jsonl").read_bytes() == (tiny_run / "rounds.jsonl").read_bytes() or case.endswith(("rounds", "round"))
        assert stored is None or (run / "config.yaml").read_bytes() == stored  # e.g. --rounds 1 --force does not shrink it


def test_there_are_at_least_40_cases() -> None:
    assert len(CASES) >= 40


def test_read_only_and_full_filesystems(tmp_path: Path, tiny_run: Path, capsys, monkeypatch) -> None:
    """EROFS and a full disk, as the kernel reports them (a root test user cannot make a
    directory unwritable with chmod, so the failures are injected where they happen)."""
    import teachloop.preflight as pf

    def readonly(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(pf.tempfile, "mkstemp", readonly)
    code = run_teachloop("run", *SMOKE, "--run-dir", str(tmp_path / "r"))
    assert_user_error(code, *capsys.readouterr(), ["--run-dir", "read-only"])
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    code = run_teachloop("report", str(run), "--out", str(tmp_path / "x.html"))
    assert_user_error(code, *capsys.readouterr(), ["--out", "read-only"])
    monkeypatch.undo()

    usage = shutil.disk_usage("/")._replace(free=0)
    monkeypatch.setattr(pf.shutil, "disk_usage", lambda p: usage)
    code = run_teachloop("run", *SMOKE, "--run-dir", str(tmp_path / "r"))
    assert_user_error(code, *capsys.readouterr(), ["--run-dir", "full"])
    monkeypatch.undo()

    import teachloop.skills.files as files

    real_fdopen = os.fdopen

    def full_fdopen(fd, *a, **k):
        f = real_fdopen(fd, *a, **k)

        def write(data):
            raise OSError(errno.ENOSPC, "No space left on device")

        f.write = write
        return f

    monkeypatch.setattr(files.os, "fdopen", full_fdopen)
    code = run_teachloop("report", str(run))
    assert_user_error(code, *capsys.readouterr(), ["disk full", "report.html"])
    assert not (run / "report.html").exists()


def test_unexpected_errors_are_one_line_and_traceback_behind_debug(tmp_path: Path, tiny_run: Path, capsys, monkeypatch) -> None:
    import teachloop.inspect as insp

    def boom(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(insp, "render_inspect", boom)
    code = run_teachloop("inspect", str(tiny_run))
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error" in err and "ZeroDivisionError" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        run_teachloop("inspect", str(tiny_run), "--debug")


def test_warnings_are_one_line_without_source_location(tmp_path: Path, tiny_run: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    with open(run / "problems.jsonl", "ab") as f:
        f.write(b'{"torn": ')
    assert run_teachloop("inspect", str(run)) == 0
    err = capsys.readouterr().err
    assert "UserWarning" not in err and ".py:" not in err


def test_teachers_table_keeps_the_install_hint(capsys) -> None:
    assert run_teachloop("teachers") == 0
    out = capsys.readouterr().out
    assert "[vllm]" in out.replace("\n", " ") or "teachloop[vllm]" in "".join(out.split())


def test_a_failed_start_leaves_nothing_that_blocks_the_retry(tmp_path: Path, capsys) -> None:
    """A start that fails after its run dir was made (here: the student's weights don't load)
    removes what it wrote, so the corrected command can use the same --run-dir."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama", "vocab_size": 8, "hidden_size": 8}')
    run = tmp_path / "runs" / "one"
    code = run_teachloop("run", "--student", str(model), "--profile", "smoke", "--run-dir", str(run))
    out, err = capsys.readouterr()
    assert_user_error(code, out, err, [str(model)])
    assert not (tmp_path / "runs").exists(), "the failed start left its run dir behind"


def test_real_processes_print_one_line(tmp_path: Path) -> None:
    """The console script path: a real interpreter, real stderr, no traceback."""
    bad = tmp_path / "bad config.yaml"
    bad.write_bytes(bytes(range(256)))
    env = os.environ | {"COLUMNS": "60", "NO_COLOR": "1"}
    for args, needle in (
        (["run", "--config", str(bad)], "bad config.yaml"),
        (["run", "--rounds", "abc"], "--rounds"),
        (["resume", str(tmp_path / "nope")], "nope"),
    ):
        p = subprocess.run([*TEACHLOOP, *args], capture_output=True, text=True, env=env, timeout=300)
        assert_user_error(p.returncode, p.stdout, p.stderr, [needle])
        if needle == "bad config.yaml":
            assert f"'{bad}'" in p.stderr  # quoted, so the path pastes into a shell


def test_help_explains_commands(capsys) -> None:
    assert run_teachloop("--help") == 0
    out = capsys.readouterr().out
    for cmd in ("run", "resume", "inspect", "report", "teachers", "--debug"):
        assert cmd in out


def test_hints_quote_paths_with_spaces(tmp_path: Path, tiny_run: Path, capsys) -> None:
    """A hint's command pastes into a shell as it is, whatever the run dir is called."""
    run = tmp_path / "my run"
    shutil.copytree(tiny_run, run)
    code = run_teachloop("run", "--student", "tiny", "--profile", "smoke", "--run-dir", str(run))
    out, err = capsys.readouterr()
    assert_user_error(code, out, err, ["already holds a run"])
    assert f"`teachloop resume '{run}'`" in " ".join(err.split()), err
