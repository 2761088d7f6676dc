"""What ``uproar serve`` runs and when: the monitor flow every ``interval`` seconds and,
unless ``[digest] enabled = false``, the digest flow on its cron schedule. One Prefect
runner serves both, the way ``Flow.serve`` serves one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prefect import Flow
from prefect.runner import Runner
from prefect.schedules import Cron

from flows.config import UproarConfig
from flows.digest import digest
from flows.monitor import monitor


def scheduled_flows(
    config: UproarConfig, config_path: str, interval: int
) -> list[tuple[Flow[Any, Any], dict[str, Any]]]:
    """(flow, deployment settings) for each flow ``uproar serve`` schedules."""
    parameters = {"config_path": config_path}
    flows: list[tuple[Flow[Any, Any], dict[str, Any]]] = [
        (monitor, {"name": "uproar-monitor", "interval": interval, "parameters": parameters})
    ]
    if config.digest.enabled:
        schedule = Cron(config.digest.cron, timezone=config.digest.timezone)
        flows.append(
            (digest, {"name": "uproar-digest", "schedule": schedule, "parameters": parameters})
        )
    return flows


def serve_flows(config: UproarConfig, config_path: str, interval: int, limit: int = 1) -> None:
    """Serve them until interrupted; ``limit`` runs at a time."""
    runner = Runner(name="uproar", pause_on_shutdown=True, limit=limit)
    for flow, settings in scheduled_flows(config, config_path, interval):
        runner.add_flow(flow, **settings)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop serving, quietly
        asyncio.run(runner.start())
