"""slack threads and exactly-once delivery: the posted message's channel, the sending claim,
what the parent message shows

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("slack_channel", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("sending_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("shown_status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("shown_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for column in (
            "shown_digest",
            "shown_status",
            "sending_at",
            "claim_token",
            "slack_channel",
        ):
            batch.drop_column(column)
