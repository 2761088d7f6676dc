"""uproar.toml: valid files load, bad ones give one clear message naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.config import ConfigError, load_config

GOOD = """
[[watches]]
name = "acme"
query = 'acme OR "acme corp"'

[[sources]]
type = "feed"
name = "news"
url = "http://127.0.0.1:9/feed.xml"

[thresholds]
reach = 800
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "uproar.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    assert config.thresholds.reach == 800
    assert config.thresholds.negativity == pytest.approx(0.6)
    assert config.database.url == "sqlite:///uproar.db"
    assert config.slack.enabled is False
    assert [s.name for s in config.enabled_sources()] == ["news"]


def test_demo_config_template_is_valid(tmp_path: Path) -> None:
    from flows.demo import write_demo_config

    path = write_demo_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2/api/")
    config = load_config(path)
    assert config.slack.enabled and config.rota.fallback == "pr-lead"
    assert [s.type for s in config.sources] == ["feed", "reviews", "mastodon", "reddit"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "\n[thresholds]\n", "not valid TOML"),
        (GOOD.replace("reach = 800", 'reach = "lots"'), "thresholds.reach"),
        (GOOD.replace("reach = 800", "reach = -5"), "thresholds.reach"),
        (GOOD.replace('type = "feed"', 'type = "carrier-pigeon"'), "sources[0]"),
        (GOOD + "\n[slack]\ntoken = 'xoxb-secret'\n", "slack.token: unknown key"),
        (GOOD.replace('name = "news"', 'name = "news"\nwatches = ["nope"]'), "'nope'"),
        (GOOD.replace("acme OR", "acme OR ("), "watches[0].query"),
        (GOOD.replace('url = "http', 'uri = "http'), "sources[0].url: required key is missing"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message


def test_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_database_url_from_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPROAR_DATABASE_URL", "sqlite:///elsewhere.db")
    assert load_config(_write(tmp_path, GOOD)).database.url == "sqlite:///elsewhere.db"


def test_config_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "check", "--config", str(_write(tmp_path, GOOD))])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output and "1 watches" in ok.output
    bad = _write(tmp_path, GOOD.replace("reach = 800", "reach = 'x'"))
    failed = runner.invoke(app, ["config", "check", "--config", str(bad)])
    assert failed.exit_code == 2
    assert "thresholds.reach" in failed.output


EVERY_PLATFORM = """
[[watches]]
name = "acme"
query = '(acme OR "acme corp") -job'
search_terms = ["acme"]

[[watches]]
name = "everything"
query = "*"

[[sources]]
type = "mastodon"
name = "fediverse"
instances = ["https://mastodon.social", "https://hachyderm.io"]
hashtags = ["#acme"]
access_token_env = "MASTODON_TOKEN"
watches = ["acme"]

[[sources]]
type = "bluesky"
name = "bsky"
languages = ["en"]
authors = ["acme.bsky.social"]
watches = ["acme"]

[[sources]]
type = "reddit"
name = "reddit"
subreddits = ["r/acme", "BuyItForLife"]
search = false

[[sources]]
type = "hackernews"
name = "hn"
tags = ["story"]
watches = ["acme"]

[[sources]]
type = "weibo"
name = "weibo"
watches = ["acme"]

[[sources]]
type = "appstore"
name = "app-reviews"
app_id = "284882215"
countries = ["us", "gb", "cn"]
assign_watch = "acme"
"""


def test_every_platform_source_loads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, EVERY_PLATFORM))
    types = [source.type for source in config.sources]
    assert types == ["mastodon", "bluesky", "reddit", "hackernews", "weibo", "appstore"]
    mastodon = config.sources[0]
    assert mastodon.type == "mastodon" and mastodon.hashtags == ["acme"]
    reddit = config.sources[2]
    assert reddit.type == "reddit" and reddit.subreddits == ["acme", "BuyItForLife"]
    assert config.watches[0].platform_search_terms() == ["acme"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('app_id = "284882215"', "", "app_id: required key is missing"),
        ('countries = ["us", "gb", "cn"]', "max_pages = 11", "max_pages"),
        ('tags = ["story"]', 'tags = ["poll"]', "tags"),
        # A search needs words: "*" has none, unless search is off or terms are given.
        ('subreddits = ["r/acme", "BuyItForLife"]\nsearch = false', "", "no words to search"),
    ],
)
def test_bad_platform_sources_name_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in EVERY_PLATFORM
    path = _write(tmp_path, EVERY_PLATFORM.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert expected in str(caught.value)
