"""The escalation rules on a fake clock: table-driven over time, no database."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.config import EscalationPolicy, EscalationSettings, RotaSettings
from alerts.escalation import ComplaintView, current_step, due_actions, growth_step
from alerts.escalation_chain import Recipient, Recipients, lead_recipient, recipients
from alerts.rota import escalation_chain_at
from flows.config import ConfigError, parse_config

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ANA = Recipient(role="primary", name="ana", mention="U0ANA")
BEN = Recipient(role="secondary", name="ben", mention="U0BEN")
LEAD = Recipient(role="lead", name="#pr-leads", mention="#pr-leads")
CHAIN = Recipients(primary=ANA, secondary=BEN, lead=LEAD)
OWNER = Recipient(role="owner", name="cho", mention="U0CHO")
# N = 5 minutes, M = 10 minutes, then the lead for 15; k = 2 repeats: a 30-minute cycle.
POLICY = EscalationPolicy.model_validate(
    {
        "steps": [
            {"notify": ["primary"], "wait": "5m"},
            {"notify": ["primary", "secondary"], "wait": "10m"},
            {"notify": ["lead"], "wait": "15m"},
        ],
        "repeat": 2,
        "remind_before": ["10m"],
        "reach_growth_factor": 2.0,
    }
)
FAR = T0 + timedelta(days=30)


def minutes(value: float) -> datetime:
    return T0 + timedelta(minutes=value)


def view(**changes: object) -> ComplaintView:
    """An open P1 complaint opened at T0 whose deadlines are far away unless changed."""
    base = ComplaintView(
        id=7,
        status="open",
        priority="P1",
        opened_at=T0,
        ack_due_at=FAR,
        response_due_at=FAR,
        resolution_due_at=FAR,
        reach=1000,
        opened_reach=1000,
        notified_reach=1000,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def keys(complaint: ComplaintView, at: datetime, chain: Recipients = CHAIN) -> list[str]:
    return [action.key for action in due_actions(POLICY, complaint, chain, at)]


# ---------------------------------------------------------------- the steps over time

STEP_TABLE = [
    # minute, the step action due (None: nothing), event, who is notified, who is pinged
    (0, None, None, (), None),
    (4, None, None, (), None),  # N - 1
    (5, "complaint:7:escalation:2:1", "escalated", ("ana", "ben"), "U0BEN"),  # N
    (14, "complaint:7:escalation:2:1", "escalated", ("ana", "ben"), "U0BEN"),  # N + M - 1
    (15, "complaint:7:escalation:3:1", "escalated", ("#pr-leads",), "#pr-leads"),  # N + M
    (29, "complaint:7:escalation:3:1", "escalated", ("#pr-leads",), "#pr-leads"),
    (30, "complaint:7:escalation:1:2", "reminder", ("ana",), "U0ANA"),  # repeat 1
    (35, "complaint:7:escalation:2:2", "escalated", ("ana", "ben"), "U0BEN"),
    (45, "complaint:7:escalation:3:2", "escalated", ("#pr-leads",), "#pr-leads"),
    (60, "complaint:7:escalation:1:3", "reminder", ("ana",), "U0ANA"),  # repeat 2 (= k)
    (65, "complaint:7:escalation:2:3", "escalated", ("ana", "ben"), "U0BEN"),
    (75, "complaint:7:escalation:3:3", "escalated", ("#pr-leads",), "#pr-leads"),
    (90, "complaint:7:escalation:3:3", "escalated", ("#pr-leads",), "#pr-leads"),  # no round 4
    (600, "complaint:7:escalation:3:3", "escalated", ("#pr-leads",), "#pr-leads"),
]


@pytest.mark.parametrize(("minute", "key", "event", "names", "mention"), STEP_TABLE)
def test_steps_of_an_unclaimed_complaint(
    minute: int, key: str | None, event: str | None, names: tuple[str, ...], mention: str | None
) -> None:
    actions = due_actions(POLICY, view(), CHAIN, minutes(minute))
    if key is None:
        assert actions == []
        return
    assert len(actions) == 1
    action = actions[0]
    assert (action.key, action.event, action.mention) == (key, event, mention)
    assert tuple(recipient.name for recipient in action.recipients) == names
    assert action.complaint_id == 7
    assert "#7" in action.text


def test_a_minute_by_minute_run_sends_each_step_of_each_round_once() -> None:
    sent: list[str] = []
    for minute in range(0, 6 * 60):
        for key in keys(view(), minutes(minute)):
            if key not in sent:
                sent.append(key)
    assert sent == [
        "complaint:7:escalation:2:1",
        "complaint:7:escalation:3:1",
        "complaint:7:escalation:1:2",
        "complaint:7:escalation:2:2",
        "complaint:7:escalation:3:2",
        "complaint:7:escalation:1:3",
        "complaint:7:escalation:2:3",
        "complaint:7:escalation:3:3",
    ]


@pytest.mark.parametrize("status", ["claimed", "responded", "waiting"])
@pytest.mark.parametrize("minute", [0, 5, 15, 30, 75, 600])
def test_a_claim_stops_the_steps(status: str, minute: int) -> None:
    claimed = view(status=status, owner=OWNER)
    assert not [key for key in keys(claimed, minutes(minute)) if ":escalation:" in key]


@pytest.mark.parametrize("status", ["resolved", "dismissed"])
def test_closed_complaints_get_nothing_even_with_every_deadline_missed(status: str) -> None:
    closed = view(
        status=status, ack_due_at=T0, response_due_at=T0, resolution_due_at=T0, reach=10**6
    )
    assert due_actions(POLICY, closed, CHAIN, minutes(10_000)) == []


def test_current_step_positions() -> None:
    assert current_step(POLICY, T0, minutes(-1)) is None
    first = current_step(POLICY, T0, T0)
    assert first is not None and (first.step, first.round, first.offset) == (1, 1, timedelta())
    late = current_step(POLICY, T0, minutes(47))
    assert late is not None and (late.step, late.round) == (3, 2)
    assert late.offset == timedelta(minutes=45)
    assert current_step(POLICY, T0, minutes(10**5)) == current_step(POLICY, T0, minutes(75))


def test_no_repeat_stays_on_the_last_step() -> None:
    once = POLICY.model_copy(update={"repeat": 0})
    sent = {a.key for m in range(0, 300) for a in due_actions(once, view(), CHAIN, minutes(m))}
    assert sent == {"complaint:7:escalation:2:1", "complaint:7:escalation:3:1"}


def test_step_text_names_who_is_reminded_and_who_is_escalated_to() -> None:
    (action,) = due_actions(POLICY, view(), CHAIN, minutes(5))
    assert action.text == ("#7 P1 unclaimed for 5m: reminding ana; escalating to ben (secondary)")
    assert action.detail["step"] == 2 and action.detail["round"] == 1
    assert action.detail["reason"] == "unclaimed"


# ---------------------------------------------------------------- empty roles fall through


def test_no_secondary_falls_through_to_the_lead() -> None:
    chain = Recipients(primary=ANA, secondary=None, lead=LEAD)
    (action,) = due_actions(POLICY, view(), chain, minutes(5))
    assert [r.name for r in action.recipients] == ["ana", "#pr-leads"]
    assert action.mention == "#pr-leads"


def test_nobody_on_duty_the_first_step_goes_to_the_secondary_at_once() -> None:
    chain = Recipients(primary=None, secondary=BEN, lead=LEAD)
    (action,) = due_actions(POLICY, view(), chain, T0)
    assert action.key == "complaint:7:escalation:1:1"
    assert [r.name for r in action.recipients] == ["ben"]


def test_an_empty_chain_still_says_so_in_the_thread() -> None:
    (action,) = due_actions(POLICY, view(), Recipients(), minutes(5))
    assert action.mention is None and action.recipients == ()
    assert "nobody to escalate to" in action.text


def test_a_recipient_without_slack_id_is_named_but_the_ping_goes_to_someone_who_has_one() -> None:
    chain = Recipients(primary=ANA, secondary=Recipient("secondary", "ben", None), lead=None)
    (action,) = due_actions(POLICY, view(), chain, minutes(5))
    assert action.mention == "U0ANA"
    assert "ben (secondary)" in action.text


# ---------------------------------------------------------------- deadlines


def deadlines_view(**changes: object) -> ComplaintView:
    """A P1 complaint with the default P1 deadlines: 15 min / 1 h / 24 h."""
    values: dict[str, object] = {
        "ack_due_at": minutes(15),
        "response_due_at": minutes(60),
        "resolution_due_at": minutes(24 * 60),
    }
    values.update(changes)
    return view(**values)


DEADLINE_TABLE = [
    # status, owner, minute, deadline keys due after complaint:7: (steps left out)
    ("open", None, 14, []),
    ("open", None, 15, ["deadline_missed:acknowledge"]),
    ("open", None, 50, ["deadline_missed:acknowledge", "reminder:response:10m"]),
    ("claimed", OWNER, 14, []),
    ("claimed", OWNER, 49, []),
    ("claimed", OWNER, 50, ["reminder:response:10m"]),  # 10 min before
    ("claimed", OWNER, 59, ["reminder:response:10m"]),
    ("claimed", OWNER, 60, ["deadline_missed:response"]),  # claim, then a miss
    ("claimed", OWNER, 24 * 60 - 10, ["deadline_missed:response", "reminder:resolution:10m"]),
    ("claimed", OWNER, 24 * 60, ["deadline_missed:response", "deadline_missed:resolution"]),
    ("responded", OWNER, 60, []),
    ("responded", OWNER, 24 * 60 - 5, ["reminder:resolution:10m"]),
    ("responded", OWNER, 24 * 60 + 1, ["deadline_missed:resolution"]),
]  # fmt: skip


@pytest.mark.parametrize(("status", "owner", "minute", "expected"), DEADLINE_TABLE)
def test_deadline_reminders_and_misses(
    status: str, owner: Recipient | None, minute: int, expected: list[str]
) -> None:
    complaint = deadlines_view(
        status=status, owner=owner, responded_at=minutes(30) if status == "responded" else None
    )
    found = [k for k in keys(complaint, minutes(minute)) if ":escalation:" not in k]
    assert found == [f"complaint:7:{key}" for key in expected]


def test_a_missed_deadline_escalates_to_owner_secondary_and_lead_and_pings_the_lead() -> None:
    complaint = deadlines_view(status="claimed", owner=OWNER)
    (missed,) = due_actions(POLICY, complaint, CHAIN, minutes(61))
    assert missed.event == "deadline_missed" and missed.deadline == "response"
    assert [r.name for r in missed.recipients] == ["cho", "ben", "#pr-leads"]
    assert missed.mention == "#pr-leads"
    assert missed.detail["owner"] == "cho"
    assert missed.text == (
        "#7 P1 missed its response deadline (2026-03-02 13:00 UTC; owner cho): "
        "escalated to cho, ben (secondary), #pr-leads (lead)"
    )


def test_reminders_go_to_the_owner_and_while_unclaimed_to_the_primary() -> None:
    claimed = deadlines_view(status="claimed", owner=OWNER)
    (reminder,) = due_actions(POLICY, claimed, CHAIN, minutes(52))
    assert reminder.event == "reminder" and reminder.mention == "U0CHO"
    assert reminder.text == ("#7 P1 response due in 10m (2026-03-02 13:00 UTC): reminder for cho")
    unclaimed = deadlines_view(ack_due_at=FAR)
    reminders = [
        a for a in due_actions(POLICY, unclaimed, CHAIN, minutes(52)) if a.event == "reminder"
    ]
    assert [r.name for r in reminders[-1].recipients] == ["ana"]


def test_of_several_reminder_windows_only_the_nearest_the_deadline_is_due() -> None:
    policy = POLICY.model_copy(
        update={"remind_before": [timedelta(hours=1), timedelta(minutes=10)]}
    )
    complaint = deadlines_view(status="responded", owner=OWNER, responded_at=minutes(30))
    due = minutes(24 * 60)
    assert [a.key for a in due_actions(policy, complaint, CHAIN, due - timedelta(minutes=30))] == [
        "complaint:7:reminder:resolution:1h"
    ]
    assert [a.key for a in due_actions(policy, complaint, CHAIN, due - timedelta(minutes=5))] == [
        "complaint:7:reminder:resolution:10m"
    ]


def test_waiting_on_the_customer_stops_the_resolution_clock() -> None:
    waiting = deadlines_view(
        status="waiting", owner=OWNER, responded_at=minutes(30), paused_at=minutes(100)
    )
    assert keys(waiting, minutes(48 * 60)) == []
    # resuming after an hour moves resolution_due_at by the hour (alerts.lifecycle.resume)
    resumed = dataclasses.replace(
        waiting, status="responded", paused_at=None, resolution_due_at=minutes(25 * 60)
    )
    assert keys(resumed, minutes(24 * 60 + 30)) == []
    assert keys(resumed, minutes(24 * 60 + 55)) == ["complaint:7:reminder:resolution:10m"]
    assert keys(resumed, minutes(25 * 60)) == ["complaint:7:deadline_missed:resolution"]


# ---------------------------------------------------------------- reach growth


def test_reach_growth_renotifies_the_owner_once_per_growth_step() -> None:
    complaint = view(status="claimed", owner=OWNER, reach=1000)
    sent: list[str] = []
    for reach in [1000, 1500, 1999, 2000, 2500, 3000, 3999, 4000, 4100, 7999, 8000, 8000, 30000]:
        complaint = dataclasses.replace(complaint, reach=reach)
        for action in due_actions(POLICY, complaint, CHAIN, minutes(20)):
            if action.key in sent:
                continue
            sent.append(action.key)
            assert action.mention == "U0CHO" and action.detail["reason"] == "reach_grew"
            # the pass records the reach in the event: it is now the last announced one
            complaint = dataclasses.replace(complaint, notified_reach=int(action.detail["reach"]))
    assert sent == [
        "complaint:7:escalation:reach:1",
        "complaint:7:escalation:reach:2",
        "complaint:7:escalation:reach:3",
        "complaint:7:escalation:reach:4",  # 8000 -> 30000 jumps two steps: one notice
    ]


def test_reach_growth_is_measured_against_the_reach_last_announced() -> None:
    # grouping announced 3000 already: 4000 is not yet twice that
    complaint = view(status="claimed", owner=OWNER, reach=4000, notified_reach=3000)
    assert keys(complaint, minutes(20)) == []
    grown = dataclasses.replace(complaint, reach=6000, reach_growth_per_hour=1200.0)
    (action,) = due_actions(POLICY, grown, CHAIN, minutes(20))
    assert action.key == "complaint:7:escalation:reach:2"
    assert "~6,000 people, 2.0x the ~3,000 last announced, +1,200/h: cho" in action.text


def test_reach_growth_can_also_notify_the_lead() -> None:
    policy = POLICY.model_copy(update={"reach_growth_notify": ["owner", "lead"]})
    grown = view(status="claimed", owner=OWNER, reach=2000)
    (action,) = due_actions(policy, grown, CHAIN, minutes(20))
    assert [r.name for r in action.recipients] == ["cho", "#pr-leads"]
    assert action.mention == "#pr-leads"


def test_reach_growth_of_an_unclaimed_complaint_is_left_to_the_steps() -> None:
    assert keys(view(reach=50_000), minutes(1)) == []


@pytest.mark.parametrize(
    ("reach", "base", "factor", "step"),
    [(999, 1000, 2, 0), (2000, 1000, 2, 1), (3999, 1000, 2, 1), (4000, 1000, 2, 2), (10, 0, 2, 0)],
)
def test_growth_step(reach: int, base: int, factor: float, step: int) -> None:
    assert growth_step(reach, base, factor) == step


# ---------------------------------------------------------------- reopening, clocks


def test_a_reopened_complaint_escalates_afresh_under_new_keys() -> None:
    reopened = view(since=minutes(600), episode=1)
    assert keys(reopened, minutes(604)) == []
    assert keys(reopened, minutes(605)) == ["complaint:7:escalation:2:1:reopen1"]


def test_deadlines_from_before_a_reopening_are_not_reported_again() -> None:
    reopened = deadlines_view(since=minutes(600), episode=1)
    assert keys(reopened, minutes(601)) == []
    renewed = dataclasses.replace(reopened, ack_due_at=minutes(615))
    assert keys(renewed, minutes(615)) == [
        "complaint:7:escalation:3:1:reopen1",
        "complaint:7:deadline_missed:acknowledge:reopen1",
    ]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        due_actions(POLICY, view(), CHAIN, datetime(2026, 3, 2, 12, 5))


# ---------------------------------------------------------------- the chain adapter

ROTA = RotaSettings.model_validate(
    {
        "responders": [
            {"name": "ana", "slack_id": "U0ANA"},
            {"name": "ben", "slack_id": "U0BEN"},
            {"name": "lee"},
        ],
        "shifts": [{"responder": "ana", "start": "08:00", "end": "20:00"}],
        "fallback": "lee",
        "lead": "#pr-leads",
    }
)


def test_the_rota_chain_becomes_recipients_with_slack_mentions() -> None:
    day = recipients(escalation_chain_at(ROTA, T0), ROTA)
    assert day == Recipients(primary=ANA, secondary=Recipient("secondary", "lee", None), lead=LEAD)
    night = recipients(escalation_chain_at(ROTA, T0 + timedelta(hours=10)), ROTA)
    assert night.primary == Recipient("primary", "lee", None)
    assert lead_recipient("ben", ROTA) == Recipient("lead", "ben", "U0BEN")


# ---------------------------------------------------------------- settings


def test_a_priority_table_changes_only_the_keys_it_names() -> None:
    settings = EscalationSettings.model_validate(
        {
            "repeat": 1,
            "remind_before": ["30m"],
            "P3": {"steps": [{"notify": ["lead"], "wait": "4h"}]},
        }
    )
    p3 = settings.policy_for("P3")
    assert p3.repeat == 1 and p3.remind_before == [timedelta(minutes=30)]
    assert [step.notify for step in p3.steps] == [["lead"]]
    p1 = settings.policy_for("P1")
    assert p1.repeat == 1 and len(p1.steps) == 3
    with pytest.raises(ValueError, match="unknown priority"):
        settings.policy_for("P9")


def test_default_policy_matches_the_readme() -> None:
    policy = EscalationSettings().policy_for("P1")
    assert [(s.notify, s.wait) for s in policy.steps] == [
        (["primary"], timedelta(minutes=5)),
        (["primary", "secondary"], timedelta(minutes=5)),
        (["lead"], timedelta(minutes=20)),
    ]
    assert policy.repeat == 2 and policy.remind_before == [timedelta(minutes=10)]
    assert policy.deadline_missed_notify == ["owner", "secondary", "lead"]


@pytest.mark.parametrize(
    ("escalation", "message"),
    [
        ({"steps": [{"notify": ["boss"], "wait": "5m"}]}, "escalation.steps[0].notify[0]"),
        ({"steps": [{"notify": ["lead"], "wait": "soon"}]}, "escalation.steps[0].wait"),
        ({"steps": []}, "escalation.steps"),
        ({"reach_growth_factor": 1.0}, "escalation.reach_growth_factor"),
        ({"P2": {"repeat": -1}}, "escalation.P2.repeat"),
        ({"lead": "#pr-leads"}, "escalation.lead: unknown key"),  # the rota's, not ours
        ({"paging": True}, "escalation.paging: unknown key"),
    ],
)
def test_config_mistakes_name_the_key(escalation: dict[str, object], message: str) -> None:
    data = {"rota": ROTA.model_dump(mode="json"), "escalation": escalation}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, origin="uproar.toml")
    assert "uproar.toml" in str(caught.value)
    assert message in str(caught.value)


def test_a_good_escalation_config_loads() -> None:
    data = {
        "rota": ROTA.model_dump(mode="json"),
        "escalation": {"P1": {"repeat": 5}},
    }
    config = parse_config(data)
    assert config.escalation.policy_for("P1").repeat == 5
    assert config.escalation.policy_for("P2").repeat == 2


def test_the_readme_example_is_a_valid_config() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Escalation\n", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None
    data = tomllib.loads(block.group(1))
    config = parse_config({"rota": ROTA.model_dump(mode="json"), **data}, origin="README.md")
    assert config.escalation.policy_for("P1") == EscalationSettings().policy_for("P1")
    p3 = config.escalation.policy_for("P3")
    assert [step.wait for step in p3.steps] == [timedelta(hours=2), timedelta(hours=4)]
