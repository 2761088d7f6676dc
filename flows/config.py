"""uproar.toml: one file, composed from the settings each package declares.

A bad file gives one clear message naming the file, the key, what was found and what was
expected. Secrets never live here: Slack's token is read from the environment variable
the file names.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alerts.config import (
    DeadlineSettings,
    EscalationSettings,
    GroupingSettings,
    ReachGrowthSettings,
    RepeatSettings,
    RotaSettings,
    SlackSettings,
    SpikeSettings,
    ThresholdSettings,
    TriageSettings,
)
from crawlers.config import ApiSource, CrawlSettings, SourceConfig, WatchConfig
from sentiment.categories import CATEGORY_IDS
from sentiment.config import SentimentSettings
from storage.config import DatabaseSettings

CONFIG_ENV = "UPROAR_CONFIG"
DATABASE_URL_ENV = "UPROAR_DATABASE_URL"
DEFAULT_CONFIG_PATH = Path("uproar.toml")


class ConfigError(Exception):
    """uproar.toml cannot be used; the message says where and why."""


class DigestSettings(BaseModel):
    """``[digest]``: the daily summary (text + charts) posted to Slack by ``uproar serve``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    cron: str = Field(default="0 8 * * *", pattern=r"^\S+( \S+){4}$")  # five cron fields
    timezone: str = "UTC"
    period: str = Field(default="1d", pattern=r"^\d+[mhdw]$")  # how far back it looks
    channel: str | None = Field(default=None, min_length=1)  # default: [slack] channel

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as Europe/London") from None
        return value


class UproarConfig(BaseModel):
    """Everything uproar needs to run, as written in uproar.toml."""

    model_config = ConfigDict(extra="forbid")

    watches: list[WatchConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    deadlines: DeadlineSettings = Field(default_factory=DeadlineSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    rota: RotaSettings = Field(default_factory=RotaSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    grouping: GroupingSettings = Field(default_factory=GroupingSettings)
    repeats: RepeatSettings = Field(default_factory=RepeatSettings)
    spikes: SpikeSettings = Field(default_factory=SpikeSettings)
    reach_growth: ReachGrowthSettings = Field(default_factory=ReachGrowthSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)

    @model_validator(mode="after")
    def _names_are_unique_and_known(self) -> UproarConfig:
        watch_names = [watch.name for watch in self.watches]
        _ensure_unique("watches", watch_names)
        _ensure_unique("sources", [source.name for source in self.sources])
        known = set(watch_names)
        by_name = {watch.name: watch for watch in self.watches}
        for index, source in enumerate(self.sources):
            if isinstance(source, ApiSource) and source.search and not source.assign_watch:
                for name in source.watches or watch_names:
                    watch = by_name.get(name)
                    if watch is not None and not watch.platform_search_terms():
                        raise ValueError(
                            f"sources.{index} ({source.name}) searches {source.type} for "
                            f"watch {name!r}, but its query has no words to search for; "
                            "set the watch's search_terms, or search = false on the source"
                        )
            wanted = [*source.watches, *([source.assign_watch] if source.assign_watch else [])]
            for name in wanted:
                if name not in known:
                    raise ValueError(
                        f"sources.{index} ({source.name}) names watch {name!r}, "
                        f"which is not defined; known watches: {sorted(known) or 'none'}"
                    )
        return self

    @model_validator(mode="after")
    def _categories_are_known(self) -> UproarConfig:
        named: dict[str, Mapping[str, object]] = {
            "triage.category_weights": self.triage.category_weights,
            "triage.category_at_least": self.triage.category_at_least,
            "deadlines.categories": self.deadlines.categories,
        }
        for where, table in named.items():
            unknown = sorted(set(table) - set(CATEGORY_IDS))
            if unknown:
                raise ValueError(
                    f"{where}: unknown complaint category {', '.join(map(repr, unknown))}; "
                    f"known categories: {', '.join(CATEGORY_IDS)}"
                )
        return self

    def enabled_sources(self) -> list[SourceConfig]:
        return [source for source in self.sources if source.enabled]


def _ensure_unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{section}: the name {name!r} is used twice; names must be unique")
        seen.add(name)


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(str(part))
    return "".join(parts) or "(top level)"


SOURCE_TYPES: frozenset[str] = frozenset(
    get_args(member.model_fields["type"].annotation)[0]
    for member in get_args(get_args(SourceConfig)[0])
)


def _real_keys(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop what pydantic adds to a location that is not a key in the file: the tag of a
    discriminated union (``sources[0].feed.url`` is ``sources[0].url`` in the file)."""
    kept: list[int | str] = []
    for index, part in enumerate(loc):
        after_source_index = index == 2 and loc[0] == "sources" and isinstance(loc[1], int)
        if after_source_index and part in SOURCE_TYPES:
            continue
        kept.append(part)
    return tuple(kept)


def _describe(error: Any) -> str:
    loc = _real_keys(tuple(error["loc"]))
    where = _location(loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    found = error.get("input")
    if error["type"] in {"missing"}:
        return f"{where}: required key is missing"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key (check the spelling; see README 'The config file')"
    shown = repr(found)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{where}: {message} (found {shown})"


def parse_config(data: dict[str, Any], origin: str = "<config>") -> UproarConfig:
    """Validate already-parsed TOML data; raise ConfigError naming ``origin``."""
    try:
        config = UproarConfig.model_validate(data)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"{origin}: invalid configuration:\n  {problems}") from None
    override = os.environ.get(DATABASE_URL_ENV)
    if override:
        config.database.url = override
    return config


def resolve_config_path(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_PATH))


def load_config(path: str | Path | None = None) -> UproarConfig:
    """Read and validate uproar.toml (or ``$UPROAR_CONFIG``)."""
    resolved = resolve_config_path(path)
    try:
        raw = resolved.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{resolved}: no such file; create one (see README 'The config file') "
            f"or pass --config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{resolved}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: not valid TOML: {exc}") from None
    return parse_config(data, origin=str(resolved))
