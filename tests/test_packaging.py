"""The installed package is one namespace, `teachloop.*`: generic top-level names such as `agents`
would clash with other packages (the OpenAI Agents SDK installs `agents`)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("teachloop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert top == {"teachloop"}
    for sub in ("agents", "environments", "environments/arithmetic", "skills", "training"):
        assert f"teachloop/{sub}/__init__.py" in names


def test_root_folders_are_not_importable_by_their_own_names(tmp_path: Path) -> None:
    code = "import importlib.util as u; print([n for n in ('agents', 'environments', 'skills', 'training') if u.find_spec(n)])"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    subprocess.run([sys.executable, "-c", "import teachloop.agents.teacher, teachloop.environments.arithmetic"], cwd=tmp_path, check=True)
