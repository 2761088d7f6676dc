"""Settings for alerts: thresholds, deadlines, the response rota and Slack.

Every model forbids unknown keys, so a typo in ``uproar.toml`` is an error that names the key
instead of a setting that silently keeps its default. Durations are written the way people
say them ("15m", "1h", "72h", "7d", "1h30m"); times of day as "HH:MM".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

PRIORITIES = ("P1", "P2", "P3")
DEFAULT_CHANNEL = "#uproar-alerts"
DEFAULT_TOKEN_ENV = "SLACK_BOT_TOKEN"
DEFAULT_SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
DEFAULT_ACTIONS_PORT = 3000

_DURATION_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"^(?:\d+[wdhms])+$")
_DURATION_PART = re.compile(r"(\d+)([wdhms])")
_DURATION_HELP = 'a duration like "15m", "1h", "72h", "7d" or "1h30m" (units w, d, h, m, s)'

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_GROUPS = {
    "daily": WEEKDAYS,
    "weekdays": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
}
_CLOCK_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ConfigError(Exception):
    """A setting is missing or unusable at run time; the message names the setting."""


def parse_duration(value: Any) -> timedelta:
    """``"15m"`` -> 15 minutes. Also takes a timedelta or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if _DURATION_RE.match(text):
            seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
            if seconds > 0:
                return timedelta(seconds=seconds)
    raise ValueError(f"expected {_DURATION_HELP}, found {value!r}")


def format_duration(value: timedelta) -> str:
    """The shortest string :func:`parse_duration` reads back to ``value``."""
    seconds = int(value.total_seconds())
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _DURATION_UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def parse_clock(value: Any) -> time:
    """``"09:00"`` -> 09:00. Strictly 24-hour "HH:MM" so "9am" is an error, not a guess."""
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = _CLOCK_RE.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    raise ValueError(f'expected a 24-hour time "HH:MM" such as "09:00" or "23:30", found {value!r}')


def check_timezone(value: str) -> str:
    """An IANA zone name such as "Europe/London"; anything else is an error naming it."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f'unknown time zone {value!r}: use an IANA name such as "Europe/London" or "UTC"'
        ) from exc
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
Clock = Annotated[
    time,
    BeforeValidator(parse_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
TimeZoneName = Annotated[str, BeforeValidator(check_timezone)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ThresholdSettings(_Settings):
    """When a negative post becomes a complaint."""

    negativity: float = Field(default=0.6, ge=0.0, le=1.0)
    reach: int = Field(default=500, gt=0)


class PriorityWeights(_Settings):
    """How much each factor counts in the priority score; relative, so they need not add
    up to 1 (each is divided by their sum). 0 switches a factor off."""

    negativity: float = Field(default=0.30, ge=0.0)
    reach: float = Field(default=0.30, ge=0.0)
    growth: float = Field(default=0.15, ge=0.0)
    influence: float = Field(default=0.10, ge=0.0)
    category: float = Field(default=0.10, ge=0.0)
    repeat: float = Field(default=0.05, ge=0.0)

    @model_validator(mode="after")
    def _some_weight(self) -> PriorityWeights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one priority weight must be above 0")
        return self


DEFAULT_CATEGORY_WEIGHTS: dict[str, float] = {
    "privacy": 1.0,  # leaked personal data: the harm grows with every share
    "promises_not_kept": 0.6,
    "after_sales": 0.5,
    "pricing": 0.5,
    "service_attitude": 0.5,
    "logistics": 0.4,
    "product_quality": 0.4,
    "communication": 0.4,
    "other": 0.2,
}
Priority = Literal["P1", "P2", "P3"]
PRIVACY_AT_LEAST: dict[str, Priority] = {"privacy": "P2"}


class TriageSettings(_Settings):
    """How urgent a complaint is: a weighted score with two cut-offs, plus hard rules.

    Hard P1 rules beat the score; "at least" floors (2 x reach, repeat, category) only
    raise it. README "How priority is decided" gives the formula.
    """

    weights: PriorityWeights = Field(default_factory=PriorityWeights)
    p1_score: float = Field(default=0.65, gt=0.0, le=1.0)
    p2_score: float = Field(default=0.45, gt=0.0, le=1.0)
    # Hard P1 rules.
    p1_reach_factor: float = Field(default=10.0, gt=1.0)
    very_negative: float = Field(default=0.9, ge=0.0, le=1.0)
    very_negative_reach_factor: float = Field(default=5.0, ge=1.0)
    fast_growth_per_hour: float = Field(default=2000.0, gt=0.0)
    influencer_followers: int = Field(default=1_000_000, gt=0)
    # Floors.
    p2_reach_factor: float = Field(default=2.0, ge=1.0)
    repeat_at_least: Priority | None = "P2"
    category_at_least: dict[str, Priority] = Field(default_factory=lambda: dict(PRIVACY_AT_LEAST))
    category_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_CATEGORY_WEIGHTS)
    )
    unknown_category_weight: float = Field(default=0.3, ge=0.0, le=1.0)

    @field_validator("repeat_at_least", mode="before")
    @classmethod
    def _none_switches_off(cls, value: Any) -> Any:
        # TOML has no null: "none" (or "") is how a file says "no floor for repeats".
        if isinstance(value, str) and value.strip().lower() in ("", "none"):
            return None
        return value

    @field_validator("category_weights")
    @classmethod
    def _weights_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"category_weights.{name} must be between 0 and 1, found {weight}")
        return value

    @model_validator(mode="after")
    def _cut_offs_in_order(self) -> TriageSettings:
        if self.p2_score > self.p1_score:
            raise ValueError(
                f"p2_score ({self.p2_score}) must not be above p1_score ({self.p1_score})"
            )
        if self.p2_reach_factor > self.p1_reach_factor:
            raise ValueError(
                f"p2_reach_factor ({self.p2_reach_factor}) must not be above "
                f"p1_reach_factor ({self.p1_reach_factor})"
            )
        return self


class PriorityDeadlines(_Settings):
    """How long the rota has, from opening, to acknowledge, answer and resolve."""

    acknowledge: Duration
    response: Duration
    resolution: Duration

    @model_validator(mode="after")
    def _in_order(self) -> PriorityDeadlines:
        if not self.acknowledge <= self.response <= self.resolution:
            raise ValueError(
                "deadlines must satisfy acknowledge <= response <= resolution, found "
                f"{format_duration(self.acknowledge)} / {format_duration(self.response)} / "
                f"{format_duration(self.resolution)}"
            )
        return self


def _deadlines(ack: str, response: str, resolution: str) -> Any:
    values = {"acknowledge": ack, "response": response, "resolution": resolution}
    return lambda: PriorityDeadlines.model_validate(values)


class DeadlineOverride(_Settings):
    """Some of a tier's deadlines replaced for one category; the rest come from the tier."""

    acknowledge: Duration | None = None
    response: Duration | None = None
    resolution: Duration | None = None


class CategoryDeadlines(_Settings):
    """``[deadlines.categories.<category>.P1]`` and so on: a category's own deadlines."""

    P1: DeadlineOverride | None = None
    P2: DeadlineOverride | None = None
    P3: DeadlineOverride | None = None


class DeadlineSettings(_Settings):
    """Deadlines per priority, optionally per category (``categories.privacy.P1`` replaces
    some of P1's deadlines for privacy complaints). P1 is the urgent tier whose progress is
    watched in real time."""

    P1: PriorityDeadlines = Field(default_factory=_deadlines("15m", "1h", "24h"))
    P2: PriorityDeadlines = Field(default_factory=_deadlines("1h", "4h", "72h"))
    P3: PriorityDeadlines = Field(default_factory=_deadlines("8h", "24h", "7d"))
    categories: dict[str, CategoryDeadlines] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _overrides_in_order(self) -> DeadlineSettings:
        for category in self.categories:
            for priority in PRIORITIES:
                try:
                    self.for_priority(priority, category)
                except ValidationError as exc:
                    message = "; ".join(
                        str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()
                    )
                    raise ValueError(f"categories.{category}.{priority}: {message}") from None
        return self

    def for_priority(self, priority: str, category: str | None = None) -> PriorityDeadlines:
        """The deadlines of ``priority``, with ``category``'s overrides when it has any."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}: expected one of {PRIORITIES}")
        result: PriorityDeadlines = getattr(self, priority)
        overrides = self.categories.get(category) if category is not None else None
        override: DeadlineOverride | None = getattr(overrides, priority) if overrides else None
        if override is None:
            return result
        changed = override.model_dump(exclude_none=True)
        return PriorityDeadlines.model_validate({**result.model_dump(), **changed})


class Responder(_Settings):
    """A person on the response rota."""

    name: str = Field(min_length=1)
    slack_id: str | None = None
    timezone: TimeZoneName = "UTC"


class _Window(_Settings):
    """A daily window on some days of the week. ``end <= start`` means the window runs past
    midnight and ``end == start`` means a full 24 hours; ``days`` are the days it *starts* on."""

    days: list[str] = Field(default_factory=lambda: ["daily"])
    start: Clock
    end: Clock

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError('a shift needs at least one day, e.g. ["daily"] or ["mon", "tue"]')
        normalised = [day.strip().lower() for day in days]
        for day in normalised:
            if day not in WEEKDAYS and day not in DAY_GROUPS:
                raise ValueError(
                    f"unknown day {day!r}: expected mon, tue, wed, thu, fri, sat, sun, "
                    "daily, weekdays or weekends"
                )
        return normalised

    @property
    def weekdays(self) -> frozenset[int]:
        """The days the window starts on, as ``date.weekday()`` numbers (Monday = 0)."""
        names: set[str] = set()
        for day in self.days:
            names.update(DAY_GROUPS.get(day, (day,)))
        return frozenset(WEEKDAYS.index(name) for name in names)


class Shift(_Window):
    """A fixed recurring duty window of one responder (the rota's bottom layer)."""

    responder: str
    timezone: TimeZoneName | None = None


class Restriction(_Window):
    """When a layer is active, in the layer's time zone (e.g. 08:00-17:00 on weekdays)."""


ROTATION_NAMES = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def parse_rotation(value: Any) -> timedelta:
    """``"daily"``, ``"weekly"`` or a custom length such as ``"3d"`` or ``"12h"``."""
    if isinstance(value, str) and value.strip().lower() in ROTATION_NAMES:
        return ROTATION_NAMES[value.strip().lower()]
    try:
        length = parse_duration(value)
    except ValueError:
        raise ValueError(
            f'expected "daily", "weekly" or a handoff length like "3d" or "12h", found {value!r}'
        ) from None
    if length < timedelta(hours=1):
        raise ValueError(f"a rotation hands off at most hourly, found {format_duration(length)}")
    return length


Rotation = Annotated[
    timedelta,
    BeforeValidator(parse_rotation),
    PlainSerializer(format_duration, return_type=str),
]


class Layer(_Settings):
    """A rotation: ``responders`` take turns of ``rotation`` length, handing off at
    ``handoff_time`` local time in ``timezone``, the first turn beginning on ``start_date``.
    With ``restrictions`` the layer covers only those windows (follow-the-sun)."""

    name: str = Field(min_length=1)
    responders: list[str] = Field(min_length=1)
    rotation: Rotation = timedelta(days=7)
    handoff_time: Clock = time(9, 0)
    timezone: TimeZoneName = "UTC"
    start_date: date
    restrictions: list[Restriction] = Field(default_factory=list)

    @property
    def anchor(self) -> datetime:
        """The first handoff as a naive local date and time."""
        return datetime.combine(self.start_date, self.handoff_time)


class Override(_Settings):
    """``covering`` is on duty instead of ``responder`` from ``start`` to ``end``; without
    ``responder``, instead of whoever is on shift, and in any gap too."""

    covering: str
    responder: str | None = None
    start: AwareDatetime
    end: AwareDatetime
    change_id: int | None = None  # set for changes stored in the database

    @model_validator(mode="after")
    def _ends_after_start(self) -> Override:
        if self.end <= self.start:
            raise ValueError(
                f"an override must end after it starts, found {self.start} to {self.end}"
            )
        if self.covering == self.responder:
            raise ValueError(f"{self.covering!r} cannot cover their own shift")
        return self


class ShiftRef(_Settings):
    """One planned shift of one responder, by its interval."""

    responder: str
    start: AwareDatetime
    end: AwareDatetime


class Swap(_Settings):
    """Two responders exchange two planned shifts: ``second`` takes ``first``'s and
    ``first`` takes ``second``'s."""

    first: ShiftRef
    second: ShiftRef
    change_id: int | None = None

    @model_validator(mode="after")
    def _two_people_two_shifts(self) -> Swap:
        if self.first.responder == self.second.responder:
            raise ValueError(f"a swap needs two responders, found {self.first.responder!r} twice")
        for ref in (self.first, self.second):
            if ref.end <= ref.start:
                raise ValueError(
                    f"a shift must end after it starts, found {ref.start} to {ref.end}"
                )
        if self.first.start < self.second.end and self.second.start < self.first.end:
            raise ValueError("the two shifts of a swap must not overlap")
        return self


_CHANNEL_RE = re.compile(r"^(#[a-z0-9][a-z0-9._-]*|[CG][A-Z0-9]{6,})$")


class RotaSettings(_Settings):
    """Who is on duty when: overrides beat swapped shifts, which beat layers (the first
    listed layer wins where layers overlap), which beat ``shifts`` (the first listed
    shift wins); ``fallback`` is on duty whenever nothing covers the moment.
    ``secondary_layers`` give the secondary; without them, the next responder in the
    primary's rotation. ``lead`` (a responder or a Slack channel) is last in the chain."""

    responders: list[Responder] = Field(default_factory=list)
    shifts: list[Shift] = Field(default_factory=list)
    layers: list[Layer] = Field(default_factory=list)
    secondary_layers: list[Layer] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    swaps: list[Swap] = Field(default_factory=list)
    fallback: str | None = None
    lead: str | None = None

    @model_validator(mode="after")
    def _names_resolve(self) -> RotaSettings:
        names = [responder.name for responder in self.responders]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"responder names must be unique, found duplicates: {duplicates}")
        known = set(names)

        def check(where: str, name: str | None) -> None:
            if name is not None and name not in known:
                raise ValueError(
                    f"{where} names unknown responder {name!r}; "
                    f"known responders: {sorted(known) or 'none'}"
                )

        for index, shift in enumerate(self.shifts):
            check(f"shifts[{index}]", shift.responder)
        layer_names = [layer.name for layer in [*self.layers, *self.secondary_layers]]
        repeated = sorted({name for name in layer_names if layer_names.count(name) > 1})
        if repeated:
            raise ValueError(f"layer names must be unique, found duplicates: {repeated}")
        for key, layers in (("layers", self.layers), ("secondary_layers", self.secondary_layers)):
            for index, layer in enumerate(layers):
                for name in layer.responders:
                    check(f"{key}[{index}] ({layer.name})", name)
        for index, override in enumerate(self.overrides):
            check(f"overrides[{index}]", override.covering)
            check(f"overrides[{index}]", override.responder)
        for index, swap in enumerate(self.swaps):
            check(f"swaps[{index}]", swap.first.responder)
            check(f"swaps[{index}]", swap.second.responder)
        check("fallback", self.fallback)
        if self.lead is not None and self.lead not in known and not _CHANNEL_RE.match(self.lead):
            raise ValueError(
                f"lead {self.lead!r} is neither a responder nor a Slack channel; use a "
                f'responder name, a channel like "#pr-leads" or a channel id like "C0123ABCD"'
            )
        return self

    def responder(self, name: str) -> Responder:
        for responder in self.responders:
            if responder.name == name:
                return responder
        raise KeyError(f"no responder named {name!r} on the rota")

    def timezone_of(self, shift: Shift) -> ZoneInfo:
        """The zone a shift's times are read in: its own, else its responder's."""
        return ZoneInfo(shift.timezone or self.responder(shift.responder).timezone)


class SlackSettings(_Settings):
    """Where alerts go. The bot token is read only from the environment variable named by
    ``token_env`` so it never sits in a config file or the repository."""

    enabled: bool = False
    channel: str = Field(default=DEFAULT_CHANNEL, min_length=1)
    # Operations alerts (a source broken / recovered) go here; None: the alerts channel.
    ops_channel: str | None = Field(default=None, min_length=1)
    token_env: str = Field(default=DEFAULT_TOKEN_ENV, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    base_url: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    # The interactivity endpoint (buttons): its signing secret is read from this variable;
    # `uproar serve` listens on actions_host:actions_port (put TLS / a proxy in front).
    signing_secret_env: str = Field(
        default=DEFAULT_SIGNING_SECRET_ENV, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"
    )
    actions_host: str = "127.0.0.1"
    actions_port: int = Field(default=DEFAULT_ACTIONS_PORT, ge=0, le=65535)

    @field_validator("token_env", mode="before")
    @classmethod
    def _not_a_token(cls, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("xox"):
            raise ValueError(
                "token_env must name an environment variable (e.g. SLACK_BOT_TOKEN), "
                "not contain the token itself; remove the token from the config file"
            )
        return value

    def token(self, environ: Mapping[str, str]) -> str:
        """The bot token from ``environ``; a clear error when it is not set."""
        value = environ.get(self.token_env, "").strip()
        if not value:
            raise ConfigError(
                f"Slack is enabled but the environment variable {self.token_env} is not set; "
                f"export {self.token_env}=xoxb-... ([slack] token_env in uproar.toml names it)"
            )
        return value

    def signing_secret(self, environ: Mapping[str, str]) -> str:
        """The app's signing secret from ``environ``; a clear error when it is not set."""
        value = environ.get(self.signing_secret_env, "").strip()
        if not value:
            raise ConfigError(
                f"the Slack buttons need the app's signing secret but the environment variable "
                f"{self.signing_secret_env} is not set; export {self.signing_secret_env}=... "
                "(Slack app > Basic Information > Signing Secret; [slack] signing_secret_env "
                "in uproar.toml names the variable)"
            )
        return value


# ---------------------------------------------------------------- escalation

EscalationRole = Literal["primary", "secondary", "lead"]
DeadlineNotifyRole = Literal["owner", "primary", "secondary", "lead"]
_DEFAULT_DEADLINE_NOTIFY: tuple[DeadlineNotifyRole, ...] = ("owner", "secondary", "lead")
_DEFAULT_GROWTH_NOTIFY: tuple[DeadlineNotifyRole, ...] = ("owner",)
_POLICY_KEYS = (
    "steps",
    "repeat",
    "remind_before",
    "deadline_missed_notify",
    "reach_growth_factor",
    "reach_growth_notify",
)


class EscalationStep(_Settings):
    """One step of an escalation policy (GoAlert's step): whom to notify, then how long to
    wait for a claim before the next step."""

    notify: list[EscalationRole] = Field(min_length=1)
    wait: Duration


def _default_steps() -> list[EscalationStep]:
    return [
        EscalationStep(notify=["primary"], wait=timedelta(minutes=5)),
        EscalationStep(notify=["primary", "secondary"], wait=timedelta(minutes=5)),
        EscalationStep(notify=["lead"], wait=timedelta(minutes=20)),
    ]


class EscalationPolicy(_Settings):
    """What happens to a complaint over time, as data; ``alerts.escalation.due_actions``
    turns it into the actions due at a moment.

    ``steps`` run while nobody has claimed the complaint, ``repeat`` more times after the
    last; ``remind_before`` reminds the owner (the on-duty primary while unclaimed) that a
    response or resolution deadline is near; a missed deadline notifies
    ``deadline_missed_notify``; an owned complaint whose reach grows ``reach_growth_factor``
    times since it was last announced notifies ``reach_growth_notify`` (its owner) again.
    """

    steps: list[EscalationStep] = Field(default_factory=_default_steps, min_length=1)
    repeat: int = Field(default=2, ge=0, le=100)
    remind_before: list[Duration] = Field(default_factory=lambda: [timedelta(minutes=10)])
    deadline_missed_notify: list[DeadlineNotifyRole] = Field(
        default_factory=lambda: list(_DEFAULT_DEADLINE_NOTIFY)
    )
    reach_growth_factor: float = Field(default=2.0, gt=1.0)
    reach_growth_notify: list[DeadlineNotifyRole] = Field(
        default_factory=lambda: list(_DEFAULT_GROWTH_NOTIFY), min_length=1
    )


class EscalationSettings(EscalationPolicy):
    """``[escalation]``: the policy for every priority, and ``[escalation.P1]`` (P2, P3) to
    change some keys for one priority. Who the primary, secondary and PR lead are is the
    rota's business (``[rota] lead``, ``secondary_layers``)."""

    enabled: bool = True
    P1: EscalationPolicy | None = None
    P2: EscalationPolicy | None = None
    P3: EscalationPolicy | None = None

    @model_validator(mode="before")
    @classmethod
    def _priorities_inherit(cls, data: Any) -> Any:
        """``[escalation.P1] repeat = 5`` keeps every other key of ``[escalation]``."""
        if not isinstance(data, Mapping):
            return data
        merged = dict(data)
        shared = {key: data[key] for key in _POLICY_KEYS if key in data}
        for priority in PRIORITIES:
            override = data.get(priority)
            if isinstance(override, Mapping):
                merged[priority] = {**shared, **override}
        return merged

    def policy_for(self, priority: str) -> EscalationPolicy:
        """The policy of ``priority``: its own table, else the shared one."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}: expected one of {PRIORITIES}")
        own: EscalationPolicy | None = getattr(self, priority)
        if own is not None:
            return own
        return EscalationPolicy.model_validate({key: getattr(self, key) for key in _POLICY_KEYS})


class GroupingSettings(_Settings):
    """Which posts attach to an existing complaint instead of opening another
    (:mod:`alerts.grouping`).

    ``near_duplicate_threshold`` is the Jaccard similarity of two posts' shingle sets
    (:mod:`alerts.similarity`) at or above which they tell the same story; 0.5 keeps copies
    with a changed word or two, an added "RT @x:" or a link, and rejects two different
    complaints that share a few phrases. Texts with fewer than ``min_shingles`` shingles
    (about that many words, or CJK characters) only match when identical: two customers
    writing "order 123 not delivered" and "order 456 not delivered" are two complaints.
    Near-duplicates are looked for among the complaint posts of the same watch published
    within ``window`` of each other. ``rescan_window`` bounds how far back (by first
    fetch) posts without a complaint are reconsidered on each run.
    """

    window: Duration = Field(default=timedelta(hours=72))
    near_duplicate_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    min_shingles: int = Field(default=8, ge=1)
    rescan_window: Duration = Field(default=timedelta(hours=72))


class RepeatSettings(_Settings):
    """The same author (platform + author) complaining again within ``window`` opens a
    repeat complaint linked to the earlier one. With ``needs_reach = false`` a repeat opens
    even below ``thresholds.reach``: the first answer did not close the loop."""

    window: Duration = Field(default=timedelta(days=30))
    needs_reach: bool = False


class SpikeSettings(_Settings):
    """Spike detection (:mod:`alerts.spikes`): negative posts of a watch (and of each
    category) in one clock hour, tested against a Poisson baseline: the mean count in the
    same hour of the week over the previous ``baseline_days``, at least ``expected_floor``.
    A spike needs at least ``min_count`` posts and P(X >= count) <= ``p_value``; it is P1
    when count >= ``large_factor`` x expected and >= ``large_min_count``, else
    ``priority``. The current and the previous ``hours_checked - 1`` hours are tested."""

    enabled: bool = True
    baseline_days: int = Field(default=14, ge=7)
    min_count: int = Field(default=5, ge=1)
    p_value: float = Field(default=0.001, gt=0.0, lt=1.0)
    expected_floor: float = Field(default=0.5, gt=0.0)
    large_factor: float = Field(default=5.0, ge=1.0)
    large_min_count: int = Field(default=20, ge=1)
    priority: str = Field(default="P2", pattern=r"^P[123]$")
    hours_checked: int = Field(default=2, ge=1, le=48)


class ReachGrowthSettings(_Settings):
    """Reach re-estimated on each run for complaints still being handled. Growth per hour
    is smoothed exponentially with time constant ``smoothing``; a ``reach_grew`` event is
    sent when reach reaches ``factor`` x the reach last announced."""

    factor: float = Field(default=2.0, gt=1.0)
    smoothing: Duration = Field(default=timedelta(hours=1))
