"""complaint desk columns shared by the response desk and the analysts

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="post")
        )
        batch.add_column(sa.Column("repeat_of_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("dismissed_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("paused_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("ack_met", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("response_met", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("resolution_met", sa.Boolean(), nullable=True))
        batch.create_foreign_key(
            "fk_complaints_repeat_of_id_complaints", "complaints", ["repeat_of_id"], ["id"]
        )
        batch.create_index("ix_complaints_repeat_of_id", ["repeat_of_id"])


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_index("ix_complaints_repeat_of_id")
        batch.drop_constraint("fk_complaints_repeat_of_id_complaints", type_="foreignkey")
        for column in (
            "resolution_met",
            "response_met",
            "ack_met",
            "paused_seconds",
            "paused_at",
            "dismissed_at",
            "repeat_of_id",
            "kind",
        ):
            batch.drop_column(column)
