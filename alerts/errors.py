"""What can go wrong when someone acts on a complaint, as one hierarchy.

Callers (the Slack interactivity endpoint, the ``uproar complaints`` CLI) catch
:class:`ComplaintError` to report any of them, or a subclass to answer by meaning. Every
message says what happened and what to do instead.
"""

from __future__ import annotations


class ComplaintError(Exception):
    """Base of every error raised by :mod:`alerts.lifecycle`."""


class ComplaintNotFound(ComplaintError):
    """No complaint has this id."""

    def __init__(self, complaint_id: int) -> None:
        super().__init__(f"no complaint #{complaint_id}; `uproar complaints list` shows them")
        self.complaint_id = complaint_id


class AlreadyClaimed(ComplaintError):
    """Someone else owns the complaint: claiming (or acting on) it needs a take-over.

    Also what the loser of two claims at the same moment gets.
    """

    def __init__(self, owner: str, complaint_id: int | None = None) -> None:
        which = f"complaint #{complaint_id}" if complaint_id is not None else "the complaint"
        super().__init__(
            f"{which} is already claimed by {owner}; take it over explicitly "
            "(take_over / --take-over) if you mean to replace them"
        )
        self.owner = owner
        self.complaint_id = complaint_id


class InvalidTransition(ComplaintError):
    """``action`` is not allowed while the complaint is in ``status``."""

    def __init__(
        self,
        status: str,
        action: str,
        complaint_id: int | None = None,
        allowed: tuple[str, ...] = (),
    ) -> None:
        which = f"complaint #{complaint_id}" if complaint_id is not None else "the complaint"
        hint = f"; allowed now: {', '.join(allowed)}" if allowed else ""
        super().__init__(f"cannot {action} {which}: it is {status}{hint}")
        self.status = status
        self.action = action
        self.complaint_id = complaint_id
        self.allowed = allowed
