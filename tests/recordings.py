"""Load the recorded HTTP interactions in ``../shared/fixtures`` and turn them into replay
routes, so spiders crawl real platform responses over real HTTP.

Three recording formats (see the fixtures' MANIFEST.md): VCR.py YAML
(``interactions[]``, status ``{code, message}``, header values as lists), R vcr YAML
(``http_interactions[]``, status an integer or ``{status_code}``, header values as
strings) and Betamax JSON (``interactions[]``, body ``string`` or ``base64_string``).
Bodies are served decoded, so transfer headers (encoding, length) are dropped.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.replay_server import Route

DROPPED_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Recorded:
    """One recorded request and its response."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """Path plus query string: the replay server's route key."""
        parts = urlsplit(self.url)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path

    def json(self) -> Any:
        return json.loads(self.body)

    def route(self, **rewrite: str) -> Route:
        """A replay route serving this response; ``rewrite`` replaces text in the body
        (e.g. the recorded host with the local server's)."""
        body = self.body
        for old, new in rewrite.items():
            body = body.replace(old.encode(), new.encode())
        return Route(status=self.status, headers=dict(self.headers), body=body)


def _status(value: Any) -> int:
    if isinstance(value, dict):
        return int(value.get("code") or value.get("status_code") or 0)
    return int(value)


def _headers(raw: dict[str, Any] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in (raw or {}).items():
        if name.lower() in DROPPED_HEADERS:
            continue
        headers[name] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return headers


def _body(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, str):
        return raw.encode("utf-8")
    if isinstance(raw, dict):
        if raw.get("base64_string"):
            return base64.b64decode(raw["base64_string"])
        string = raw.get("string")
        if isinstance(string, bytes):
            return string
        return (string or "").encode("utf-8")
    raise ValueError(f"unknown body format: {type(raw).__name__}")


def load_recording(path: Path) -> list[Recorded]:
    """Every interaction in a VCR.py / R vcr YAML or Betamax JSON recording, in order."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    interactions = data.get("interactions") or data.get("http_interactions") or []
    recorded = []
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        recorded.append(
            Recorded(
                method=str(request.get("method", "GET")).upper(),
                url=str(request.get("uri") or request.get("url")),
                status=_status(response.get("status")),
                headers=_headers(response.get("headers")),
                body=_body(response.get("body")),
            )
        )
    return recorded


def recorded_gets(path: Path, contains: str = "") -> list[Recorded]:
    """The recording's GET interactions whose URL contains ``contains``."""
    return [r for r in load_recording(path) if r.method == "GET" and contains in r.url]
