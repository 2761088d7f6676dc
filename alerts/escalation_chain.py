"""Who the escalation notifies: the chain (primary, secondary, PR lead) and how each is
mentioned in Slack.

ADAPTER, to be swapped at merge: the rota branch (issue5-rota) provides
``alerts.rota.EscalationChain`` and ``alerts.rota.escalation_chain_at(rota, when)``. Until it
lands, :func:`escalation_chain_at` here builds the same chain from the existing
``on_duty_at`` plus ``[escalation] secondary`` and ``lead``. Swapping means: import those two
names from ``alerts.rota`` instead of defining them here, and drop the ``settings`` argument
at the one call site (``alerts.escalation_pass``). Nothing else depends on how the chain is
found. Pure functions: the caller passes the instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.config import EscalationSettings, Responder, RotaSettings
from alerts.rota import on_duty_at


@dataclass(frozen=True)
class EscalationChain:
    """The same shape as the rota branch's: ``lead`` is a responder name or a channel."""

    primary: Responder | None
    secondary: Responder | None
    lead: str | None


def escalation_chain_at(
    rota: RotaSettings, when: datetime, settings: EscalationSettings
) -> EscalationChain:
    """The on-duty responder at ``when``, then the configured secondary and lead."""
    secondary = None
    if settings.secondary is not None:
        secondary = rota.responder(settings.secondary)
    return EscalationChain(primary=on_duty_at(rota, when), secondary=secondary, lead=settings.lead)


@dataclass(frozen=True)
class Recipient:
    """Someone (or a channel) to notify: ``name`` for people to read, ``mention`` (a Slack
    user id or channel) for Slack to ping; None when the rota has no Slack id for them."""

    role: str
    name: str
    mention: str | None


@dataclass(frozen=True)
class Recipients:
    """The chain resolved to recipients; a role nobody fills is None."""

    primary: Recipient | None = None
    secondary: Recipient | None = None
    lead: Recipient | None = None


def recipient_for(role: str, responder: Responder | None) -> Recipient | None:
    if responder is None:
        return None
    return Recipient(role=role, name=responder.name, mention=responder.slack_id)


def lead_recipient(lead: str | None, rota: RotaSettings) -> Recipient | None:
    """The lead is a responder on the rota (mentioned by Slack id) or a channel / Slack id
    (mentioned as written)."""
    if lead is None:
        return None
    for responder in rota.responders:
        if responder.name == lead:
            return recipient_for("lead", responder)
    return Recipient(role="lead", name=lead, mention=lead)


def owner_recipient(owner: str | None, rota: RotaSettings) -> Recipient | None:
    """The complaint's owner by name; someone no longer on the rota keeps their name."""
    if owner is None:
        return None
    for responder in rota.responders:
        if responder.name == owner:
            return recipient_for("owner", responder)
    return Recipient(role="owner", name=owner, mention=None)


def recipients(chain: EscalationChain, rota: RotaSettings) -> Recipients:
    return Recipients(
        primary=recipient_for("primary", chain.primary),
        secondary=recipient_for("secondary", chain.secondary),
        lead=lead_recipient(chain.lead, rota),
    )
