"""Review pages: schema.org Reviews from the saved pages, parsed directly and crawled for real."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.config import CrawlSettings, ReviewPagesSource, WatchConfig
from crawlers.job import CrawlJob
from crawlers.reviews import extract_reviews, review_id
from crawlers.runner import run_crawl
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import crawl_state, stored_posts

FAST = CrawlSettings(autothrottle=False, retries=0, timeout_seconds=5, process_timeout_seconds=60)
EVERYTHING = [WatchConfig(name="all", query="*")]
HTML = {"Content-Type": "text/html; charset=utf-8"}

# Written for these tests (no saved page in the fixtures has microdata Reviews, broken
# JSON-LD next to good microdata, or Chinese review text).
MICRODATA_WITH_BROKEN_JSONLD = """<!DOCTYPE html><html lang="en"><head>
<script type="application/ld+json">{"@type": "Review", "reviewBody": "trunc</script>
</head><body>
<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Acme Anvil</h1>
 <div itemprop="review" itemscope itemtype="https://schema.org/Review">
  <span itemprop="name">Broke in a week</span>
  <span itemprop="author" itemscope itemtype="https://schema.org/Person">
   <span itemprop="name">Ellie</span></span>
  <meta itemprop="datePublished" content="2024-02-03">
  <div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">
   <span itemprop="ratingValue">1</span>/<span itemprop="bestRating">10</span></div>
  <span itemprop="reviewBody">The anvil cracked after one drop. Refund refused.</span>
 </div>
</div></body></html>"""

CHINESE_REVIEWS = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Product", "name": "阿克美电饭煲",
 "review": [
  {"@type": "Review", "author": {"@type": "Person", "name": "小王"},
   "datePublished": "2024-05-01T08:00:00+08:00",
   "reviewBody": "用了三天就坏了，客服一直不回复，退款也没到账。",
   "reviewRating": {"@type": "Rating", "ratingValue": "1", "bestRating": "5"}},
  {"@type": "Review", "author": "李女士", "datePublished": "2024-05-02",
   "reviewBody": "煮饭很香，物流也快。", "reviewRating": "5"}
 ]}
</script></head><body>阿克美</body></html>"""


def page_paths(fixtures_dir: Path) -> list[Path]:
    reviews = fixtures_dir / "reviews"
    return sorted(
        path
        for path in [*(reviews / "extruct").iterdir(), *(reviews / "pages").iterdir()]
        if path.suffix in (".html", ".testhtml")
    )


def extract(path: Path) -> list:
    html = path.read_bytes().decode("utf-8")
    return extract_reviews(html, f"http://shop.example/{path.name}", "shop").items


# --- extraction from the saved pages (fast) ---------------------------------------------

EXPECTED_COUNTS = {
    "CreativeWork.001.html": 2,
    "null_ld_mock.html": 1,
    "eatsmarter.com_eatsmarter.testhtml": 4,
    "recept.se_recept.testhtml": 5,  # 10 Reviews on the page, half of them exact repeats
}


def test_review_counts_per_saved_page(fixtures_dir: Path) -> None:
    counts = {path.name: len(extract(path)) for path in page_paths(fixtures_dir)}
    assert {name: n for name, n in counts.items() if n} == EXPECTED_COUNTS
    # Pages with only AggregateRating, other types or broken JSON-LD give nothing, no crash.
    assert counts["product.html"] == counts["LocalBusiness.002.html"] == 0
    assert counts["JSONLD_with_control_characters.html"] == 0
    assert counts["JSONLD_with_JS_comment.html"] == 0
    assert counts["xiachufang.com_xiachufang_1.testhtml"] == 0


def test_json_ld_reviews_with_ratings(fixtures_dir: Path) -> None:
    first, second = extract(fixtures_dir / "reviews" / "extruct" / "CreativeWork.001.html")
    assert first.author == "John Doe"
    assert first.title == "A masterpiece of literature"
    assert first.text.startswith("I really enjoyed this book.")
    assert (first.rating, first.rating_scale) == (5.0, 5.0)
    assert first.published_at == datetime(2006, 5, 4, tzinfo=UTC)
    assert first.platform == "reviews" and first.language == "en"
    assert (second.author, second.rating) == ("Bob Smith", 4.0)  # "reviewRating": "4"
    assert first.external_id == review_id(
        "http://shop.example/CreativeWork.001.html", "John Doe", "2006-05-04", first.text
    )


def test_person_authors_and_rating_only_reviews(fixtures_dir: Path) -> None:
    items = extract(fixtures_dir / "reviews" / "pages" / "eatsmarter.com_eatsmarter.testhtml")
    assert [item.author for item in items][:2] == ["loula.b", "LeoLou"]
    assert all(item.rating is not None and item.rating_scale == 5 for item in items)
    assert items[0].published_at == datetime(2018, 10, 29, tzinfo=UTC)


def test_swedish_reviews_use_date_created(fixtures_dir: Path) -> None:
    items = extract(fixtures_dir / "reviews" / "pages" / "recept.se_recept.testhtml")
    assert items[0].author == "Tage"
    assert items[0].published_at == datetime(2024, 1, 26, tzinfo=UTC)
    assert items[0].language == "sv"
    assert len({item.external_id for item in items}) == len(items)


def test_external_ids_are_stable(fixtures_dir: Path) -> None:
    path = fixtures_dir / "reviews" / "pages" / "eatsmarter.com_eatsmarter.testhtml"
    assert [item.external_id for item in extract(path)] == [i.external_id for i in extract(path)]


def test_microdata_reviews_survive_broken_json_ld() -> None:
    result = extract_reviews(MICRODATA_WITH_BROKEN_JSONLD, "http://shop.example/anvil", "shop")
    [item] = result.items
    assert (item.author, item.title, item.rating, item.rating_scale) == (
        "Ellie",
        "Broke in a week",
        1.0,
        10.0,
    )
    assert item.text == "The anvil cracked after one drop. Refund refused."
    assert item.external_id.startswith("/anvil#")
    assert result.broken_syntaxes and result.broken_syntaxes[0].startswith("json-ld")
    assert not result.unreadable


def test_chinese_reviews() -> None:
    result = extract_reviews(CHINESE_REVIEWS, "http://shop.example/zh", "shop", "zh")
    bad, good = result.items
    assert bad.author == "小王" and good.author == "李女士"
    assert bad.published_at == datetime(2024, 5, 1, tzinfo=UTC)
    assert (bad.rating, good.rating) == (1.0, 5.0)
    assert bad.language == "zh" and "退款" in bad.text


# --- real crawls ------------------------------------------------------------------------


@pytest.fixture
def shop(fixtures_dir: Path) -> Iterator[ReplayServer]:
    routes = {
        f"/{path.name}": Route(headers=HTML, body=path.read_bytes())
        for path in page_paths(fixtures_dir)
    }
    routes["/anvil"] = Route(headers=HTML, body=MICRODATA_WITH_BROKEN_JSONLD.encode())
    routes["/zh"] = Route(headers=HTML, body=CHINESE_REVIEWS.encode())
    with serve(routes) as server:
        yield server


def test_crawl_every_saved_page(shop: ReplayServer, fixtures_dir: Path, sqlite_url: str) -> None:
    paths = [f"/{path.name}" for path in page_paths(fixtures_dir)] + ["/anvil", "/zh"]
    source = ReviewPagesSource(type="reviews", name="shop", urls=[shop.url(p) for p in paths])
    result = run_crawl(source, EVERYTHING, FAST, sqlite_url)
    expected = sum(EXPECTED_COUNTS.values()) + 1 + 2
    assert result.ok, result.errors
    assert (result.fetched, result.new, result.known) == (expected, expected, 0)
    posts = stored_posts(sqlite_url, "shop")
    assert len(posts) == expected
    chinese = [post for post in posts if post.url == shop.url("/zh")]
    assert {post.author for post in chinese} == {"小王", "李女士"}
    assert all(post.language == "zh" for post in chinese)
    assert {
        post.rating for post in stored_posts(sqlite_url, "shop") if post.url == shop.url("/anvil")
    } == {1.0}

    again = run_crawl(source, EVERYTHING, FAST, sqlite_url)
    assert (again.new, again.known) == (0, expected)


def test_assign_watch_and_failing_pages(shop: ReplayServer, sqlite_url: str) -> None:
    shop.routes["/down"] = Route(status=503)
    source = ReviewPagesSource(
        type="reviews",
        name="own-pages",
        urls=[shop.url("/zh"), shop.url("/down"), shop.url("/missing")],
        assign_watch="acme",
    )
    # The reviews never name the brand: assign_watch keeps them anyway.
    watches = [WatchConfig(name="acme", query="acme")]
    result = run_crawl(source, watches, FAST, sqlite_url)
    assert result.new == 2
    assert {post.watch for post in stored_posts(sqlite_url, "own-pages")} == {"acme"}
    assert any(f"HTTP 503 from {shop.url('/down')}" in error for error in result.errors)
    assert any(f"HTTP 404 from {shop.url('/missing')}" in error for error in result.errors)
    # Some pages failed, the rest came in: partly broken, not down.
    state = crawl_state(sqlite_url, "own-pages")
    assert state is not None and state.health == "partial"
    assert state.consecutive_failures == 0
    assert state.last_error and "HTTP 503" in state.last_error


def test_run_one_prints_one_json_line_and_counts_pages_without_reviews(
    shop: ReplayServer, sqlite_url: str
) -> None:
    source = ReviewPagesSource(
        type="reviews", name="bare", urls=[shop.url("/product.html"), shop.url("/zh")]
    )
    job = CrawlJob(source=source, watches=EVERYTHING, crawl=FAST, database_url=sqlite_url)
    completed = subprocess.run(
        [sys.executable, "-m", "crawlers.run_one"],
        input=job.model_dump_json(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [line] = completed.stdout.splitlines()
    report = json.loads(line)
    assert report.pop("elapsed_seconds") > 0
    assert report == {
        "source": "bare",
        "fetched": 2,
        "new": 2,
        "known": 0,
        "skipped": 0,
        "deleted": 0,
        "amplifications": 0,
        "errors": [],
        "cursors": {},
    }
    assert "'uproar/pages_without_items': 1" in completed.stderr  # Scrapy's stats dump


def test_run_one_rejects_an_invalid_job() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "crawlers.run_one"],
        input='{"source": {"type": "reviews", "name": "x", "urls": []}}',
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "invalid crawl job" in completed.stderr and "urls" in completed.stderr


def test_review_id_does_not_depend_on_the_host_serving_the_page() -> None:
    one = review_id("http://127.0.0.1:8001/reviews/duvet.html", "Ann", "2026-11-20", "Torn")
    two = review_id("http://127.0.0.1:9999/reviews/duvet.html", "Ann", "2026-11-20", "Torn")
    other_page = review_id("http://127.0.0.1:8001/reviews/vase.html", "Ann", "2026-11-20", "Torn")
    assert one == two
    assert one != other_page
    assert one.startswith("/reviews/duvet.html#")
