"""Crawl + parse + store throughput per platform, next to ``scrapy bench``.

Each platform gets generated pages in its real response shape, served by a local HTTP
server that hands out a path's pages in order (whatever the query string says), so each
spider pages through them as it would through the real API. The figures are posts per
second over Scrapy's own crawl clock (the child process's start-up is printed apart).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawlers.config import (
    AnySource,
    AppStoreSource,
    BlueskySource,
    CrawlSettings,
    HackerNewsSource,
    MastodonSource,
    RedditSource,
    WatchConfig,
    WeiboSource,
)
from crawlers.runner import run_crawl
from storage.db import open_database

TEXTS = [
    "Day 6 and still no sign of my Acme parcel, and nobody answers the phone.",
    "Acme refund still not paid after 72 hours, support keeps closing my ticket.",
    "Loving my new Acme lamp, delivery was quick and the box was plastic-free.",
    "Acme opens a new store in Leeds next month, lots of jobs for the town.",
    "Acme客服态度太差了，退款一个星期还没到账。",
    "Acme的沙发质量很好，物流也快，推荐。",
]
TARGET_POSTS_PER_SECOND = 300  # issue 3: crawling must never be the bottleneck
WATCH = WatchConfig(name="acme", query="acme", search_terms=["acme"])


@dataclass
class Pages:
    """What the bench server serves on each path: pages in order, then ``empty``."""

    pages: dict[str, list[tuple[dict[str, str], bytes]]] = field(default_factory=dict)
    # Paths that always give the same answer (Bluesky's getProfiles, say).
    fixed: dict[str, bytes] = field(default_factory=dict)
    empty: bytes = b"[]"
    served: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _serve(pages: Pages) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/robots.txt":
                headers, body = {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n"
            elif path in pages.fixed:
                pages.served[path] += 1
                headers, body = {}, pages.fixed[path]
            else:
                queue = pages.pages.get(path, [])
                index = pages.served[path]
                pages.served[path] += 1
                if index < len(queue):
                    headers, body = dict(queue[index][0]), queue[index][1]
                else:
                    headers, body = {}, pages.empty
            self.send_response(200)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _when(n: int) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=30 * n + 60)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def mastodon(base: str, pages: int, per_page: int) -> tuple[Pages, AnySource]:
    result = Pages(empty=b"[]")
    path = "/api/v1/timelines/tag/acme"
    queue = []
    for page in range(pages):
        statuses = []
        for i in range(per_page):
            n = page * per_page + i
            sid = str(10**17 - n)
            statuses.append(
                {
                    "id": sid,
                    "uri": f"{base}/users/u{n % 97}/statuses/{sid}",
                    "url": f"{base}/@u{n % 97}/{sid}",
                    "created_at": _when(n).isoformat().replace("+00:00", "Z"),
                    "content": (
                        f"<p>{TEXTS[n % len(TEXTS)]} <a href='{base}/tags/acme'>#acme</a> {n}</p>"
                    ),
                    "language": "en",
                    "spoiler_text": "",
                    "replies_count": n % 5,
                    "reblogs_count": n % 7,
                    "favourites_count": n % 11,
                    "reblog": None,
                    "account": {
                        "id": str(n % 97),
                        "acct": f"u{n % 97}@bench.example",
                        "username": f"u{n % 97}",
                        "followers_count": (n * 37) % 5000,
                    },
                }
            )
        next_link = f'<{base}{path}?max_id={statuses[-1]["id"]}>; rel="next"'
        queue.append(({"Link": next_link}, _json(statuses)))
    result.pages[path] = queue
    source = MastodonSource(
        type="mastodon",
        name="bench-mastodon",
        instances=[base],
        hashtags=["acme"],
        search=False,
        max_pages=pages + 1,
    )
    return result, source


def reddit(base: str, pages: int, per_page: int) -> tuple[Pages, AnySource]:
    empty = _json({"kind": "Listing", "data": {"after": None, "children": []}})
    result = Pages(empty=empty)
    path = "/r/acme/new.json"
    queue = []
    for page in range(pages):
        children = []
        for i in range(per_page):
            n = page * per_page + i
            children.append(
                {
                    "kind": "t3",
                    "data": {
                        "name": f"t3_b{n}",
                        "id": f"b{n}",
                        "title": f"Acme thread {n}",
                        "selftext": TEXTS[n % len(TEXTS)],
                        "author": f"user{n % 211}",
                        "created_utc": _when(n).timestamp(),
                        "score": n % 50,
                        "num_comments": n % 9,
                        "num_crossposts": 0,
                        "permalink": f"/r/acme/comments/b{n}/t/",
                        "subreddit": "acme",
                        "subreddit_subscribers": 12000,
                    },
                }
            )
        after = f"t3_b{(page + 1) * per_page - 1}" if page < pages - 1 else None
        queue.append(
            ({}, _json({"kind": "Listing", "data": {"after": after, "children": children}}))
        )
    result.pages[path] = queue
    source = RedditSource(
        type="reddit",
        name="bench-reddit",
        base_url=base,
        subreddits=["acme"],
        search=False,
        max_pages=pages + 1,
    )
    return result, source


def bluesky(base: str, pages: int, per_page: int) -> tuple[Pages, AnySource]:
    result = Pages(empty=_json({"posts": []}))
    queue = []
    authors = set()
    for page in range(pages):
        posts = []
        for i in range(per_page):
            n = page * per_page + i
            did = f"did:plc:bench{n % 89}"
            authors.add(did)
            when = _when(n).isoformat().replace("+00:00", "Z")
            posts.append(
                {
                    "uri": f"at://{did}/app.bsky.feed.post/3bench{n}",
                    "cid": f"bafybench{n}",
                    "author": {"did": did, "handle": f"user{n % 89}.bsky.social"},
                    "record": {
                        "$type": "app.bsky.feed.post",
                        "text": f"{TEXTS[n % len(TEXTS)]} {n}",
                        "createdAt": when,
                        "langs": ["en"],
                    },
                    "replyCount": n % 5,
                    "repostCount": n % 7,
                    "likeCount": n % 11,
                    "quoteCount": 0,
                    "indexedAt": when,
                }
            )
        body: dict[str, Any] = {"posts": posts}
        if page < pages - 1:
            body["cursor"] = str((page + 1) * per_page)
        queue.append(({}, _json(body)))
    result.pages["/xrpc/app.bsky.feed.searchPosts"] = queue
    profiles = [{"did": did, "handle": did[8:], "followersCount": 1000} for did in authors]
    result.fixed["/xrpc/app.bsky.actor.getProfiles"] = _json({"profiles": profiles})
    source = BlueskySource(type="bluesky", name="bench-bluesky", appview=base, max_pages=pages + 1)
    return result, source


def hackernews(base: str, pages: int, per_page: int) -> tuple[Pages, AnySource]:
    result = Pages(empty=_json({"hits": [], "nbPages": pages, "page": pages}))
    queue = []
    for page in range(pages):
        hits = []
        for i in range(per_page):
            n = page * per_page + i
            when = _when(n)
            hits.append(
                {
                    "objectID": str(40_000_000 - n),
                    "created_at_i": int(when.timestamp()),
                    "created_at": when.isoformat().replace("+00:00", "Z"),
                    "author": f"hn{n % 71}",
                    "title": f"Ask HN: Acme support {n}",
                    "story_text": f"<p>{TEXTS[n % len(TEXTS)]}</p>",
                    "url": None,
                    "points": n % 40,
                    "num_comments": n % 6,
                    "_tags": ["story", f"author_hn{n % 71}"],
                }
            )
        body = {"hits": hits, "nbPages": pages, "page": page, "hitsPerPage": per_page}
        queue.append(({}, _json(body)))
    result.pages["/search_by_date"] = queue
    source = HackerNewsSource(
        type="hackernews", name="bench-hn", base_url=base, tags=["story"], max_pages=pages + 1
    )
    return result, source


def weibo(base: str, pages: int, per_page: int) -> tuple[Pages, AnySource]:
    result = Pages(empty=_json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}))
    queue = []
    for page in range(pages):
        cards = []
        for i in range(per_page):
            n = page * per_page + i
            cards.append(
                {
                    "card_type": 9,
                    "mblog": {
                        "id": str(4_990_000_000_000_000 - n),
                        "mid": str(4_990_000_000_000_000 - n),
                        "created_at": f"{(n // 60) + 1}分钟前",
                        "text": f"{TEXTS[n % len(TEXTS)]} <br />第{n}条",
                        "isLongText": False,
                        "reposts_count": n % 7,
                        "comments_count": n % 5,
                        "attitudes_count": n % 11,
                        "user": {"screen_name": f"用户{n % 53}", "followers_count": "1.2万"},
                    },
                }
            )
        queue.append(
            ({}, _json({"ok": 1, "data": {"cards": cards, "cardlistInfo": {"page": page + 2}}}))
        )
    result.pages["/api/container/getIndex"] = queue
    source = WeiboSource(type="weibo", name="bench-weibo", base_url=base, max_pages=pages + 1)
    return result, source


def appstore(base: str, pages: int, per_page: int) -> tuple[Pages, AnySource]:
    result = Pages(empty=_json({"feed": {}}))
    for page in range(pages):
        entries = []
        for i in range(per_page):
            n = page * per_page + i
            entries.append(
                {
                    "author": {
                        "name": {"label": f"reviewer{n}"},
                        "uri": {"label": f"{base}/r/{n}"},
                    },
                    "updated": {"label": _when(n).isoformat()},
                    "im:rating": {"label": str(1 + n % 5)},
                    "im:version": {"label": "4.2.0"},
                    "id": {"label": str(11_000_000_000 - n)},
                    "title": {"label": f"Acme app review {n}"},
                    "content": {"label": TEXTS[n % len(TEXTS)], "attributes": {"type": "text"}},
                    "im:voteSum": {"label": "0"},
                    "im:voteCount": {"label": str(n % 4)},
                    "link": {"attributes": {"rel": "related", "href": f"{base}/review/{n}"}},
                }
            )
        path = f"/us/rss/customerreviews/page={page + 1}/id=42/sortby=mostrecent/json"
        result.pages[path] = [({}, _json({"feed": {"entry": entries}}))]
    source = AppStoreSource(
        type="appstore",
        name="bench-appstore",
        base_url=base,
        app_id="42",
        countries=["us"],
        max_pages=pages,
        assign_watch="acme",
    )
    return result, source


def scrapy_bench(seconds: int = 10) -> tuple[int, float] | None:
    """Run ``scrapy bench`` for ``seconds``; (pages, pages per second) or None."""
    with tempfile.TemporaryDirectory() as folder:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "bench",
                "-s",
                f"CLOSESPIDER_TIMEOUT={seconds}",
                "-s",
                "LOG_LEVEL=INFO",
            ],
            capture_output=True,
            text=True,
            cwd=folder,
            timeout=seconds + 60,
            check=False,
        )
    output = completed.stdout + completed.stderr
    pages = re.search(r"'response_received_count': (\d+)", output)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", output)
    if not pages or not elapsed:
        return None
    return int(pages.group(1)), int(pages.group(1)) / float(elapsed.group(1))


Builder = Callable[[str, int, int], tuple[Pages, AnySource]]
BUILDERS: dict[str, tuple[Builder, int, int]] = {
    # platform: (builder, pages, posts per page) - the platforms' real page sizes
    "mastodon": (mastodon, 30, 40),
    "bluesky": (bluesky, 12, 100),
    "reddit": (reddit, 12, 100),
    "hackernews": (hackernews, 12, 100),
    "weibo": (weibo, 60, 20),
    "appstore": (appstore, 10, 50),
}


def main() -> None:
    print("crawl + parse + store per platform (local replay, SQLite, Scrapy's clock):")
    crawl = CrawlSettings(autothrottle=False, obey_robots_txt=False)
    results = []
    for platform, (builder, pages, per_page) in BUILDERS.items():
        with tempfile.TemporaryDirectory(prefix="uproar-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            open_database(url)[0].dispose()
            pages_served = Pages()
            server, base = _serve(pages_served)
            try:
                built, source = builder(base, pages, per_page)
                pages_served.pages, pages_served.empty = built.pages, built.empty
                pages_served.fixed = built.fixed
                started = time.perf_counter()
                result = run_crawl(source, [WATCH], crawl, url)
                wall = time.perf_counter() - started
            finally:
                server.shutdown()
                server.server_close()
        elapsed = result.elapsed_seconds or wall
        fetched_pages = sum(pages_served.served.values())
        rate = result.new / elapsed if elapsed else 0.0
        results.append((platform, rate))
        for error in result.errors[:3]:
            print(f"    error: {error[:200]}")
        flag = "" if rate >= TARGET_POSTS_PER_SECOND else "  (below the 300 posts/s target)"
        print(
            f"  {platform:<11} {result.new:>5} posts, {fetched_pages:>3} pages in {elapsed:5.2f} s "
            f"= {rate:6.0f} posts/s, {fetched_pages / elapsed:5.1f} pages/s "
            f"(wall {wall:.1f} s incl. process start-up; errors: {len(result.errors)}){flag}"
        )
    bench = scrapy_bench()
    if bench is None:
        print("  scrapy bench: could not read its output")
        return
    pages, per_second = bench
    print(f"  scrapy bench: {pages} pages at {per_second:.1f} pages/s (link-following, no storage)")
    for platform, rate in results:
        print(f"  ratio {platform} posts/s : scrapy bench pages/s = {rate / per_second:.1f}x")


if __name__ == "__main__":
    main()
