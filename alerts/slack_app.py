"""The HTTP endpoint Slack calls when someone clicks an alert's button.

``POST /slack/actions`` (the app's Interactivity Request URL). Every request must carry a
valid ``X-Slack-Signature`` for its raw body (slack_sdk's SignatureVerifier, HMAC-SHA256
with the app's signing secret) and an ``X-Slack-Request-Timestamp`` within five minutes;
a signature already seen inside that window is a replay and refused too. A valid click is
acknowledged at once (Slack wants an answer within 3 seconds) and carried out after the
answer has gone (a background task): alerts.slack_actions does the work and tells the user
through the click's response_url when it refuses.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_sdk.signature import Clock, SignatureVerifier

from alerts.slack_actions import ActionHandler, parse_click

log = logging.getLogger(__name__)

ACTIONS_PATH = "/slack/actions"
WINDOW_SECONDS = 5 * 60
MAX_BODY_BYTES = 64 * 1024


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class ReplayGuard:
    """Signatures seen in the last window. A request is signed over its timestamp, so one
    captured in flight stays valid for five minutes: remembering the signature refuses an
    exact replay inside that window (one process; older ones are stale anyway)."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, signature: str, now: float) -> bool:
        with self._lock:
            for seen, at in list(self._seen.items()):
                if at < now - 2 * self.window:
                    del self._seen[seen]
            if signature in self._seen:
                return False
            self._seen[signature] = now
            return True


class RequestVerifier:
    """Checks a request really comes from Slack, now, and only once."""

    def __init__(
        self,
        signing_secret: str,
        clock: Callable[[], float] = time.time,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.clock = clock
        self.window = window
        self.signatures = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self.replays = ReplayGuard(window)

    def refusal(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Why the request is refused, or None when it is genuine."""
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
        try:
            sent_at = int(timestamp)
        except ValueError:
            return "malformed X-Slack-Request-Timestamp"
        now = self.clock()
        if abs(now - sent_at) > self.window:
            return "stale request: its timestamp is more than 5 minutes away"
        if not self.signatures.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "invalid signature"
        if not self.replays.first_time(signature, now):
            return "replayed request"
        return None


def create_slack_app(verifier: RequestVerifier, handler: ActionHandler) -> FastAPI:
    """The FastAPI app serving ``POST /slack/actions`` (and ``GET /healthz``)."""
    app = FastAPI(title="uproar Slack actions", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post(ACTIONS_PATH)
    async def slack_actions(request: Request, background: BackgroundTasks) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"ok": False, "error": "request too large"}, status_code=413)
        refusal = verifier.refusal(body, request.headers)
        if refusal is not None:
            log.warning("refused a Slack request from %s: %s", request.client, refusal)
            return JSONResponse({"ok": False, "error": refusal}, status_code=401)
        try:
            form = parse_qs(body.decode("utf-8"))
            payload = json.loads(form["payload"][0])
        except (UnicodeDecodeError, KeyError, IndexError, ValueError):
            return JSONResponse(
                {"ok": False, "error": "expected a form field `payload` holding JSON"},
                status_code=400,
            )
        click = parse_click(payload) if isinstance(payload, dict) else None
        if click is not None:
            background.add_task(handler, click)
        return Response(status_code=200)

    return app
