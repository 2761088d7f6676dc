"""The Slack interactivity endpoint as ``uproar serve`` runs it: uvicorn in a thread beside
the Prefect scheduler, wired to the database, the rota, the lifecycle and the outbox."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from alerts import lifecycle
from alerts.config import ConfigError, RotaSettings
from alerts.outbox import deliver_pending
from alerts.rota_changes import load_rota
from alerts.slack_actions import ActionHandler
from alerts.slack_app import ACTIONS_PATH, RequestVerifier, create_slack_app
from flows.config import UproarConfig
from flows.delivery import build_sender
from storage.db import database

STARTUP_SECONDS = 15.0


def _now() -> datetime:
    return datetime.now(UTC)


def build_actions_app(
    config: UproarConfig,
    session_factory: sessionmaker[Session],
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], datetime] = _now,
) -> FastAPI:
    """The endpoint for ``config``: signing secret from the environment variable
    ``[slack] signing_secret_env`` names; a change is delivered to Slack straight away."""
    secret = config.slack.signing_secret(environ)
    sender = build_sender(config.slack)
    rota: RotaSettings = config.rota

    def deliver(complaint_id: int) -> None:
        deliver_pending(session_factory, sender, clock(), rota=rota, complaint_id=complaint_id)

    handler = ActionHandler(
        session_factory,
        desk=lifecycle,
        # Who may press the buttons: the effective rota (config + stored overrides/swaps).
        rota=lambda session: load_rota(session, rota, since=clock()),
        clock=clock,
        after_change=deliver,
    )
    return create_slack_app(RequestVerifier(secret), handler)


@contextlib.contextmanager
def running(app: FastAPI, host: str, port: int) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yields its base URL (port 0 picks a
    free port). Stops the server on exit."""
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="slack-actions", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise OSError(f"the Slack actions endpoint could not listen on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{bound[0]}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def slack_actions(
    config: UproarConfig, port: int | None, say: Callable[[str], None]
) -> Iterator[str | None]:
    """The endpoint for ``uproar serve`` when Slack is on (yields its URL), else nothing.
    Without a signing secret the buttons cannot be trusted, so the endpoint stays off and
    ``say`` explains why; alerts are still delivered."""
    if not config.slack.enabled:
        yield None
        return
    with database(config.database.url, upgrade_schema=False) as factory:
        try:
            app = build_actions_app(config, factory)
        except ConfigError as exc:
            say(f"Slack buttons off: {exc}")
            yield None
            return
        chosen = config.slack.actions_port if port is None else port
        with running(app, config.slack.actions_host, chosen) as url:
            say(f"Slack interactivity endpoint: {url}{ACTIONS_PATH}")
            yield url
