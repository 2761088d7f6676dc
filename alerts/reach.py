"""How many people a post has probably reached.

Platforms rarely publish impressions, so reach is estimated from what they do publish::

    reach = max(views,
                followers
                + REPOST_FANOUT * reposts
                + REPLY_WEIGHT * replies
                + LIKE_WEIGHT * likes)

* ``followers`` — the author's audience sees the post in their feeds.
* each repost puts it in front of the reposter's audience (``REPOST_FANOUT`` people,
  a conservative median audience per account);
* each reply surfaces the thread to the replier's followers and notifications;
* each like shows it to a few more people on platforms that surface liked posts.

Reposts we actually saw (boosts, reposts, retweets recorded as amplifications) count
with their authors' real audiences instead of the ``REPOST_FANOUT`` guess::

    followers + amplifier_followers + REPOST_FANOUT * max(reposts - amplifications, 0)

When a platform reports views, those are counted people and win if larger. Missing
numbers (``None``) and negative numbers count as 0. The weights are named so they can be
tuned in one place and the thresholds in ``ThresholdSettings.reach`` keep their meaning.
"""

from __future__ import annotations

REPOST_FANOUT = 50
REPLY_WEIGHT = 10
LIKE_WEIGHT = 2


def _count(value: int | None) -> int:
    return max(int(value or 0), 0)


def estimated_reach(
    followers: int | None,
    reposts: int | None,
    replies: int | None,
    likes: int | None,
    views: int | None,
    amplifications: int | None = 0,
    amplifier_followers: int | None = 0,
) -> int:
    """Estimated number of people who saw a post (formula in the module docstring)."""
    unseen_reposts = max(_count(reposts) - _count(amplifications), 0)
    spread = (
        _count(followers)
        + _count(amplifier_followers)
        + REPOST_FANOUT * unseen_reposts
        + REPLY_WEIGHT * _count(replies)
        + LIKE_WEIGHT * _count(likes)
    )
    return max(_count(views), spread)
