"""What ``uproar serve`` runs and when: the monitor flow every ``interval`` seconds and,
unless ``[digest] enabled = false``, the digest flow on its cron schedule."""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.config import UproarConfig
from flows.digest import digest
from flows.monitor import monitor


def _runner(deployment: object) -> RunnerDeployment:
    # Flow.to_deployment is sync-compatible: called from sync code it returns the value.
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def scheduled_deployments(
    config: UproarConfig, config_path: str, interval: int
) -> list[RunnerDeployment]:
    parameters = {"config_path": config_path}
    deployments = [
        _runner(
            monitor.to_deployment(name="uproar-monitor", interval=interval, parameters=parameters)
        )
    ]
    if config.digest.enabled:
        schedule = Cron(config.digest.cron, timezone=config.digest.timezone)
        deployments.append(
            _runner(
                digest.to_deployment(name="uproar-digest", schedule=schedule, parameters=parameters)
            )
        )
    return deployments
