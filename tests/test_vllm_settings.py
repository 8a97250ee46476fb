"""vLLM rollouts: `grpo.vllm` / `--vllm` map to TRL's `use_vllm`/`vllm_mode`, and a machine that
cannot run them (no vllm package, no server, no CUDA) fails in one line before any model loads."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from teachloop.training.grpo import GRPOSettings, trl_vllm_args, vllm_problem


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"} | (env or {})
    return subprocess.run([sys.executable, "-m", "teachloop", *args], capture_output=True, text=True, env=e, timeout=600)


def assert_one_line_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in p.stderr + p.stdout, (p.returncode, p.stderr[-2000:])
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    """An importable (empty) `vllm` package, so the checks after the package check are reached."""
    pkg = tmp_path / "fakevllm" / "vllm"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(pkg.parent))
    return pkg.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def health_server():
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_trl_mapping_is_accepted_by_grpo_config(tmp_path):
    from trl import GRPOConfig

    assert trl_vllm_args(GRPOSettings()) == {}
    colocate = trl_vllm_args(GRPOSettings(vllm="colocate", vllm_gpu_memory_utilization=0.5))
    assert colocate == {"use_vllm": True, "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.5}
    server = trl_vllm_args(GRPOSettings(vllm="server", vllm_server_base_url="http://gpu0:8000/"))
    assert server == {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://gpu0:8000"}
    for args in (colocate, server):
        cfg = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", **args)
        assert cfg.use_vllm and cfg.vllm_mode == args["vllm_mode"]
    assert GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", **server).vllm_server_base_url == "http://gpu0:8000"


def test_configs_written_before_the_vllm_field_still_load():
    old = {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": None}
    assert GRPOSettings.model_validate(old).vllm == "server"
    assert GRPOSettings.model_validate({"use_vllm": False, "vllm_mode": "colocate"}).vllm is None


def test_problems_in_order_package_server_cuda(fake_vllm, health_server, monkeypatch):
    import torch

    assert vllm_problem(GRPOSettings()) is None
    down = f"http://127.0.0.1:{_closed_port()}"
    msg = vllm_problem(GRPOSettings(vllm="server", vllm_server_base_url=down), timeout_s=1)
    assert msg and f"{down}/health" in msg and "trl vllm-serve" in msg
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    msg = vllm_problem(GRPOSettings(vllm="server", vllm_server_base_url=health_server), timeout_s=2)
    assert msg and "CUDA" in msg  # the server answers: the next missing piece is the GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert vllm_problem(GRPOSettings(vllm="server", vllm_server_base_url=health_server), timeout_s=2) is None
    assert vllm_problem(GRPOSettings(vllm="colocate")) is None


def test_cli_vllm_without_the_package_is_one_line(tmp_path):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    run = tmp_path / "run"
    p = run_cli("run", "--student", "tiny", "--profile", "smoke", "--vllm", "colocate", "--run-dir", str(run))
    assert_one_line_error(p, "--vllm colocate", "pip install 'teachloop[vllm]'")
    assert not run.exists()  # refused before anything was created or loaded


def test_cli_vllm_server_unreachable_is_one_line(tmp_path, fake_vllm):
    cfg = tmp_path / "c.yaml"
    url = f"http://127.0.0.1:{_closed_port()}"
    cfg.write_text(f"grpo: {{vllm_server_base_url: '{url}'}}\n")
    p = run_cli(
        "run", "--student", "tiny", "--profile", "smoke", "--vllm", "server", "--config", str(cfg), "--run-dir", str(tmp_path / "run"),
        env={"PYTHONPATH": str(fake_vllm)},
    )  # fmt: skip
    assert_one_line_error(p, "--vllm server", url, "trl vllm-serve")


def test_cli_bad_vllm_mode_names_the_flag(tmp_path):
    assert_one_line_error(run_cli("run", "--vllm", "remote", "--run-dir", str(tmp_path / "run")), "--vllm", "colocate")
