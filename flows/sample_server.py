"""The demo's local sample source: the bundled feed and review pages over HTTP."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

DEMO_DATA = Path(__file__).parent / "demo_data"


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class declares it this way
        **SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/rss+xml; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".json": "application/feed+json; charset=utf-8",
    }

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the demo's terminal for the summary."""


class SampleServer:
    """Serves ``root`` on 127.0.0.1 at a free port until closed."""

    def __init__(self, root: Path = DEMO_DATA) -> None:
        handler = partial(_QuietHandler, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SampleServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
