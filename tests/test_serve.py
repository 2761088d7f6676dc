"""``uproar serve``: the scheduler really creates runs (Prefect 3.8 pins matter here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from alerts.local_slack import LocalSlackServer
from flows.demo import DEMO_SLACK_TOKEN_ENV, write_demo_config
from flows.sample_server import SampleServer
from storage.models import Post

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _posts(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Post)).scalar() or 0)
    except Exception:  # the schema may not exist yet
        return 0
    finally:
        engine.dispose()


def _started_runs(api_url: str, flow_name: str) -> int:
    """Runs of ``flow_name`` the scheduler handed to the runner (started or finished)."""
    states = ["PENDING", "RUNNING", "COMPLETED"]
    body = {
        "flows": {"name": {"any_": [flow_name]}},
        "flow_runs": {"state": {"type": {"any_": states}}},
    }
    try:
        return len(httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=5).json())
    except (httpx.HTTPError, ValueError):  # not up yet
        return 0


def test_serve_starts_a_prefect_server_and_runs_the_monitor_on_schedule(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'served.db'}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PREFECT_API_URL", "PREFECT_HOME"}
    }
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "UPROAR_DATABASE_URL": database,
        DEMO_SLACK_TOKEN_ENV: "xoxb-test",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    escalations = 0
    with SampleServer() as sample, LocalSlackServer(channels=("larkspur-alerts",)) as slack:
        config = write_demo_config(tmp_path, sample.base_url, slack.base_url)
        command = [
            sys.executable,
            "-m",
            "flows",
            "serve",
            "--config",
            str(config),
            "--interval",
            "5",
            "--prefect-port",
            str(port),
        ]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and process.poll() is None:
                escalations = _started_runs(api_url, "escalate")
                if _posts(database) > 0 and slack.messages and escalations:
                    break
                time.sleep(2)
        finally:
            process.terminate()
            try:
                output, _ = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
    assert _posts(database) >= 50, output[-3000:]
    assert slack.messages, output[-3000:]
    assert escalations >= 1, output[-3000:]  # the escalate flow runs beside the monitor
