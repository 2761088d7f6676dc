"""A real HTTP server on 127.0.0.1 (port 0) that replays recorded bodies to the crawlers.

Routes map a path (with query string, if any) to a :class:`Route`, or to a list of them
served in turn (the last one repeats: a 429 then a 200); unknown paths get 404,
``/robots.txt`` allows everything unless a route overrides it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROBOTS_ALLOW_ALL = b"User-agent: *\nDisallow:\n"


@dataclass
class Route:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_seconds: float = 0.0  # sleep before answering, for timeout tests
    drop_connection: bool = False  # close the socket without answering


@dataclass
class ReplayServer:
    routes: dict[str, Route | list[Route]]
    base_url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)  # time.monotonic() per request

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def _handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers.items())))
            server.request_times.append(time.monotonic())
            found = server.routes.get(self.path)
            if isinstance(found, list):
                route: Route | None = found.pop(0) if len(found) > 1 else found[0]
            else:
                route = found
            if route is None and self.path == "/robots.txt":
                route = Route(headers={"Content-Type": "text/plain"}, body=ROBOTS_ALLOW_ALL)
            if route is None:
                route = Route(status=404, headers={"Content-Type": "text/plain"}, body=b"nope")
            if route.delay_seconds:
                time.sleep(route.delay_seconds)
            if route.drop_connection:
                self.close_connection = True
                self.connection.close()
                return
            try:
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): fine

    return Handler


@contextmanager
def serve(routes: Mapping[str, Route | list[Route]]) -> Iterator[ReplayServer]:
    """Serve ``routes`` on 127.0.0.1:<free port> in a thread for the ``with`` block."""
    server = ReplayServer(routes=dict(routes))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
