"""rota changes: overrides and swaps made from the CLI, with who made them

Revision ID: 0007
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rota_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("responder", sa.String(length=100), nullable=True),
        sa.Column("covering", sa.String(length=100), nullable=False),
        sa.Column("starts_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("other_starts_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("other_ends_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=100), nullable=True),
        sa.Column("removed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_changes")),
    )
    op.create_index("ix_rota_changes_removed_at_ends_at", "rota_changes", ["removed_at", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_rota_changes_removed_at_ends_at", table_name="rota_changes")
    op.drop_table("rota_changes")
