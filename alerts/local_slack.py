"""A local, Slack-Web-API-compatible server for demos and tests.

``LocalSlackServer`` listens on 127.0.0.1 (a free port) and answers the handful of Web API
methods uproar uses, the way Slack does: HTTP 200 with ``{"ok": true, ...}`` or
``{"ok": false, "error": ...}``. Point the real ``slack_sdk.WebClient(base_url=server.base_url)``
at it. It records every call and can be told to fail the next calls (HTTP 500, 429 with
Retry-After, ``ok: false``, or a slow answer; optionally only calls of one method, and
optionally *after* doing the work, like a Slack that posted but whose answer was lost) to
exercise the outbox's retries and its exactly-once recovery.

Messages keep their ``metadata`` and ``thread_ts``; ``conversations.history`` lists the
top-level messages (newest first, like Slack) and ``conversations.replies`` a thread;
``chat.update`` rewrites a message and is recorded in :attr:`LocalSlackServer.updates`.
Interactivity answers posted to a ``response_url`` (:meth:`LocalSlackServer.response_url`)
are recorded in :attr:`LocalSlackServer.responses`::

    with LocalSlackServer() as slack:
        client = WebClient(token="xoxb-local", base_url=slack.base_url)
        ...
        print(slack.messages)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOCAL_TEAM = {"team": "uproar-local", "team_id": "T0LOCAL", "user": "uproar", "user_id": "U0UPROAR"}


@dataclass(frozen=True)
class RecordedCall:
    """One request the server received."""

    method: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class _Failure:
    status: int = 500
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    method: str | None = None
    after: bool = False


@dataclass
class _State:
    calls: list[RecordedCall] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)


class LocalSlackServer:
    """A threaded HTTP server speaking enough of the Slack Web API for uproar.

    ``token``: when given, only ``Authorization: Bearer <token>`` is accepted
    (``invalid_auth`` otherwise); any bearer token is accepted when it is None.
    """

    def __init__(self, token: str | None = None, channels: tuple[str, ...] = ()) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._state = _State()
        self._ts = itertools.count(1)
        self._epoch = int(time.time())
        for name in ("uproar-alerts", *channels):
            self._channel_id(name)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> LocalSlackServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="local-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalSlackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalSlackServer is not running: call start() or use `with`")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    # ------------------------------------------------------------ scripting

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        error: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        method: str | None = None,
        after: bool = False,
    ) -> None:
        """Make the next ``count`` calls fail: with HTTP ``status`` (429 adds Retry-After),
        or, when ``error`` is given, HTTP 200 ``{"ok": false, "error": error}``. ``delay``
        seconds are waited before answering (to provoke client timeouts). ``method``: only
        calls of that Web API method fail. ``after``: the call is carried out first (the
        message is posted) and only the answer fails."""
        with self._lock:
            for _ in range(count):
                self._state.failures.append(
                    _Failure(status, error, retry_after, delay, method, after)
                )

    def recover(self) -> None:
        """Forget every scripted failure: the next calls succeed again."""
        with self._lock:
            self._state.failures.clear()

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._state.calls)

    @property
    def files(self) -> list[dict[str, Any]]:
        """Files shared so far (id, filename, title, content bytes, channel, thread_ts)."""
        with self._lock:
            return [dict(f) for f in self._state.uploads.values() if "channel" in f]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Messages posted so far (channel id, channel name, text, blocks, ts, thread_ts,
        metadata), in order, replies included."""
        with self._lock:
            return [dict(message) for message in self._state.messages]

    def top_level(self) -> list[dict[str, Any]]:
        """Messages that are not replies in a thread."""
        return [m for m in self.messages if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]

    def replies(self, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread of message ``ts``, oldest first."""
        return [m for m in self.messages if m.get("thread_ts") == ts and m["ts"] != ts]

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Every chat.update accepted (channel, ts, text, blocks), in order."""
        with self._lock:
            return [dict(update) for update in self._state.updates]

    def response_url(self, name: str = "1") -> str:
        """A ``response_url`` for interactivity payloads; what is posted there is recorded."""
        return f"{self.base_url.removesuffix('/api/')}/actions/{name}"

    @property
    def responses(self) -> list[dict[str, Any]]:
        """JSON bodies posted to response URLs (each with ``_url``), in order."""
        with self._lock:
            return [dict(response) for response in self._state.responses]

    def record_response(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._state.responses.append({"_url": path} | body)

    # ------------------------------------------------------------ the API

    def _channel_id(self, name: str) -> str:
        name = name.lstrip("#")
        if name not in self._state.channels:
            self._state.channels[name] = f"C{len(self._state.channels) + 1:08d}"
        return self._state.channels[name]

    def _channel_name(self, ref: str) -> str:
        for name, channel_id in self._state.channels.items():
            if channel_id == ref:
                return name
        return ref.lstrip("#")

    def _next_ts(self) -> str:
        return f"{self._epoch}.{next(self._ts):06d}"

    def handle(
        self, method: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one call: (HTTP status, extra headers, JSON body)."""
        with self._lock:
            self._state.calls.append(RecordedCall(method, headers, body))
            failure = self._pop_failure(method)
        if failure is not None and failure.after:
            with self._lock:
                self._dispatch(method, body)
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            if failure.error is not None:
                return 200, {}, {"ok": False, "error": failure.error}
            extra = {}
            if failure.status == 429:
                extra["Retry-After"] = f"{failure.retry_after or 1:g}"
                return 429, extra, {"ok": False, "error": "ratelimited"}
            return failure.status, extra, {"ok": False, "error": "internal_error"}
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if self.token is not None and token != self.token:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        with self._lock:
            return 200, {}, self._dispatch(method, body)

    def _pop_failure(self, method: str) -> _Failure | None:
        for index, failure in enumerate(self._state.failures):
            if failure.method is None or failure.method == method:
                return self._state.failures.pop(index)
        return None

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        channel_id = self._channel_id(self._channel_name(channel))
        thread_ts = body.get("thread_ts") or None
        if thread_ts and not any(
            m["channel"] == channel_id and m["ts"] == thread_ts for m in self._state.messages
        ):
            return {"ok": False, "error": "thread_not_found"}
        message: dict[str, Any] = {
            "type": "message",
            "user": LOCAL_TEAM["user_id"],
            "text": body.get("text", ""),
            "blocks": body.get("blocks") or [],
            "ts": self._next_ts(),
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
            message["reply_broadcast"] = _truthy(body.get("reply_broadcast"))
        if isinstance(body.get("metadata"), dict):
            message["metadata"] = body["metadata"]
        self._state.messages.append(
            {"channel": channel_id, "channel_name": self._channel_name(channel_id)} | message
        )
        return {"ok": True, "channel": channel_id, "ts": message["ts"], "message": message}

    def _history(self, body: dict[str, Any], thread: bool) -> dict[str, Any]:
        ref = str(body.get("channel") or "")
        if ref not in self._state.channels.values():
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = _truthy(body.get("include_all_metadata"))
        found = [m for m in self._state.messages if m["channel"] == ref]
        if thread:
            parent = str(body.get("ts") or "")
            found = [m for m in found if m["ts"] == parent or m.get("thread_ts") == parent]
            if not found:
                return {"ok": False, "error": "thread_not_found"}
        else:
            oldest = float(body.get("oldest") or 0)
            found = [
                m
                for m in found
                if (not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m["reply_broadcast"])
                and float(m["ts"]) > oldest
            ]
            found.reverse()  # newest first, like Slack
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        page = found[start : start + limit]
        more = start + limit < len(found)
        keep = {"type", "user", "text", "blocks", "ts", "thread_ts"}
        if with_metadata:
            keep.add("metadata")
        return {
            "ok": True,
            "messages": [{k: v for k, v in m.items() if k in keep} for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _dispatch(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "http://127.0.0.1/", **LOCAL_TEAM, "bot_id": "B0UPROAR"}
        if method == "chat.postMessage":
            return self._post_message(body)
        if method == "conversations.history":
            return self._history(body, thread=False)
        if method == "conversations.replies":
            return self._history(body, thread=True)
        if method == "chat.update":
            channel_id = self._channel_id(self._channel_name(str(body.get("channel") or "")))
            for stored in self._state.messages:
                if stored["channel"] == channel_id and stored["ts"] == body.get("ts"):
                    if "text" in body:
                        stored["text"] = body["text"]
                    if "blocks" in body:
                        stored["blocks"] = body["blocks"]
                    self._state.updates.append(
                        {
                            "channel": channel_id,
                            "ts": stored["ts"],
                            "text": stored["text"],
                            "blocks": stored["blocks"],
                        }
                    )
                    return {
                        "ok": True,
                        "channel": channel_id,
                        "ts": stored["ts"],
                        "text": stored["text"],
                    }
            return {"ok": False, "error": "message_not_found"}
        if method == "files.getUploadURLExternal":
            return self._upload_url(body)
        if method == "files.completeUploadExternal":
            return self._complete_upload(body)
        if method == "conversations.list":
            channels = [
                {"id": channel_id, "name": name, "is_channel": True, "is_member": True}
                for name, channel_id in self._state.channels.items()
            ]
            return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
        return {"ok": False, "error": "unknown_method"}

    def _upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        """files.getUploadURLExternal: a file id and where to POST the bytes (this server)."""
        if not body.get("filename") or not str(body.get("length") or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self._state.uploads) + 1:08d}"
        self._state.uploads[file_id] = {
            "id": file_id,
            "filename": str(body["filename"]),
            "length": int(body["length"]),
            "content": None,
        }
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": self.base_url.removesuffix("api/") + f"upload/{file_id}",
        }

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        """The bytes POSTed to an upload URL; False for an unknown file id."""
        with self._lock:
            upload = self._state.uploads.get(file_id)
            if upload is None:
                return False
            upload["content"] = content
            return True

    def _complete_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        """files.completeUploadExternal: share uploaded files in a channel (or thread)."""
        try:
            files = (
                json.loads(body.get("files") or "[]")
                if isinstance(body.get("files"), str)
                else body.get("files") or []
            )
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for item in files:
            upload = self._state.uploads.get(str(item.get("id")))
            if upload is None or upload["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            shared.append(upload)
        channel = body.get("channel_id") or body.get("channels")
        for upload, item in zip(shared, files, strict=True):
            upload["title"] = item.get("title") or upload["filename"]
            if channel:
                upload["channel"] = self._channel_id(self._channel_name(str(channel)))
            upload["thread_ts"] = body.get("thread_ts")
            upload["initial_comment"] = body.get("initial_comment")
        return {
            "ok": True,
            "files": [{"id": u["id"], "name": u["filename"], "title": u["title"]} for u in shared],
        }


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _parse_body(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    body: dict[str, Any] = {key: values[-1] for key, values in parse_qs(query).items()}
    if not raw:
        return body
    if content_type.startswith("application/json"):
        parsed = json.loads(raw.decode("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError("the JSON body must be an object")
        return body | parsed
    form = {key: values[-1] for key, values in parse_qs(raw.decode("utf-8")).items()}
    for key in ("blocks", "attachments"):
        if isinstance(form.get(key), str):
            form[key] = json.loads(form[key])
    return body | form


def _handler_for(server: LocalSlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.startswith("/actions/") and self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw.decode("utf-8") or "{}")
                except ValueError:
                    self._answer(400, {}, {"ok": False, "error": "invalid_json"})
                    return
                server.record_response(parts.path, body if isinstance(body, dict) else {})
                self._answer(200, {}, {"ok": True})
                return
            if parts.path.startswith("/upload/"):
                length = int(self.headers.get("Content-Length") or 0)
                content = self.rfile.read(length) if length else b""
                known = server.receive_upload(parts.path[len("/upload/") :], content)
                data = f"OK - {len(content)}".encode() if known else b"not found"
                self.send_response(200 if known else 404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if not parts.path.startswith("/api/"):
                self._answer(404, {}, {"ok": False, "error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                body = _parse_body(headers.get("content-type", ""), raw, parts.query)
            except ValueError as exc:
                self._answer(400, {}, {"ok": False, "error": f"invalid_body: {exc}"})
                return
            status, extra, answer = server.handle(parts.path[len("/api/") :], headers, body)
            # A client that timed out has gone away; there is nobody left to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(status, extra, answer)

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
