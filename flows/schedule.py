"""What ``uproar serve`` runs and when: the monitor flow every ``interval`` seconds, the
escalate flow every minute (unless ``[escalation] enabled = false``) and, unless ``[digest]
enabled = false``, the digest flow on its cron schedule. One Prefect runner serves them all,
the way ``Flow.serve`` serves one; each deployment runs one at a time (a pass that overruns
its interval delays the next, never overlaps it), while different flows run side by side,
so escalations go on during a long monitoring pass."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prefect import Flow
from prefect.runner import Runner
from prefect.schedules import Cron

from flows.config import UproarConfig
from flows.digest import digest
from flows.escalation import ESCALATION_INTERVAL_SECONDS, escalate
from flows.monitor import monitor


def scheduled_flows(
    config: UproarConfig, config_path: str, interval: int
) -> list[tuple[Flow[Any, Any], dict[str, Any]]]:
    """(flow, deployment settings) for each flow ``uproar serve`` schedules."""
    parameters = {"config_path": config_path}
    flows: list[tuple[Flow[Any, Any], dict[str, Any]]] = [
        (monitor, {"name": "uproar-monitor", "interval": interval, "parameters": parameters})
    ]
    if config.escalation.enabled:
        flows.append(
            (
                escalate,
                {
                    "name": "uproar-escalate",
                    "interval": ESCALATION_INTERVAL_SECONDS,
                    "parameters": parameters,
                },
            )
        )
    if config.digest.enabled:
        schedule = Cron(config.digest.cron, timezone=config.digest.timezone)
        flows.append(
            (digest, {"name": "uproar-digest", "schedule": schedule, "parameters": parameters})
        )
    return flows


def serve_flows(config: UproarConfig, config_path: str, interval: int) -> None:
    """Serve them until interrupted."""
    flows = scheduled_flows(config, config_path, interval)
    runner = Runner(name="uproar", pause_on_shutdown=True, limit=len(flows))
    for flow, settings in flows:
        runner.add_flow(flow, concurrency_limit=1, **settings)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop serving, quietly
        asyncio.run(runner.start())
