"""Who the escalation notifies, as recipients Slack can mention.

The chain itself (primary on duty, secondary, PR lead) is the rota's:
:func:`alerts.rota.escalation_chain_at`. This module only turns it, and a complaint's
owner, into :class:`Recipient` values (a name to read, a Slack id or channel to ping).
Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.config import Responder, RotaSettings
from alerts.rota import EscalationChain


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
