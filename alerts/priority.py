"""How urgent a complaint is: P1, P2 or P3, from values only.

With ``t`` = ``thresholds.reach`` (500) and ``n`` = ``thresholds.negativity`` (0.6), each
factor becomes a number between 0 and 1 (clamped):

=========== ==================================================================
negativity  ``(negativity - n) / (1 - n)``: 0 at the complaint threshold, 1 at 1.0
reach       ``log(reach / t) / log(p1_reach_factor)``: 0 at t, 1 at 10 x t
growth      ``log(1 + growth) / log(1 + fast_growth_per_hour)`` (reach gained per hour)
influence   ``log(followers / t) / log(influencer_followers / t)``: 1 for an influencer
category    ``category_weights[category]`` (``unknown_category_weight`` when unknown)
repeat      1 when the author complained within 30 days before, else 0
=========== ==================================================================

``score = sum(weight x factor) / sum(weight)``; P1 when ``score >= p1_score`` (0.65),
P2 when ``score >= p2_score`` (0.45), else P3. Then the hard rules:

* **P1 whatever the score**: reach >= ``p1_reach_factor`` x t (10 x); negativity >=
  ``very_negative`` (0.9) and reach >= ``very_negative_reach_factor`` x t (5 x); reach
  growing by >= ``fast_growth_per_hour`` (2000) per hour; an author with >=
  ``influencer_followers`` (1 000 000) followers.
* **At least P2**: reach >= ``p2_reach_factor`` x t (2 x); a repeat complaint
  (``repeat_at_least``); a category in ``category_at_least`` (privacy).

Every factor, rule and floor only grows with its input, so more reach, more negativity,
faster growth, more followers or being a repeat never lowers the priority.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from alerts.config import Priority, ThresholdSettings, TriageSettings

RANK: dict[Priority, int] = {"P1": 1, "P2": 2, "P3": 3}
FACTORS = ("negativity", "reach", "growth", "influence", "category", "repeat")


@dataclass(frozen=True)
class PriorityAssessment:
    """The priority and why: the score, each factor (0-1) and the rules that fired."""

    priority: Priority
    score: float
    factors: dict[str, float]
    reasons: tuple[str, ...]


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _log_ratio(value: float, floor: float, full: float) -> float:
    """0 at ``floor``, 1 at ``full``, logarithmic between (reach and followers are
    heavy-tailed: 5 000 vs 500 matters as much as 50 000 vs 5 000)."""
    if value >= full:
        return 1.0
    if value <= floor or full <= floor:
        return 0.0
    return _clamp(math.log(value / floor) / math.log(full / floor))


def factors(
    *,
    negativity: float,
    reach: int,
    growth_per_hour: float,
    followers: int | None,
    category: str | None,
    repeat: bool,
    thresholds: ThresholdSettings,
    settings: TriageSettings,
) -> dict[str, float]:
    """Each factor of the score, between 0 and 1 (module docstring)."""
    floor = thresholds.negativity
    negative = (
        (1.0 if negativity >= 1.0 else 0.0)
        if floor >= 1.0
        else _clamp((negativity - floor) / (1.0 - floor))
    )
    growth = max(growth_per_hour, 0.0)
    unknown = settings.unknown_category_weight
    weight = settings.category_weights.get(category, unknown) if category is not None else unknown
    return {
        "negativity": negative,
        "reach": _log_ratio(reach, thresholds.reach, settings.p1_reach_factor * thresholds.reach),
        "growth": _clamp(math.log1p(growth) / math.log1p(settings.fast_growth_per_hour)),
        "influence": _log_ratio(followers or 0, thresholds.reach, settings.influencer_followers),
        "category": weight,
        "repeat": 1.0 if repeat else 0.0,
    }


def assess_priority(
    *,
    negativity: float,
    reach: int,
    growth_per_hour: float = 0.0,
    followers: int | None = None,
    category: str | None = None,
    repeat: bool = False,
    thresholds: ThresholdSettings,
    settings: TriageSettings,
) -> PriorityAssessment:
    """The priority of a complaint with these values, the score and the reasons."""
    parts = factors(
        negativity=negativity,
        reach=reach,
        growth_per_hour=growth_per_hour,
        followers=followers,
        category=category,
        repeat=repeat,
        thresholds=thresholds,
        settings=settings,
    )
    weights = settings.weights.model_dump()
    score = sum(weights[name] * parts[name] for name in FACTORS) / sum(weights.values())
    score = round(score, 6)  # the same inputs always land on the same side of a cut-off
    t = thresholds.reach
    reasons: list[str] = []
    result: Priority = "P3"
    if score >= settings.p1_score:
        result = "P1"
        reasons.append(f"score {score:.2f} >= {settings.p1_score}")
    elif score >= settings.p2_score:
        result = "P2"
        reasons.append(f"score {score:.2f} >= {settings.p2_score}")

    hard = [
        (reach >= settings.p1_reach_factor * t, f"reach >= {settings.p1_reach_factor:g} x {t}"),
        (
            negativity >= settings.very_negative
            and reach >= settings.very_negative_reach_factor * t,
            f"negativity >= {settings.very_negative} and reach >= "
            f"{settings.very_negative_reach_factor:g} x {t}",
        ),
        (
            growth_per_hour >= settings.fast_growth_per_hour,
            f"reach growing >= {settings.fast_growth_per_hour:g}/h",
        ),
        (
            (followers or 0) >= settings.influencer_followers,
            f"author has >= {settings.influencer_followers:,} followers",
        ),
    ]
    for fired, why in hard:
        if fired:
            result = "P1"
            reasons.append(why)

    floors: list[tuple[bool, Priority | None, str]] = [
        (
            reach >= settings.p2_reach_factor * t,
            "P2",
            f"reach >= {settings.p2_reach_factor:g} x {t}",
        ),
        (repeat, settings.repeat_at_least, "a repeat complaint"),
        (
            category is not None and category in settings.category_at_least,
            settings.category_at_least.get(category or ""),
            f"category {category}",
        ),
    ]
    for applies, at_least, why in floors:
        if applies and at_least is not None and RANK[at_least] < RANK[result]:
            result = at_least
            reasons.append(f"{why}: at least {at_least}")
    if not reasons:
        reasons.append(f"score {score:.2f} < {settings.p2_score}")
    return PriorityAssessment(priority=result, score=score, factors=parts, reasons=tuple(reasons))


def priority(
    *,
    negativity: float,
    reach: int,
    growth_per_hour: float = 0.0,
    followers: int | None = None,
    category: str | None = None,
    repeat: bool = False,
    thresholds: ThresholdSettings,
    settings: TriageSettings,
) -> Priority:
    """P1, P2 or P3 by the formula and rules in the module docstring."""
    return assess_priority(
        negativity=negativity,
        reach=reach,
        growth_per_hour=growth_per_hour,
        followers=followers,
        category=category,
        repeat=repeat,
        thresholds=thresholds,
        settings=settings,
    ).priority
