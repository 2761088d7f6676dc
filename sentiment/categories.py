"""Complaint categories: the stable ids stored with scores and labels, shown in Slack and
accepted by ``uproar label --category``. One list, so every part agrees."""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "logistics": "delivery late, lost, wrong item or address, damaged in transit",
    "product_quality": "faulty, broken, poor quality or not as described",
    "after_sales": "returns, refunds, exchanges and repairs after the sale",
    "service_attitude": "rude, dismissive or unhelpful staff",
    "communication": "no answer, contradictory answers, being passed around",
    "promises_not_kept": "warranty, return policy or promotion not honoured",
    "privacy": "personal data leaked, misused or asked for without need",
    "pricing": "overcharged, hidden fees, price changes, double charges",
    "other": "a complaint that fits none of the above",
}
CATEGORY_IDS: tuple[str, ...] = tuple(CATEGORIES)


def check_category(value: str) -> str:
    """``value`` if it is a known category id, else a ValueError listing the ids."""
    if value not in CATEGORIES:
        raise ValueError(f"unknown category {value!r}; known: {', '.join(CATEGORY_IDS)}")
    return value
