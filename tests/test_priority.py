"""The priority formula: a table of cases with the reason each lands where it does, then
properties (monotonic in every factor) and the settings that drive it."""

from __future__ import annotations

import math
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from pydantic import ValidationError

from alerts.config import ThresholdSettings, TriageSettings
from alerts.priority import RANK, assess_priority, factors, priority
from flows.config import ConfigError, parse_config

T = ThresholdSettings()  # negativity 0.6, reach 500
S = TriageSettings()


def p(**values) -> str:
    return priority(thresholds=T, settings=S, **values)


# (negativity, reach, growth per hour, followers, category, repeat) -> priority
CASES = [
    # At the complaint thresholds, nothing else: the lowest score there is.
    ((0.6, 500, 0, None, None, False), "P3"),
    ((0.99, 999, 0, 100, None, False), "P3"),  # very negative, but few saw it
    # Hard P1 rules.
    ((0.61, 5000, 0, 100, None, False), "P1"),  # reach >= 10 x threshold
    ((0.61, 4999, 0, 100, None, False), "P2"),  # ...just under: the 2 x floor
    ((0.95, 2500, 0, 100, None, False), "P1"),  # very negative and 5 x
    ((0.89, 2500, 0, 100, None, False), "P2"),  # 5 x but not very negative
    ((0.61, 600, 2000, 100, None, False), "P1"),  # reach growing fast
    ((0.61, 600, 1999, 100, None, False), "P3"),  # ...not quite fast enough
    ((0.61, 600, 0, 1_000_000, None, False), "P1"),  # influencer author
    ((0.61, 600, 0, 999_999, None, False), "P3"),  # big, but not an influencer: score only
    # Floors.
    ((0.6, 1000, 0, None, None, False), "P2"),  # reach >= 2 x threshold
    ((0.6, 500, 0, None, None, True), "P2"),  # a repeat complaint
    ((0.6, 500, 0, None, "privacy", False), "P2"),  # leaked personal data
    ((0.6, 500, 0, None, "logistics", False), "P3"),
    # The score alone.
    ((0.95, 4000, 300, 20_000, "after_sales", False), "P1"),
    ((0.8, 900, 100, 5_000, "logistics", False), "P3"),
    ((0.9, 950, 500, 50_000, "promises_not_kept", False), "P2"),
    ((0.99, 999, 1000, 200_000, "privacy", True), "P1"),
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_priority_table(values: tuple, expected: str) -> None:
    negativity, reach, growth, followers, category, repeat = values
    assessed = assess_priority(
        negativity=negativity,
        reach=reach,
        growth_per_hour=growth,
        followers=followers,
        category=category,
        repeat=repeat,
        thresholds=T,
        settings=S,
    )
    assert assessed.priority == expected, assessed
    assert 0.0 <= assessed.score <= 1.0
    assert assessed.reasons


def test_reasons_name_the_rule_that_fired() -> None:
    influencer = assess_priority(
        negativity=0.7, reach=600, followers=2_000_000, thresholds=T, settings=S
    )
    assert influencer.priority == "P1"
    assert "author has >= 1,000,000 followers" in influencer.reasons
    repeat = assess_priority(negativity=0.6, reach=500, repeat=True, thresholds=T, settings=S)
    assert repeat.reasons[-1] == "a repeat complaint: at least P2"
    calm = assess_priority(negativity=0.6, reach=500, thresholds=T, settings=S)
    assert calm.reasons == ("score 0.03 < 0.45",)


def test_factors_at_their_anchors() -> None:
    def f(**kw) -> dict[str, float]:
        values = {
            "negativity": 0.6,
            "reach": 500,
            "growth_per_hour": 0.0,
            "followers": None,
            "category": None,
            "repeat": False,
        }
        return factors(thresholds=T, settings=S, **{**values, **kw})

    assert f()["negativity"] == 0.0 and f(negativity=1.0)["negativity"] == 1.0
    assert f(negativity=0.8)["negativity"] == pytest.approx(0.5)
    assert f()["reach"] == 0.0 and f(reach=5000)["reach"] == 1.0
    assert f(reach=int(500 * math.sqrt(10)))["reach"] == pytest.approx(0.5, abs=1e-3)
    assert f()["growth"] == 0.0 and f(growth_per_hour=2000)["growth"] == 1.0
    assert f(followers=500)["influence"] == 0.0 and f(followers=10**7)["influence"] == 1.0
    assert f(category="privacy")["category"] == 1.0
    assert f(category="new-thing")["category"] == S.unknown_category_weight
    assert f(repeat=True)["repeat"] == 1.0
    assert f(growth_per_hour=-50)["growth"] == 0.0  # shrinking reach is not urgency


def test_weights_and_cut_offs_come_from_settings() -> None:
    only_negativity = TriageSettings.model_validate(
        {
            "weights": {
                "negativity": 1,
                "reach": 0,
                "growth": 0,
                "influence": 0,
                "category": 0,
                "repeat": 0,
            },
            "p1_score": 0.9,
            "p2_score": 0.5,
            "repeat_at_least": None,
            "category_at_least": {},
        }
    )

    def q(neg: float, **kw) -> str:
        return priority(negativity=neg, reach=500, thresholds=T, settings=only_negativity, **kw)

    assert [q(0.6), q(0.8), q(0.96)] == ["P3", "P2", "P1"]
    assert q(0.6, repeat=True) == "P3"  # the floor is switched off
    strict = ThresholdSettings(negativity=0.6, reach=2000)
    assert priority(negativity=0.7, reach=5000, thresholds=strict, settings=S) == "P2"
    assert priority(negativity=0.7, reach=20_000, thresholds=strict, settings=S) == "P1"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"p1_score": 0.3, "p2_score": 0.5}, "p2_score (0.5) must not be above p1_score"),
        ({"weights": {"negativity": -1}}, "greater than or equal to 0"),
        (
            {
                "weights": {
                    "negativity": 0,
                    "reach": 0,
                    "growth": 0,
                    "influence": 0,
                    "category": 0,
                    "repeat": 0,
                }
            },
            "at least one priority weight",
        ),
        ({"category_weights": {"privacy": 2}}, "between 0 and 1"),
        ({"repeat_at_least": "P4"}, "P1"),
        ({"p1_reach_factor": 1}, "greater than 1"),
        ({"p2_reach_factor": 20}, "p2_reach_factor (20.0) must not be above"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_bad_triage_settings_say_what_is_wrong(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        TriageSettings.model_validate(settings)


def test_triage_is_a_section_of_uproar_toml() -> None:
    config = parse_config(
        {"triage": {"p1_score": 0.8, "category_weights": {"pricing": 0.9}}}, "uproar.toml"
    )
    assert config.triage.p1_score == 0.8
    assert config.triage.category_weights == {"pricing": 0.9}
    assert parse_config({"triage": {"repeat_at_least": "none"}}).triage.repeat_at_least is None
    expected = r"(?s)uproar.toml: .*triage.p2_score: Input should be a valid number"
    with pytest.raises(ConfigError, match=expected):
        parse_config({"triage": {"p2_score": "high"}}, "uproar.toml")
    with pytest.raises(ConfigError, match=r"triage.category_weights: unknown complaint category"):
        parse_config({"triage": {"category_weights": {"logistic": 0.5}}}, "uproar.toml")
    with pytest.raises(ConfigError, match=r"deadlines.categories: unknown complaint category"):
        parse_config(
            {"deadlines": {"categories": {"privcy": {"P1": {"acknowledge": "5m"}}}}},
            "uproar.toml",
        )


# ---------------------------------------------------------------- properties

negativities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
reaches = st.integers(min_value=0, max_value=10**9)
growths = st.floats(min_value=-1e6, max_value=1e7, allow_nan=False)
followers = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
categories = st.one_of(st.none(), st.sampled_from([*S.category_weights, "unheard-of"]))
inputs = st.fixed_dictionaries(
    {
        "negativity": negativities,
        "reach": reaches,
        "growth_per_hour": growths,
        "followers": followers,
        "category": categories,
        "repeat": st.booleans(),
    }
)


@given(inputs, st.sampled_from(["negativity", "reach", "growth_per_hour", "followers"]), st.data())
def test_more_of_any_factor_never_lowers_priority(values, name, data) -> None:
    current = values[name] or 0
    if name == "negativity":
        more = data.draw(st.floats(min_value=current, max_value=1.0, allow_nan=False))
    elif name == "growth_per_hour":
        more = data.draw(st.floats(min_value=current, max_value=1e8, allow_nan=False))
    else:
        more = data.draw(st.integers(min_value=current, max_value=10**10))
    before = p(**values)
    after = p(**{**values, name: more})
    assert RANK[after] <= RANK[before], (before, after)


@given(inputs)
def test_a_repeat_never_lowers_priority(values) -> None:
    assert RANK[p(**{**values, "repeat": True})] <= RANK[p(**{**values, "repeat": False})]


@given(
    inputs, st.sampled_from(sorted(S.category_weights)), st.sampled_from(sorted(S.category_weights))
)
def test_a_weightier_category_never_lowers_priority(values, a, b) -> None:
    """Categories have no order of their own: the weight (and floor) is the order."""
    light, heavy = sorted((a, b), key=lambda c: (S.category_weights[c], c in S.category_at_least))
    if c_floor(light) and not c_floor(heavy):
        return  # a floor on the lighter one is a separate, explicit rule
    assert RANK[p(**{**values, "category": heavy})] <= RANK[p(**{**values, "category": light})]


def c_floor(category: str) -> bool:
    return category in S.category_at_least


@given(inputs)
def test_hard_rules_always_give_p1(values) -> None:
    assert p(**{**values, "reach": max(values["reach"], 5000)}) == "P1"
    assert p(**{**values, "followers": max(values["followers"] or 0, 1_000_000)}) == "P1"
    assert p(**{**values, "growth_per_hour": max(values["growth_per_hour"], 2000.0)}) == "P1"


@given(inputs)
def test_score_and_factors_stay_between_0_and_1(values) -> None:
    assessed = assess_priority(thresholds=T, settings=S, **values)
    assert 0.0 <= assessed.score <= 1.0
    assert all(0.0 <= value <= 1.0 for value in assessed.factors.values())
    assert assessed.priority in RANK


def test_the_readme_examples_parse_and_show_the_defaults() -> None:
    """The [triage] block in README is the defaults, and the deadlines example is valid."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    triage = next(block for block in blocks if block.startswith("[triage]"))
    assert parse_config(tomllib.loads(triage)).triage == TriageSettings()
    deadlines = next(block for block in blocks if "[deadlines.categories." in block)
    config = parse_config(tomllib.loads(deadlines))
    privacy = config.deadlines.for_priority("P1", "privacy")
    assert (privacy.acknowledge, privacy.resolution) == (timedelta(minutes=5), timedelta(hours=24))
