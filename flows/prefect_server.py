"""A Prefect server for ``uproar serve`` when the user has not pointed at one.

Prefect's ephemeral mode runs single flow runs but its scheduler does not run, so a
schedule needs a long-running server. When ``PREFECT_API_URL`` is unset we start
``prefect server start`` as a child process, wait until it answers, and stop it on exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

API_URL_ENV = "PREFECT_API_URL"


class PrefectServerError(Exception):
    """The Prefect server did not come up; the message says where and why."""


def _wait_until_healthy(api_url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PrefectServerError(
                f"prefect server exited with code {process.returncode} before answering at "
                f"{api_url}; is the port already taken?"
            )
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise PrefectServerError(f"prefect server did not answer at {api_url} within {timeout:.0f} s")


@contextmanager
def prefect_server(port: int, timeout: float = 120.0) -> Iterator[str]:
    """Yield the API URL of a running Prefect server: the user's, or one started here."""
    existing = os.environ.get(API_URL_ENV)
    if existing:
        yield existing
        return
    api_url = f"http://127.0.0.1:{port}/api"
    command = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_healthy(api_url, process, timeout)
        os.environ[API_URL_ENV] = api_url
        yield api_url
    finally:
        os.environ.pop(API_URL_ENV, None)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
