"""`teachloop report` and `teachloop inspect` on the run dir of a real (tiny) episode: the numbers
they print are the run's own, read back from rounds.jsonl, problems.jsonl and skill_graph/."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import Counter
from pathlib import Path

from teachloop.skills.snapshot import SkillGraphSnapshot
from tests.conftest import run_teachloop


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _bold_before(text: str, words: str) -> int:
    m = re.search(r"<b>([\d,]+)</b> " + re.escape(words), text)
    assert m, words
    return int(m.group(1).replace(",", ""))


def test_report_numbers_match_the_run_records(tiny_run: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    assert run_teachloop("report", str(run)) == 0
    page = (run / "report.html").read_text()
    rounds = _jsonl(run / "rounds.jsonl")
    problems = _jsonl(run / "problems.jsonl")
    rejected = _jsonl(run / "rejected.jsonl")
    last = SkillGraphSnapshot.load(run / "skill_graph" / f"round_{rounds[-1]['round']}.json")
    rep = last.report

    assert _bold_before(page, "finished rounds") == len(rounds) == 2
    assert _bold_before(page, "trainable skills") == len(rep.states) == len(last.graph().trainable())
    assert _bold_before(page, "mastered") == sum(st.mastered for st in rep.states.values())
    # An accepted problem is a line of problems.jsonl: a discovered sub-skill is not one.
    assert _bold_before(page, "problems accepted") == len(problems)
    assert _bold_before(page, "rejected") == len(rejected)

    # Every trainable skill's row shows its snapshot mastery and interval.
    for sid, st in rep.states.items():
        row = re.search(r"<code>" + re.escape(html.escape(sid)) + r"</code>.*?</tr>", page)
        assert row, sid
        assert f"{st.mean:.2f}" in row.group(0) and f"[{st.ci_low:.2f}, {st.ci_high:.2f}]" in row.group(0), sid

    # The per-round teacher table: accepted per action as problems.jsonl counts them.
    for r in rounds:
        per_action = Counter(p.get("action") or "create" for p in problems if p["round"] == r["round"])
        assert sum(per_action.values()) == sum(r["problems_per_skill"].values())
        row = re.search(rf"<tr><td class='num'>{r['round']}</td>.*?</tr>", page)
        assert row
        for action, n in per_action.items():
            assert f"{action} {n}" in row.group(0), (r["round"], action, n)

    # inspect prints the same counts for the same round
    assert run_teachloop("inspect", str(run)) == 0
    out = capsys.readouterr().out
    assert f"{len(rep.mastered)} mastered" in out and f"{len(rep.states)} trainable skills" in out
    data = json.loads(_inspect_json(run, capsys))
    assert data["round"] == rounds[-1]["round"] and set(data["states"]) == set(rep.states)


def _inspect_json(run: Path, capsys) -> str:
    assert run_teachloop("inspect", str(run), "--json") == 0
    return capsys.readouterr().out


def test_report_file_is_created_with_the_users_umask(tiny_run: Path, tmp_path: Path) -> None:
    import os

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    old = os.umask(0o022)
    try:
        assert run_teachloop("report", str(run), "--out", str(tmp_path / "shared.html")) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "shared.html").stat().st_mode & 0o777 == 0o644
    assert (tiny_run / "config.yaml").stat().st_mode & 0o044  # readable by others, like any file the user makes


def test_an_interrupted_round_is_not_reported(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """Round 2 in flight: its snapshot and problems are on disk, its commit line is not."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    lines = (run / "rounds.jsonl").read_text().splitlines(keepends=True)
    (run / "rounds.jsonl").write_text(lines[0])
    assert run_teachloop("report", str(run)) == 0
    page = (run / "report.html").read_text()
    assert _bold_before(page, "finished round;") == 1
    assert "snapshots up to round <b>1</b>" in page
    assert any(p["round"] == 2 for p in _jsonl(run / "problems.jsonl"))  # on disk, uncommitted
    assert "<h3>Round 1:" in page and "<h3>Round 2:" not in page  # the samples stop at round 1
    capsys.readouterr()
    assert run_teachloop("inspect", str(run)) == 0
    assert "round 1" in capsys.readouterr().out.splitlines()[0]  # the last finished round, not the snapshot of round 2
