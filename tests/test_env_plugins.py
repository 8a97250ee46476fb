"""Environment plugins: a distribution built inside the test (a module plus a `.dist-info` with
`entry_points.txt`, on sys.path / PYTHONPATH, no network) registers the README's example
environment, a plugin that raises on import and one that lacks methods."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from teachloop import cli
from teachloop.environments import check_environment_name, environment_infos, get_environment
from teachloop.environments.base import Environment
from teachloop.environments.plugins import plugin_entry_points

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("### Write your own environment", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _dist(root: Path, dist: str, module: str, source: str, entry: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[teachloop.environments]\n{entry} = {module}:Env\n")


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugins")
    _dist(root, "teachloop-reverse", "teachloop_reverse", readme_example() + "\nEnv = ReverseEnv\n", "reverse")
    _dist(root, "teachloop-broken", "teachloop_broken", "raise ImportError('needs libfoo')\n", "broken")
    _dist(root, "teachloop-partial", "teachloop_partial", "class Env:\n    name = 'partial'\n", "partial")
    return root


@pytest.fixture
def on_path(plugin_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_path))
    return plugin_path


def test_readme_example_is_short_and_complete():
    assert len(readme_example().strip().splitlines()) <= 60


def test_plugins_are_listed_and_a_broken_one_does_not_hide_the_others(on_path):
    assert {"reverse", "broken", "partial"} <= set(plugin_entry_points())
    rows = {r.name: r for r in environment_infos()}
    assert rows["arithmetic"].status == "ok" and rows["countdown"].skills == 3
    assert (rows["reverse"].package, rows["reverse"].version, rows["reverse"].skills, rows["reverse"].status) == (
        "teachloop-reverse",
        "0.3",
        1,
        "ok",
    )
    assert rows["broken"].status.startswith("broken:") and "needs libfoo" in rows["broken"].status
    assert "lacks required method(s)" in rows["partial"].status and "verify" in rows["partial"].status


def test_plugin_environment_keeps_the_contract(on_path):
    import random

    env = get_environment("reverse", heldout_per_skill=4, ood_per_skill=2)
    assert isinstance(env, Environment) and env.version == "reverse-v1+bench-h4-o2"
    drawn = env.generate("reverse.word", 2, 5, random.Random(0))
    assert len(drawn) == 5 and all(env.verify(p).accepted for p in drawn)
    assert not {env.spec_key(p.spec) for p in drawn} & env.eval_keys()
    bad = drawn[0].model_copy(update={"answer": "nope"})
    assert env.verify(bad).reason == "wrong_answer"
    assert env.rewrite(drawn[0], "escalate", random.Random(1)) is None  # level 3 is OOD only
    assert env.rewrite(drawn[0], "simplify", random.Random(1)).difficulty == 1


def test_bad_plugins_fail_in_one_line(on_path, capsys, monkeypatch):
    for name, why in (("partial", "lacks required method(s)"), ("broken", "failed to import")):
        with pytest.raises(ValueError, match=re.escape(why)):
            check_environment_name(name)
        monkeypatch.setattr(sys, "argv", ["teachloop", "run", "--env", name, "--student", "tiny"])
        with pytest.raises(SystemExit) as e:
            cli.main()
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and why in err, err


def test_one_round_episode_on_a_plugin_environment(plugin_path, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")]))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "teachloop.cli", "run", "--env", "reverse", "--student", "tiny", "--rounds", "1"]
    out = subprocess.run([*cmd, "--profile", "smoke", "--run-dir", str(run)], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rounds = [json.loads(line) for line in (run / "rounds.jsonl").read_text().splitlines()]
    assert len(rounds) == 1
    problems = [json.loads(line) for line in (run / "problems.jsonl").read_text().splitlines()]
    assert problems and {p["env"] for p in problems} == {"reverse"}
